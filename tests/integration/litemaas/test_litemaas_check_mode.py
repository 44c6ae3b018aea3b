# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Check mode predicts exactly what apply does, against the REAL LiteMaaS 0.4.0. In each scenario the state that
check mode predicts (its diff's ``after``, or a module's ``subscriptions``) equals what the server holds after the
real run (read back from the server, not from the module), check mode writes nothing and the next run changes
nothing (backend request log)."""

import uuid

import pytest

from litemaas_helpers import admin_request, request_as

L = "redwood.maas."


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]


@pytest.fixture
def tasks_run(litemaas, tmp_path):
    from litemaas_helpers import run_tasks

    def run(tasks, *args):
        return run_tasks(tmp_path, litemaas, tasks, *args)
    return run


def new_user(lm, name):
    return dict(id=lm.insert_user(name), username=name, email=name + "@example.edu")


def server_subscriptions(lm, user, models):
    """``{model: status}`` of ``user``'s subscriptions to ``models`` as the server lists them (``none``: no row)."""
    with lm.api() as api:
        rows = api.get("/api/v1/admin/users/%s/subscriptions" % user["id"], params={"limit": 100}) \
            .raise_for_status().json()["data"]
    have = dict((r["modelId"], r["status"]) for r in rows)
    return dict((m, have.get(m, "none")) for m in models)


def ask_in_portal(lm, user, model):
    """The user asks for a subscription in the portal: pending for a restricted model. Returns its id."""
    return request_as(lm, user, "POST", "/api/v1/subscriptions/", {"modelId": model})["id"]


def check_then_apply(litemaas, tasks_run, tasks):
    """Run ``tasks`` with --check --diff (asserting it writes nothing), then for real, then once more (asserting it
    changes and writes nothing); returns the check-mode and the applied runs."""
    mark = litemaas.mark()
    check = tasks_run(tasks, "--check", "--diff")
    assert check.rc == 0, check.out[-4000:]
    assert litemaas.writes(mark) == [], "check mode wrote"
    applied = tasks_run(tasks, "--diff")
    assert applied.rc == 0, applied.out[-4000:]
    mark = litemaas.mark()
    again = tasks_run(tasks)
    assert again.rc == 0 and again.stats["changed"] == 0, again.out[-4000:]
    assert litemaas.writes(mark) == [], "the next run wrote"
    return check, applied


def test_bulk_check_mode_predicts_the_subscriptions_the_server_then_holds(litemaas, tasks_run, uid, tmp_path):
    """Per user, one scenario: new subscriptions (open and restricted model: both active at once, the admin API
    bypasses approval), a pending one asked for in the portal, a denied one, one the user cancelled, and a key
    owner not listed as a user (the key's model is subscribed). The inventory wins: all are active afterwards."""
    open_m, restr = "m-open-%s" % uid, "m-restr-%s" % uid
    assert tasks_run([{L + "litemaas_model": dict(name=n, endpoint=litemaas.litellm.upstream_url)}
                      for n in (open_m, restr)]).rc == 0
    admin_request(litemaas, "PUT", "/api/v1/admin/models/%s" % restr, {"restrictedAccess": True})
    users = dict((n, new_user(litemaas, "plan-%s-%s" % (n, uid))) for n in ("new", "pend", "denied", "gone", "key"))
    ask_in_portal(litemaas, users["pend"], restr)
    admin_request(litemaas, "POST", "/api/v1/admin/subscriptions/deny",
                  {"subscriptionIds": [ask_in_portal(litemaas, users["denied"], restr)], "reason": "test"})
    request_as(litemaas, users["gone"], "POST", "/api/v1/subscriptions/%s/cancel"
               % ask_in_portal(litemaas, users["gone"], open_m))
    models = dict(new=[open_m, restr], pend=[restr], denied=[restr], gone=[open_m], key=[restr])
    before = dict((n, server_subscriptions(litemaas, users[n], models[n])) for n in models)
    assert before == dict(new={open_m: "none", restr: "none"}, pend={restr: "pending"}, denied={restr: "denied"},
                          gone={open_m: "inactive"}, key={restr: "none"}), before
    bulk = {"name": "bulk", L + "litemaas_tenants": dict(
        public_url=litemaas.litellm.url,
        models=[dict(name=n, endpoint=litemaas.litellm.upstream_url) for n in (open_m, restr)],
        users=[dict(name=users[n]["username"], models=models[n]) for n in ("new", "pend", "denied", "gone")],
        api_keys=[dict(name="plan-%s" % uid, owner=dict(user=users["key"]["username"]), models=[restr],
                       deliver_to=dict(file=str(tmp_path / "plan.env")))])}
    check, applied = check_then_apply(litemaas, tasks_run, [bulk])
    predicted = check.task("bulk")["diff"]["after"]
    for n, user in users.items():
        actual = server_subscriptions(litemaas, user, models[n])
        assert actual == dict((m, "active") for m in models[n]), (n, actual)
        assert predicted["subscription/%s" % user["username"]] == actual, n
    for field in ("changed", "summary", "diff"):
        assert check.task("bulk")[field] == applied.task("bulk")[field], field


