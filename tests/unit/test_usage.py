# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Attribution of LiteLLM spend log rows to inventory objects (module_utils/usage.py), both flavours."""

import datetime

import pytest

from ansible_collections.redwood.maas.plugins.module_utils import usage
from ansible_collections.redwood.maas.plugins.modules import usage_info

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 12, 1, tzinfo=UTC)
END = datetime.datetime(2026, 12, 5, 12, tzinfo=UTC)


def log(rid, alias=None, user="", team=None, api_key="h", model="demo", status="success", when="2026-12-05T11:00:00",
        prompt=10, completion=20, spend=0.035):
    meta = {"user_api_key_alias": alias, "user_api_key_user_id": user or None}
    return dict(request_id=rid, api_key=api_key, user=user, team_id=team, model_group=model, model="openai/" + model,
                status=status, startTime=when, prompt_tokens=prompt if status == "success" else 0,
                completion_tokens=completion if status == "success" else 0,
                spend=spend if status == "success" else 0, metadata=meta)


def rows_by(rows):
    return dict(((r["dimension"], r["name"]), r) for r in rows)


def test_litemaas_aliases_uuids_rotated_revoked_and_unowned_calls():
    inv = usage.Inventory(
        "litemaas", users=[dict(name="alice", email="alice@example.edu"), dict(name="bob", email="bob@x")],
        api_keys=[dict(name="nb", owner=dict(user="alice")), dict(name="old", owner=dict(user="alice"), state="absent"),
                  dict(name="bobs", owner=dict(user="bob"))],
        models=[dict(name="demo")],
        gateway_users=[dict(user_id="u-a", user_alias="alice"), dict(user_id="u-b", user_alias="robert", user_email="bob@x"),
                       dict(user_id="u-c", user_alias="carol")])
    logs = [
        log("1", "nb_0123abcd", "u-a", api_key="h1"), log("2", "nb_89abcdef", "u-a", api_key="h2"),   # rotated
        log("3", "nb_0123abcd", "u-a", api_key="h1", status="failure"),
        log("4", "old_deadbeef", "u-a", api_key="h3"),                                                 # revoked
        log("5", "portal_11112222", "u-a", api_key="h4"),                                              # alice's own
        log("6", "nb_33334444", "u-c", api_key="h5"),                  # carol named a key like alice's: not alice's
        log("7", None, "", api_key="master"),                                                          # master key
        log("8", "bobs_55556666", "u-b", api_key="h6", model="other"),  # bob: renamed, found by e-mail
        log("8", "bobs_55556666", "u-b", api_key="h6", model="other"),  # the same row read twice
        log("9", "nb_0123abcd", "u-a", when="2026-11-20T00:00:00"),    # before the period
    ]
    rows, totals, series = usage.aggregate(logs, inv, START, END)
    by = rows_by(rows)
    assert (by["key", "nb"]["requests"], by["key", "nb"]["failed_requests"]) == (2, 1)
    assert by["key", "old"]["requests"] == 1
    assert by["key", "(other keys of user alice)"]["requests"] == 1
    assert by["user", "alice"]["requests"] == 4 and by["user", "alice"]["failed_requests"] == 1
    assert by["user", "bob"]["requests"] == 1 and by["key", "bobs"]["requests"] == 1
    assert by["none", usage.NO_OWNER]["requests"] == 2          # carol's key and the master key
    assert by["model", "demo"]["requests"] == 6 and by["model", usage.OTHER_MODELS]["requests"] == 1
    assert totals["requests"] == 7 and totals["failed_requests"] == 1 and totals["prompt_tokens"] == 70
    # every dimension adds up to the totals
    for dims in (("user", "team", "none"), ("key", "none"), ("model",)):
        for figure in usage.FIGURES:
            assert sum(r[figure] for r in rows if r["dimension"] in dims) == pytest.approx(totals[figure]), (dims, figure)
    assert sum(series["requests"].values()) == 8
    assert set(series["cost_by_owner"]) == {"user alice", "user bob", usage.NO_OWNER}


