# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The tenants role with maas_gateway=litemaas against the REAL LiteMaaS 0.4.0 (with real LiteLLM and PostgreSQL),
given exactly what the README says it needs (maas_litemaas_url, maas_litemaas_jwt_secret,
maas_litemaas_automation_user, and maas_gateway_public_url for delivered keys).

Every test uses objects of its own (names carry a random suffix; users are inserted as a first login would insert
them, except where the login itself is what is tested), so the tests share one server in any order. Writes are
counted from the backend's own request log (requests with the client's User-Agent ``redwood.maas``).
"""

import datetime
import os
import re
import stat
import uuid

import pytest

from litemaas_helpers import admin_request, chat, connection, read_env, wait_for
from litellm_stack import UPSTREAM_KEY_VAR
from litemaas_stack import MOCK_USERS


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]


def model(lm, name, **extra):
    m = dict(name=name, endpoint=lm.litellm.upstream_url, max_model_len=2048,
             cost=dict(input_per_1k=0.5, output_per_1k=1.5))
    m.update(extra)
    return m


def inventory(lm, **tenants):
    return dict(connection(lm), **tenants)


def keys_of(lm, user_id, active=True):
    with lm.api() as api:
        rows = api.get("/api/v1/admin/users/%s/api-keys" % user_id, params={"limit": 100}).raise_for_status().json()
    return [k for k in rows["data"] if k["isActive"] or not active]


def user_detail(lm, user_id):
    with lm.api() as api:
        return api.get("/api/v1/admin/users/%s" % user_id).raise_for_status().json()


def test_journey_apply_chat_budget_noop_check_diff_rotate_revoke(litemaas, play, tmp_path, uid):
    """One user's keys through their life: first apply (-vvv shows no secret), every key chats (also through a
    model whose endpoint needs an API key: a reference os.environ/MAAS_VLLM_API_KEY that LiteMaaS registers in
    LiteLLM, which has the key in its environment, as on a host), a tiny budget is refused with 422, the re-run
    writes nothing, --check --diff shows a budget change without writing it, then the change, a rotation and a
    revocation are applied (the old secrets get 401)."""
    user = "journey-%s" % uid
    user_id = litemaas.insert_user(user)
    m, secured, dear = "m-open-%s" % uid, "m-secured-%s" % uid, "m-dear-%s" % uid
    path = dict((n, str(tmp_path / ("%s.env" % n))) for n in ("nb", "dur", "sec", "tiny", "rot", "rev"))

    def key(n, models, **extra):
        return dict(name="%s-%s" % (n, uid), owner=dict(user=user), models=models, deliver_to=dict(file=path[n]),
                    **extra)
    keys = [key("nb", [m], max_budget=5, rpm_limit=30), key("dur", [m], duration="90d"), key("sec", [secured]),
            key("tiny", [dear], max_budget=0.01), key("rot", [m]), key("rev", [m])]
    inv = inventory(litemaas, maas_models=[
        model(litemaas, m),
        model(litemaas, secured, endpoint=litemaas.secured_upstream_url),
        # 10 prompt + 20 completion tokens a call at $0.001/token: every call costs $0.03 (the key's budget is $0.01;
        # the user's, $25, is hardly touched)
        model(litemaas, dear, cost=dict(input_per_1k=1, output_per_1k=1))],
        maas_users=[dict(name=user, max_budget=25, budget_duration="30d", rpm_limit=60, models=[m])],
        maas_api_keys=keys, maas_model_api_key_refs={secured: "os.environ/%s" % UPSTREAM_KEY_VAR})
    assert "maas_gateway_url" not in inv

    mark = litemaas.mark()
    run = play(inv, "-vvv", json_output=False)
    assert run.rc == 0, run.out[-6000:]
    env = dict((n, read_env(p)) for n, p in path.items())
    for n, p in path.items():
        assert env[n]["OPENAI_BASE_URL"] == litemaas.litellm.url + "/v1" and stat.S_IMODE(os.stat(p).st_mode) == 0o600
    secrets = [e["OPENAI_API_KEY"] for e in env.values()]
    secrets += [litemaas.jwt_secret, litemaas.admin_key, litemaas.litellm.master_key, litemaas.upstream_key]
    for secret in secrets:
        assert secret not in run.out, "a secret leaked into the -vvv output"
    assert "eyJhbGciOiJIUzI1NiIs" not in run.out, "a minted JWT leaked into the -vvv output"
    sent = litemaas.requests(mark, "redwood.maas")
    assert sent and all(r["status"] < 400 for r in sent), [r for r in sent if r["status"] >= 400]
    detail = user_detail(litemaas, user_id)
    # 30d is stored as "monthly": the word the portal shows
    assert (detail["maxBudget"], detail["rpmLimit"], detail["budgetDuration"]) == (25, 60, "monthly")
    with litemaas.litellm_api() as api:     # ... and LiteLLM resets the user's budget in 30 days
        info = api.get("/user/info", params={"user_id": user_id}).raise_for_status().json()["user_info"]
    reset = datetime.datetime.fromisoformat(info["budget_reset_at"].replace("Z", "+00:00"))
    left = reset - datetime.datetime.now(datetime.timezone.utc)
    # LiteLLM 1.106.2 resets 30d and monthly alike on the 1st of the next month (measured)
    assert info["budget_duration"] == "monthly" and (reset.day, reset.hour) == (1, 0), info
    assert datetime.timedelta(0) < left <= datetime.timedelta(days=31), info
    by_name = dict((k["name"], k) for k in keys_of(litemaas, user_id))
    assert sorted(by_name) == sorted(k["name"] for k in keys)
    expires = by_name["dur-%s" % uid]["expiresAt"]         # as LiteMaaS lists it: Date.toString()
    in_90d = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=90)
    assert in_90d.strftime("%b %d %Y") in expires or \
        (in_90d - datetime.timedelta(days=1)).strftime("%b %d %Y") in expires, expires
    with litemaas.litellm_api() as api:
        assert [d["model_name"] for d in api.get("/model/info").raise_for_status().json()["data"]].count(m) == 1

    base = litemaas.litellm.url + "/v1"
    for n, target in (("nb", m), ("dur", m), ("sec", secured), ("rot", m), ("rev", m)):
        status, body = chat(base, env[n]["OPENAI_API_KEY"], target)
        assert status == 200 and body["choices"][0]["message"]["content"], (n, status, body)
    assert chat(base, env["nb"]["OPENAI_API_KEY"], secured)[0] in (401, 403), "a key reached a model it was not given"
    assert chat(base, env["tiny"]["OPENAI_API_KEY"], dear)[0] == 200           # the call that crosses the budget

    def refused():
        answer = chat(base, env["tiny"]["OPENAI_API_KEY"], dear)
        return answer if answer[0] != 200 else None
    # LiteLLM counts spend in batches and caches the key: on a loaded 2-core machine the refusal took > 60 s
    status, body = wait_for(refused, timeout=240, what="a refused call")
    assert status == 422 and "budget" in str(body).lower(), (status, body)

    mark = litemaas.mark()
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] == 0, run.out[-4000:]
    assert litemaas.writes(mark) == [], "a no-op re-run wrote"
    assert dict((n, read_env(p)) for n, p in path.items()) == env, "a re-run must never regenerate a secret"

    inv["maas_users"][0]["max_budget"] = 30
    keys[0]["max_budget"] = 4
    mark = litemaas.mark()
    run = play(inv, "--check", "--diff", json_output=False)
    assert run.rc == 0, run.out[-4000:]
    assert litemaas.writes(mark) == [], "check mode wrote"
    assert user_detail(litemaas, user_id)["maxBudget"] == 25
    for before, after in ((25, 30), (5, 4)):     # the user's budget, the key's budget: nothing else changes
        assert re.search(r'^-\s+"?max_budget"?: %s,?$' % before, run.out, re.M), run.out[-4000:]
        assert re.search(r'^\+\s+"?max_budget"?: %s,?$' % after, run.out, re.M), run.out[-4000:]
    # JSON or YAML diff (ansible.cfg callback_result_format=yaml): 4 changed lines, nothing else
    assert len(re.findall(r'^[-+]\s+"?[a-z_]+"?: ', run.out, re.M)) == 4, run.out[-4000:]

    keys[4]["rotate"] = True
    keys[5]["state"] = "absent"
    run = play(inv)
    assert run.rc == 0, run.out[-4000:]
    summary = run.task()["summary"]
    assert summary["user"]["updated"] == [user] and summary["api_key"]["updated"] == [keys[0]["name"]]
    assert summary["api_key"]["rotated"] == [keys[4]["name"]] and summary["api_key"]["deleted"] == [keys[5]["name"]]
    assert user_detail(litemaas, user_id)["maxBudget"] == 30
    rotated = read_env(path["rot"])["OPENAI_API_KEY"]
    assert rotated != env["rot"]["OPENAI_API_KEY"]
    assert chat(base, rotated, m)[0] == 200
    assert chat(base, env["rot"]["OPENAI_API_KEY"], m)[0] == 401, "the rotated-out secret still works"
    assert chat(base, env["rev"]["OPENAI_API_KEY"], m)[0] == 401, "the revoked secret still works"
    assert [k["name"] for k in keys_of(litemaas, user_id)].count(keys[4]["name"]) == 1
    assert keys[5]["name"] not in [k["name"] for k in keys_of(litemaas, user_id)]


def test_pending_user_then_login_then_next_run_applies(litemaas, play, tmp_path, uid):
    """readonly@example.com (mock user 2) is used by this test only: it has not logged in before it."""
    name = MOCK_USERS[2]
    m = "m-pending-%s" % uid
    inv = inventory(litemaas, maas_models=[model(litemaas, m)],
                    maas_users=[dict(name=name, max_budget=12, models=[m])],
                    maas_api_keys=[dict(name="ro-%s" % uid, owner=dict(user=name), models=[m],
                                        deliver_to=dict(file=str(tmp_path / "ro.env")))])
    run = play(inv)
    assert run.rc == 0, run.out[-4000:]
    result = run.task("Report users and key owners who have not logged in to LiteMaaS yet")
    assert name in result["msg"] and not (tmp_path / "ro.env").exists()
    litemaas.login(2)
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] > 0, run.out[-4000:]
    with litemaas.api() as api:
        (row,) = api.get("/api/v1/users/", params={"search": name}).raise_for_status().json()["data"]
    assert user_detail(litemaas, row["id"])["maxBudget"] == 12
    assert read_env(tmp_path / "ro.env")["OPENAI_API_KEY"]
    mark = litemaas.mark()
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] == 0 and litemaas.writes(mark) == [], run.out[-4000:]


def test_admin_readonly_role_is_the_servers_and_survives_a_login(litemaas, play):
    """user@example.com (mock user 1) gets the read-only admin role from the inventory: the role the server
    defines (admin-readonly), which works, and which the next login keeps (no change on the next run)."""
    name = MOCK_USERS[1]
    litemaas.login(1)
    inv = inventory(litemaas, maas_users=[dict(name=name, role="admin-readonly")])
    assert play(inv).rc == 0
    token = litemaas.login(1)
    with litemaas.api() as api:
        (row,) = api.get("/api/v1/users/", params={"search": name}).raise_for_status().json()["data"]
    assert sorted(row["roles"]) == ["admin-readonly", "user"]
    with litemaas.api(token) as api:   # the role works: the read-only admin reads a user's details
        assert api.get("/api/v1/admin/users/%s" % row["id"]).status_code == 200
    mark = litemaas.mark()
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] == 0 and litemaas.writes(mark) == [], run.out[-4000:]


def test_key_names_duplicated_by_hand_fail_clearly(litemaas, play, uid):
    user = "dup-%s" % uid
    user_id = litemaas.insert_user(user)
    m = "m-dup-%s" % uid
    admin_request(litemaas, "POST", "/api/v1/admin/models/", model_body(litemaas, m))
    for dummy in range(2):       # an admin makes two keys with one name in the portal
        admin_request(litemaas, "POST", "/api/v1/admin/users/%s/api-keys" % user_id, {"name": "twin", "modelIds": [m]})
    mark = litemaas.mark()
    run = play(inventory(litemaas, maas_models=[model(litemaas, m)], maas_users=[dict(name=user)],
                         maas_api_keys=[dict(name="twin", owner=dict(user=user), models=[m])]), json_output=False)
    assert run.rc != 0 and "several active API keys named" in run.out and "twin" in run.out, run.out[-3000:]
    assert litemaas.writes(mark) == []


def model_body(lm, name):
    return dict(model_name=name, backend_model_name=name, api_base=lm.litellm.upstream_url, api_key="none",
                input_cost_per_token=0, output_cost_per_token=0, tpm=1000, rpm=100, max_tokens=2048,
                supports_vision=False, supports_function_calling=False, supports_parallel_function_calling=False,
                supports_tool_choice=False)


@pytest.mark.parametrize("override,message", [
    (dict(maas_teams=[dict(name="cs", members=["x"])]), "has no teams API"),
    (dict(maas_api_keys=[dict(name="k", owner=dict(user="x"), models=["m-refuse"], max_budget=-1)]),
     "max_budget must be >= 0"),
])
def test_bad_inventory_is_refused_before_any_request(litemaas, play, override, message):
    mark = litemaas.mark()
    run = play(inventory(litemaas, maas_models=[model(litemaas, "m-refuse")], maas_users=[dict(name="x")],
                         **override))
    assert run.rc != 0 and message in run.out and "Nothing was changed" in run.out, run.out[-3000:]
    assert litemaas.requests(mark, "redwood.maas") == [], "a request was sent before the inventory was checked"


def test_keys_delivered_to_a_kubernetes_secret(litemaas, play, uid, kube_local):
    """Key delivery to a Secret in a real kube-apiserver (kube-local), keys made by the real LiteMaaS."""
    import base64
    user = "k8s-%s" % uid
    litemaas.insert_user(user)
    m = "m-k8s-%s" % uid
    ns = "canopy-litemaas-%s" % uid
    kube_local.resource("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": ns}})
    inv = inventory(litemaas, maas_models=[model(litemaas, m)], maas_users=[dict(name=user)],
                    maas_api_keys=[dict(name="canopy-%s" % uid, owner=dict(user=user), models=[m],
                                        deliver_to=dict(secret=dict(namespace=ns, name="maas-credentials")))])
    env = {"K8S_AUTH_KUBECONFIG": kube_local.kubeconfig}
    mark = litemaas.mark()
    run = play(inv, "--check", extra_env=env)
    assert run.rc == 0, run.out[-4000:]
    assert kube_local.get("v1", "Secret", "maas-credentials", ns) is None, "check mode wrote a Secret"
    assert litemaas.writes(mark) == [], "check mode wrote"
    run = play(inv, extra_env=env)
    assert run.rc == 0, run.out[-4000:]
    secret = kube_local.get("v1", "Secret", "maas-credentials", ns)
    data = dict((k, base64.b64decode(v).decode()) for k, v in secret["data"].items())
    assert data["OPENAI_BASE_URL"] == litemaas.litellm.url + "/v1" and data["OPENAI_API_KEY"].startswith("sk-")
    assert data["OPENAI_API_KEY"] not in run.out
    assert chat(data["OPENAI_BASE_URL"], data["OPENAI_API_KEY"], m)[0] == 200
    mark = litemaas.mark()
    run = play(inv, extra_env=env)
    assert run.rc == 0 and run.stats["changed"] == 0 and litemaas.writes(mark) == [], run.out[-4000:]
    assert kube_local.get("v1", "Secret", "maas-credentials", ns)["metadata"]["resourceVersion"] == \
        secret["metadata"]["resourceVersion"]
