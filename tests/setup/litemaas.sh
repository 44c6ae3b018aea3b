#!/usr/bin/env bash
# Builds LiteMaaS 0.4.0 from ../shared/litemaas/litemaas-0.4.0.tar.gz once (cached in
# $MAAS_CACHE/litemaas, keyed on the archive's hash) and prints the build directory:
#   BUILD=$(tests/setup/litemaas.sh)    # $BUILD/backend/dist/index.js, $BUILD/frontend/dist/
# The build itself is the host_litemaas role's script, so tests and hosts build it the same way.
. "$(dirname "$0")/common.sh"
command -v npm >/dev/null 2>&1 || apt_install nodejs npm >/dev/null
archive=${MAAS_LITEMAAS_ARCHIVE:-$SHARED_DIR/litemaas/litemaas-0.4.0.tar.gz}
exec "$REPO_ROOT/roles/host_litemaas/files/build-litemaas.sh" "$archive" "$MAAS_CACHE/litemaas"
