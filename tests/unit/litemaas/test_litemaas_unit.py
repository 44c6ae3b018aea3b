# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Unit tests of the LiteMaaS module logic (no network)."""

import os
import sys

import jwt
import pytest

for _p in (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or "").split(os.pathsep):
    if _p and _p not in sys.path:
        sys.path.insert(0, _p)

from ansible_collections.redwood.maas.plugins.module_utils import litemaas  # noqa: E402
from ansible_collections.redwood.maas.plugins.module_utils.client import GatewayClient, MaasError  # noqa: E402
from ansible_collections.redwood.maas.plugins.module_utils.tenants import check_duration, validate_inventory  # noqa: E402
from ansible_collections.redwood.maas.plugins.modules import litemaas_settings  # noqa: E402
from ansible_collections.redwood.maas.plugins.modules import litemaas_inventory_info  # noqa: E402

SECRET = "a-long-enough-secret-for-hs256-tests-0123"
USER = dict(id="3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", username="maas-automation", email="a@localhost")


def test_minted_jwt_verifies_with_pyjwt_and_carries_litemaas_claims():
    token = litemaas.mint_jwt(SECRET, USER, ttl=120, now=1_000_000)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == dict(userId=USER["id"], username=USER["username"], email=USER["email"],
                          roles=["admin", "user"], iat=1_000_000, exp=1_000_120)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET + "x", algorithms=["HS256"], options={"verify_exp": False})


def test_a_long_run_gets_a_new_jwt_at_half_its_life_and_hides_each(monkeypatch):
    """The benchmark's first apply (400 keys at 100 requests a minute) outlasted one 300 s token: 401."""
    clock = [1_000_000.0]
    monkeypatch.setattr(litemaas.time, "time", lambda: clock[0])
    client = GatewayClient("http://127.0.0.1:9")
    api = litemaas.Api(client, jwt_secret=SECRET, automation_user=USER, jwt_ttl=300)
    first = api._write_token()
    clock[0] += 149
    assert api._write_token() == first
    clock[0] += 1
    second = api._write_token()
    assert second != first
    claims = jwt.decode(second, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] - claims["iat"] == 300 and claims["iat"] == 1_000_150
    assert first in client.secrets and second in client.secrets


def test_writes_refuse_without_jwt_secret_and_reads_use_admin_key():
    client = GatewayClient("http://127.0.0.1:9", token="ltm_admin_x")
    api = litemaas.Api(client, read_key="ltm_admin_x")
    with pytest.raises(MaasError, match="jwt_secret"):
        api.write("PATCH", "/api/v1/users/x")
    assert client.requests == 0


@pytest.mark.parametrize("kwargs,match", [
    (dict(), "set jwt_secret"),
    (dict(jwt_secret="s"), "automation_user"),
    (dict(jwt_secret="s", automation_user=dict(USER, id="42")), "UUID"),
])
def test_connection_options_are_checked(kwargs, match):
    with pytest.raises(MaasError, match=match):
        litemaas.LiteMaaS(GatewayClient("http://h"), **kwargs)


@pytest.mark.parametrize("value,ok", [("daily", True), ("30d", True), ("2mo", True), ("12h", True),
                                      ("fortnight", False), ("30 d", False), ("d", False)])
def test_budget_duration_validation(value, ok):
    if ok:
        check_duration("x", value, litemaas.DURATION_WORDS)
    else:
        with pytest.raises(MaasError, match="malformed"):
            check_duration("x", value, litemaas.DURATION_WORDS)


def test_datetimes_normalise_to_utc():
    assert litemaas.to_datetime_str("2030-01-01", "k") == "2030-01-01T00:00:00+00:00"
    assert litemaas.to_datetime_str("2030-01-01T02:00:00.000+02:00", "k") == "2030-01-01T00:00:00+00:00"
    assert litemaas.to_datetime_str("2030-01-01T00:00:00Z", "k") == "2030-01-01T00:00:00+00:00"
    with pytest.raises(MaasError):
        litemaas.to_datetime_str("next tuesday", "k")


@pytest.mark.parametrize("listed,iso", [
    # as the real 0.4.0 lists expiresAt/createdAt (JavaScript Date.toString()), in the server's time zone
    ("Tue Mar 02 2027 03:33:47 GMT+0000 (Coordinated Universal Time)", "2027-03-02T03:33:47+00:00"),
    ("Mon Jan 04 2027 09:05:00 GMT+0100 (Central European Standard Time)", "2027-01-04T08:05:00+00:00"),
    ("Sun Jul 04 2027 20:00:00 GMT-0700 (Pacific Daylight Time)", "2027-07-05T03:00:00+00:00"),
])
def test_dates_as_litemaas_lists_them_compare_with_the_inventory(listed, iso):
    assert litemaas.to_datetime_str(listed, "k") == iso == litemaas.to_datetime_str(iso, "k")


