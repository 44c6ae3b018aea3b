# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The real LiteMaaS 0.4.0 test fixture itself: what the other tests rely on."""

import time
import uuid

import jwt

from litemaas_stack import MOCK_USERS


def minted(lm, ttl=60):
    now = int(time.time())
    a = lm.automation
    return jwt.encode(dict(userId=a["id"], username=a["username"], email=a["email"], roles=["admin", "user"],
                           iat=now, exp=now + ttl), lm.jwt_secret, algorithm="HS256")


def test_automation_user_row_comes_from_the_role_job_template(litemaas):
    """The row the litemaas role's Job inserts (rendered from the template, run here) is a working admin."""
    row = litemaas.psql("SELECT username, email, oauth_provider, oauth_id = id::text, array_to_string(roles, ','), "
                        "is_active FROM users WHERE id = '%s'" % litemaas.automation["id"])
    assert row.strip() == "redwood-maas-automation|redwood-maas-automation@localhost|redwood.maas|t|admin,user|t"
    with litemaas.api(minted(litemaas)) as api:
        # a harmless admin write: PUT of the currency setting with its current value
        current = api.get("/api/v1/admin/settings/currency").raise_for_status().json()
        resp = api.put("/api/v1/admin/settings/currency", json=current)
        assert resp.status_code == 200, resp.text
    with litemaas.api(jwt.encode(dict(userId=litemaas.automation["id"], username="x", email="x@x", roles=["admin"],
                                      iat=int(time.time()), exp=int(time.time()) + 60),
                                 "not-the-secret-" * 4, algorithm="HS256")) as api:
        assert api.get("/api/v1/admin/settings/currency").status_code == 401


def test_mock_oauth_login_creates_the_user_and_returns_its_jwt(litemaas):
    token = litemaas.login(1)
    claims = jwt.decode(token, litemaas.jwt_secret, algorithms=["HS256"])
    assert claims["username"] == MOCK_USERS[1] and "user" in claims["roles"]
    with litemaas.api(token) as api:
        me = api.get("/api/v1/auth/me").raise_for_status().json()
    assert me["username"] == MOCK_USERS[1]
    with litemaas.api() as api:      # the ltm_admin_ key reads
        users = api.get("/api/v1/users/", params={"search": "user@example.com"}).raise_for_status().json()["data"]
    assert [u["username"] for u in users] == [MOCK_USERS[1]]


def test_request_log_counts_writes_per_client(litemaas):
    mark = litemaas.mark()
    with litemaas.api(minted(litemaas)) as api:
        api.headers["User-Agent"] = "redwood.maas"
        api.get("/api/v1/models/").raise_for_status()
        current = api.get("/api/v1/admin/settings/currency").raise_for_status().json()
        api.put("/api/v1/admin/settings/currency", json=current).raise_for_status()
    deadline = time.time() + 10  # the backend logs a request once its answer is sent: the last may lag
    while True:
        seen = [(r["method"], r["url"].split("?")[0], r["status"]) for r in litemaas.requests(mark, "redwood.maas")]
        if len(seen) >= 3 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert seen == [("GET", "/api/v1/models/", 200), ("GET", "/api/v1/admin/settings/currency", 200),
                    ("PUT", "/api/v1/admin/settings/currency", 200)]
    assert [w["method"] for w in litemaas.writes(mark)] == ["PUT"]


def test_insert_user_makes_a_user_as_a_first_login_would(litemaas):
    """As mock user 0's login did: a LiteMaaS user and a LiteLLM user with the same id and limits, in the default
    team (without the LiteLLM user, LiteMaaS retries a 404 from LiteLLM three times on every read of the user)."""
    name = "stack-probe-%s" % uuid.uuid4().hex[:6]
    user_id = litemaas.insert_user(name)
    litemaas.login(0)
    with litemaas.api() as api:
        detail = api.get("/api/v1/admin/users/%s" % user_id).raise_for_status().json()
        (admin,) = api.get("/api/v1/users/", params={"search": MOCK_USERS[0]}).raise_for_status().json()["data"]
    assert detail["username"] == name and detail["roles"] == ["user"] and detail["isActive"] is True
    with litemaas.litellm_api() as api:
        made = api.get("/user/info", params={"user_id": user_id}).raise_for_status().json()["user_info"]
        logged_in = api.get("/user/info", params={"user_id": admin["id"]}).raise_for_status().json()["user_info"]
    assert (made["max_budget"], made["tpm_limit"], made["rpm_limit"]) == \
        (detail["maxBudget"], detail["tpmLimit"], detail["rpmLimit"])
    assert made["teams"] == logged_in["teams"] and made["user_alias"] == name
