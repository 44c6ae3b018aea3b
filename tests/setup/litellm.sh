#!/usr/bin/env bash
# Installs the real LiteLLM proxy for tests and benchmarks and prints the path of its venv.
#   VENV=$(tests/setup/litellm.sh)
# The venv is cached in $MAAS_CACHE/litellm (keyed on litellm-requirements.txt) and prepared
# with ../shared/litellm-offline (Prisma query-engine shim). To run the proxy:
#   ../shared/litellm-offline/migrate "$DATABASE_URL" "$VENV"
#   eval "$(../shared/litellm-offline/env "$VENV")"; litellm --config ... --port ...
# (tests/integration/litellm/conftest.py and benchmarks/litellm_bench.py do exactly that.)
. "$(dirname "$0")/common.sh"
apt_install postgresql-15 postgresql-client-15 >/dev/null
command -v npm >/dev/null 2>&1 || apt_install nodejs npm >/dev/null
VENV=$(venv_from_requirements litellm "$REPO_ROOT/tests/setup/litellm-requirements.txt")
"$SHARED_DIR/litellm-offline/prepare" "$VENV" >&2
echo "$VENV"
