"""End to end, for real (no stand-ins): the README's local journey on this machine.

fresh site.yml (the repository root's) -> smoke call answers with token usage -> vLLM refuses
calls without its key -> the systemd units of every service pass `systemd-analyze verify` ->
second run changed=0 -> usage report contains the smoke calls -> the capped key is refused ->
teardown leaves no process running. The tests run in this order and share one deployment (the
`journey` fixture).
"""
import csv
import os
import signal
import socket
import subprocess
import time

import httpx
import pytest
import yaml

from journey import REPO, recap


def descendants(pid):
    """PIDs of pid and all its descendants (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_port_in_use_fails_before_any_change(journey, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        journey.write_vars(maas_host_postgres_port=port, maas_host_state_dir=str(tmp_path / "state"))
        try:
            proc = journey.run("site.yml", timeout=600)
        finally:
            journey.write_vars()
    assert proc.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in proc.stdout
    assert not (tmp_path / "state").exists(), "the failed pre-flight must not have written anything"


@pytest.mark.parametrize("bad, message", [
    ({"maas_host_vllm_min_memory_mb": 10 ** 9}, "Not enough resources for 1 new model server(s)"),
    ({"maas_host_vllm_min_disk_mb": 10 ** 12}, "MiB disk free under"),
    ({"maas_host_python": "/nonexistent/python3"}, "/nonexistent/python3 (>= 3.10 with the venv and ensurepip modules) is missing"),
])
def test_short_memory_disk_or_missing_python_fails_before_any_change(journey, tmp_path, bad, message):
    journey.write_vars(maas_host_state_dir=str(tmp_path / "state"), maas_host_venv_dir=str(tmp_path / "venvs"), **bad)
    try:
        proc = journey.run("site.yml", timeout=600)
    finally:
        journey.write_vars()
    assert proc.returncode != 0
    assert message in " ".join(proc.stdout.split())
    assert not (tmp_path / "state").exists() and not (tmp_path / "venvs").exists()


def test_check_mode_before_the_first_apply_shows_what_it_would_do_and_writes_nothing(journey, tmp_path):
    """A new user's first `--check --diff` on a host with nothing deployed: it succeeds, shows the service
    definitions it would write, says why the tenants are not compared, and writes nothing."""
    state = tmp_path / "state"
    journey.write_vars(maas_host_state_dir=str(state))
    try:
        proc = journey.run("site.yml", "--check", "--diff", timeout=600)
    finally:
        journey.write_vars()
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert recap(proc.stdout)["changed"] > 0
    assert "maas-litellm.service" in proc.stdout and "+ExecStart=" in proc.stdout, "the diff shows the units to be"
    assert "LiteLLM was not running on this host before this run" in " ".join(proc.stdout.split())
    assert not state.exists(), "check mode wrote into the state directory"


def test_fresh_site_run_smoke_call_reports_token_usage(journey):
    proc = journey.run("site.yml")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    chats = journey.records("chat")
    assert len(chats) == 1 and chats[0]["ok"]
    assert chats[0]["base_url"] == f"http://127.0.0.1:{journey.ports['litellm']}/v1"
    assert chats[0]["usage"]["prompt_tokens"] > 0 and chats[0]["usage"]["completion_tokens"] > 0
    assert "Models as a Service answers at" in proc.stdout
    # The curl command prints as it is (YAML task results), ready to paste, with max_tokens.
    curl = [l.strip() for l in proc.stdout.splitlines() if "-d '{" in l]
    assert curl == ['-d \'{"model": "demo-smoke-test", "max_tokens": 32, "messages": [{"role": "user", "content": "Hello"}]}\''], curl
    assert 'curl -s "$OPENAI_BASE_URL/chat/completions" -H "Authorization: Bearer $OPENAI_API_KEY"' in proc.stdout
    # The capped key's refusal is explained, and no key is printed.
    assert "This refusal is the expected outcome: a key stops at its budget" in proc.stdout
    with open(os.path.join(journey.state_dir, "keys", "smoke.env"), encoding="utf-8") as fh:
        assert dict(l.strip().split("=", 1) for l in fh if "=" in l)["OPENAI_API_KEY"] not in proc.stdout
    # No "loop variable 'item' is already in use" warning (nested loops use their own loop_var).
    assert "is already in use" not in proc.stdout + proc.stderr


def test_vllm_refuses_calls_without_its_key_only_litellm_has_it(journey):
    """Anyone on the machine can reach vLLM's port: without the key it answers 401."""
    url = f"http://127.0.0.1:{journey.ports['vllm']}/v1"
    key_file = os.path.join(journey.state_dir, "secrets", "vllm.env")
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    with open(key_file, encoding="utf-8") as fh:
        key = fh.read().strip().split("=", 1)[1]
    body = {"model": "demo-smoke-test", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    assert httpx.post(url + "/chat/completions", json=body, timeout=60).status_code == 401
    assert httpx.post(url + "/chat/completions", json=body, timeout=60,
                      headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
    # With the key it answers (a listing, not a chat: every generated token goes through LiteLLM, so the owner's
    # economics can check vLLM's token counters against LiteLLM's spend logs, tests/e2e/test_local_owner.py).
    assert httpx.get(url + "/models", timeout=60).status_code == 401
    models = httpx.get(url + "/models", timeout=60, headers={"Authorization": "Bearer " + key})
    assert models.status_code == 200 and [m["id"] for m in models.json()["data"]] == ["demo-smoke-test"]
    # LiteLLM gets it from its 0600 env file; the key is in no Ansible output and in no command line.
    with open(os.path.join(journey.state_dir, "litellm", "litellm.env"), encoding="utf-8") as fh:
        assert f"MAAS_VLLM_API_KEY={key}\n" in fh.read()
    with open(os.path.join(journey.state_dir, "ansible.log"), encoding="utf-8") as fh:
        assert key not in fh.read()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                assert key.encode() not in fh.read()
        except OSError:
            pass


def test_every_service_has_a_systemd_unit_that_systemd_analyze_verifies(journey):
    """supervisord runs the services here (systemd is not PID 1); the same programs' units are
    written under <state>/systemd and must pass `systemd-analyze verify` (which also checks that
    each ExecStart program exists)."""
    subprocess.run(["bash", "-c", ". tests/setup/common.sh && apt_install systemd"], cwd=REPO, check=True)
    units_dir = os.path.join(journey.state_dir, "systemd")
    units = sorted(os.listdir(units_dir))
    assert units == ["maas-litellm.service", "maas-metrics.service", "maas-postgres.service",
                     "maas-vllm-demo-smoke-test.service"]
    res = subprocess.run(["systemd-analyze", "verify", *units], cwd=units_dir, capture_output=True, text=True,
                         env={**os.environ, "SYSTEMD_UNIT_PATH": units_dir + ":"}, check=False)
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr
    with open(os.path.join(units_dir, "maas-litellm.service"), encoding="utf-8") as fh:
        litellm = fh.read()
    assert "Restart=on-failure" in litellm and "WantedBy=multi-user.target" in litellm
    assert "After=network.target maas-postgres.service" in litellm and "Wants=maas-postgres.service" in litellm
    with open(os.path.join(units_dir, "maas-vllm-demo-smoke-test.service"), encoding="utf-8") as fh:
        assert f"EnvironmentFile={journey.state_dir}/secrets/vllm.env" in fh.read()


def test_capped_key_is_refused_once_its_budget_is_spent(journey):
    capped = journey.records("until-refused")
    assert len(capped) == 1
    assert capped[0]["refused"] is True
    assert capped[0]["calls_ok"] >= 1, "the first call spends the budget"
    assert capped[0]["status"] in (400, 422, 429) and "budget" in capped[0]["error"].lower()


def test_second_run_reports_no_change(journey):
    proc = journey.run("site.yml")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert recap(proc.stdout)["changed"] == 0, [l for l in proc.stdout.splitlines() if l.startswith("changed:")]
    # The smoke play ran again: another good call, and the capped key is refused straight away.
    assert len(journey.records("chat")) == 2
    assert journey.records("until-refused")[-1]["refused"] is True
    assert journey.records("until-refused")[-1]["calls_ok"] == 0


def test_check_mode_on_the_deployed_host_reports_no_change_and_makes_no_call(journey):
    before = len(journey.records("chat")), len(journey.records("until-refused"))
    stamp = os.path.getmtime(os.path.join(journey.state_dir, "litellm", "litellm.env"))
    proc = journey.run("site.yml", "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert recap(proc.stdout)["changed"] == 0
    assert (len(journey.records("chat")), len(journey.records("until-refused"))) == before
    assert os.path.getmtime(os.path.join(journey.state_dir, "litellm", "litellm.env")) == stamp


def test_usage_report_contains_the_smoke_calls(journey):
    # LiteLLM writes spend logs in batches (every 10-15 s): poll the report, do not sleep blindly.
    deadline = time.time() + 120
    while True:
        proc = journey.run("playbooks/usage_report.yml", timeout=300)
        assert proc.returncode == 0, proc.stdout[-4000:]
        with open(os.path.join(journey.state_dir, "reports", "usage.csv"), encoding="utf-8") as fh:
            rows = {(r["dimension"], r["name"]): r for r in csv.DictReader(fh)}
        if int(rows.get(("key", "smoke"), {}).get("requests", 0)) >= 2 or time.time() > deadline:
            break
        time.sleep(5)
    smoke = rows[("key", "smoke")]
    assert int(smoke["requests"]) >= 2 and int(smoke["hits_last_24h"]) >= 2
    assert int(smoke["prompt_tokens"]) > 0 and int(smoke["completion_tokens"]) > 0
    assert float(smoke["cost_usd"]) > 0
    assert int(rows[("team", "research")]["requests"]) >= 2
    assert int(rows[("key", "capped-demo")]["requests"]) >= 1
    assert ("user", "bob") in rows
    with open(os.path.join(journey.state_dir, "reports", "usage.html"), encoding="utf-8") as fh:
        page = fh.read()
    assert "Tokens per team" in page and "Requests over time" in page and "<svg" in page


def test_killing_litellm_during_a_tenants_run_then_rerunning_converges(journey):
    """Add tenants, SIGKILL the LiteLLM process right after the tenants run's first write, re-run.

    The killed run may fail (the gateway is gone for ~25 s while supervisord restarts it); the
    re-run must succeed, a third run must report changed=0, and nothing may be duplicated.
    """
    with open(os.path.join(REPO, "inventories/local/group_vars/maas/tenants.yml"), encoding="utf-8") as fh:
        tenants = yaml.safe_load(fh)
    users = tenants["maas_users"] + [{"name": f"kill-user-{i}", "email": f"k{i}@example.edu"} for i in range(4)]
    keys = tenants["maas_api_keys"] + [
        {"name": f"kill-key-{i}", "owner": {"user": f"kill-user-{i}"}, "models": ["demo-smoke-test"],
         "max_budget": 1, "deliver_to": {"file": journey.state_dir + f"/keys/kill-key-{i}.env"}} for i in range(4)]
    journey.write_vars(maas_users=users, maas_api_keys=keys)
    with open(os.path.join(journey.state_dir, "secrets", "litellm-master-key"), encoding="utf-8") as fh:
        admin = {"Authorization": "Bearer " + fh.read().strip()}
    gateway = f"http://127.0.0.1:{journey.ports['litellm']}"
    ctl = [os.path.join(os.environ.get("MAAS_CACHE", os.path.expanduser("~/.cache/redwood-maas")),
                        "host-venvs", "supervisor-4.3.0", "bin", "supervisorctl"),
           "-c", os.path.join(journey.state_dir, "supervisor", "supervisord.conf")]
    pid = int(subprocess.run(ctl + ["pid", "maas-litellm"], capture_output=True, text=True, check=True).stdout)
    # playbooks/tenants.yml alone: the local inventory finds the installed gateway and models.
    cmd = ["ansible-playbook", "-i", "inventories/local", "playbooks/tenants.yml", "-e", "@" + journey.vars_file]
    run = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = False
    try:
        # The proxy logs no line per request (LITELLM_LOG=WARNING): watch for the run's first write,
        # the first new user, through the API instead.
        deadline = time.time() + 900
        with httpx.Client(base_url=gateway, headers=admin, timeout=10) as c:
            while run.poll() is None and time.time() < deadline:
                try:
                    written = c.get("/user/info", params={"user_id": "kill-user-0"}).status_code == 200
                except httpx.HTTPError:
                    written = False
                if written:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.05)
        run.wait(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
    assert killed, "the tenants run never wrote to LiteLLM"
    # supervisord restarts the proxy; re-run once it is ready again (as an operator would).
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{journey.ports['litellm']}/health/readiness", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc = journey.run("playbooks/tenants.yml")
    assert proc.returncode == 0, proc.stdout[-6000:]
    proc = journey.run("site.yml")
    assert proc.returncode == 0 and recap(proc.stdout)["changed"] == 0, proc.stdout[-4000:]
    with open(os.path.join(journey.state_dir, "secrets", "litellm-master-key"), encoding="utf-8") as fh:
        token = fh.read().strip()
    with httpx.Client(base_url=f"http://127.0.0.1:{journey.ports['litellm']}",
                      headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        aliases = [k["key_alias"] for k in c.get("/key/list", params={"return_full_object": "true", "size": 100}).json()["keys"]]
        user_ids = [u["user_id"] for u in c.get("/user/list", params={"page_size": 100}).json()["users"]]
    for i in range(4):
        assert aliases.count(f"kill-key-{i}") == 1, aliases
        assert user_ids.count(f"kill-user-{i}") == 1, user_ids
        with open(journey.state_dir + f"/keys/kill-key-{i}.env", encoding="utf-8") as fh:
            delivered = dict(line.strip().split("=", 1) for line in fh if "=" in line)
        # The delivered secret is the one the gateway knows: nothing lost.
        assert httpx.get(delivered["OPENAI_BASE_URL"] + "/models", timeout=60,
                         headers={"Authorization": "Bearer " + delivered["OPENAI_API_KEY"]}).status_code == 200
    journey.write_vars()


def test_teardown_stops_every_process_and_keeps_data(journey):
    sup = journey.supervisord_pid()
    assert sup and alive(sup)
    pids = descendants(sup)
    assert len(pids) >= 4, "supervisord, postgres, vLLM, LiteLLM"
    proc = journey.run("playbooks/teardown.yml", timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    deadline = time.time() + 30
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.5)
    assert [p for p in pids if alive(p)] == []
    assert not any(port_open(p) for p in journey.ports.values())
    # Data is kept unless purge is asked.
    assert os.path.exists(os.path.join(journey.state_dir, "postgres", "data", "PG_VERSION"))
    assert os.path.exists(os.path.join(journey.state_dir, "secrets", "litellm-master-key"))
