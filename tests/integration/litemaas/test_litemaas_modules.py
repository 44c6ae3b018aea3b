# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Single litemaas_* modules against the REAL LiteMaaS 0.4.0: what the role tests do not show."""

import uuid

import pytest

from litemaas_helpers import run_tasks

L = "redwood.maas."


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]


def litellm_deployments(lm, name):
    with lm.litellm_api() as api:
        return [m for m in api.get("/model/info").raise_for_status().json()["data"] if m["model_name"] == name]


def test_model_registered_once_updated_in_place_and_removed(litemaas, tmp_path, uid):
    """POST /admin/models is not idempotent in 0.4.0 (each call adds a LiteLLM deployment): a re-run must not
    POST again, a change is a PUT, and absent deletes it."""
    name = "m-mod-%s" % uid
    task = {"name": "model", L + "litemaas_model": dict(name=name, endpoint=litemaas.litellm.upstream_url,
                                                        max_tokens=2048)}
    for dummy in range(2):
        run = run_tasks(tmp_path, litemaas, [task])
        assert run.rc == 0, run.out[-3000:]
    assert run.task("model")["changed"] is False
    assert len(litellm_deployments(litemaas, name)) == 1
    task[L + "litemaas_model"]["max_tokens"] = 4096
    mark = litemaas.mark()
    run = run_tasks(tmp_path, litemaas, [task])
    assert run.rc == 0 and run.task("model")["changed"] is True
    assert [w["method"] for w in litemaas.writes(mark)] == ["PUT"]
    with litemaas.api() as api:
        rows = api.get("/api/v1/models/", params={"limit": 1000}).raise_for_status().json()["data"]
    assert [r["maxTokens"] for r in rows if r["id"] == name] == [4096]
    run = run_tasks(tmp_path, litemaas, [{"name": "drop", L + "litemaas_model": dict(name=name, state="absent")}])
    assert run.rc == 0 and run.task("drop")["changed"] is True
    assert litellm_deployments(litemaas, name) == []


def test_settings_change_only_the_named_fields(litemaas, tmp_path, uid):
    """LiteMaaS's settings PUT replaces everything: the module merges with what is there."""
    with litemaas.api() as api:
        before = api.get("/api/v1/admin/settings/api-key-defaults").raise_for_status().json()
    budget, tpm = 50 + int(uid, 16) % 1000, 100000 + int(uid, 16) % 1000
    task = {"name": "settings", L + "litemaas_settings": dict(user_defaults=dict(max_budget=budget, tpm_limit=tpm))}
    run = run_tasks(tmp_path, litemaas, [task])
    assert run.rc == 0 and run.task("settings")["changed"] is True, run.out[-3000:]
    with litemaas.api() as api:
        user_defaults = api.get("/api/v1/admin/settings/user-defaults").raise_for_status().json()
        after = api.get("/api/v1/admin/settings/api-key-defaults").raise_for_status().json()
    assert (user_defaults["maxBudget"], user_defaults["tpmLimit"]) == (budget, tpm)
    assert after == before, "api-key defaults were not named and must not change"
    mark = litemaas.mark()
    run = run_tasks(tmp_path, litemaas, [task])
    assert run.rc == 0 and run.task("settings")["changed"] is False and litemaas.writes(mark) == []


def test_admin_key_reads_but_never_writes(litemaas, tmp_path, uid):
    """0.4.0 applies admin writes made with an ltm_admin_ key and then answers 500: the modules refuse to write
    with it (they need jwt_secret), and say so without showing the key."""
    user = "admkey-%s" % uid
    user_id = litemaas.insert_user(user)
    mark = litemaas.mark()
    task = {"name": "user", L + "litemaas_user": dict(username=user, max_budget=7, gateway_url=litemaas.url,
                                                      token=litemaas.admin_key)}
    run = run_tasks(tmp_path, litemaas, [task], json_output=False, connection=False)
    assert run.rc != 0 and "jwt_secret" in run.out and litemaas.admin_key not in run.out, run.out[-3000:]
    assert litemaas.writes(mark) == []
    with litemaas.api() as api:
        assert api.get("/api/v1/admin/users/%s" % user_id).raise_for_status().json()["maxBudget"] != 7