def test_user_roles_use_the_shared_vocabulary_and_always_include_user():
    want = litemaas.desired_user(dict(name="a", roles=["admin"], max_budget=1))
    assert want["roles"] == ["admin", "user"]
    want = litemaas.desired_user(dict(name="a", role="admin-readonly"), dict(max_budget=50, budget_duration="30d"))
    assert want["roles"] == ["admin-readonly", "user"] and want["max_budget"] == 50   # 0.4.0's role id
    assert "roles" not in litemaas.desired_user(dict(name="b")), "roles left alone"


@pytest.mark.parametrize("inventory,sent", [("30d", "monthly"), ("7d", "weekly"), ("24h", "daily"), ("1d", "daily"),
                                            ("monthly", "monthly"), ("45d", "45d"), (None, None)])
def test_budget_durations_are_sent_as_the_words_the_portal_shows(inventory, sent):
    """The portal's forms know only daily/weekly/monthly/yearly (30d showed as "None (no auto-reset)"); LiteLLM
    resets a 30d budget and a monthly one alike (1.106.2: on the 1st of the next month)."""
    assert litemaas.desired_user(dict(name="u", budget_duration=inventory))["budget_duration"] == sent
    assert litemaas.desired_user(dict(name="u"), dict(budget_duration=inventory))["budget_duration"] == sent
    key = litemaas.desired_key(dict(name="k", owner="u", models=["m"], budget_duration=inventory))
    assert key["budget_duration"] == sent


def test_key_needs_models_and_only_sends_changed_fields():
    with pytest.raises(MaasError, match="ALL models"):
        litemaas.desired_key(dict(name="k", owner="a", models=[]))
    want = litemaas.desired_key(dict(name="k", owner={"user": "a"}, models=["b", "a", "a"], max_budget=3.0,
                                     rpm_limit=5))
    assert want["models"] == ["a", "b"] and want["owner"] == "a"
    assert litemaas._key_body(want, ("models", "max_budget")) == {"modelIds": ["a", "b"], "maxBudget": 3.0}
    assert litemaas.desired_key(dict(name="k", owner="a", state="absent"))["models"] is None


def test_model_costs_per_token_and_inventory_fields():
    want = litemaas.desired_model(dict(name="m", endpoint="http://h:8000/v1/", cost=dict(input_per_1k=0.5),
                                       max_model_len=8192, tpm_limit=10))
    assert want["endpoint"] == "http://h:8000/v1" and want["backend_model_name"] == "m"
    assert want["input_cost_per_token"] == pytest.approx(0.0005) and want["output_cost_per_token"] == 0
    assert want["max_tokens"] == 8192 and want["tpm"] == 10 and want["rpm"] == 10000
    assert "restrictedAccess" not in litemaas.ModelKind._payload("m", want), "restricted_access is left alone"


def test_model_api_key_is_the_placeholder_or_a_reference_and_never_compared():
    kind = litemaas.ModelKind
    assert kind._payload("m", litemaas.desired_model(dict(name="m", endpoint="http://h/v1")))["api_key"] == "none"
    ref = "os.environ/MAAS_VLLM_API_KEY"
    want = litemaas.desired_model(dict(name="m", endpoint="http://h/v1"), api_keys={"m": ref, "other": ref})
    assert kind._payload("m", want)["api_key"] == ref and "api_key" not in kind.fields


def test_model_api_key_refs_option_is_checked_before_any_request():
    """litemaas_tenants' model_api_key_refs: references only; a key pasted there fails naming the model, not
    showing the key, before LiteMaaS is asked anything."""
    from ansible_collections.redwood.maas.plugins.module_utils import reconcile
    ref = "os.environ/MAAS_VLLM_API_KEY"
    params = dict(jwt_secret=SECRET, automation_user=USER, jwt_ttl=300)
    assert litemaas.LiteMaaS.from_params(GatewayClient("http://h"), dict(params, model_api_key_refs={"m": ref})) \
        .api_key_refs == {"m": ref}
    client = GatewayClient("http://127.0.0.1:9")
    flavour = litemaas.LiteMaaS.from_params(client, dict(params, model_api_key_refs={"m": "sk-0123456789"}))
    with pytest.raises(MaasError, match=r"model 'm': model_api_key_refs\['m'\] must be a reference") as err:
        reconcile.run(flavour, dict(models=[dict(name="m", endpoint="http://up/v1")]))
    assert "sk-0123456789" not in str(err.value) and client.requests == 0


