# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""playbooks/usage_report.yml (redwood.maas.usage_info) for both gateway flavours, against the real LiteLLM of the
LiteMaaS stack: after a scripted set of calls (a key rotated, one revoked, a refused one, keys made by hand, the
master key), the report's figures equal LiteLLM's own spend records read straight from its database."""

import csv
import datetime
import hashlib
import uuid

import pytest

from litemaas_helpers import chat, connection, read_env, run_playbook, wait_for

SPECIAL = ("(not in the inventory: master key, deleted keys, unknown owners)", "(models not in the inventory)")
FIGURES = ("requests", "failed_requests", "prompt_tokens", "completion_tokens")


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]


def sha(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def spend_records(lm, since):
    """LiteLLM's own spend records since ``since``: ``{key hash: [(status, prompt, completion, spend)]}``."""
    out = {}
    text = lm.psql('SELECT api_key, COALESCE(status, \'success\'), prompt_tokens, completion_tokens, spend '
                   'FROM "LiteLLM_SpendLogs" WHERE "startTime" >= \'%s\'' % since.strftime("%Y-%m-%d %H:%M:%S.%f"),
                   database="litellm")
    for line in text.splitlines():
        key, status, prompt, completion, spend = line.split("|")
        out.setdefault(key, []).append((status, int(prompt), int(completion), float(spend)))
    return out


def expected(records, hashes):
    figures = dict((f, 0) for f in FIGURES)
    cost = 0.0
    for h in hashes:
        for status, prompt, completion, spend in records.get(h, []):
            figures["requests" if status == "success" else "failed_requests"] += 1
            figures["prompt_tokens"] += prompt
            figures["completion_tokens"] += completion
            cost += spend
    return figures, cost


def report(lm, tmp_path, inventory, since):
    out = tmp_path / "reports"
    run = run_playbook(tmp_path, dict(inventory, maas_gateway_url=lm.litellm.url,
                                      maas_gateway_token=lm.litellm.master_key, maas_target="openshift",
                                      maas_usage_start=since.isoformat(), maas_usage_report_dir=str(out)),
                       playbook="playbooks/usage_report.yml")
    assert run.rc == 0, run.out[-4000:]
    assert run.stats["changed"] == 0, "a report changes nothing"
    with open(out / "usage.csv", encoding="utf-8") as fh:
        rows = dict(((r["dimension"], r["name"]), r) for r in csv.DictReader(fh))
    page = (out / "usage.html").read_text()
    for title in ("Tokens per", "Requests over time", "over time", "Cost per model over time", "<svg"):
        assert title in page
    return rows


def check(rows, records, want):
    """Each report row equals the spend records of its keys (requests, tokens exactly; cost to 1e-9 USD)."""
    for (dimension, name), hashes in want.items():
        figures, cost = expected(records, hashes)
        row = rows.get((dimension, name))
        assert row is not None, ((dimension, name), sorted(rows))
        assert dict((f, int(row[f])) for f in FIGURES) == figures, (dimension, name)
        assert float(row["cost_usd"]) == pytest.approx(cost, abs=1e-9), (dimension, name)


def wait_recorded(lm, since, count):
    wait_for(lambda: sum(len(v) for v in spend_records(lm, since).values()) >= count, timeout=120, interval=3,
             what="%d spend records" % count)


def test_usage_report_litemaas_equals_litellm_records(litemaas, play, tmp_path, uid):
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
    ua, ub, uc = ("use-a-%s" % uid, "use-b-%s" % uid, "use-c-%s" % uid)
    ids = dict((u, litemaas.insert_user(u)) for u in (ua, ub, uc))
    m = "m-use-%s" % uid
    key = dict((n, dict(name="%s-%s" % (n, uid), owner=dict(user=ub if n == "kb" else ua), models=[m],
                        deliver_to=dict(file=str(tmp_path / ("%s.env" % n)))))
               for n in ("ka", "kr", "kv", "kb"))
    key["kb"]["max_budget"] = 0.01          # each call costs 0.035: the second one is refused (422)
    inv = dict(connection(litemaas),
               maas_models=[dict(name=m, endpoint=litemaas.litellm.upstream_url,
                                 cost=dict(input_per_1k=0.5, output_per_1k=1.5))],
               maas_users=[dict(name=ua), dict(name=ub)], maas_api_keys=list(key.values()))
    assert play(inv).rc == 0
    secrets = dict((n, read_env(k["deliver_to"]["file"])["OPENAI_API_KEY"]) for n, k in key.items())
    token = litemaas.login(0)
    with litemaas.api(token) as api:        # keys people made in the portal: ua's own, and one of uc (not listed)
        for n, user in (("mine", ua), ("ckey", uc)):
            secrets[n] = api.post("/api/v1/admin/users/%s/api-keys" % ids[user],
                                  json={"name": "%s-%s" % (n, uid), "modelIds": [m]}).raise_for_status().json()["key"]
    base = litemaas.litellm.url + "/v1"
    calls = [("ka", m, 200)] * 3 + [("ka", "not-a-model", 403)] + [("kr", m, 200)] * 2 + [("kv", m, 200)] * 2 + \
        [("kb", m, 200), ("kb", m, 422), ("kb", m, 422), ("mine", m, 200), ("ckey", m, 200)]
    for name, model, status in calls:
        assert chat(base, secrets[name], model)[0] == status, (name, model)
    assert chat(base, litemaas.litellm.master_key, m)[0] == 200
    key["kr"]["rotate"] = True
    key["kv"]["state"] = "absent"
    assert play(inv).rc == 0
    secrets["kr2"] = read_env(key["kr"]["deliver_to"]["file"])["OPENAI_API_KEY"]
    assert secrets["kr2"] != secrets["kr"]
    for name, status in (("kr2", 200), ("kr", 401), ("kv", 401)):
        assert chat(base, secrets[name], m)[0] == status, name
    wait_recorded(litemaas, since, len(calls) + 4)
    del key["kr"]["rotate"]

    rows = report(litemaas, tmp_path, inv, since)
    records = spend_records(litemaas, since)
    h = dict((n, sha(s)) for n, s in secrets.items())
    check(rows, records, {
        ("key", key["ka"]["name"]): [h["ka"]],
        ("key", key["kr"]["name"]): [h["kr"], h["kr2"]],          # before and after the rotation (and its 401)
        ("key", key["kv"]["name"]): [h["kv"]],                     # revoked, still its own
        ("key", key["kb"]["name"]): [h["kb"]],
        ("key", "(other keys of user %s)" % ua): [h["mine"]],
        ("user", ua): [h["ka"], h["kr"], h["kr2"], h["kv"], h["mine"]],
        ("user", ub): [h["kb"]],
        ("none", SPECIAL[0]): [h["ckey"], "litellm_proxy_master_key"],
    })
    assert int(rows["key", key["kr"]["name"]]["failed_requests"]) == 1
    assert int(rows["key", key["kb"]["name"]]["failed_requests"]) == 2
    total, cost = expected(records, records.keys())
    model_rows = [r for (d, dummy), r in rows.items() if d == "model"]
    assert sum(int(r["requests"]) for r in model_rows) == total["requests"]
    assert sum(float(r["cost_usd"]) for r in model_rows) == pytest.approx(cost, abs=1e-9)
    names = {ua, ub, m, key["ka"]["name"], key["kr"]["name"], key["kv"]["name"], key["kb"]["name"],
             "(other keys of user %s)" % ua} | set(SPECIAL)
    assert set(n for dummy, n in rows) <= names, sorted(rows)