def test_subscription_module_check_mode_predicts_each_pending_policy_and_absent(litemaas, tasks_run, uid):
    """litemaas_subscription: a pending subscription kept, denied or approved (pending=keep|deny|approve), a new one
    (active at once), and absent (LiteMaaS deletes the subscription: none)."""
    open_m, restr = "m-sopen-%s" % uid, "m-srestr-%s" % uid
    assert tasks_run([{L + "litemaas_model": dict(name=n, endpoint=litemaas.litellm.upstream_url)}
                      for n in (open_m, restr)]).rc == 0
    admin_request(litemaas, "PUT", "/api/v1/admin/models/%s" % restr, {"restrictedAccess": True})
    users = dict((p, new_user(litemaas, "sub-%s-%s" % (p, uid))) for p in ("keep", "deny", "approve", "absent"))
    for policy in ("keep", "deny", "approve"):
        ask_in_portal(litemaas, users[policy], restr)
    admin_request(litemaas, "POST", "/api/v1/admin/users/%s/subscriptions" % users["absent"]["id"],
                  {"modelIds": [open_m]})
    tasks = [{"name": p, L + "litemaas_subscription": dict(
        user=users[p]["username"], models=[open_m, restr], pending=p)} for p in ("keep", "deny", "approve")]
    tasks.append({"name": "absent", L + "litemaas_subscription": dict(
        user=users["absent"]["username"], models=[open_m], state="absent")})
    check, applied = check_then_apply(litemaas, tasks_run, tasks)
    expected = dict(keep={open_m: "active", restr: "pending"}, deny={open_m: "active", restr: "denied"},
                    approve={open_m: "active", restr: "active"}, absent={open_m: "none"})
    for name, want in expected.items():
        actual = server_subscriptions(litemaas, users[name], want)
        assert actual == want, (name, actual)
        assert check.task(name)["subscriptions"] == applied.task(name)["subscriptions"] == actual, name
        for field in ("changed", "subscribed", "approved", "denied", "removed", "diff"):
            assert check.task(name)[field] == applied.task(name)[field], (name, field)


def test_check_mode_predicts_the_repair_after_a_model_was_made_restricted(litemaas, tasks_run, uid, tmp_path):
    """Making a model restricted (by hand, in the portal) strips it from keys and moves its subscriptions to
    pending; the next run leaves the model restricted (the inventory does not manage that), makes the
    subscription active and gives the key its model back: check mode says exactly that first."""
    user = new_user(litemaas, "plan-strip-%s" % uid)
    m = "m-plan-strip-%s" % uid
    bulk = {"name": "bulk", L + "litemaas_tenants": dict(
        public_url=litemaas.litellm.url, models=[dict(name=m, endpoint=litemaas.litellm.upstream_url)],
        users=[dict(name=user["username"], models=[m])],
        api_keys=[dict(name="strip-%s" % uid, owner=dict(user=user["username"]), models=[m],
                       deliver_to=dict(file=str(tmp_path / "strip.env")))])}
    assert tasks_run([bulk]).rc == 0
    admin_request(litemaas, "PUT", "/api/v1/admin/models/%s" % m, {"restrictedAccess": True})
    with litemaas.api() as api:
        (key,) = api.get("/api/v1/admin/users/%s/api-keys" % user["id"]).raise_for_status().json()["data"]
    assert key["models"] == [] and server_subscriptions(litemaas, user, [m]) == {m: "pending"}, key
    check, applied = check_then_apply(litemaas, tasks_run, [bulk])
    predicted = check.task("bulk")["diff"]["after"]
    with litemaas.api() as api:
        (key,) = api.get("/api/v1/admin/users/%s/api-keys" % user["id"]).raise_for_status().json()["data"]
        models = api.get("/api/v1/models/", params={"limit": 1000}).raise_for_status().json()["data"]
    assert key["models"] == [m] == predicted["api_key/strip-%s" % uid]["models"]
    assert server_subscriptions(litemaas, user, [m]) == {m: "active"} == \
        predicted["subscription/%s" % user["username"]]
    assert [r["restrictedAccess"] for r in models if r["id"] == m] == [True], "the run un-restricted the model"
    summary = applied.task("bulk")["summary"]
    assert summary["subscription"]["updated"] == [user["username"]] and summary["api_key"]["updated"] == [key["name"]]
    for field in ("changed", "summary", "diff"):
        assert check.task("bulk")[field] == applied.task("bulk")[field], field
