"""Fixtures for the LiteLLM integration tests: one real LiteLLM proxy (with PostgreSQL and a fake
OpenAI-compatible upstream) per test session, and a helper that runs playbooks against it."""
import json
import os
import subprocess
import sys
import uuid

import httpx
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "tests", "setup"))
sys.path.insert(0, os.path.join(REPO, "tests"))

from fixtures.kube import kube_extra_crds, kube_local  # noqa: E402,F401  pylint: disable=unused-import
from litellm_stack import LiteLLMStack  # noqa: E402

TENANT_TASK = "Reconcile models, teams, users and API keys in LiteLLM"


@pytest.fixture(scope="session")
def gateway():
    with LiteLLMStack() as stack:
        yield stack


@pytest.fixture
def api(gateway):
    with httpx.Client(base_url=gateway.url, headers={"Authorization": "Bearer " + gateway.master_key},
                      timeout=60) as client:
        yield client


@pytest.fixture
def uid():
    return "t" + uuid.uuid4().hex[:8]


class Run(object):
    def __init__(self, proc, json_output):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        self.data = None
        if json_output:
            try:
                self.data = json.loads(proc.stdout[proc.stdout.index("{"):])
            except ValueError:
                self.data = None

    @property
    def stats(self):
        return self.data["stats"]["localhost"]

    def task(self, name=TENANT_TASK):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"].split(" : ")[-1] == name:
                    return task["hosts"]["localhost"]
        raise AssertionError("task %r not in the output:\n%s" % (name, self.out[-4000:]))

    @property
    def result(self):
        return self.task()

    @property
    def summary(self):
        return self.result["summary"]


@pytest.fixture
def play(gateway, tmp_path):
    """play(vars, *ansible_args, playbook=..., json_output=True, extra_env=None) -> Run."""

    def run(variables, *args, playbook="playbooks/tenants.yml", json_output=True, extra_env=None, inventory=None):
        inv = tmp_path / ("inv-%s" % uuid.uuid4().hex[:6])
        (inv / "group_vars" / "maas").mkdir(parents=True)
        (inv / "hosts.yml").write_text(yaml.safe_dump({"maas": {"hosts": {"localhost": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}))
        base = {"maas_gateway_url": gateway.url, "maas_gateway_token": gateway.master_key}
        base.update(variables)
        (inv / "group_vars" / "maas" / "vars.yml").write_text(yaml.safe_dump(base))
        # The repository's ansible.cfg prints results as YAML; these tests read the default (JSON) diffs.
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_CALLBACK_RESULT_FORMAT="json")
        if json_output:
            env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        env.update(extra_env or {})
        cmd = ["ansible-playbook", os.path.join(REPO, playbook), "-i", inventory or str(inv / "hosts.yml")]
        proc = subprocess.run(cmd + list(args), cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
        return Run(proc, json_output)

    return run
