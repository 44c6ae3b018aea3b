"""Planning with the LiteLLM Kind adapters and the reconcile engine: pure, no gateway."""
import pytest

from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError as InputError
from ansible_collections.redwood.maas.plugins.module_utils.delivery import env_content
from ansible_collections.redwood.maas.plugins.module_utils.litellm import (
    KeyKind, ModelKind, TeamKind, UserKind, check_references)
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import plan_kind


def test_user_plan_uses_defaults_and_compares_numbers_by_value():
    kind = UserKind(client=None)
    desired = [kind.desired({"name": "alice", "email": "a@x"}, {"max_budget": 50, "budget_duration": "30d"})]
    current = {"alice": {"name": "alice", "email": "a@x", "role": "user", "models": [], "max_budget": 50.0,
                         "budget_duration": "30d", "tpm_limit": None, "rpm_limit": None,
                         "metadata": {"managed_by": "redwood.maas"}}}
    assert plan_kind(kind, desired, current)[0]["action"] == "none"
    desired[0]["max_budget"] = 75
    step = plan_kind(kind, desired, current)[0]
    assert step["action"] == "update" and step["changes"] == {"max_budget": {"before": 50.0, "after": 75}}


def test_team_members_compare_as_a_set_and_ignore_the_creating_admin():
    row = {"team_id": "cs", "models": ["m"], "members_with_roles": [
        {"user_id": "default_user_id", "role": "admin"}, {"user_id": "bob", "role": "user"},
        {"user_id": "alice", "role": "user"}], "metadata": {"managed_by": "redwood.maas"}}
    current = {"cs": TeamKind._current(row)}
    kind = TeamKind(client=None)
    same = kind.desired({"name": "cs", "members": ["alice", "bob"], "models": ["m"]})
    assert plan_kind(kind, [same], current)[0]["action"] == "none"
    assert kind.managed(current["cs"])


def test_key_diff_never_shows_secret_and_prune_spares_unmarked_keys():
    kind = KeyKind(client=None)
    marked = KeyKind._current({"key_alias": "old", "token": "hash1", "user_id": "a",
                               "metadata": {"managed_by": "redwood.maas"}})
    by_hand = KeyKind._current({"key_alias": "hand", "token": "hash2", "user_id": "a", "metadata": {}})
    plan = plan_kind(kind, [], {"old": marked, "hand": by_hand}, prune=True)
    assert [(s["name"], s["action"]) for s in plan] == [("old", "delete")]
    assert "hash1" not in repr([kind.view(s["before"]) for s in plan]) and "token" not in repr(kind.view(marked))


def test_model_cost_per_1k_becomes_cost_per_token():
    d = ModelKind(client=None).desired({"name": "m", "endpoint": "http://x/v1",
                                        "cost": {"input_per_1k": 0.5, "output_per_1k": 1.5}})
    assert d["input_cost_per_token"] == pytest.approx(0.0005) and d["output_cost_per_token"] == pytest.approx(0.0015)


def test_references_must_exist_in_inventory_or_gateway():
    current = {"model": {"m": {}}, "user": {"carol": {}}, "team": {}, "api_key": {}}
    check_references([], [], [], [{"name": "k", "owner": {"user": "carol"}, "models": ["m"]}], current)
    with pytest.raises(InputError, match="api key 'k': owner team 'ghosts'"):
        check_references([], [], [], [{"name": "k", "owner": {"team": "ghosts"}}], current)
    with pytest.raises(InputError, match="team 't' references model"):
        check_references([], [{"name": "t", "models": ["nope"]}], [], [], current)
    with pytest.raises(InputError, match="team 't' has member"):
        check_references([], [{"name": "t", "members": ["zed"]}], [], [], current)
    # a model the inventory removes cannot be referenced any more
    with pytest.raises(InputError, match="references model"):
        check_references([{"name": "m", "state": "absent"}], [], [], [{"name": "k", "owner": {"user": "carol"},
                                                                      "models": ["m"]}], current)


def test_env_content_appends_v1_once():
    assert env_content("sk-x", "https://gw.example.com") == \
        "OPENAI_API_KEY=sk-x\nOPENAI_BASE_URL=https://gw.example.com/v1\n"
    assert env_content("sk-x", "https://gw.example.com/v1/").endswith("OPENAI_BASE_URL=https://gw.example.com/v1\n")
