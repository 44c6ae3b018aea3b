# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Contract tests. (1) The STAND-IN rejects whatever ../shared/litemaas/openapi.json does not allow, so the
behaviour tests (whose fixture fails on any violation) prove every request the modules send matches the
contract. (2) Every request and 2xx response of a full module run is re-checked here against the contract,
and the set of operations the modules use is pinned (a new call must be added to the contract check)."""

import json

import pytest

from standin_litemaas import JWT_SECRET, SPEC, Contract, ContractError

UID = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"


@pytest.fixture(scope="module")
def contract():
    return Contract(SPEC)


@pytest.mark.parametrize("method,path,query,body,reason", [
    ("GET", "/api/v1/userz/", {}, None, "path not in the contract"),
    ("POST", "/api/v1/users/", {}, b"{}", "method not in the contract"),
    ("GET", "/api/v1/admin/users/not-a-uuid", {}, None, "uuid"),
    ("GET", "/api/v1/users/", {"limit": ["500"]}, None, "limit"),
    ("GET", "/api/v1/users/", {"pageSize": ["5"]}, None, "unknown query parameter"),
    ("POST", "/api/v1/admin/users/%s/api-keys" % UID, {}, b'{"name": "k"}', "modelIds"),
    ("POST", "/api/v1/admin/users/%s/api-keys" % UID, {}, b'{"name": "k", "modelIds": []}', "modelIds"),
    ("POST", "/api/v1/admin/users/%s/api-keys" % UID, {}, b'{"name": "k", "modelIds": ["m"], "models": ["m"]}',
     "Additional properties"),
    ("PATCH", "/api/v1/admin/users/%s/budget-limits" % UID, {}, b'{"budgetDuration": "fortnight"}',
     "budgetDuration"),
    ("POST", "/api/v1/admin/models/", {}, b'{"model_name": "m"}', "required"),
    ("POST", "/api/v1/admin/usage/by-user", {}, b'{"startDate": "2026-13-01", "endDate": "2026-10-31"}',
     "startDate"),
    ("DELETE", "/api/v1/admin/users/%s/api-keys/%s" % (UID, UID), {}, b'{"x": 1}', "takes no request body"),
])
def test_standin_rejects_what_the_contract_forbids_standin(contract, method, path, query, body, reason):
    with pytest.raises(ContractError, match=reason):
        contract.check_request(method, path, query, body)


def test_standin_answers_400_and_records_violation_standin(standin):
    status, body = standin.handle("GET", "/api/v1/users/?limit=1000", {}, None)
    assert status == 400 and "limit" in body["error"]["message"]
    assert len(standin.violations) == 1
    standin.violations.clear()


def test_standin_requires_a_valid_jwt_for_writes_standin(standin):
    import jwt
    alice = standin.login("alice")
    forged = jwt.encode({"userId": standin.automation["id"], "username": "x", "email": "x@x", "roles": ["admin"],
                         "iat": 1, "exp": 4102444800}, "wrong-secret-wrong-secret-wrong-secret", algorithm="HS256")
    status, dummy = standin.handle("PATCH", "/api/v1/users/%s" % alice["id"], {"Authorization": "Bearer " + forged},
                                   b'{"roles": ["admin"]}')
    assert status == 401 and alice["roles"] == ["user"]
    ghost = jwt.encode({"userId": UID, "username": "x", "email": "x@x", "roles": ["admin"], "iat": 1,
                        "exp": 4102444800}, JWT_SECRET, algorithm="HS256")
    status, dummy = standin.handle("PATCH", "/api/v1/users/%s" % alice["id"], {"Authorization": "Bearer " + ghost},
                                   b'{"roles": ["admin"]}')
    assert status == 401 and alice["roles"] == ["user"]


def test_every_module_request_and_response_matches_the_contract_standin(standin, standin_play, tmp_path, contract):
    standin.login("alice")
    standin.login("bob")
    L = "redwood.maas."
    tasks = [
        {"name": "model", L + "litemaas_model": dict(name="m1", endpoint="http://127.0.0.1:9/v1", restricted_access=True)},
        {"name": "model2", L + "litemaas_model": dict(name="m2", endpoint="http://127.0.0.1:9/v1")},
        {"name": "user", L + "litemaas_user": dict(username="alice", roles=["admin-readonly"], max_budget=10,
                                                   tpm_limit=1000, rpm_limit=10, budget_duration="weekly")},
        {"name": "sub", L + "litemaas_subscription": dict(user="bob", models=["m1", "m2"], pending="deny",
                                                          reason="no")},
        {"name": "unsub", L + "litemaas_subscription": dict(user="bob", models=["m2"], state="absent")},
        {"name": "key", L + "litemaas_api_key": dict(name="k", owner="alice", models=["m2"], max_budget=1,
                                                     soft_budget=0.5, tpm_limit=10, rpm_limit=1,
                                                     max_parallel_requests=2, expires_at="2030-01-01",
                                                     deliver_to_file=str(tmp_path / "k.env"))},
        {"name": "key update", L + "litemaas_api_key": dict(name="k", owner="alice", models=["m1", "m2"],
                                                            budget_duration="daily", expires_at="2031-01-01T00:00:00Z")},
        {"name": "key rotate", L + "litemaas_api_key": dict(name="k", owner="alice", models=["m1", "m2"], rotate=True)},
        {"name": "key revoke", L + "litemaas_api_key": dict(name="k", owner="alice", state="absent")},
        {"name": "settings", L + "litemaas_settings": dict(user_defaults=dict(max_budget=1, tpm_limit=2, rpm_limit=3),
                                                           api_key_defaults=dict(budget_duration="1mo", soft_budget=1,
                                                                                 expiration_days=30),
                                                           api_key_maximums=dict(max_budget=5, expiration_days=90))},
        {"name": "usage", L + "litemaas_usage_info": dict(group_by="model", models=["m1"])},
        {"name": "usage keys", L + "litemaas_usage_info": dict(group_by="key", users=["alice"])},
        {"name": "drop model", L + "litemaas_model": dict(name="m2", state="absent")},
    ]
    rc, res, out = standin_play(tasks)
    assert rc == 0, out
    assert standin.violations == []
    used = set()
    for method, path, query, status, body, response in standin.exchanges:
        raw = json.dumps(body).encode() if body or method not in ("GET", "DELETE") else None
        template, op, dummy, dummy2 = contract.check_request(method, path, query, raw)
        used.add("%s %s" % (method, template))
        assert 200 <= status < 300, (method, path, status, response)
        assert contract.check_response(op, status, response) == []
    assert used == {
        "GET /api/v1/users/", "GET /api/v1/admin/users/{id}", "PATCH /api/v1/users/{id}",
        "PATCH /api/v1/admin/users/{id}/budget-limits", "GET /api/v1/models/", "POST /api/v1/admin/models/",
        "DELETE /api/v1/admin/models/{id}", "GET /api/v1/admin/users/{id}/subscriptions",
        "POST /api/v1/admin/users/{id}/subscriptions", "POST /api/v1/admin/subscriptions/deny",
        "DELETE /api/v1/admin/subscriptions/{id}", "GET /api/v1/admin/users/{id}/api-keys",
        "POST /api/v1/admin/users/{id}/api-keys", "PATCH /api/v1/admin/users/{id}/api-keys/{keyId}",
        "DELETE /api/v1/admin/users/{id}/api-keys/{keyId}", "GET /api/v1/admin/settings/user-defaults",
        "PUT /api/v1/admin/settings/user-defaults", "GET /api/v1/admin/settings/api-key-defaults",
        "PUT /api/v1/admin/settings/api-key-defaults", "POST /api/v1/admin/usage/by-model",
        "POST /api/v1/admin/usage/by-user",
    }
