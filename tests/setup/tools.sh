#!/usr/bin/env bash
# Prints the path of the tool-chain venv (ansible, pytest, httpx, ...), creating it if needed.
. "$(dirname "$0")/common.sh"
apt_install shellcheck git rsync
venv_from_requirements tools "$REPO_ROOT/tests/requirements.txt"
