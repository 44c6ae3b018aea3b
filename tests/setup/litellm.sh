#!/usr/bin/env bash
# Installs the real LiteLLM proxy for tests and benchmarks and prints the path of its venv.
#   VENV=$(tests/setup/litellm.sh)
# It is the very virtualenv the host_litellm role installs (same pins, read from the role's
# defaults; same uv install script; $MAAS_CACHE/host-venvs/litellm-<hash>), prepared with
# ../shared/litellm-offline (Prisma query-engine shim). To run the proxy:
#   ../shared/litellm-offline/migrate "$DATABASE_URL" "$VENV"
#   eval "$(../shared/litellm-offline/env "$VENV")"; litellm --config ... --port ...
# (tests/setup/litellm_stack.py does exactly that.)
. "$(dirname "$0")/common.sh"
apt_install postgresql-15 postgresql-client-15 >/dev/null
command -v npm >/dev/null 2>&1 || apt_install nodejs npm >/dev/null
# --compile-bytecode as roles/host_litellm/tasks/install.yml: the stamp (and the first start) match
# shellcheck disable=SC2046  # the pins are words
VENV=$(HOST_VENV_ARGS=--compile-bytecode host_venv litellm $(role_default host_litellm maas_host_litellm_pins))
"$SHARED_DIR/litellm-offline/prepare" "$VENV" >&2
echo "$VENV"
