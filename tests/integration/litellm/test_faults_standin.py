"""Fault injection against the real LiteLLM proxy: a small HTTP proxy (the STAND-IN, only for the faults a
real proxy cannot be made to produce on demand) sits between the modules and LiteLLM, counts every request
and write, and answers 500 to the Nth create, 503 to every Nth request, delays the Nth create past the
client's timeout, or SIGKILLs LiteLLM after the Nth write. Whatever happens, at most one clean re-run
converges, and then every key in the gateway has its working secret at its destination.

Also here, counted by the same proxy: bad input, hand-made objects and a runaway prune are refused with
0 write requests."""
import copy
import hashlib
import os
import pathlib
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from test_tenants_playbook import env_file, key_row, tenants, user_row

CREATES = ("/model/new", "/user/new", "/team/new", "/key/generate")


class FaultProxy(object):
    """Forwards to ``target``; counts; injects the faults set with ``reset(...)``."""

    def __init__(self, target):
        self.target = target
        self.lock = threading.Lock()
        self.reset()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.http = httpx.Client(base_url=target, timeout=120)

    def reset(self, fail_create=None, every_503=0, delay_create=None, kill_at_write=None, on_kill=None, delay_all=0):
        self.requests = self.writes = self.creates = 0
        self.fail_create = dict(fail_create or {})     # nth create -> "before" (not applied) | "after" (applied)
        self.every_503 = every_503
        self.delay_create = dict(delay_create or {})   # nth create -> seconds to hold the (applied) answer
        self.kill_at_write = kill_at_write
        self.on_kill = on_kill
        self.delay_all = delay_all                     # seconds before answering any request
        self.killed = False

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    def handle(self, method, path, headers, body):
        with self.lock:
            self.requests += 1
            number = self.requests
            write = create = None
            if method != "GET":
                self.writes += 1
                write = self.writes
            if method == "POST" and path.split("?")[0] in CREATES:
                self.creates += 1
                create = self.creates
            if self.killed:
                return 502, b'{"error": {"message": "bad gateway (LiteLLM killed)"}}'
        if self.every_503 and number % self.every_503 == 0:
            return 503, b'{"error": {"message": "injected 503"}}'
        if create and self.fail_create.get(create) == "before":
            return 500, b'{"error": {"message": "injected 500 (not applied)"}}'
        try:
            resp = self.http.request(method, path, headers=headers, content=body)
        except httpx.HTTPError:
            return 502, b'{"error": {"message": "bad gateway"}}'
        if create and create in self.delay_create:
            time.sleep(self.delay_create[create])
        time.sleep(self.delay_all)
        if create and self.fail_create.get(create) == "after":
            return 500, b'{"error": {"message": "injected 500 (applied)"}}'
        if write and write == self.kill_at_write:
            self.killed = True
            self.on_kill()
            return 502, b'{"error": {"message": "bad gateway (LiteLLM killed)"}}'
        return resp.status_code, resp.content


class _Handler(BaseHTTPRequestHandler):
    proxy = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _relay(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() in ("authorization", "content-type"))
        status, content = self.proxy.handle(self.command, self.path, headers, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _relay


@pytest.fixture(scope="module")
def proxy(gateway):
    fp = FaultProxy(gateway.url)
    yield fp
    fp.close()


def through(proxy, gateway, inv, **extra):
    """The inventory aimed at the fault proxy; delivered keys name the real gateway."""
    return dict(inv, maas_gateway_url=proxy.url, maas_gateway_public_url=gateway.url, **extra)


def assert_every_key_delivered(api, gateway, inv, result):
    """Every key of the inventory exists once, and its destination holds its working secret."""
    assert result["undelivered"] == [], result["undelivered"]
    names = [k["name"] for k in inv["maas_api_keys"]]
    for name in names:
        rows = api.get("/key/list", params={"key_alias": name, "return_full_object": "true"}).json()["keys"]
        assert len(rows) == 1, "%s: %d keys with this alias" % (name, len(rows))
        secret = env_file(inv_file(inv, name))["OPENAI_API_KEY"]
        assert hashlib.sha256(secret.encode()).hexdigest() == rows[0]["token"], "%s: wrong secret delivered" % name
    for name in (names[0], names[-1]):      # and the secret works for a consumer
        secret = env_file(inv_file(inv, name))["OPENAI_API_KEY"]
        chat = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": "Bearer " + secret},
                          json={"model": inv["maas_models"][0]["name"], "messages": [{"role": "user", "content": "hi"}]},
                          timeout=60)
        assert chat.status_code == 200, chat.text


