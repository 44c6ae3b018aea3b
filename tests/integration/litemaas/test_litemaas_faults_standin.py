# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Faults the real LiteMaaS 0.4.0 does not produce on demand, injected by a STAND-IN proxy in front of it
(fault_proxy.py); everything else is the real server."""

import uuid

import pytest

from fault_proxy import FaultProxy
from litemaas_helpers import connection, read_env


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]


def tenants(lm, url, uid, tmp_path, user):
    m = "m-fault-%s" % uid
    return dict(connection(lm), maas_litemaas_url=url,
                maas_models=[dict(name=m, endpoint=lm.litellm.upstream_url)], maas_users=[dict(name=user)],
                maas_api_keys=[dict(name="fault-%s" % uid, owner=dict(user=user), models=[m],
                                    deliver_to=dict(file=str(tmp_path / "fault.env")))])


def active_keys(lm, user_id):
    with lm.api() as api:
        rows = api.get("/api/v1/admin/users/%s/api-keys" % user_id).raise_for_status().json()["data"]
    return [k for k in rows if k["isActive"]]


def test_secret_is_delivered_although_the_next_request_fails_standin(litemaas, play, tmp_path, uid):
    user = "fault-%s" % uid
    user_id = litemaas.insert_user(user)
    with FaultProxy(litemaas.url) as proxy:
        # every request after the key's create answers 500 (the server is gone, say)
        proxy.rule("GET", r".", status=500, times=100, after="POST /api-keys$")
        proxy.rule("POST", r".", status=500, times=100, after="POST /api-keys$")
        proxy.rule("PATCH", r".", status=500, times=100, after="POST /api-keys$")
        inv = tenants(litemaas, proxy.url, uid, tmp_path, user)
        run = play(inv)
    assert run.rc != 0
    (key,) = active_keys(litemaas, user_id)
    env = read_env(tmp_path / "fault.env")
    assert env["OPENAI_API_KEY"].startswith(key["keyPrefix"]), "the created key's secret was lost"
    run = play(dict(inv, maas_litemaas_url=litemaas.url))
    assert run.rc == 0, run.out[-4000:]
    assert len(active_keys(litemaas, user_id)) == 1 and read_env(tmp_path / "fault.env") == env


def test_rate_limited_requests_wait_for_retry_after_standin(litemaas, play, tmp_path, uid):
    user = "limited-%s" % uid
    user_id = litemaas.insert_user(user)
    with FaultProxy(litemaas.url) as proxy:
        proxy.rule("GET", r"/api/v1/models/?$", status=429, headers={"Retry-After": "2"}, times=1)
        proxy.rule("POST", r"/api-keys$", status=429, headers={"Retry-After": "2"}, times=1)
        run = play(tenants(litemaas, proxy.url, uid, tmp_path, user))
        seen = list(proxy.seen)
    assert run.rc == 0, [s for s in seen if s[3] >= 400]
    assert len(active_keys(litemaas, user_id)) == 1
    for method, ending in (("GET", "/models"), ("POST", "/api-keys")):
        times = [t for t, m, p, dummy in seen if m == method and p.rstrip("/").endswith(ending)]
        limited = [t for t, m, p, s in seen if m == method and s == 429 and p.rstrip("/").endswith(ending)]
        assert limited, (method, seen)
        assert any(t - limited[0] >= 2 for t in times), "%s retried before Retry-After" % method
