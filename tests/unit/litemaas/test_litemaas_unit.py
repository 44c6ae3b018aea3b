# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Unit tests of the LiteMaaS module logic (no network)."""

import os
import stat
import sys

import jwt
import pytest

for _p in (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or "").split(os.pathsep):
    if _p and _p not in sys.path:
        sys.path.insert(0, _p)

from ansible_collections.redwood.maas.plugins.module_utils import litemaas  # noqa: E402
from ansible_collections.redwood.maas.plugins.module_utils.client import GatewayError  # noqa: E402
from ansible_collections.redwood.maas.plugins.module_utils import litemaas_kinds  # noqa: E402
from ansible_collections.redwood.maas.plugins.modules import litemaas_settings, litemaas_usage_info  # noqa: E402

# the module logic lives in module_utils/litemaas_kinds.py; the modules are thin wrappers
litemaas_api_key = litemaas_user = litemaas_model = litemaas_kinds

SECRET = "a-long-enough-secret-for-hs256-tests-0123"
USER = dict(id="3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", username="maas-automation", email="a@localhost")


def test_minted_jwt_verifies_with_pyjwt_and_carries_litemaas_claims():
    token = litemaas.mint_jwt(SECRET, USER, ttl=120, now=1_000_000)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == dict(userId=USER["id"], username=USER["username"], email=USER["email"],
                          roles=["admin", "user"], iat=1_000_000, exp=1_000_120)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET + "x", algorithms=["HS256"], options={"verify_exp": False})


def test_writes_refuse_without_jwt_secret_and_reads_use_admin_key():
    api = litemaas.LiteMaaS(dict(gateway_url="http://127.0.0.1:9", token="ltm_admin_x"))
    with pytest.raises(GatewayError, match="jwt_secret"):
        api.write("PATCH", "/api/v1/users/x")
    assert api.client.requests == 0


@pytest.mark.parametrize("params,match", [
    (dict(gateway_url="http://h"), "set jwt_secret"),
    (dict(gateway_url="http://h", jwt_secret="s"), "automation_user"),
    (dict(gateway_url="http://h", jwt_secret="s", automation_user=dict(USER, id="42")), "UUID"),
])
def test_connection_options_are_checked(params, match):
    with pytest.raises(GatewayError, match=match):
        litemaas.LiteMaaS(params)


@pytest.mark.parametrize("value,ok", [("daily", True), ("30d", True), ("2mo", True), ("12h", True),
                                      ("fortnight", False), ("30 d", False), ("d", False)])
def test_budget_duration_validation(value, ok):
    if ok:
        litemaas.check_duration(value, "x")
    else:
        with pytest.raises(ValueError, match="budget duration"):
            litemaas.check_duration(value, "x")


def test_datetimes_normalise_to_utc():
    assert litemaas.to_datetime_str("2030-01-01", "k") == "2030-01-01T00:00:00+00:00"
    assert litemaas.to_datetime_str("2030-01-01T02:00:00.000+02:00", "k") == "2030-01-01T00:00:00+00:00"
    assert litemaas.to_datetime_str("2030-01-01T00:00:00Z", "k") == "2030-01-01T00:00:00+00:00"
    with pytest.raises(ValueError):
        litemaas.to_datetime_str("next tuesday", "k")


def test_env_file_written_0600_then_kept(tmp_path):
    path = str(tmp_path / "sub" / "k.env")
    assert litemaas.write_env_file(path, "sk-1", "http://gw/v1", check_mode=True) is True
    assert not os.path.exists(path)
    assert litemaas.write_env_file(path, "sk-1", "http://gw/v1") is True
    assert open(path).read() == "OPENAI_API_KEY=sk-1\nOPENAI_BASE_URL=http://gw/v1\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert litemaas.write_env_file(path, None, "http://gw/v1") is False
    assert litemaas.write_env_file(path, None, "http://gw2/v1") is True
    assert open(path).read() == "OPENAI_API_KEY=sk-1\nOPENAI_BASE_URL=http://gw2/v1\n"


def test_user_roles_always_include_user_and_limits_checked():
    want = litemaas_user.desired_user(dict(username="a", roles=["admin"], max_budget=1, tpm_limit=None,
                                           rpm_limit=None, budget_duration=None))
    assert want["roles"] == ["admin", "user"]
    with pytest.raises(ValueError, match="max_budget must be >= 0"):
        litemaas_user.desired_user(dict(username="a", roles=None, max_budget=-1, tpm_limit=None, rpm_limit=None,
                                        budget_duration=None))


def _key_params(**kw):
    p = dict(name="k", owner="a", state="present", models=["m"])
    p.update(dict((f, None) for f, dummy in litemaas_api_key.KEY_FIELDS if f not in p))
    p.update(kw)
    return p


