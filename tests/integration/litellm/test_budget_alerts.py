"""Budget alerts (playbooks/budget_alerts.yml, module budget_alerts) against the session's real LiteLLM.

A local webhook receiver and a local SMTP receiver record what arrives. Calls are made with real keys
through the proxy (fake upstream: 10 prompt + 20 completion tokens, priced so each call costs 0.10 USD);
spend is what LiteLLM itself records. Crossing a threshold delivers exactly one alert naming who and how
much; nothing before it; nothing twice.
"""
import json
import os
import socketserver
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class Inbox(object):
    def __init__(self):
        self.hooks, self.mails = [], []


@pytest.fixture
def inbox():
    box = Inbox()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            box.hooks.append(json.loads(self.rfile.read(int(self.headers.get("content-length") or 0))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    class Smtp(socketserver.StreamRequestHandler):
        """Just enough SMTP for smtplib: records each message's recipients and body."""

        def handle(self):
            self.wfile.write(b"220 inbox\r\n")
            rcpt = []
            while True:
                line = self.rfile.readline().decode()
                verb = line[:4].upper()
                if not line or verb == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                if verb == "RCPT":
                    rcpt.append(line.split(":", 1)[1].strip().strip("<>"))
                if verb == "DATA":
                    self.wfile.write(b"354 go\r\n")
                    body = []
                    while True:
                        data = self.rfile.readline().decode()
                        if data in (".\r\n", ""):
                            break
                        body.append(data)
                    box.mails.append({"to": rcpt, "body": "".join(body)})
                    rcpt = []
                self.wfile.write(b"250 ok\r\n")

    web = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    for srv in (web, smtp):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    box.webhook_url = "http://127.0.0.1:%d/maas-alerts" % web.server_address[1]
    box.smtp_port = smtp.server_address[1]
    yield box
    web.shutdown()
    smtp.shutdown()


def wait_spend(api, path, params, field, at_least):
    deadline = time.time() + 90
    while time.time() < deadline:
        body = api.get(path, params=params).json()
        info = body.get(field) or body
        if float(info.get("spend") or 0) >= at_least - 1e-9:
            return
        time.sleep(2)
    raise AssertionError("LiteLLM did not record spend %s for %s within 90 s" % (at_least, params))


def test_crossing_a_threshold_alerts_once_naming_who_and_how_much(gateway, api, uid, inbox, tmp_path):
    model, team, user = uid + "-m", uid + "-team", uid + "-user"
    assert api.post("/model/new", json={"model_name": model, "model_info": {"id": model}, "litellm_params": {
        "model": "openai/" + model, "api_base": gateway.upstream_url, "api_key": "none",
        "input_cost_per_token": 0.002, "output_cost_per_token": 0.004}}).status_code == 200  # 10 x 0.002 + 20 x 0.004
    assert api.post("/team/new", json={"team_id": team, "team_alias": team, "max_budget": 1.0,
                                       "models": [model]}).status_code == 200
    assert api.post("/user/new", json={"user_id": user, "user_email": user + "@example.edu", "max_budget": 2.0,
                                       "auto_create_key": False}).status_code == 200
    secrets = {}
    for alias, body in ((uid + "-teamkey", {"team_id": team, "max_budget": 10.0}),
                        (uid + "-userkey", {"user_id": user, "max_budget": 1.0})):
        resp = api.post("/key/generate", json=dict(body, key_alias=alias, models=[model]))
        assert resp.status_code == 200, resp.text
        secrets[alias] = resp.json()["key"]

    def calls(alias, n):
        for dummy in range(n):
            r = httpx.post(gateway.url + "/v1/chat/completions", timeout=60,
                           headers={"Authorization": "Bearer " + secrets[alias]},
                           json={"model": model, "messages": [{"role": "user", "content": "hello"}]})
            assert r.status_code == 200, r.text

    inventory = tmp_path / "hosts.yml"
    inventory.write_text("maas:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n")
    settings = {"threshold_percent": 80, "teams": {team: 50}, "users": {user: 40},
                "webhook_url": inbox.webhook_url, "state_file": str(tmp_path / "state" / "alerts.json"),
                "email": {"host": "127.0.0.1", "port": inbox.smtp_port, "sender": "maas@example.edu",
                          "to": ["owner@example.edu"], "to_owners": True}}
    (tmp_path / "vars.json").write_text(json.dumps({
        "maas_target": "openshift", "maas_gateway_url": gateway.url, "maas_gateway_token": gateway.master_key,
        "maas_budget_alerts": settings}))

    def run(*args):
        proc = subprocess.run(["ansible-playbook", "-i", str(inventory), "playbooks/budget_alerts.yml",
                               "-e", "@%s" % (tmp_path / "vars.json"), *args], cwd=REPO, text=True,
                              capture_output=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert gateway.master_key not in proc.stdout + proc.stderr
        return proc.stdout

    def mine(items):
        return sorted((a["kind"], a["name"]) for a in items if a["name"].startswith(uid))

    # 0.40 USD on the team (40 % of 1.00, alert at 50 %), 0.40 on the user's key and user: nothing yet
    calls(uid + "-teamkey", 4)
    calls(uid + "-userkey", 4)
    wait_spend(api, "/team/info", {"team_id": team}, "team_info", 0.4)
    wait_spend(api, "/key/info", {"key": secrets[uid + "-userkey"]}, "info", 0.4)
    run()
    assert mine(inbox.hooks) == [] and not [m for m in inbox.mails if uid in m["body"]]

    # 0.60 on the team: the team crosses 50 %, one alert with who and how much
    calls(uid + "-teamkey", 2)
    wait_spend(api, "/team/info", {"team_id": team}, "team_info", 0.6)
    run()
    assert mine(inbox.hooks) == [("team", team)]
    alert = [a for a in inbox.hooks if a["name"] == team][0]
    assert alert["event"] == "budget_threshold_crossed" and alert["threshold_percent"] == 50
    assert abs(alert["spend"] - 0.6) < 1e-6 and alert["max_budget"] == 1.0 and alert["percent_used"] == 60.0
    assert "team %s has spent 0.6000 USD of its 1.0000 USD budget (60.0 %%" % team in alert["text"]

    # check mode reports what it would send and sends nothing
    calls(uid + "-userkey", 4)
    wait_spend(api, "/key/info", {"key": secrets[uid + "-userkey"]}, "info", 0.8)
    out = run("--check")
    assert "user %s has spent" % user in out and mine(inbox.hooks) == [("team", team)]

    # 0.80 on the user's key (80 % of 1.00) and the user (40 % of 2.00): one alert each; the team not again
    run()
    assert mine(inbox.hooks) == [("key", uid + "-userkey"), ("team", team), ("user", user)]
    key_alert = [a for a in inbox.hooks if a["name"] == uid + "-userkey"][0]
    assert key_alert["owner"] == {"user": user, "team": None} and abs(key_alert["spend"] - 0.8) < 1e-6
    user_mails = [m for m in inbox.mails if "user %s has spent" % user in m["body"]]
    assert len(user_mails) == 1 and set(user_mails[0]["to"]) == {"owner@example.edu", user + "@example.edu"}

    # nothing twice
    run()
    assert len(mine(inbox.hooks)) == 3
    assert len([m for m in inbox.mails if uid in m["body"]]) == 3  # team (to the list), key and user (list + owner)