def one_clean_rerun_converges(api, gateway, play, proxy, inv):
    """A clean re-run succeeds and leaves every key delivered; the one after it writes nothing."""
    proxy.reset()
    rerun = play(through(proxy, gateway, inv))
    assert rerun.rc == 0, rerun.out[-3000:]
    assert_every_key_delivered(api, gateway, inv, rerun.result)
    proxy.reset()
    assert play(through(proxy, gateway, inv)).stats["changed"] == 0 and proxy.writes == 0


def inv_file(inv, name):
    return [k for k in inv["maas_api_keys"] if k["name"] == name][0]["deliver_to"]["file"]


def big(gateway, uid, tmp_path, users=100, teams=10, keys=200):
    m = uid + "-model"
    return {
        "maas_models": [{"name": m, "endpoint": gateway.upstream_url}],
        "maas_budget_defaults": {"max_budget": 50, "budget_duration": "30d"},
        "maas_users": [{"name": "%s-u%03d" % (uid, i), "email": "%s-u%03d@example.edu" % (uid, i)}
                       for i in range(users)],
        "maas_teams": [{"name": "%s-t%02d" % (uid, t), "models": [m],
                        "members": ["%s-u%03d" % (uid, t * 10 + j) for j in range(10)]} for t in range(teams)],
        "maas_api_keys": [{"name": "%s-k%03d" % (uid, k), "models": [m], "max_budget": 10,
                           "owner": {"user": "%s-u%03d" % (uid, k // 2)} if k % 2 else {"team": "%s-t%02d" % (uid, k % teams)},
                           "deliver_to": {"file": str(tmp_path / "keys" / ("k%03d.env" % k))}} for k in range(keys)],
    }


# ---------------------------------------------------------------- adoption and the prune guard

def test_prune_guard_refuses_a_runaway_prune_then_force_does_it_standin(gateway, api, play, proxy, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    assert play(inv).rc == 0
    hand = api.post("/key/generate", json={"key_alias": uid + "-by-hand", "user_id": uid + "-bob"})
    assert hand.status_code == 200, hand.text
    empty = dict(inv, maas_api_keys=[], maas_tenants_prune=True)     # e.g. a keys file that failed to load
    proxy.reset()
    run = play(through(proxy, gateway, empty))
    assert run.rc != 0 and proxy.writes == 0
    assert "prune would delete" in run.result["msg"] and "managed api_key objects" in run.result["msg"]
    assert key_row(api, uid + "-team-key") is not None

    forced = play(through(proxy, gateway, empty, maas_tenants_prune_force=True))
    assert forced.rc == 0, forced.out[-3000:]
    assert {uid + "-team-key", uid + "-bob-key"} <= set(forced.summary["api_key"]["deleted"])
    assert key_row(api, uid + "-team-key") is None and key_row(api, uid + "-by-hand") is not None
    # the deleted keys' secrets left their files: no dead secret where an app reads it
    assert sorted(forced.result["removed"]) >= sorted([uid + "-bob-key", uid + "-team-key"])
    assert not (tmp_path / "team.env").exists() and not (tmp_path / "bob.env").exists()
    assert os.path.exists(str(tmp_path))


def test_hand_made_objects_are_refused_then_adopted_and_a_key_never_changes_owner_standin(
        gateway, api, play, proxy, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    made = api.post("/user/new", json={"user_id": uid + "-alice", "user_email": uid + "-alice@example.edu",
                                       "auto_create_key": False})
    assert made.status_code == 200, made.text
    proxy.reset()
    refused = play(through(proxy, gateway, inv))
    assert refused.rc != 0 and proxy.writes == 0
    assert "user '%s-alice' exists in the gateway but was not made by redwood.maas" % uid in refused.result["msg"]

    adopted = play(through(proxy, gateway, inv, maas_tenants_adopt=True), "--diff")
    assert adopted.rc == 0, adopted.out[-3000:]
    assert adopted.summary["user"]["adopted"] == [uid + "-alice"]
    assert user_row(api, uid + "-alice")["metadata"]["managed_by"] == "redwood.maas"
    assert user_row(api, uid + "-alice")["max_budget"] == 100
    assert play(through(proxy, gateway, inv)).stats["changed"] == 0

    # a key made by hand for alice, under the alias the inventory gives bob's key: never re-owned
    api.post("/key/delete", json={"key_aliases": [uid + "-bob-key"]}).raise_for_status()
    hand = api.post("/key/generate", json={"key_alias": uid + "-bob-key", "user_id": uid + "-alice"})
    assert hand.status_code == 200, hand.text
    proxy.reset()
    run = play(through(proxy, gateway, inv, maas_tenants_adopt=True))
    assert run.rc != 0 and proxy.writes == 0
    assert "api key '%s-bob-key' belongs to user '%s-alice'" % (uid, uid) in run.result["msg"]
    assert key_row(api, uid + "-bob-key")["user_id"] == uid + "-alice"


# ---------------------------------------------------------------- faults: converge, lose nothing

def test_sigkill_of_litellm_at_three_points_of_a_first_apply_then_one_clean_rerun_converges_standin(
        gateway, api, play, proxy, uid, tmp_path):
    """100 users, 10 teams, 200 keys. LiteLLM is SIGKILLed right after the 60th write (users), restarted; the
    next run is killed after its 120th write (early keys), the one after that after its 110th (late keys); each
    time the killed write was applied and its answer lost. Then one clean re-run must converge."""
    inv = big(gateway, uid, tmp_path)
    for kill_at in (60, 120, 110):
        proxy.reset(kill_at_write=kill_at, on_kill=gateway.kill_proxy)
        try:
            crashed = play(through(proxy, gateway, inv, maas_gateway_retries=1))
        finally:
            if proxy.killed:
                gateway.restart_proxy()
        assert proxy.killed and crashed.rc != 0, crashed.out[-3000:]
    delivered = list((tmp_path / "keys").glob("k*.env"))
    assert 0 < len(delivered) < 200, "the kills should have landed in the keys phase, before its end"
    one_clean_rerun_converges(api, gateway, play, proxy, inv)


@pytest.mark.parametrize("faults", [
    dict(fail_create={3: "after", 5: "after"}),          # applied, then 500: proven by reading back
    dict(fail_create={4: "before"}),                     # refused with 500: the run fails, the re-run converges
    dict(every_503=5),                                   # retried like reads, creates included
    dict(delay_create={3: 20}, timeout=12),              # the client times out, the gateway made it
], ids=["500-after-applied", "500-not-applied", "503-every-5th", "create-timeout"])
def test_injected_faults_lose_no_secret_and_converge_standin(gateway, api, play, proxy, uid, tmp_path, faults):
    inv = tenants(gateway, uid, tmp_path)
    inv["maas_api_keys"] += [{"name": "%s-extra%d" % (uid, i), "owner": {"user": uid + "-bob"},
                              "models": [uid + "-model"], "deliver_to": {"file": str(tmp_path / ("x%d.env" % i))}}
                             for i in range(3)]
    faults = dict(faults)
    timeout = faults.pop("timeout", 30)
    proxy.reset(**faults)
    first = play(through(proxy, gateway, inv, maas_gateway_timeout=timeout))
    if "before" in faults.get("fail_create", {}).values():     # a create refused outright fails the run
        assert first.rc != 0 and "HTTP 500" in first.result["msg"], first.out[-3000:]
    else:                                                       # everything else is absorbed by this run
        assert first.rc == 0, first.out[-3000:]
    one_clean_rerun_converges(api, gateway, play, proxy, inv)


def test_timeout_is_reported_as_timed_out_standin(gateway, api, play, proxy, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    proxy.reset(delay_all=3)
    run = play(through(proxy, gateway, inv, maas_gateway_timeout=1, maas_gateway_retries=0))
    assert run.rc != 0 and "timed out after 1.0 s" in run.result["msg"], run.result["msg"]
    assert "cannot reach" not in run.result["msg"]


# ---------------------------------------------------------------- checked before the first write

def _immutable_dir(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    subprocess.run(["chattr", "+i", str(locked)], check=True)
    return locked


BAD = [
    ("budget .inf", lambda i, u, t: i["maas_users"][0].update(max_budget=float("inf")), "user '{u}-alice'", "finite"),
    ("budget .nan", lambda i, u, t: i["maas_teams"][0].update(max_budget=float("nan")), "team '{u}-cs'", "finite"),
    ("budget 1e309", lambda i, u, t: i["maas_api_keys"][0].update(max_budget="1e309"), "api key '{u}-team-key'",
     "finite"),
    ("relative file", lambda i, u, t: i["maas_api_keys"][0].update(deliver_to={"file": "keys/team.env"}),
     "api key '{u}-team-key'", "absolute"),
    ("file is a directory", lambda i, u, t: i["maas_api_keys"][0].update(deliver_to={"file": str(t)}),
     "api key '{u}-team-key'", "is a directory"),
    ("directory not writable", lambda i, u, t: i["maas_api_keys"][1].update(
        deliver_to={"file": str(_immutable_dir(t) / "bob.env")}), "api key '{u}-bob-key'", "not writable"),
    ("file shared by two keys", lambda i, u, t: i["maas_api_keys"][1].update(deliver_to=i["maas_api_keys"][0][
        "deliver_to"]), "api keys '{u}-bob-key' and '{u}-team-key'", "own destination"),
    ("secret shared by two keys", lambda i, u, t: [k.update(deliver_to={"secret": {"namespace": "ns", "name": "s"}})
                                                   for k in i["maas_api_keys"]],
     "api keys '{u}-bob-key' and '{u}-team-key'", "Secret ns/s"),
    ("duplicate e-mail in inventory", lambda i, u, t: i["maas_users"][1].update(email=u + "-ALICE@example.edu"),
     "user '{u}-bob'", "also the email of user '{u}-alice'"),
    ("e-mail of another gateway user", lambda i, u, t: i["maas_users"].__setitem__(
        0, {"name": u + "-carol", "email": u + "-alice@example.edu"}), "user '{u}-carol'",
     "already belongs to gateway user '{u}-alice'"),
]


@pytest.mark.parametrize("case,mutate,names,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_fails_naming_the_entry_with_0_writes_standin(gateway, api, play, proxy, applied_tenants, tmp_path,
                                                                case, mutate, names, words):
    uid, inv = applied_tenants
    bad = copy.deepcopy(inv)
    bad["maas_users"].append({"name": uid + "-newcomer"})          # valid changes that must not be written
    bad["maas_users"][1]["max_budget"] = 42
    try:
        mutate(bad, uid, tmp_path)
        proxy.reset()
        run = play(through(proxy, gateway, bad))
    finally:
        if (tmp_path / "locked").exists():
            subprocess.run(["chattr", "-i", str(tmp_path / "locked")], check=True)
    assert run.rc != 0
    msg = run.result["msg"]
    assert names.format(u=uid) in msg and words.format(u=uid) in msg, msg
    assert proxy.writes == 0 and run.result["requests"]["writes"] == 0
    assert "Nothing was changed" in msg
    assert user_row(api, uid + "-newcomer") is None
    delivered = os.path.dirname(inv["maas_api_keys"][0]["deliver_to"]["file"])
    assert not [p for d in (tmp_path, delivered) for p in pathlib.Path(d).rglob("*") if p.name.startswith(".maas-")], \
        "a probe or temp file was left"
