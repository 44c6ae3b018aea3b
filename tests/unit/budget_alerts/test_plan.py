"""Budget-alert planning (module_utils/budget_alerts.py): once per crossing, again after a reset."""
from ansible_collections.redwood.maas.plugins.module_utils.budget_alerts import plan, recipients


def info(spend):
    return {"users": [{"name": "bob", "email": "bob@example.edu", "spend": spend, "max_budget": 5.0}],
            "teams": [{"name": "cs", "members": ["bob"], "spend": spend, "max_budget": None}],
            "keys": [{"name": "ci", "user": "bob", "team": None, "spend": spend, "max_budget": 10.0}]}


def test_alerts_once_then_again_after_the_budget_resets():
    send, state, dummy = plan(info(3.9), 80, {}, {})
    assert send == [] and state == {}
    send = plan(info(4.0), 80, {}, {})[0]
    assert [(a["kind"], a["name"]) for a in send] == [("user", "bob")] and send[0]["percent_used"] == 80.0
    state = {"user/bob": {"sent_at": "t"}}
    assert plan(info(4.5), 80, {}, state)[0] == []
    # the budget period resets: spend back to 0 forgets bob, the next crossing alerts again
    state = plan(info(0.0), 80, {}, state)[1]
    assert state == {}
    assert [a["name"] for a in plan(info(4.2), 80, {}, state)[0]] == ["bob"]


def test_overrides_and_silencing():
    send = plan(info(4.0), 80, {"users": {"bob": 0}, "keys": {"ci": 40}}, {})[0]
    assert [(a["kind"], a["name"], a["threshold_percent"]) for a in send] == [("key", "ci", 40)]


def test_recipients_list_plus_owners_without_duplicates():
    alert = {"kind": "key", "name": "ci", "owner": {"user": "bob", "team": None}}
    email = {"to": ["ops@example.edu", "bob@example.edu"], "to_owners": True}
    assert recipients(alert, email, {"bob": "bob@example.edu"}) == ["ops@example.edu", "bob@example.edu"]
