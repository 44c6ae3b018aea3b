"""Validation of the tenant data model (plugins/module_utils/tenants.py): pure functions, no gateway."""
import pytest

from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError, validate_inventory

GOOD = dict(
    models=[{"name": "m", "endpoint": "http://127.0.0.1:8000/v1", "cost": {"input_per_1k": 0.5, "output_per_1k": 1}}],
    teams=[{"name": "cs", "max_budget": 10, "budget_duration": "1mo", "models": ["m"], "members": ["alice"]}],
    users=[{"name": "alice", "email": "a@example.edu", "role": "admin", "max_budget": "100"}],
    keys=[{"name": "k", "owner": {"team": "cs"}, "models": ["m"], "duration": "30d",
           "deliver_to": {"file": "/tmp/k.env"}}],
    budget_defaults={"max_budget": 50, "budget_duration": "30d", "tpm_limit": 1000, "rpm_limit": "60"},
)


def test_valid_inventory_is_normalised():
    models, teams, users, keys, defaults = validate_inventory(**GOOD)
    assert users[0]["max_budget"] == 100.0        # numeric strings from inventories become numbers
    assert defaults["rpm_limit"] == 60
    assert keys[0]["owner"] == {"team": "cs"}


@pytest.mark.parametrize("duration", ["30s", "30m", "30h", "30d", "1mo", "12mo"])
def test_litellm_durations_are_accepted(duration):
    validate_inventory(users=[{"name": "u", "budget_duration": duration}])


@pytest.mark.parametrize("field,value,message", [
    ("max_budget", -1, "user 'u': max_budget must be >= 0"),
    ("max_budget", "lots", "user 'u': max_budget must be a number"),
    ("max_budget", True, "user 'u': max_budget must be a number"),
    ("budget_duration", "30days", "user 'u': budget_duration '30days' is malformed"),
    ("budget_duration", "0d", "malformed"),
    ("budget_duration", "1 mo", "malformed"),
    ("rpm_limit", -3, "user 'u': rpm_limit must be a non-negative integer"),
    ("max_budget", float("inf"), "user 'u': max_budget must be a finite number"),
    ("max_budget", float("nan"), "user 'u': max_budget must be a finite number"),
    ("max_budget", 1e309, "user 'u': max_budget must be a finite number"),
    ("max_budget", "1e309", "user 'u': max_budget must be a finite number"),
    ("role", "root", "user 'u': role must be one of admin, admin-readonly, user"),
    ("models", "m", "user 'u': models must be a list of names"),
    ("colour", "red", "user 'u': unknown field(s) colour"),
])
def test_bad_user_fields_name_the_entry(field, value, message):
    with pytest.raises(InputError, match=None) as err:
        validate_inventory(users=[{"name": "u", field: value}])
    assert message in str(err.value)


@pytest.mark.parametrize("kind,items,message", [
    ("users", [{"name": "a"}, {"name": "a"}], "duplicate user name 'a'"),
    ("teams", [{"name": "t"}, {"name": "t"}], "duplicate team name 't'"),
    ("models", [{"name": "m"}, {"name": "m"}], "duplicate model name 'm'"),
    ("keys", [{"name": "k", "owner": {"user": "a"}}, {"name": "k", "owner": {"user": "a"}}],
     "duplicate api key name 'k'"),
    ("keys", [{"name": "k", "owner": {"user": "a", "team": "t"}}], "api key 'k': owner must set exactly one"),
    ("keys", [{"name": "k"}], "api key 'k': owner must set exactly one"),
    ("keys", [{"name": "k", "owner": {"group": "x"}}], "api key 'k': owner: unknown field(s) group"),
    ("keys", [{"name": "k", "owner": {"user": "a"}, "deliver_to": {"file": "/f", "secret": {"namespace": "n",
                                                                                            "name": "s"}}}],
     "api key 'k': deliver_to must set exactly one of file or secret"),
    ("keys", [{"name": "k", "owner": {"user": "a"}, "duration": "forever"}], "api key 'k': duration 'forever'"),
    ("models", [{"name": "m", "cost": {"input_per_1k": -1}}], "model 'm': cost.input_per_1k must be >= 0"),
    ("models", [{"name": "m", "endpoint": "ftp://x"}], "model 'm': endpoint must be an http(s) URL"),
    ("teams", [{"name": "t", "members": "alice"}], "team 't': members must be a list of names"),
    ("users", [{"email": "x@y"}], "user entry #1"),
    ("users", [{"name": "a", "email": "X@y"}, {"name": "b", "email": "x@Y"}], "user 'b': email 'x@Y' is also the email of user 'a'"),
    ("models", [{"name": "m", "cost": {"output_per_1k": float("nan")}}], "model 'm': cost.output_per_1k must be a finite"),
])
def test_bad_entries_fail_with_the_entry_named(kind, items, message):
    with pytest.raises(InputError) as err:
        validate_inventory(**{kind: items})
    assert message in str(err.value)


def test_absent_key_needs_no_owner():
    validate_inventory(keys=[{"name": "old", "state": "absent"}])


def test_budget_defaults_are_checked():
    with pytest.raises(InputError) as err:
        validate_inventory(budget_defaults={"max_budget": -5})
    assert "budget_defaults: max_budget must be >= 0" in str(err.value)
