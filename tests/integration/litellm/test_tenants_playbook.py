"""playbooks/tenants.yml against a real LiteLLM proxy (PostgreSQL, fake OpenAI upstream)."""
import copy
import os
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
import pytest

from litellm_api import REPO, snapshot, tenants


def env_file(path):
    return dict(line.split("=", 1) for line in open(path).read().splitlines())


def key_row(api, alias):
    rows = api.get("/key/list", params={"key_alias": alias, "return_full_object": "true"}).json()["keys"]
    return rows[0] if rows else None


def user_row(api, name):
    r = api.get("/user/info", params={"user_id": name})
    return r.json()["user_info"] if r.status_code == 200 else None


def team_row(api, name):
    r = api.get("/team/info", params={"team_id": name})
    return r.json()["team_info"] if r.status_code == 200 else None


def test_first_apply_creates_everything_second_apply_changes_nothing(gateway, api, play, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    first = play(inv)
    assert first.rc == 0, first.out[-3000:]
    assert first.stats["changed"] == 1
    s = first.summary
    assert s["model"]["created"] == [uid + "-model"]
    assert sorted(s["user"]["created"]) == [uid + "-alice", uid + "-bob"]
    assert s["team"]["created"] == [uid + "-cs"]
    assert sorted(s["api_key"]["created"]) == [uid + "-bob-key", uid + "-team-key"]

    # what the gateway holds now
    alice, bob = user_row(api, uid + "-alice"), user_row(api, uid + "-bob")
    assert (alice["max_budget"], alice["user_role"], alice["user_email"]) == (100, "proxy_admin", uid + "-alice@example.edu")
    assert (bob["max_budget"], bob["budget_duration"], bob["rpm_limit"]) == (50, "30d", 300)  # defaults
    team = team_row(api, uid + "-cs")
    assert {m["user_id"] for m in team["members_with_roles"]} >= {uid + "-alice", uid + "-bob"}
    assert team["models"] == [uid + "-model"] and team["max_budget"] == 2000
    key = key_row(api, uid + "-team-key")
    assert (key["team_id"], key["max_budget"], key["rpm_limit"]) == (uid + "-cs", 200, 60)
    assert key["metadata"]["managed_by"] == "redwood.maas"
    bob_key = key_row(api, uid + "-bob-key")
    assert bob_key["user_id"] == uid + "-bob" and bob_key["expires"]
    model = [d for d in api.get("/model/info").json()["data"] if d["model_info"]["id"] == uid + "-model"][0]
    assert model["litellm_params"]["api_base"] == gateway.upstream_url
    assert model["litellm_params"]["input_cost_per_token"] == pytest.approx(0.0005)

    # delivered secrets: mode 0600, usable env lines
    for name in ("team.env", "bob.env"):
        path = tmp_path / name
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        values = env_file(path)
        assert values["OPENAI_API_KEY"].startswith("sk-")
        assert values["OPENAI_BASE_URL"] == gateway.url + "/v1"

    before = snapshot(api)
    second = play(inv)
    assert second.rc == 0, second.out[-3000:]
    assert second.stats["changed"] == 0
    assert second.result["requests"]["writes"] == 0
    assert all(not v for kind in second.summary.values() for k, v in kind.items() if k != "unchanged")
    assert snapshot(api) == before


def test_budget_change_updates_exactly_that_object_and_diff_shows_it(gateway, api, play, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    assert play(inv).rc == 0
    alice_before = user_row(api, uid + "-alice")
    changed = copy.deepcopy(inv)
    changed["maas_users"][1]["max_budget"] = 75

    preview = play(changed, "--check", "--diff", json_output=False)
    assert preview.rc == 0, preview.out[-3000:]
    assert '-        "max_budget": 50' in preview.out and '+        "max_budget": 75' in preview.out
    assert "user/%s-bob" % uid in preview.out

    run = play(changed, "--diff")
    assert run.rc == 0, run.out[-3000:]
    s = run.summary
    assert s["user"]["updated"] == [uid + "-bob"]
    assert [n for kind in s.values() for n in kind["updated"] + kind["created"] + kind["deleted"]] == [uid + "-bob"]
    diff = run.result["diff"]
    label = "user/%s-bob" % uid
    assert diff["before"][label]["max_budget"] == 50 and diff["after"][label]["max_budget"] == 75
    assert run.result["requests"]["writes"] == 1
    assert user_row(api, uid + "-bob")["max_budget"] == 75
    assert user_row(api, uid + "-alice")["updated_at"] == alice_before["updated_at"]


def test_check_mode_reports_changes_and_writes_nothing(gateway, api, play, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    before = snapshot(api)
    dry = play(inv, "--check")
    assert dry.rc == 0, dry.out[-3000:]
    assert dry.stats["changed"] == 1
    assert sorted(dry.summary["api_key"]["created"]) == [uid + "-bob-key", uid + "-team-key"]
    assert dry.result["requests"]["writes"] == 0
    assert snapshot(api) == before
    assert not (tmp_path / "team.env").exists()

    assert play(inv).rc == 0
    before = snapshot(api)
    changed = copy.deepcopy(inv)
    changed["maas_teams"][0]["max_budget"] = 1
    changed["maas_users"].append({"name": uid + "-carol"})
    changed["maas_api_keys"][0]["rotate"] = True
    dry = play(changed, "--check")
    assert dry.rc == 0, dry.out[-3000:]
    assert dry.summary["team"]["updated"] == [uid + "-cs"]
    assert dry.summary["user"]["created"] == [uid + "-carol"]
    assert dry.summary["api_key"]["rotated"] == [uid + "-team-key"]
    assert snapshot(api) == before


def test_delivered_key_completes_a_chat_and_tiny_budget_is_refused(gateway, api, play, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    inv["maas_api_keys"].append({"name": uid + "-tiny", "owner": {"user": uid + "-bob"}, "models": [uid + "-model"],
                                 "max_budget": 0.001, "deliver_to": {"file": str(tmp_path / "tiny.env")}})
    assert play(inv).rc == 0
    team_env = env_file(tmp_path / "team.env")
    client = openai.OpenAI(api_key=team_env["OPENAI_API_KEY"], base_url=team_env["OPENAI_BASE_URL"], max_retries=0)
    reply = client.chat.completions.create(model=uid + "-model", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello from the fake upstream"

    tiny_env = env_file(tmp_path / "tiny.env")
    tiny = openai.OpenAI(api_key=tiny_env["OPENAI_API_KEY"], base_url=tiny_env["OPENAI_BASE_URL"], max_retries=0)
    first = tiny.chat.completions.create(model=uid + "-model", messages=[{"role": "user", "content": "hi"}])
    assert first.choices[0].message.content  # 10 + 20 tokens cost 0.035 USD > 0.001: budget now crossed
    deadline, refused = time.time() + 90, None
    while time.time() < deadline and refused is None:
        try:
            tiny.chat.completions.create(model=uid + "-model", messages=[{"role": "user", "content": "hi"}])
            time.sleep(2)
        except openai.APIStatusError as exc:
            refused = exc
    assert refused is not None, "a key over its budget was never refused"
    assert "budget" in str(refused).lower()
    deadline = time.time() + 60
    while time.time() < deadline and not (key_row(api, uid + "-tiny")["spend"] or 0) > 0.001:
        time.sleep(2)
    assert key_row(api, uid + "-tiny")["spend"] > 0.001     # the spend was recorded by the gateway


BAD = [
    ("negative budget", lambda i, u: i["maas_users"][0].update(max_budget=-1), "user '%s-alice'", ">= 0"),
    ("non-numeric budget", lambda i, u: i["maas_teams"][0].update(max_budget="lots"), "team '%s-cs'",
     "must be a number"),
    ("malformed budget duration", lambda i, u: i["maas_api_keys"][0].update(budget_duration="30days"),
     "api key '%s-team-key'", "malformed"),
    ("malformed key duration", lambda i, u: i["maas_api_keys"][1].update(duration="1 month"),
     "api key '%s-bob-key'", "malformed"),
    ("unknown owner user", lambda i, u: i["maas_api_keys"][1].update(owner={"user": "ghost"}),
     "api key '%s-bob-key'", "owner user 'ghost'"),
    ("unknown owner team", lambda i, u: i["maas_api_keys"][0].update(owner={"team": "ghosts"}),
     "api key '%s-team-key'", "owner team 'ghosts'"),
    ("key with unregistered model", lambda i, u: i["maas_api_keys"][0].update(models=["gpt-nope"]),
     "api key '%s-team-key'", "gpt-nope"),
    ("team with unregistered model", lambda i, u: i["maas_teams"][0].update(models=["gpt-nope"]),
     "team '%s-cs'", "gpt-nope"),
    ("duplicate user", lambda i, u: i["maas_users"].append({"name": u + "-bob"}), "user name '%s-bob'",
     "duplicate"),
    ("duplicate key", lambda i, u: i["maas_api_keys"].append(dict(i["maas_api_keys"][0])),
     "api key name '%s-team-key'", "duplicate"),
    ("unknown field", lambda i, u: i["maas_api_keys"][0].update(colour="red"), "api key '%s-team-key'",
     "unknown field(s) colour"),
]


@pytest.mark.parametrize("case,mutate,names,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_fails_naming_the_entry_before_any_write(api, play, applied_tenants, case, mutate, names, words):
    uid, inv = applied_tenants
    bad = copy.deepcopy(inv)
    bad["maas_users"].append({"name": uid + "-newcomer"})      # a valid change that must not be written
    bad["maas_users"][1]["max_budget"] = 42
    mutate(bad, uid)
    before = snapshot(api)
    run = play(bad)
    assert run.rc != 0
    msg = run.result["msg"]
    assert names % uid in msg and words in msg, msg
    assert run.result["requests"]["writes"] == 0
    assert snapshot(api) == before


class _Always503(BaseHTTPRequestHandler):
    hits = 0

    def log_message(self, *args):
        pass

    def _answer(self):
        type(self).hits += 1
        body = b'{"error": {"message": "upstream unavailable"}}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


def test_unreachable_gateway_fails_with_url_then_a_rerun_converges(gateway, api, play, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = "http://127.0.0.1:%d" % sock.getsockname()[1]
    sock.close()
    run = play(dict(inv, maas_gateway_url=dead))
    assert run.rc != 0
    assert dead + "/model/info" in run.result["msg"] and "cannot reach the gateway" in run.result["msg"]
    assert gateway.master_key not in run.out
    assert user_row(api, uid + "-alice") is None

    converged = play(inv)
    assert converged.rc == 0 and converged.stats["changed"] == 1
    assert play(inv).stats["changed"] == 0


def test_gateway_503_after_retries_standin_then_real_gateway_converges(gateway, api, play, uid, tmp_path):
    # A stand-in that always answers 503 (a real proxy cannot be made to do so on demand).
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Always503)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d" % server.server_address[1]
        inv = tenants(gateway, uid, tmp_path)
        run = play(dict(inv, maas_gateway_url=url))
        assert run.rc != 0
        msg = run.result["msg"]
        assert "HTTP 503" in msg and url + "/model/info" in msg and "after 5 attempts" in msg, msg
        assert _Always503.hits == 5           # the first read (models) fails after 5 attempts; nothing else is sent
    finally:
        server.shutdown()
    converged = play(inv)
    assert converged.rc == 0 and converged.stats["changed"] == 1
    assert play(inv).stats["changed"] == 0


def test_missing_delivery_file_warns_and_rotate_delivers_a_new_secret(gateway, api, play, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    assert play(inv).rc == 0
    old = env_file(tmp_path / "bob.env")["OPENAI_API_KEY"]
    os.unlink(tmp_path / "bob.env")
    run = play(inv)
    assert run.rc == 0 and run.stats["changed"] == 0
    assert run.result["undelivered"] == [uid + "-bob-key"]
    assert any(uid + "-bob-key" in w and "rotate" in w for w in run.result["warnings"])

    rotated = copy.deepcopy(inv)
    rotated["maas_api_keys"][1]["rotate"] = True
    run = play(rotated, "--diff")
    assert run.rc == 0 and run.stats["changed"] == 1
    assert run.summary["api_key"]["rotated"] == [uid + "-bob-key"]
    new = env_file(tmp_path / "bob.env")["OPENAI_API_KEY"]
    assert new != old and new not in run.out and old not in run.out
    row = key_row(api, uid + "-bob-key")
    assert row["max_budget"] == 5 and row["user_id"] == uid + "-bob"
    m = uid + "-model"
    ok = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": "Bearer " + new},
                    json={"model": m, "messages": [{"role": "user", "content": "hi"}]}, timeout=60)
    assert ok.status_code == 200, ok.text
    gone = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": "Bearer " + old},
                      json={"model": m, "messages": [{"role": "user", "content": "hi"}]}, timeout=60)
    assert gone.status_code == 401
    assert play(inv).stats["changed"] == 0      # rotate removed again: nothing to do


def test_no_secret_in_playbook_output_even_with_vvv(gateway, api, play, uid, tmp_path):
    inv = tenants(gateway, uid, tmp_path)
    outputs = [play(inv, "-vvv", "--diff", json_output=False).out]
    rotated = copy.deepcopy(inv)
    for key in rotated["maas_api_keys"]:
        key["rotate"] = True
    outputs.append(play(rotated, "-vvv", "--diff", json_output=False).out)
    outputs.append(play(inv, "-vvv", "--check", "--diff", json_output=False).out)
    bad = copy.deepcopy(inv)
    bad["maas_users"][0]["max_budget"] = -1
    outputs.append(play(bad, "-vvv", json_output=False).out)
    secrets = [gateway.master_key] + [env_file(tmp_path / n)["OPENAI_API_KEY"] for n in ("team.env", "bob.env")]
    assert "changed=1" in outputs[0] and "ESTABLISH" in outputs[0]  # really verbose
    for out in outputs:
        for secret in secrets:
            assert secret not in out


def test_example_inventory_applies_and_converges(gateway, api, play, tmp_path):
    env = {"MAAS_GATEWAY_URL": gateway.url, "MAAS_GATEWAY_TOKEN": gateway.master_key,
           "MAAS_EXAMPLE_MODEL_ENDPOINT": gateway.upstream_url, "MAAS_EXAMPLE_KEYS_DIR": str(tmp_path / "keys")}
    inventory = os.path.join(REPO, "inventories", "example-litellm")
    # the session's gateway holds every other test's managed objects: the example's prune would (rightly) stop
    # at the prune guard (tested in test_faults_standin.py), so this run does not prune
    first = play({}, "-e", "maas_tenants_prune=false", inventory=inventory, extra_env=env)
    assert first.rc == 0, first.out[-3000:]
    assert "canopy-cs" in first.summary["api_key"]["created"]
    assert env_file(tmp_path / "keys" / "canopy-cs.env")["OPENAI_API_KEY"].startswith("sk-")
    assert team_row(api, "computer-science")["max_budget"] == 2000
    second = play({}, "-e", "maas_tenants_prune=false", inventory=inventory, extra_env=env)
    assert second.rc == 0 and second.stats["changed"] == 0
