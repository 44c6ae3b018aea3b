# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Fixtures for the LiteMaaS-flavour tests.

- ``litemaas``: ONE real LiteMaaS 0.4.0 backend per test session (built from the release archive, with its own
  PostgreSQL, the real LiteLLM proxy and the fake OpenAI upstream; tests/setup/litemaas_stack.py).
- ``play``: runs playbooks/tenants.yml (the tenants role) against it with an inventory of the test's own.
- fault injection (tests named ``*_standin``): fault_proxy.FaultProxy in front of the real server.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, "setup"))

from fixtures.kube import kube_extra_crds, kube_local  # noqa: E402,F401  pylint: disable=unused-import
from litemaas_helpers import run_playbook  # noqa: E402
from litemaas_stack import LiteMaaSStack, attach  # noqa: E402


@pytest.fixture(scope="session")
def litemaas():
    """The real LiteMaaS 0.4.0 (one per session; its rate limit raised: every test runs from 127.0.0.1)."""
    if os.environ.get("MAAS_LITEMAAS_STACK"):      # development: a stack started by hand (litemaas_stack.py)
        yield attach(os.environ["MAAS_LITEMAAS_STACK"])
        return
    with LiteMaaSStack() as stack:
        sys.stderr.write("LiteMaaS stack started (s): %s\n" % stack.timings)
        yield stack


@pytest.fixture
def play(litemaas, tmp_path):
    """``play(variables, *ansible_args, playbook=..., extra_env=None)`` -> Run (rc, out, stats, task(name))."""

    def run(variables, *args, **kwargs):
        return run_playbook(tmp_path, variables, *args, **kwargs)

    return run
