# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Fixtures for the LiteMaaS-flavour tests.

- ``litemaas``: ONE real LiteMaaS 0.4.0 backend per test session (built from the release archive, with its own
  PostgreSQL, the real LiteLLM proxy and the fake OpenAI upstream; tests/setup/litemaas_stack.py).
- ``play``: runs playbooks/tenants.yml (the tenants role) against it with an inventory of the test's own.
- ``standin``: the fault-injection stand-in (tests named ``*_standin``), for what the real server cannot do
  on demand.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, "setup"))

from fixtures.kube import kube_extra_crds, kube_local  # noqa: E402,F401  pylint: disable=unused-import
from litemaas_helpers import run_playbook  # noqa: E402
from litemaas_stack import LiteMaaSStack, attach  # noqa: E402
from standin_litemaas import ADMIN_KEY, JWT_SECRET, REPO, SPEC, StandInLiteMaaS, serve  # noqa: E402


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


@pytest.fixture
def standin():
    """A fresh fault-injection stand-in LiteMaaS on a free loopback port, with the automation admin user row."""
    state = StandInLiteMaaS(SPEC, JWT_SECRET, admin_keys=[ADMIN_KEY])
    automation = state.login("maas-automation", "maas-automation@localhost", roles=("admin", "user"))
    server, url = serve(state)
    state.url = url
    state.automation = dict(id=automation["id"], username=automation["username"], email=automation["email"])
    yield state
    server.shutdown()
    server.server_close()
    assert state.violations == [], "contract violations: %s" % state.violations


@pytest.fixture
def standin_play(standin, tmp_path):
    """``play(tasks, check=False, diff=False, extra_vars=None, roles=None)`` runs tasks (or the tenants role)
    on localhost against the stand-in; returns (rc, {task name: result}, stdout)."""
    counter = [0]

    def run(tasks=None, check=False, diff=False, extra_vars=None, roles=None, connection=True, verbose=False, env=None):
        counter[0] += 1
        defaults = dict(gateway_url=standin.url, jwt_secret=JWT_SECRET, automation_user=standin.automation)
        playbook = [dict(hosts="all", gather_facts=False,
                         module_defaults={"group/redwood.maas.litemaas": defaults} if connection else {},
                         tasks=tasks or [], roles=roles or [])]
        path = tmp_path / ("play%d.yml" % counter[0])
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        vars_file = tmp_path / ("vars%d.json" % counter[0])
        vars_file.write_text(json.dumps(dict(extra_vars or {}, ansible_python_interpreter=sys.executable)))
        cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(path), "-e", "@%s" % vars_file]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbose:
            cmd.append("-vvv")
        env = dict(os.environ, **(env or {}))
        env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
        try:
            out = json.loads(proc.stdout[proc.stdout.find("\n{") + 1 if not proc.stdout.startswith("{") else 0:])
        except ValueError:
            raise AssertionError("ansible-playbook output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))
        results = {}
        for p in out["plays"]:
            for t in p["tasks"]:
                results[t["task"]["name"]] = t["hosts"].get("localhost", {})
        return proc.returncode, results, proc.stdout + ("\n" + proc.stderr if verbose else "")

    return run