def test_usage_report_litellm_equals_litellm_records(litemaas, tmp_path, uid):
    """The LiteLLM flavour, applied straight to the LiteMaaS stack's LiteLLM (one LiteLLM per test session)."""
    gw = litemaas.litellm
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
    la, lb, team, m = "ll-a-%s" % uid, "ll-b-%s" % uid, "ll-t-%s" % uid, "m-ll-%s" % uid
    key = dict((n, dict(name="%s-%s" % (n, uid), owner=owner, models=[m],
                        deliver_to=dict(file=str(tmp_path / ("%s.env" % n)))))
               for n, owner in (("tk", dict(team=team)), ("uk", dict(user=la)), ("rk", dict(user=lb)),
                                ("dk", dict(user=la)), ("gone", dict(user=lb))))
    inv = dict(maas_gateway="litellm", maas_gateway_url=gw.url, maas_gateway_token=gw.master_key,
               maas_models=[dict(name=m, endpoint=gw.upstream_url, cost=dict(input_per_1k=0.5, output_per_1k=1.5))],
               maas_users=[dict(name=la), dict(name=lb)],
               maas_teams=[dict(name=team, members=[la], models=[m])], maas_api_keys=list(key.values()))
    run = run_playbook(tmp_path, inv)
    assert run.rc == 0, run.out[-4000:]
    secrets = dict((n, read_env(k["deliver_to"]["file"])["OPENAI_API_KEY"]) for n, k in key.items())
    base = gw.url + "/v1"
    calls = [("tk", m, 200)] * 2 + [("uk", m, 200)] * 2 + [("uk", "not-a-model", 403)] + \
        [("rk", m, 200), ("dk", m, 200), ("gone", m, 200)]
    for name, model, status in calls:
        assert chat(base, secrets[name], model)[0] == status, (name, model)
    assert chat(base, gw.master_key, m)[0] == 200
    key["rk"]["rotate"] = True
    key["dk"]["state"] = "absent"
    key["gone"]["state"] = "absent"
    run = run_playbook(tmp_path, inv)
    assert run.rc == 0, run.out[-4000:]
    secrets["rk2"] = read_env(key["rk"]["deliver_to"]["file"])["OPENAI_API_KEY"]
    for name, status in (("rk2", 200), ("rk", 401), ("dk", 401), ("gone", 401)):
        assert chat(base, secrets[name], m)[0] == status, name
    wait_recorded(litemaas, since, len(calls) + 5)
    del key["rk"]["rotate"]
    inv["maas_api_keys"] = [k for n, k in key.items() if n != "gone"]     # gone: deleted from the inventory too

    rows = report(litemaas, tmp_path, inv, since)
    records = spend_records(litemaas, since)
    h = dict((n, sha(s)) for n, s in secrets.items())
    check(rows, records, {
        ("key", key["tk"]["name"]): [h["tk"]],
        ("key", key["uk"]["name"]): [h["uk"]],
        ("key", key["rk"]["name"]): [h["rk"], h["rk2"]],
        ("key", key["dk"]["name"]): [h["dk"]],
        ("key", "(other keys of user %s)" % lb): [h["gone"]],   # no longer listed; its owner still is
        ("team", team): [h["tk"]],                               # a team key's calls: the team, no "user (none)"
        ("user", la): [h["uk"], h["dk"]],
        ("user", lb): [h["rk"], h["rk2"], h["gone"]],
        ("none", SPECIAL[0]): ["litellm_proxy_master_key"],
    })
    names = {la, lb, team, m, "(other keys of user %s)" % lb} | set(k["name"] for k in inv["maas_api_keys"]) | \
        set(SPECIAL)
    assert set(n for dummy, n in rows) <= names, sorted(rows)
    assert ("user", "(none)") not in rows and ("team", "(none)") not in rows
