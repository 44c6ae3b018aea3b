#!/usr/bin/env bash
# Prints the path of a cached venv with another ansible-core than the tool chain's, for the
# claimed-range tests (tests/static/test_core_range.py):
#   VENV=$(tests/setup/ansible_core.sh 2.16)    # from tests/setup/ansible-core-2.16.txt
# Keyed on the pins file. ansible-core 2.20+ needs Python >= 3.12 on the controller: the first
# python3.13/python3.12 that runs is used (PATH, then pyenv's versions); 2.16 needs <= 3.12.
. "$(dirname "$0")/common.sh"
version=${1:?usage: ansible_core.sh 2.16|2.21}
req="$REPO_ROOT/tests/setup/ansible-core-$version.txt"
[ -f "$req" ] || { log "no pins file $req"; exit 2; }

# python_for VERSION: an interpreter that this ansible-core supports as controller Python.
python_for() {
  local minor=${1#2.} candidates=()
  if [ "$minor" -ge 20 ]; then
    candidates=(python3.13 python3.12)
    for d in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[23]*/bin; do
      candidates+=("$d/python3")
    done
  else
    candidates=(python3.11 python3.12 python3)
  fi
  for py in "${candidates[@]}"; do
    if "$py" -c 'import sys, venv, ensurepip' >/dev/null 2>&1; then
      command -v "$py" || echo "$py"
      return 0
    fi
  done
  log "no Python for ansible-core $1 (tried ${candidates[*]}); install one (e.g. python3.12)"
  return 1
}
VENV_PYTHON=$(python_for "$version")
export VENV_PYTHON
venv_from_requirements "ansible-core-$version" "$req"
