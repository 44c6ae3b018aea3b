"""Fixtures for the LiteLLM integration tests: one real LiteLLM proxy (with PostgreSQL and a fake
OpenAI-compatible upstream) per test session, and a helper that runs playbooks against it."""
import os
import sys
import uuid

import httpx
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "tests", "setup"))
sys.path.insert(0, os.path.join(REPO, "tests"))

from fixtures import ansible_run  # noqa: E402
from fixtures.kube import kube_extra_crds, kube_local  # noqa: E402,F401  pylint: disable=unused-import
from litellm_api import tenants  # noqa: E402
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


class Run(ansible_run.Run):
    """A playbook's result; task() defaults to the tenants role's reconcile task (``result``, ``summary``)."""

    def task(self, name=TENANT_TASK):
        return super().task(name)

    @property
    def result(self):
        return self.task()

    @property
    def summary(self):
        return self.result["summary"]


def make_play(gateway, workdir):
    """play(vars, *ansible_args, playbook=..., json_output=True, extra_env=None, inventory=None) -> Run, with the
    session gateway's URL and master key in the inventory (written under ``workdir``)."""

    def run(variables, *args, playbook="playbooks/tenants.yml", json_output=True, extra_env=None, inventory=None):
        base = {"maas_gateway_url": gateway.url, "maas_gateway_token": gateway.master_key}
        base.update(variables)
        # The repository's ansible.cfg prints results as YAML; these tests read the default (JSON) diffs.
        env = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json", **(extra_env or {})}
        return ansible_run.run_playbook(workdir, base, *args, playbook=playbook, json_output=json_output,
                                        extra_env=env, timeout=600, inventory=inventory, result_class=Run)

    return run


@pytest.fixture
def play(gateway, tmp_path):
    return make_play(gateway, tmp_path)


@pytest.fixture(scope="module")
def applied_tenants(gateway, tmp_path_factory):
    """(uid, inventory): litellm_api.tenants() applied once per test module, for tests whose own runs write
    nothing (bad input): each starts from the same gateway state instead of applying it again."""
    workdir = tmp_path_factory.mktemp("applied")
    uid = "t" + uuid.uuid4().hex[:8]
    inv = tenants(gateway, uid, workdir)
    run = make_play(gateway, workdir)(inv)
    assert run.rc == 0, run.out[-3000:]
    return uid, inv
