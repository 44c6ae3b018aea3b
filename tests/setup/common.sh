# shellcheck shell=bash
# Sourced by the tests/setup/*.sh scripts. Everything the tests need is installed
# by these scripts into a cache (never by hand), so a fresh machine works.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SHARED_DIR=${MAAS_SHARED_DIR:-$(cd "$REPO_ROOT/../shared" 2>/dev/null && pwd || echo "$REPO_ROOT/../shared")}
MAAS_CACHE=${MAAS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redwood-maas}
mkdir -p "$MAAS_CACHE"
log() { printf '[setup] %s\n' "$*" >&2; }

# apt_install PKG...: install Debian packages that are missing (root on these machines).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  ( flock 9
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  ) 9>"$MAAS_CACHE/.apt.lock"
}

# venv_from_requirements NAME REQFILE [pip args]: cached venv keyed on the file's hash.
venv_from_requirements() {
  local name=$1 req=$2; shift 2
  local dir="$MAAS_CACHE/$name" stamp
  stamp=$(sha256sum "$req" | cut -c1-16)
  ( flock 9
    if [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$stamp" ]; then
      log "creating venv $dir from $req"
      rm -rf "$dir"
      "${VENV_PYTHON:-python3}" -m venv "$dir"
      "$dir/bin/pip" install -q --upgrade pip >&2
      "$dir/bin/pip" install -q -r "$req" "$@" >&2
      echo "$stamp" > "$dir/.stamp"
    fi
  ) 9>"$MAAS_CACHE/.$name.lock"
  echo "$dir"
}
