#!/usr/bin/env bash
# Create a Python virtualenv with uv and install pinned requirements into it, once:
#   pinned-venv.sh UV PYTHON VENV_DIR [uv pip install arguments...]
# MAAS_VENV_EXCLUDE (optional): packages left out of the resolution (uv --excludes), e.g. CUDA-only
#   dependencies that break imports on a CPU.
# MAAS_VENV_CHECK (optional): Python code run in the new venv before it counts as complete.
# A stamp file VENV_DIR/.redwood-maas-pins, written last, marks a complete install; a folder
# without it (an interrupted install) is rebuilt. Concurrent runs for the same VENV_DIR (the host
# role and the test setup share these venvs) wait for each other on VENV_DIR.lock.
# uv downloads into its own cache (UV_CACHE_DIR, default ~/.cache/uv) and links from there, so a
# venv rebuilt with a warm cache takes seconds. uv reads no pip configuration: indexes and
# find-links must be passed as arguments.
set -euo pipefail
uv=$1 python=$2 dir=$3
shift 3
stamp="$dir/.redwood-maas-pins"
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ -f "$stamp" ]; then
  echo "already installed: $dir"
  exit 0
fi
start=$SECONDS
rm -rf "$dir"
"$uv" venv --quiet --python "$python" "$dir"
excludes=()
if [ -n "${MAAS_VENV_EXCLUDE:-}" ]; then
  tr -s " " "\n" <<<"$MAAS_VENV_EXCLUDE" > "$dir.excludes"
  excludes=(--excludes "$dir.excludes")
fi
"$uv" pip install --quiet --python "$dir/bin/python" "${excludes[@]}" "$@"
if [ -n "${MAAS_VENV_CHECK:-}" ]; then
  "$dir/bin/python" -c "$MAAS_VENV_CHECK"
fi
printf '%s\n' "$@" ${MAAS_VENV_EXCLUDE:+"--excludes: $MAAS_VENV_EXCLUDE"} > "$stamp"
echo "installed in $((SECONDS - start)) s: $dir"
