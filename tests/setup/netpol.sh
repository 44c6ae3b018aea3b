#!/usr/bin/env bash
# network-config-analyzer (PyPI, IBM's NetworkPolicy analyzer) in its own cached venv; prints the
# path of its `nca` command. Used by tests/render/test_network_policies.py.
. "$(dirname "$0")/common.sh"
VENV=$(venv_from_requirements netpol "$REPO_ROOT/tests/setup/netpol-requirements.txt")
echo "$VENV/bin/nca"