def test_litellm_team_keys_user_keys_deleted_keys_and_hash_only_rows():
    inv = usage.Inventory("litellm", users=[dict(name="alice")], teams=[dict(name="research")],
                          api_keys=[dict(name="smoke", owner=dict(team="research")),
                                    dict(name="mine", owner=dict(user="alice"))],
                          models=[dict(name="demo")])
    logs = [log("1", "smoke", "", team="research"), log("2", "mine", "alice"),
            log("3", None, "", api_key="hash-of-mine", status="failure"),     # a 401 of a revoked key: hash only
            log("4", "gone", "carol"),                                        # a key no longer in the inventory
            log("5", "handmade", "alice")]
    rows, totals, dummy = usage.aggregate(logs, inv, START, END,
                                          keys_by_hash={"hash-of-mine": dict(key_alias="mine", user_id="alice")})
    by = rows_by(rows)
    assert by["team", "research"]["requests"] == 1 and by["key", "smoke"]["requests"] == 1
    assert ("user", "(none)") not in by and ("team", "(none)") not in by
    assert by["key", "mine"]["failed_requests"] == 1 and by["user", "alice"]["requests"] == 2
    assert by["key", "(other keys of user alice)"]["requests"] == 1
    assert by["none", usage.NO_OWNER]["requests"] == 1
    names = set(name for dummy, name in by)
    assert names <= {"research", "smoke", "mine", "alice", "demo", "(other keys of user alice)", usage.NO_OWNER}


def test_spend_log_times_and_period():
    want = datetime.datetime(2026, 12, 5, 11, 24, 10, 803000, tzinfo=UTC)
    assert usage.parse_time("2026-12-05T11:24:10.803+00:00") == want
    assert usage.parse_time("2026-12-05 11:24:10.8Z").microsecond == 800000
    now = datetime.datetime(2026, 12, 5, 12, tzinfo=UTC)
    start, end = usage_info.period(dict(start=None, end=None, days=7), now)
    assert (start, end) == (now - datetime.timedelta(days=7), now)
    start, end = usage_info.period(dict(start="2026-10-01", end="2026-10-31", days=30), now)
    assert start.isoformat() == "2026-10-01T00:00:00+00:00" and end.isoformat() == "2026-10-31T23:59:59.999999+00:00"
    with pytest.raises(ValueError, match="after"):
        usage_info.period(dict(start="2026-11-02", end="2026-11-01", days=30), now)


class FakeClient(object):
    """/spend/logs/v2 over a list of rows, ordered by startTime only, at most SPEND_PAGE rows a page."""

    def __init__(self, logs):
        self.logs = logs
        self.calls = []

    def get(self, path, what=None, params=None):
        self.calls.append(dict(params))
        lo = datetime.datetime.strptime(params["start_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        hi = datetime.datetime.strptime(params["end_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        rows = [r for r in self.logs if lo <= usage.parse_time(r["startTime"]) <= hi]
        size = params["page_size"]
        first = (params["page"] - 1) * size
        return dict(data=rows[first:first + size], total=len(rows), total_pages=-(-len(rows) // size))


def test_reading_spend_logs_splits_windows_instead_of_paging(monkeypatch):
    monkeypatch.setattr(usage, "SPEND_PAGE", 10)
    base = datetime.datetime(2026, 12, 5, 10, tzinfo=UTC)
    logs = [log(str(n), when=(base + datetime.timedelta(seconds=7 * n)).isoformat()) for n in range(95)]
    logs += [log("same-second-%d" % n, when=(base + datetime.timedelta(seconds=2000)).isoformat()) for n in range(25)]
    client = FakeClient(logs)
    got = usage.read_spend_logs(client, base, base + datetime.timedelta(hours=1))
    assert set(r["request_id"] for r in got) == set(r["request_id"] for r in logs)
    assert any(c["page"] > 1 for c in client.calls)      # only the second holding 25 rows was paged