def test_key_needs_models_and_only_sends_changed_fields():
    with pytest.raises(ValueError, match="ALL models"):
        litemaas_api_key.desired_key(_key_params(models=[]))
    want = litemaas_api_key.desired_key(_key_params(models=["b", "a", "a"], max_budget=3.0, rpm_limit=5))
    assert want["models"] == ["a", "b"]
    assert litemaas_api_key._body(want, ("models", "max_budget")) == {"modelIds": ["a", "b"], "maxBudget": 3.0}
    assert litemaas_api_key.desired_key(_key_params(state="absent", models=None))["models"] is None


def test_model_costs_per_token_and_endpoint_checked():
    p = dict(name="m", state="present", endpoint="http://h:8000/v1/", backend_model_name=None, description=None,
             input_cost_per_1k=0.5, output_cost_per_1k=1.5, tpm=1, rpm=1, max_tokens=8,
             supports_vision=False, supports_function_calling=False, supports_parallel_function_calling=False,
             supports_tool_choice=False, restricted_access=False)
    want = litemaas_model.desired_model(p)
    assert want["endpoint"] == "http://h:8000/v1" and want["backend_model_name"] == "m"
    assert want["input_cost_per_token"] == pytest.approx(0.0005)
    with pytest.raises(ValueError, match="endpoint"):
        litemaas_model.desired_model(dict(p, endpoint="h:8000"))


def test_settings_merge_keeps_current_values():
    merged, differs = litemaas_settings.merge({"max_budget": 5.0, "tpm_limit": 7}, {"max_budget": 5, "tpm_limit": None})
    assert merged == {"max_budget": 5, "tpm_limit": 7} and differs is False
    merged, differs = litemaas_settings.merge({"max_budget": 5.0, "tpm_limit": 7}, {"tpm_limit": 8})
    assert merged == {"max_budget": 5.0, "tpm_limit": 8} and differs is True
    assert litemaas_settings.to_api(("max_budget",), merged) == {"maxBudget": 5.0}


def test_usage_period_defaults_and_order():
    import datetime
    today = datetime.date(2026, 11, 24)
    assert litemaas_usage_info.period(dict(start_date=None, end_date=None), today) == ("2026-10-25", "2026-11-24")
    with pytest.raises(ValueError, match="after"):
        litemaas_usage_info.period(dict(start_date="2026-11-02", end_date="2026-11-01"))


def test_key_duration_sets_expiry_only_at_creation():
    import datetime
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert litemaas_api_key.expiry_from("90d", start) == "2026-04-01T00:00:00+00:00"
    assert litemaas_api_key.expiry_from("1mo", start) == "2026-01-31T00:00:00+00:00"
    want = litemaas_api_key.desired_key(_key_params(duration="90d"))
    assert want["lifetime"] == "90d" and "lifetime" not in litemaas_api_key.ApiKeyKind.fields
    with pytest.raises(ValueError, match="duration"):
        litemaas_api_key.desired_key(_key_params(duration="weekly"))


def test_inventory_check_names_what_litemaas_cannot_express():
    inv = litemaas_kinds
    from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError
    base = dict(models=[dict(name="m", endpoint="http://h/v1")], budget_defaults={}, teams=[], users=[dict(name="a")],
                api_keys=[dict(name="k", owner=dict(user="a"), models=["m"])], model_endpoints={}, prune=False)
    assert inv.check_inventory(base) == (["a"], ["m"])
    for change, match in ((dict(teams=[dict(name="t")]), "no teams API"),
                          (dict(models=[dict(name="m")]), "no endpoint"),
                          (dict(api_keys=[dict(name="k", owner=dict(user="a"), models=[])]), "ALL models")):
        with pytest.raises(InputError, match=match):
            inv.check_inventory(dict(base, **change))
    assert inv.check_inventory(dict(base, models=[dict(name="m")], model_endpoints={"m": "http://x/v1"})) == (["a"], ["m"])


def test_bulk_maps_the_shared_inventory_to_litemaas_fields():
    from ansible_collections.redwood.maas.plugins.modules import litemaas_tenants as bulk
    from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError
    model = litemaas_kinds.desired_model(bulk.model_params(
        dict(name="m", max_model_len=8192, cost=dict(input_per_1k=0.5), tpm_limit=10), {"m": "http://h/v1"}))
    assert model["endpoint"] == "http://h/v1" and model["max_tokens"] == 8192 and model["tpm"] == 10
    assert model["input_cost_per_token"] == pytest.approx(0.0005) and model["output_cost_per_token"] == 0
    user = litemaas_kinds.desired_user(bulk.user_params(dict(name="a", role="admin-readonly", max_budget=5),
                                                        dict(max_budget=50, budget_duration="30d")))
    assert user["roles"] == ["adminReadonly", "user"] and user["max_budget"] == 5 and user["budget_duration"] == "30d"
    assert "roles" not in litemaas_kinds.desired_user(bulk.user_params(dict(name="b"), {})), "roles left alone"
    key = litemaas_kinds.desired_key(bulk.key_params(dict(name="k", owner=dict(user="a"), models=["m"], rpm_limit=3)))
    assert key["models"] == ["m"] and key["rpm_limit"] == 3 and key["state"] == "present"
    with pytest.raises(InputError, match="owner.user"):
        bulk.key_params(dict(name="k", state="absent"))