def test_new_subscriptions_are_active_at_once_pending_ones_follow_the_policy():
    """0.4.0's admin API makes a subscription ACTIVE, restricted model or not; pending ones (asked for in the
    portal, or moved there when a model was made restricted) are approved, denied or kept; the bulk module makes
    every listed one active (as LiteMaaS does for a key's models when an admin writes the key)."""
    current = dict(name="u", subscriptions={"p": "pending", "d": "denied", "c": "cancelled", "a": "active"})
    models = ["a", "c", "d", "new", "p"]
    want = dict((pol, litemaas.subscription_targets(models, current, pol)["subscriptions"])
                for pol in ("approve", "deny", "keep", "activate"))
    assert want["approve"] == dict(a="active", c="active", d="denied", new="active", p="active")
    assert want["activate"] == dict((m, "active") for m in models), "the bulk module: the inventory wins"
    assert want["deny"]["p"] == "denied" and want["keep"]["p"] == "pending" and want["keep"]["new"] == "active"
    gone = litemaas.subscription_targets(models, current, state="absent")["subscriptions"]
    assert gone == dict(a="none", c="cancelled", d="denied", p="none")


def test_settings_merge_keeps_current_values():
    merged, differs = litemaas_settings.merge({"max_budget": 5.0, "tpm_limit": 7}, {"max_budget": 5, "tpm_limit": None})
    assert merged == {"max_budget": 5, "tpm_limit": 7} and differs is False
    merged, differs = litemaas_settings.merge({"max_budget": 5.0, "tpm_limit": 7}, {"tpm_limit": 8})
    assert merged == {"max_budget": 5.0, "tpm_limit": 8} and differs is True
    assert litemaas_settings.to_api(("max_budget",), merged) == {"maxBudget": 5.0}


def test_key_duration_sets_expiry_only_at_creation():
    import datetime
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert litemaas.expiry_from("90d", start) == "2026-04-01T00:00:00+00:00"
    assert litemaas.expiry_from("1mo", start) == "2026-01-31T00:00:00+00:00"
    want = litemaas.desired_key(dict(name="k", owner="a", models=["m"], duration="90d"))
    assert want["lifetime"] == "90d" and "lifetime" not in litemaas.ApiKeyKind.fields


def test_inventory_check_names_what_litemaas_cannot_express():
    base = dict(models=[dict(name="m", endpoint="http://h/v1")], budget_defaults={}, teams=[], users=[dict(name="a")],
                api_keys=[dict(name="k", owner=dict(user="a"), models=["m"])], model_endpoints={}, prune=False)
    assert litemaas_inventory_info.check(base)["users"] == ["a"]
    for change, match in ((dict(teams=[dict(name="t")]), "no teams API"),
                          (dict(models=[dict(name="m")]), "no endpoint"),
                          (dict(prune=True), "ownership marker"),
                          (dict(users=[dict(name="a", state="absent")]), "no API to delete users"),
                          (dict(api_keys=[dict(name="k", owner=dict(team="t"), models=["m"])]), "no teams API"),
                          (dict(api_keys=[dict(name="k", owner=dict(user="a"), models=["x"])]), "not in maas_models"),
                          (dict(api_keys=[dict(name="k", owner=dict(user="a"), models=[])]), "ALL models")):
        with pytest.raises(MaasError, match=match):
            litemaas_inventory_info.check(dict(base, **change))
    assert litemaas_inventory_info.check(dict(base, models=[dict(name="m")], model_endpoints={"m": "http://x/v1"}))[
        "models"] == ["m"]
    validate_inventory(users=[dict(name="u", budget_duration="monthly")], capabilities=litemaas.LiteMaaS.capabilities)


def test_the_bulk_module_subscribes_a_users_models_and_the_models_of_the_users_keys():
    inv = dict(users=[dict(name="a", models=["m1"]), dict(name="b"), dict(name="gone", state="absent", models=["x"])],
               api_keys=[dict(name="k", owner=dict(user="a"), models=["m2"]),
                         dict(name="k2", owner=dict(user="c"), models=["m1", "m3"]),
                         dict(name="old", owner=dict(user="b"), models=["m4"], state="absent")])
    assert litemaas.subscribed_models(inv) == {"a": {"m1", "m2"}, "b": set(), "c": {"m1", "m3"}}
