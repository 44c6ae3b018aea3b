# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The tenants role with maas_gateway=litemaas against the REAL LiteMaaS 0.4.0 (with real LiteLLM and PostgreSQL).

Every test uses objects of its own (names carry a random suffix; users are inserted as a first login would insert
them, except where the login itself is what is tested), so the tests share one server in any order. Writes are
counted from the backend's own request log (requests with the client's User-Agent ``redwood.maas``).
"""

import os
import stat
import uuid

import pytest

from litemaas_helpers import chat, connection, read_env, wait_for

XFAIL_API_KEY = pytest.mark.xfail(strict=True, reason="models registered without an upstream api_key: LiteLLM "
                                                      "answers every call 500 'Missing credentials'")


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]


def model(lm, name, **extra):
    m = dict(name=name, endpoint=lm.litellm.upstream_url, max_model_len=2048,
             cost=dict(input_per_1k=0.5, output_per_1k=1.5))
    m.update(extra)
    return m


def inventory(lm, **tenants):
    # maas_gateway_url is not in the README's list for the LiteMaaS flavour; see
    # test_role_alone_needs_only_the_readme_variables (it is set here so that the other tests test the rest).
    data = dict(connection(lm), maas_gateway_url=lm.litellm.url)
    data.update(tenants)
    return data


def keys_of(lm, user_id):
    with lm.api() as api:
        return api.get("/api/v1/admin/users/%s/api-keys" % user_id, params={"limit": 100}).raise_for_status().json()["data"]


def user_detail(lm, user_id):
    with lm.api() as api:
        return api.get("/api/v1/admin/users/%s" % user_id).raise_for_status().json()


def test_first_apply_rerun_no_writes_no_secret_in_vvv(litemaas, play, tmp_path, uid):
    """First apply creates and delivers; the second run reports changed=0 and sends no write; -vvv shows no
    secret, no JWT secret, no minted JWT and no admin key; every request the role sent was answered 2xx."""
    user = "first-%s" % uid
    user_id = litemaas.insert_user(user)
    inv = inventory(litemaas,
                    maas_models=[model(litemaas, "m-first-%s" % uid)],
                    maas_users=[dict(name=user, max_budget=25, budget_duration="30d", rpm_limit=60,
                                     models=["m-first-%s" % uid])],
                    maas_api_keys=[dict(name="nb-%s" % uid, owner=dict(user=user), models=["m-first-%s" % uid],
                                        max_budget=5, rpm_limit=30, deliver_to=dict(file=str(tmp_path / "nb.env")))])
    mark = litemaas.mark()
    run = play(inv, "-vvv", json_output=False)
    assert run.rc == 0, run.out[-6000:]
    env = read_env(tmp_path / "nb.env")
    assert env["OPENAI_BASE_URL"] == litemaas.litellm.url + "/v1"
    assert stat.S_IMODE(os.stat(tmp_path / "nb.env").st_mode) == 0o600
    (key,) = [k for k in keys_of(litemaas, user_id) if k["name"] == "nb-%s" % uid]
    assert key["isActive"] and env["OPENAI_API_KEY"].startswith(key["keyPrefix"].rstrip("."))
    for secret in (env["OPENAI_API_KEY"], litemaas.jwt_secret, litemaas.admin_key, litemaas.litellm.master_key):
        assert secret not in run.out, "a secret leaked into the -vvv output"
    assert "eyJhbGciOiJIUzI1NiIs" not in run.out, "a minted JWT leaked into the -vvv output"
    detail = user_detail(litemaas, user_id)
    assert (detail["maxBudget"], detail["rpmLimit"], detail["budgetDuration"]) == (25, 60, "30d")
    sent = litemaas.requests(mark, "redwood.maas")
    assert sent and all(r["status"] < 400 for r in sent), [r for r in sent if r["status"] >= 400]

    mark = litemaas.mark()
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] == 0, run.out[-6000:]
    assert litemaas.writes(mark) == [], "a no-op re-run wrote"
    assert read_env(tmp_path / "nb.env") == env, "a re-run must never regenerate a secret"


@pytest.mark.xfail(strict=True, reason="0.4.0 lists expiresAt as a JavaScript Date.toString() string, which the "
                                       "flavour rejects as 'not an ISO 8601 date' after the key was created")
def test_first_apply_with_duration_then_clean_rerun(litemaas, play, tmp_path, uid):
    user = "dur-%s" % uid
    user_id = litemaas.insert_user(user)
    m = "m-dur-%s" % uid
    inv = inventory(litemaas, maas_models=[model(litemaas, m)], maas_users=[dict(name=user)],
                    maas_api_keys=[dict(name="k90-%s" % uid, owner=dict(user=user), models=[m], duration="90d",
                                        deliver_to=dict(file=str(tmp_path / "k90.env")))])
    run = play(inv)
    assert run.rc == 0, run.out[-4000:]
    assert read_env(tmp_path / "k90.env")["OPENAI_API_KEY"], "the secret of the created key was not delivered"
    (key,) = keys_of(litemaas, user_id)
    assert key["expiresAt"], "duration must give the key an expiry"
    mark = litemaas.mark()
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] == 0, run.out[-4000:]
    assert litemaas.writes(mark) == []


@XFAIL_API_KEY
def test_every_delivered_key_completes_a_chat(litemaas, play, tmp_path, uid):
    user = "chat-%s" % uid
    litemaas.insert_user(user)
    models = ["m-chat-a-%s" % uid, "m-chat-b-%s" % uid]
    keys = [dict(name="chat-%s-%s" % (n, uid), owner=dict(user=user), models=[m],
                 deliver_to=dict(file=str(tmp_path / ("%s.env" % n)))) for n, m in zip("ab", models)]
    run = play(inventory(litemaas, maas_models=[model(litemaas, m) for m in models], maas_users=[dict(name=user)],
                         maas_api_keys=keys))
    assert run.rc == 0, run.out[-4000:]
    for item in keys:
        env = read_env(item["deliver_to"]["file"])
        status, body = chat(env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"], item["models"][0])
        assert status == 200 and body["choices"][0]["message"]["content"], (item["name"], status, body)
    # and a key cannot call a model it was not given
    env = read_env(keys[0]["deliver_to"]["file"])
    assert chat(env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"], models[1])[0] in (401, 403)


@pytest.mark.xfail(strict=True, reason="the role asserts maas_gateway_url, which the README does not name for the "
                                       "LiteMaaS flavour")
def test_role_alone_needs_only_the_readme_variables(litemaas, play, tmp_path, uid):
    """maas_litemaas_url, maas_litemaas_jwt_secret, maas_litemaas_automation_user (+ maas_gateway_public_url, the
    URL consumers use) and nothing else."""
    user = "alone-%s" % uid
    litemaas.insert_user(user)
    m = "m-alone-%s" % uid
    run = play(dict(connection(litemaas), maas_models=[model(litemaas, m)], maas_users=[dict(name=user)],
                    maas_api_keys=[dict(name="alone-%s" % uid, owner=dict(user=user), models=[m],
                                        deliver_to=dict(file=str(tmp_path / "alone.env")))]))
    assert run.rc == 0, run.out[-4000:]
    assert read_env(tmp_path / "alone.env")["OPENAI_BASE_URL"] == litemaas.litellm.url + "/v1"


def test_pending_user_then_login_then_next_run_applies(litemaas, play, tmp_path, uid):
    """readonly@example.com (mock user 2) is used by this test only: it has not logged in before it."""
    name = "readonly@example.com"
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


@pytest.mark.xfail(strict=True, reason="--diff shows nothing: the bulk task's no_log hides the diff")
def test_check_diff_shows_the_budget_change_and_writes_nothing(litemaas, play, tmp_path, uid):
    user = "diff-%s" % uid
    user_id = litemaas.insert_user(user)
    m = "m-diff-%s" % uid
    inv = inventory(litemaas, maas_models=[model(litemaas, m)], maas_users=[dict(name=user, max_budget=10)],
                    maas_api_keys=[dict(name="diff-%s" % uid, owner=dict(user=user), models=[m], max_budget=3)])
    assert play(inv).rc == 0
    inv["maas_users"][0]["max_budget"] = 20
    inv["maas_api_keys"][0]["max_budget"] = 4
    mark = litemaas.mark()
    run = play(inv, "--check", "--diff", json_output=False)
    assert run.rc == 0, run.out[-4000:]
    assert litemaas.writes(mark) == [], "check mode wrote"
    assert user_detail(litemaas, user_id)["maxBudget"] == 10
    assert "max_budget" in run.out and "10" in run.out and "20" in run.out, run.out[-4000:]
    assert '"max_budget": 4' in run.out or "max_budget: 4" in run.out, run.out[-4000:]


@XFAIL_API_KEY
def test_rotate_then_revoke_old_secrets_get_401(litemaas, play, tmp_path, uid):
    user = "rot-%s" % uid
    user_id = litemaas.insert_user(user)
    m = "m-rot-%s" % uid
    path = str(tmp_path / "rot.env")
    key = dict(name="rot-%s" % uid, owner=dict(user=user), models=[m], deliver_to=dict(file=path))
    inv = inventory(litemaas, maas_models=[model(litemaas, m)], maas_users=[dict(name=user)], maas_api_keys=[key])
    assert play(inv).rc == 0
    first = read_env(path)
    assert chat(first["OPENAI_BASE_URL"], first["OPENAI_API_KEY"], m)[0] == 200
    key["rotate"] = True
    run = play(inv)
    assert run.rc == 0, run.out[-4000:]
    second = read_env(path)
    assert second["OPENAI_API_KEY"] != first["OPENAI_API_KEY"]
    assert chat(second["OPENAI_BASE_URL"], second["OPENAI_API_KEY"], m)[0] == 200
    assert chat(first["OPENAI_BASE_URL"], first["OPENAI_API_KEY"], m)[0] == 401, "the rotated-out secret still works"
    assert len([k for k in keys_of(litemaas, user_id) if k["isActive"]]) == 1
    del key["rotate"]
    key["state"] = "absent"
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] > 0, run.out[-4000:]
    assert chat(second["OPENAI_BASE_URL"], second["OPENAI_API_KEY"], m)[0] == 401, "the revoked secret still works"
    assert not [k for k in keys_of(litemaas, user_id) if k["isActive"]]


@XFAIL_API_KEY
def test_tiny_budget_is_refused_with_422(litemaas, play, tmp_path, uid):
    user = "tiny-%s" % uid
    litemaas.insert_user(user)
    m = "m-tiny-%s" % uid
    path = str(tmp_path / "tiny.env")
    # 10 prompt + 20 completion tokens per call at $1/token: every call costs $30, far over the budget
    run = play(inventory(litemaas, maas_models=[model(litemaas, m, cost=dict(input_per_1k=1000, output_per_1k=1000))],
                         maas_users=[dict(name=user)],
                         maas_api_keys=[dict(name="tiny-%s" % uid, owner=dict(user=user), models=[m], max_budget=0.01,
                                             deliver_to=dict(file=path))]))
    assert run.rc == 0, run.out[-4000:]
    env = read_env(path)
    assert chat(env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"], m)[0] == 200     # the call that crosses the budget

    def refused():
        answer = chat(env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"], m)
        return answer if answer[0] != 200 else None
    status, body = wait_for(refused, timeout=60, what="a refused call")
    assert status == 422 and "budget" in str(body).lower(), (status, body)


@pytest.mark.xfail(strict=True, reason="inventory role admin-readonly is sent as 'adminReadonly' (no permissions); "
                                       "each login restores the real role and the next run strips it again")
def test_admin_readonly_role_is_the_servers_and_survives_a_login(litemaas, play, uid):
    """user@example.com (mock user 1) gets the read-only admin role from the inventory."""
    name = "user@example.com"
    litemaas.login(1)
    inv = inventory(litemaas, maas_users=[dict(name=name, role="admin-readonly")])
    assert play(inv).rc == 0
    token = litemaas.login(1)
    with litemaas.api() as api:
        (row,) = api.get("/api/v1/users/", params={"search": name}).raise_for_status().json()["data"]
    assert sorted(row["roles"]) == ["admin-readonly", "user"]
    with litemaas.api(token) as api:   # the role works: the read-only admin can read the user list
        assert api.get("/api/v1/admin/users/%s" % row["id"]).status_code == 200
    mark = litemaas.mark()
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] == 0 and litemaas.writes(mark) == [], run.out[-4000:]


def test_key_names_duplicated_by_hand_fail_clearly(litemaas, play, uid):
    user = "dup-%s" % uid
    user_id = litemaas.insert_user(user)
    m = "m-dup-%s" % uid
    inv = inventory(litemaas, maas_models=[model(litemaas, m)], maas_users=[dict(name=user)])
    assert play(inv).rc == 0
    token = litemaas.login(0)        # an admin makes two keys with one name in the portal
    with litemaas.api(token) as api:
        for dummy in range(2):
            api.post("/api/v1/admin/users/%s/api-keys" % user_id, json={"name": "twin", "modelIds": [m]}) \
                .raise_for_status()
    inv["maas_api_keys"] = [dict(name="twin", owner=dict(user=user), models=[m])]
    mark = litemaas.mark()
    run = play(inv, json_output=False)
    assert run.rc != 0 and "several active API keys named" in run.out and "twin" in run.out, run.out[-3000:]
    assert litemaas.writes(mark) == []


@pytest.mark.parametrize("override,message", [
    (dict(maas_teams=[dict(name="cs", members=["x"])]), "has no teams API"),
    (dict(maas_api_keys=[dict(name="k", owner=dict(user="x"), models=["m-refuse"], max_budget=-1)]),
     "max_budget must be >= 0"),
    (dict(maas_api_keys=[dict(name="k", owner=dict(user="x"), models=["llama"])]), "not in maas_models"),
])
def test_bad_inventory_is_refused_before_any_request(litemaas, play, override, message):
    mark = litemaas.mark()
    run = play(inventory(litemaas, maas_models=[model(litemaas, "m-refuse")], maas_users=[dict(name="x")],
                         **override))
    assert run.rc != 0 and message in run.out and "Nothing was changed" in run.out, run.out[-3000:]
    assert litemaas.requests(mark, "redwood.maas") == [], "a request was sent before the inventory was checked"


def test_keys_delivered_to_a_kubernetes_secret(litemaas, play, tmp_path, uid, kube_local):
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
    mark = litemaas.mark()
    run = play(inv, extra_env=env)
    assert run.rc == 0 and run.stats["changed"] == 0 and litemaas.writes(mark) == [], run.out[-4000:]
    assert kube_local.get("v1", "Secret", "maas-credentials", ns)["metadata"]["resourceVersion"] == \
        secret["metadata"]["resourceVersion"]
