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
  # Another apt/dpkg (unattended-upgrades, a colleague's install) may hold the lock: wait for it.
  local wait=(-o DPkg::Lock::Timeout=600)
  ( flock 9
    $sudo apt-get "${wait[@]}" update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get "${wait[@]}" install -y -qq "${missing[@]}" >/dev/null
  ) 9>"$MAAS_CACHE/.apt.lock"
}

# role_default ROLE VAR: a one-line scalar or flow-list default of a role, e.g. a version or pins
# (so that the tests install exactly what the host roles install).
role_default() {
  sed -n "s/^$2: *//p" "$REPO_ROOT/roles/$1/defaults/main.yml" | sed -e 's/^\[//' -e 's/\]$//' -e 's/"//g' -e 's/, */ /g'
}

# uv_bin: the path of uv (from PyPI, the host roles' version, in $MAAS_CACHE/host-venvs/uv-<version>).
uv_bin() {
  local venvs="$MAAS_CACHE/host-venvs" uv_version
  uv_version=$(role_default host_supervisor maas_host_uv_version)
  mkdir -p "$venvs"
  ( flock 9
    if [ ! -x "$venvs/uv-$uv_version/bin/uv" ]; then
      log "installing uv $uv_version"
      rm -rf "$venvs/uv-$uv_version"
      python3 -m venv "$venvs/uv-$uv_version"
      "$venvs/uv-$uv_version/bin/pip" install -q --disable-pip-version-check "uv==$uv_version" >&2
    fi
  ) 9>"$venvs/uv-$uv_version.lock"
  echo "$venvs/uv-$uv_version/bin/uv"
}

# venv_from_requirements NAME REQFILE [uv pip install args]: cached venv NAME-<hash of the file>,
# installed with uv (with pip inside: ansible-test uses it). One directory per hash: checkouts with
# different requirements (branches, CI) never delete a venv another run is using.
venv_from_requirements() {
  local name=$1 req=$2; shift 2
  local stamp dir uv
  stamp=$(sha256sum "$req" | cut -c1-16)
  dir="$MAAS_CACHE/$name-$stamp"
  uv=$(uv_bin)
  ( flock 9
    if [ ! -f "$dir/.complete" ]; then
      log "creating venv $dir from $req (uv)"
      rm -rf "$dir"
      "$uv" venv --quiet --seed --python "${VENV_PYTHON:-python3}" "$dir" >&2
      "$uv" pip install --quiet --python "$dir/bin/python" -r "$req" "$@" >&2
      touch "$dir/.complete"
    fi
  ) 9>"$MAAS_CACHE/.$name-$stamp.lock"
  echo "$dir"
}

# host_venv NAME PIN...: the host roles' pinned virtualenv NAME-<sha1 of the pins>, shared with
# them under $MAAS_CACHE/host-venvs (inventories/local puts maas_host_venv_dir there), installed
# by the same script with uv. HOST_VENV_ARGS: more uv pip install options the role passes (not
# part of the name), e.g. --compile-bytecode. Prints its path.
host_venv() {
  local name=$1; shift
  local dir
  dir="$MAAS_CACHE/host-venvs/$name-$(printf '%s' "$*" | sha1sum | cut -c1-10)"
  # shellcheck disable=SC2086  # the options are words
  "$REPO_ROOT/roles/host_supervisor/files/pinned-venv.sh" "$(uv_bin)" python3 "$dir" "$@" ${HOST_VENV_ARGS:-} >&2
  echo "$dir"
}
