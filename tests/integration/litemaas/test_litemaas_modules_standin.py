# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Behaviour of the litemaas_* modules, run through ansible-playbook against the STAND-IN LiteMaaS
(LiteMaaS 0.4.0 cannot run on this machine). The stand-in rejects every request that does not match
../shared/litemaas/openapi.json; the fixture fails a test that caused any contract violation."""

import os
import stat

from standin_litemaas import ADMIN_KEY, JWT_SECRET

MODEL = "granite-standin"
ENDPOINT = "http://127.0.0.1:9/v1"


def model_task(name="register model", **extra):
    args = dict(name=MODEL, endpoint=ENDPOINT, input_cost_per_1k=0.5, output_cost_per_1k=1.5, max_tokens=2048)
    args.update(extra)
    return {"name": name, "redwood.maas.litemaas_model": args}


def key_task(name, path, **extra):
    args = dict(name="alice-notebook", owner="alice", models=[MODEL], max_budget=20, budget_duration="30d",
                rpm_limit=60, deliver_to_file=str(path), base_url="http://gw.example/v1")
    args.update(extra)
    return {"name": name, "redwood.maas.litemaas_api_key": args}


def test_model_created_once_and_not_duplicated_on_rerun_standin(standin, standin_play):
    before = standin.snapshot()
    rc, res, dummy = standin_play([model_task()], check=True, diff=True)
    assert rc == 0 and res["register model"]["changed"] is True
    assert standin.snapshot() == before and standin.writes == 0, "check mode wrote"
    rc, res, dummy = standin_play([model_task()])
    assert rc == 0 and res["register model"]["operation"] == "create"
    assert standin.models[MODEL]["apiBase"] == ENDPOINT
    assert abs(standin.models[MODEL]["inputCostPerToken"] - 0.0005) < 1e-12
    rc, res, dummy = standin_play([model_task()])
    assert rc == 0 and res["register model"]["changed"] is False
    assert standin.deployments[MODEL] == 1, "the model was POSTed twice (LiteMaaS would duplicate it)"
    rc, res, dummy = standin_play([model_task(max_tokens=4096)], diff=True)
    assert res["register model"]["operation"] == "update"
    assert res["register model"]["changes"]["max_tokens"] == {"before": 2048, "after": 4096}
    assert standin.models[MODEL]["maxTokens"] == 4096 and standin.deployments[MODEL] == 1
    rc, res, dummy = standin_play([{"name": "drop", "redwood.maas.litemaas_model": {"name": MODEL, "state": "absent"}}])
    assert res["drop"]["changed"] is True and MODEL not in standin.models


def test_pending_user_then_applied_after_login_standin(standin, standin_play):
    task = {"name": "alice", "redwood.maas.litemaas_user": dict(username="alice", roles=["admin"], max_budget=100,
                                                                budget_duration="monthly", rpm_limit=300)}
    rc, res, dummy = standin_play([task])
    assert rc == 0 and res["alice"]["changed"] is False and res["alice"]["pending"] is True
    assert "not logged in" in res["alice"]["msg"]
    standin.login("alice")
    before = standin.snapshot()
    rc, res, dummy = standin_play([task], check=True)
    assert res["alice"]["changed"] is True and standin.snapshot() == before
    rc, res, dummy = standin_play([task], diff=True)
    assert rc == 0 and res["alice"]["changed"] is True and res["alice"]["pending"] is False
    alice = standin.user_by_name("alice")
    assert sorted(alice["roles"]) == ["admin", "user"]
    assert alice["maxBudget"] == 100 and alice["budgetDuration"] == "monthly" and alice["rpmLimit"] == 300
    writes = standin.writes
    rc, res, dummy = standin_play([task])
    assert res["alice"]["changed"] is False and standin.writes == writes


def test_bad_input_fails_before_any_request_standin(standin, standin_play):
    bad = {"name": "bad", "redwood.maas.litemaas_user": dict(username="alice", budget_duration="fortnight")}
    rc, res, dummy = standin_play([bad])
    assert rc != 0 and "budget_duration" in res["bad"]["msg"]
    assert standin.exchanges == []
    bad_key = {"name": "bad key", "redwood.maas.litemaas_api_key": dict(name="k", owner="alice", models=[])}
    rc, res, dummy = standin_play([bad_key])
    assert rc != 0 and "at least one model" in res["bad key"]["msg"] and standin.exchanges == []


def test_api_key_create_deliver_rerun_rotate_revoke_standin(standin, standin_play, tmp_path):
    standin.login("alice")
    standin_play([model_task()])
    env = tmp_path / "alice.env"
    before = standin.snapshot()
    rc, res, out = standin_play([key_task("key", env)], check=True)
    assert rc == 0 and res["key"]["changed"] is True and "key" not in res["key"]
    assert standin.snapshot() == before and not env.exists(), "check mode wrote"

    rc, res, out = standin_play([key_task("key", env)])
    assert rc == 0 and res["key"]["operation"] == "create"
    keys = [k for k in standin.keys.values() if k["name"] == "alice-notebook"]
    assert len(keys) == 1 and keys[0]["models"] == [MODEL] and keys[0]["maxBudget"] == 20
    assert keys[0]["budgetDuration"] == "30d" and keys[0]["rpmLimit"] == 60
    assert "key" not in res["key"], "modules never return a secret"
    assert env.read_text() == "OPENAI_API_KEY=%s\nOPENAI_BASE_URL=http://gw.example/v1\n" % keys[0]["key"]
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600
    assert JWT_SECRET not in out and "eyJ" not in out, "a secret or a token leaked into the output"

    writes = standin.writes
    rc, res, dummy = standin_play([key_task("key", env)])
    assert rc == 0 and res["key"]["changed"] is False and "key" not in res["key"]
    assert standin.writes == writes and len(standin.keys) == 1, "re-run wrote or created a second key"

    rc, res, dummy = standin_play([key_task("key", env, max_budget=30)], diff=True)
    assert res["key"]["operation"] == "update" and standin.keys[keys[0]["id"]]["maxBudget"] == 30
    assert res["key"]["api_key"]["models"] == [MODEL], "must re-read the key, not trust the PATCH response"

    old = keys[0]
    rc, res, dummy = standin_play([key_task("key", env, max_budget=30, rotate=True)])
    assert rc == 0 and res["key"]["operation"] == "rotate"
    active = [k for k in standin.keys.values() if k["isActive"]]
    assert len(active) == 1 and active[0]["id"] != old["id"] and active[0]["key"] != old["key"]
    assert standin.keys[old["id"]]["isActive"] is False
    assert ("OPENAI_API_KEY=%s\n" % active[0]["key"]) in env.read_text()

    revoke = {"name": "revoke", "redwood.maas.litemaas_api_key": dict(name="alice-notebook", owner="alice",
                                                                      state="absent")}
    rc, res, dummy = standin_play([revoke])
    assert rc == 0 and res["revoke"]["changed"] is True
    assert not [k for k in standin.keys.values() if k["isActive"]]
    rc, res, dummy = standin_play([revoke])
    assert rc == 0 and res["revoke"]["changed"] is False


def test_key_stripped_of_models_gets_them_back_standin(standin, standin_play, tmp_path):
    standin.login("alice")
    standin_play([model_task(), key_task("key", tmp_path / "a.env")])
    standin_play([model_task(restricted_access=True)])
    (key,) = standin.keys.values()
    assert key["models"] == [], "stand-in should model LiteMaaS stripping a restricted model from keys"
    rc, res, dummy = standin_play([key_task("key", tmp_path / "a.env")])
    assert rc == 0 and res["key"]["operation"] == "update" and key["models"] == [MODEL]


def test_duplicate_key_names_made_by_hand_fail_clearly_standin(standin, standin_play, tmp_path):
    alice = standin.login("alice")
    standin_play([model_task()])
    for dummy in range(2):
        standin.handle("POST", "/api/v1/admin/users/%s/api-keys" % alice["id"],
                       {"Authorization": "Bearer " + _jwt(standin)},
                       b'{"name": "alice-notebook", "modelIds": ["%s"]}' % MODEL.encode())
    rc, res, dummy = standin_play([key_task("key", tmp_path / "a.env")])
    assert rc != 0 and "several active API keys named" in res["key"]["msg"]


def test_subscription_pending_approved_standin(standin, standin_play):
    bob = standin.login("bob")
    standin_play([model_task(restricted_access=True)])
    sub = {"name": "sub", "redwood.maas.litemaas_subscription": dict(user="bob", models=[MODEL])}
    rc, res, dummy = standin_play([sub])
    assert rc == 0 and res["sub"]["subscriptions"] == {MODEL: "pending"}
    approve = {"name": "approve", "redwood.maas.litemaas_subscription": dict(user="bob", models=[MODEL],
                                                                             pending="approve")}
    before = standin.snapshot()
    rc, res, dummy = standin_play([approve], check=True)
    assert res["approve"]["approved"] == [MODEL] and standin.snapshot() == before
    rc, res, dummy = standin_play([approve])
    assert rc == 0 and res["approve"]["approved"] == [MODEL]
    assert [s["status"] for s in standin.subs.values() if s["userId"] == bob["id"]] == ["active"]
    rc, res, dummy = standin_play([approve])
    assert res["approve"]["changed"] is False


def test_settings_merge_keeps_unnamed_fields_standin(standin, standin_play):
    standin.key_settings["maximums"]["maxBudget"] = 500
    standin.user_defaults["rpmLimit"] = 77
    task = {"name": "settings", "redwood.maas.litemaas_settings": dict(
        user_defaults=dict(max_budget=50, tpm_limit=100000), api_key_defaults=dict(budget_duration="30d"))}
    rc, res, dummy = standin_play([task])
    assert rc == 0 and res["settings"]["changed"] is True
    assert standin.user_defaults == {"maxBudget": 50, "tpmLimit": 100000, "rpmLimit": 77}
    assert standin.key_settings["maximums"]["maxBudget"] == 500
    assert standin.key_settings["defaults"]["budgetDuration"] == "30d"
    rc, res, dummy = standin_play([task])
    assert res["settings"]["changed"] is False


def test_usage_info_by_user_model_key_standin(standin, standin_play, tmp_path):
    standin.login("alice")
    standin_play([model_task(), key_task("key", tmp_path / "a.env")])
    (key,) = standin.keys.values()
    standin.add_usage("alice", MODEL, key["id"], 100, 300, 0.25, "2026-10-05")
    standin.add_usage("alice", MODEL, key["id"], 10, 30, 0.05, "2026-10-06")
    standin.add_usage("alice", MODEL, key["id"], 1, 1, 9.0, "2026-09-01")   # outside the range
    tasks = [{"name": by, "redwood.maas.litemaas_usage_info": dict(start_date="2026-10-01", end_date="2026-10-31",
                                                                   group_by=by, users=["alice", "nobody"])}
             for by in ("user", "model", "key")]
    rc, res, dummy = standin_play(tasks)
    assert rc == 0
    assert res["user"]["usage"] == [dict(user="alice", requests=2, prompt_tokens=110, completion_tokens=330,
                                         total_tokens=440, cost=0.3)]
    assert res["user"]["pending_users"] == ["nobody"]
    assert res["model"]["usage"][0]["model"] == MODEL and res["model"]["usage"][0]["requests"] == 2
    assert res["key"]["usage"][0]["key"].startswith("alice-notebook_") and res["key"]["totals"]["total_tokens"] == 440


def test_admin_key_is_used_for_reads_and_never_for_writes_standin(standin, standin_play):
    standin.login("alice")
    task = {"name": "alice", "redwood.maas.litemaas_user": dict(
        username="alice", max_budget=5, gateway_url=standin.url, token=ADMIN_KEY)}
    rc, res, out = standin_play([task], connection=False)
    assert rc != 0 and "jwt_secret" in res["alice"]["msg"] and ADMIN_KEY not in out
    assert standin.user_by_name("alice")["maxBudget"] is None and standin.writes == 0
    info = {"name": "usage", "redwood.maas.litemaas_usage_info": dict(gateway_url=standin.url, token=ADMIN_KEY)}
    rc, res, dummy = standin_play([info], connection=False)
    assert rc == 0 and res["usage"]["usage"] == []


def test_standin_applies_then_fails_admin_key_writes_standin(standin):
    """The documented 0.4.0 defect the modules avoid: the write is applied, then HTTP 500."""
    alice = standin.login("alice")
    status, dummy = standin.handle("PATCH", "/api/v1/admin/users/%s/budget-limits" % alice["id"],
                                   {"Authorization": "Bearer " + ADMIN_KEY}, b'{"maxBudget": 7}')
    assert status == 500 and alice["maxBudget"] == 7


def _jwt(standin):
    import jwt
    import time
    a = standin.automation
    return jwt.encode(dict(userId=a["id"], username=a["username"], email=a["email"], roles=["admin", "user"],
                           iat=int(time.time()), exp=int(time.time()) + 60), JWT_SECRET, algorithm="HS256")


def test_bulk_tenants_module_rotate_and_secret_return_standin(standin, standin_play, tmp_path):
    standin.login("alice")
    args = dict(models=[dict(name=MODEL, endpoint=ENDPOINT)], users=[dict(name="alice")],
                api_keys=[dict(name="file-key", owner=dict(user="alice"), models=[MODEL],
                               deliver_to=dict(file=str(tmp_path / "f.env"))),
                          dict(name="k8s-key", owner=dict(user="alice"), models=[MODEL],
                               deliver_to=dict(file=str(tmp_path / "g.env")))],
                public_url="http://gw/v1")
    rc, res, out = standin_play([{"name": "bulk", "redwood.maas.litemaas_tenants": args}], diff=True)
    assert rc == 0 and res["bulk"]["summary"]["api_key"]["created"] == ["file-key", "k8s-key"]
    by_name = dict((k["name"], k) for k in standin.keys.values())
    assert "secrets" not in res["bulk"] and by_name["k8s-key"]["key"] not in out, "modules never return a secret"
    assert by_name["file-key"]["key"] in (tmp_path / "f.env").read_text()
    assert by_name["k8s-key"]["key"] in (tmp_path / "g.env").read_text()
    args["api_keys"][0]["rotate"] = True
    rc, res, out = standin_play([{"name": "bulk", "redwood.maas.litemaas_tenants": args}])
    assert rc == 0 and res["bulk"]["summary"]["api_key"]["rotated"] == ["file-key"]
    new = [k for k in standin.keys.values() if k["name"] == "file-key" and k["isActive"]]
    assert len(new) == 1 and new[0]["key"] != by_name["file-key"]["key"]
    assert new[0]["key"] in (tmp_path / "f.env").read_text()
    del args["api_keys"][0]["rotate"]
    writes = standin.writes
    rc, res, out = standin_play([{"name": "bulk", "redwood.maas.litemaas_tenants": args}])
    assert rc == 0 and res["bulk"]["changed"] is False and standin.writes == writes
