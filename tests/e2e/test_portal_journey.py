"""End to end, for real: the LiteMaaS portal on one host (inventories/local-portal), used in a browser.

site.yml brings up PostgreSQL, vLLM (demo model), LiteLLM, LiteMaaS 0.4.0 built from its release
archive (backend + portal behind nginx) and applies the inventory through LiteMaaS. Then Debian's
chromium, driven by selenium, does what people do: a consumer logs in (mock login), sees the
inventory's model, subscribes, creates a key; the key is used through the OpenAI SDK; the consumer
sees the requests and tokens on the usage page; an admin sees the users, the budgets the inventory
set and the consumer's usage; the capped key is refused and the portal shows its budget spent.
Screenshots of each page: tests/output/portal/*.png. One deployment for the module, torn down at
the end; state in a temporary directory, services on free loopback ports.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import stat
import subprocess
import time

import httpx
import openai
import pytest
from selenium.common.exceptions import TimeoutException

from journey import REPO, Journey, free_port, journey_in_own_state_dir, recap
from portal_browser import Portal
from test_local_journey import alive, descendants

SHOTS = os.path.join(REPO, "tests", "output", "portal")
INVENTORY = "inventories/local-portal"
MODEL = "demo-smoke-test"
# LiteLLM writes spend (per key, per day) to its database in batches, every
# maas_host_litellm_spend_write_interval (30 s): the portal shows a call's spend and usage only after that.
SPEND_SHOWN_WITHIN = 180


def until(what, probe, ok=bool, timeout=SPEND_SHOWN_WITHIN, pause=3):
    """probe() until ok(its value); after timeout s fail naming `what` and showing the last value."""
    deadline = time.time() + timeout
    while True:
        value = probe()
        if ok(value) or time.time() > deadline:
            assert ok(value), "%s: not within %d s; last: %s" % (what, timeout, str(value)[:1500])
            return value
        time.sleep(pause)


class PortalJourney(Journey):
    def __init__(self, state_dir):
        super().__init__(state_dir)
        self.ports.update(backend=free_port(), portal=free_port())
        # LiteMaaS 0.4.0 limits each client IP to 100 requests a minute before authentication
        # (RATE_LIMIT_MAX; nginx passes the browser's address, trustProxy) and each user to 10 admin
        # analytics requests a minute (ADMIN_ANALYTICS_RATE_LIMIT, backend/src/config/rate-limit.config.ts).
        # Here the browser, the automation and the test's probes are all one loopback client, and the
        # test polls the admin refresh and usage routes every few seconds: a refused request sends the
        # portal back to its login page. The limits are not what this journey tests.
        self.extra_vars.update(maas_host_litemaas_backend_port=self.ports["backend"],
                               maas_host_litemaas_portal_port=self.ports["portal"],
                               maas_host_litemaas_extra_env={"RATE_LIMIT_MAX": "100000",
                                                             "ADMIN_ANALYTICS_RATE_LIMIT": "100000"})
        self.write_vars()
        self.url = "http://127.0.0.1:%d" % self.ports["portal"]
        self.ui_key = None

    def run(self, playbook, *args, inventory=INVENTORY, timeout=1800):
        return super().run(playbook, *args, inventory=inventory, timeout=timeout)

    def secret(self, name):
        with open(os.path.join(self.state_dir, "secrets", name), encoding="utf-8") as fh:
            return fh.read().strip()

    def admin(self):
        """An httpx client on the backend with a short-lived JWT of the automation admin user."""
        now = int(time.time())
        claims = {"userId": self.secret("litemaas-automation-user-id"), "username": "redwood-maas-automation",
                  "email": "redwood-maas-automation@localhost", "roles": ["admin", "user"], "iat": now, "exp": now + 300}
        enc = [base64.urlsafe_b64encode(json.dumps(p, separators=(",", ":")).encode()).rstrip(b"=")
               for p in ({"alg": "HS256", "typ": "JWT"}, claims)]
        body = b".".join(enc)
        sig = base64.urlsafe_b64encode(hmac.new(self.secret("litemaas-jwt-secret").encode(), body,
                                                hashlib.sha256).digest()).rstrip(b"=")
        return httpx.Client(base_url="http://127.0.0.1:%d" % self.ports["backend"], timeout=60,
                            headers={"Authorization": "Bearer " + (body + b"." + sig).decode()})

    def refresh_usage(self):
        """LiteMaaS caches today's usage (~5 min); its admin refresh endpoint rebuilds it from LiteLLM.
        True once rebuilt. Until LiteLLM has written today's first spend, 0.4.0 answers 500
        REFRESH_FAILED: refreshSingleDay throws NOT_FOUND when the day has no requests
        (backend/src/services/admin-usage/admin-usage-aggregation.service.ts:1358,1492) and the route
        turns every error into a 500 (backend/src/routes/admin-usage.ts:825)."""
        with self.admin() as c:
            r = c.post("/api/v1/admin/usage/refresh-today", json={})
        assert r.status_code == 200 or (r.status_code == 500 and r.json().get("code") == "REFRESH_FAILED"), r.text
        return r.status_code == 200

    def openai(self, key):
        return openai.OpenAI(api_key=key, base_url="http://127.0.0.1:%d/v1" % self.ports["litellm"],
                             max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def portal_host():
    subprocess.run([os.path.join(REPO, "tests", "setup", "chromium.sh")], check=True, stdout=subprocess.DEVNULL)
    yield from journey_in_own_state_dir(PortalJourney, "maas-portal-")


@pytest.fixture(scope="module")
def browser(portal_host):
    for old in os.listdir(SHOTS) if os.path.isdir(SHOTS) else []:
        if old.endswith(".png"):
            os.unlink(os.path.join(SHOTS, old))
    b = Portal(portal_host.url, SHOTS)
    yield b
    b.close()


def no_state_written(path):
    return not os.path.exists(path)


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


# ------------------------------------------------------------------ pre-flight (before any change)

@pytest.mark.parametrize("bad, message", [
    ({"maas_host_litemaas_portal_bind": "0.0.0.0"},
     "maas_host_litemaas_auth=mock lets anyone who reaches the portal log in as an administrator"),
    ({"maas_host_litemaas_auth": "oidc"}, "maas_host_litemaas_auth=oidc needs maas_host_litemaas_oidc_issuer"),
    # One assert checks Node.js, memory and disk (one message names all three).
    ({"maas_host_litemaas_node_min_version": 99, "maas_host_litemaas_build_root": "{tmp}/no-build",
      "maas_host_litemaas_min_disk_mb": 10 ** 12},
     "LiteMaaS needs Node.js >= 99"),
])
def test_bad_settings_fail_before_any_change(portal_host, tmp_path, bad, message):
    state = tmp_path / "state"
    bad = {k: v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v for k, v in bad.items()}
    message = message.replace("{tmp}", str(tmp_path))
    portal_host.write_vars(maas_host_state_dir=str(state), **bad)
    try:
        proc = portal_host.run("playbooks/site.yml", timeout=600)
    finally:
        portal_host.write_vars()
    assert proc.returncode != 0
    assert message in " ".join(proc.stdout.split()), proc.stdout[-3000:]
    assert "Nothing was changed" in proc.stdout
    assert no_state_written(state) and no_state_written(tmp_path / "no-build")


def test_busy_portal_port_fails_before_any_change(portal_host, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        portal_host.write_vars(maas_host_litemaas_portal_port=port, maas_host_state_dir=str(tmp_path / "state"))
        try:
            proc = portal_host.run("playbooks/site.yml", timeout=600)
        finally:
            portal_host.write_vars()
    assert proc.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in proc.stdout and "maas_host_litemaas_portal_port" in proc.stdout
    assert no_state_written(tmp_path / "state")


# ------------------------------------------------------------------ bring-up

def test_fresh_site_run_brings_up_the_portal_and_warns_about_the_mock_login(portal_host):
    # The smoke play is run on its own below (its chat needs issue 9).
    proc = portal_host.run("playbooks/site.yml", "-e", "maas_skip_smoke=true")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    text = " ".join(proc.stdout.split())
    assert "WARNING: LiteMaaS runs with its MOCK LOGIN" in text
    assert f"The LiteMaaS portal is at {portal_host.url}/" in text
    page = httpx.get(portal_host.url + "/", timeout=30)
    assert page.status_code == 200 and '<div id="root">' in page.text
    assert httpx.get(portal_host.url + "/api/v1/health/ready", timeout=30).status_code == 200
    # The secrets are files of mode 0600 in the state directory, never in the play output.
    for name in ("litemaas-jwt-secret", "litemaas-admin-api-key", "litemaas-automation-user-id"):
        path = os.path.join(portal_host.state_dir, "secrets", name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert portal_host.secret(name) not in proc.stdout
    assert portal_host.secret("litemaas-admin-api-key").startswith("ltm_admin_")
    env = os.path.join(portal_host.state_dir, "litemaas", "backend.env")
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600
    # The inventory went through LiteMaaS: its keys were delivered.
    for key in ("smoke", "capped-demo"):
        with open(os.path.join(portal_host.state_dir, "keys", key + ".env"), encoding="utf-8") as fh:
            assert re.search(r"^OPENAI_API_KEY=sk-\S+$", fh.read(), re.M)


def test_backend_listens_on_loopback_and_nginx_closes_the_browser_bypass(portal_host):
    """LiteMaaS 0.4.0 answers token-less requests with a browser User-Agent as an admin on some
    routes. The backend (loopback only) still does; through the portal such a request is refused."""
    browser_like = {"User-Agent": "Mozilla/5.0 Chrome/156", "Accept": "application/json"}
    direct = httpx.get("http://127.0.0.1:%d/api/v1/api-keys" % portal_host.ports["backend"], headers=browser_like)
    assert direct.status_code == 200, "the 0.4.0 defect this guards against is gone: revisit the nginx rule"
    proxied = httpx.get(portal_host.url + "/api/v1/api-keys", headers=browser_like)
    assert proxied.status_code == 401
    listening = subprocess.run(["ss", "-ltnH", "sport = :%d" % portal_host.ports["backend"]],
                               capture_output=True, text=True, check=True).stdout.split()
    assert "127.0.0.1:%d" % portal_host.ports["backend"] in listening


# ------------------------------------------------------------------ the consumer, in the browser

def test_consumer_logs_in_sees_the_model_subscribes_and_creates_a_key(portal_host, browser):
    browser.driver.get(portal_host.url + "/login")
    browser.find("//button[contains(., 'Log in with SSO')]")
    browser.shot("login")
    browser.click("//button[contains(., 'Log in with SSO')]")
    browser.find("//a[@id='mock-user-1']")
    browser.shot("demo-login-choice")
    browser.login(1)
    models = browser.open("/models", MODEL)
    assert "Input: $500.00/1M Tokens" in models, "the inventory's price"
    browser.shot("consumer-models")
    browser.click("//button[@aria-labelledby='clickable-model-%s']" % MODEL)
    browser.click("//div[@role='dialog']//button[@aria-label='Subscribe to %s']" % MODEL)
    browser.wait_text("Successfully subscribed")
    browser.open("/subscriptions", MODEL)
    browser.shot("consumer-subscriptions")

    browser.open("/api-keys", "API Keys")
    browser.click("//main//button[contains(., 'Create API Key')]")
    browser.find("//input[@id='key-name']").send_keys("my-notebook")
    browser.dialog_button(MODEL)
    browser.dialog_button("Create API Key")
    browser.wait_text("API Key Created Successfully", within="//div[@role='dialog']")
    key = browser.find("//div[@role='dialog']//input[@aria-label='Copyable input']").get_attribute("value")
    assert re.match(r"^sk-[A-Za-z0-9_-]{20,}$", key), "the portal shows the new key once"
    browser.shot("consumer-key-created")
    browser.dialog_button("Close")
    assert "my-notebook" in browser.wait_text("my-notebook", within="//main")
    portal_host.ui_key = key


def test_consumer_calls_the_model_with_the_key_from_the_portal(portal_host):
    assert portal_host.ui_key, "the previous test created the key"
    client = portal_host.openai(portal_host.ui_key)
    for prompt in ("Hello from the portal", "And once more"):
        resp = client.chat.completions.create(model=MODEL, max_tokens=16,
                                              messages=[{"role": "user", "content": prompt}])
        assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0


def usage_figure(page_text, label):
    m = re.search(r"%s\s*\n\s*([\d,]+)" % re.escape(label), page_text)
    return int(m.group(1).replace(",", "")) if m else 0


def usage_page(portal_host, browser, path, wait_for, ok):
    """Rebuild today's usage, open the page and watch it for 15 s (its figures arrive after the page);
    '' while LiteMaaS has no usage of today yet (LiteLLM has not written the calls' spend)."""
    if not portal_host.refresh_usage():
        return ""
    browser.open(path, wait_for)
    end = time.time() + 15
    while True:
        text = browser.driver.find_element("xpath", "//main").text
        if ok(text) or time.time() > end:
            return text
        time.sleep(0.5)


def test_consumer_sees_the_requests_and_tokens_on_the_usage_page(portal_host, browser):
    browser.login(1)

    def ok(text):
        return usage_figure(text, "Total Requests") >= 2

    try:
        text = until("the consumer's usage page shows the 2 calls",
                     lambda: usage_page(portal_host, browser, "/usage", "Total Requests", ok), ok)
    finally:
        browser.shot("consumer-usage")
    assert usage_figure(text, "Total Tokens") > 0 and usage_figure(text, "Completion Tokens") > 0, text[:1500]
    assert "/ $5.00" in text, "the consumer's budget from the inventory"


# ------------------------------------------------------------------ the admin, in the browser

def portal_answers(portal_host, part):
    """The last requests through the portal (nginx access log) whose line contains `part`."""
    with open(os.path.join(portal_host.state_dir, "litemaas", "nginx", "access.log"), encoding="utf-8") as fh:
        return "".join([line for line in fh if part in line][-5:])


def open_user(browser, name, tab):
    browser.open("/admin/users", name)
    browser.click("//tr[.//td[normalize-space(.)=%r]]//button[@aria-label='Kebab toggle']" % name)
    browser.click("//*[@role='menuitem'][normalize-space(.)='Manage']")
    browser.dialog_button(tab)


def test_admin_sees_the_users_and_the_budgets_the_inventory_set(portal_host, browser):
    browser.login(0)
    users = browser.open("/admin/users", "user@example.com")
    assert "admin@example.com" in users and "redwood-maas-automation" in users
    browser.shot("admin-users")
    open_user(browser, "user@example.com", "Budget & Limits")
    budget = browser.find("//div[@role='dialog']//input[@id='max-budget']")
    assert float(budget.get_attribute("value")) == 5, "maas_users user@example.com max_budget"
    assert browser.find("//div[@role='dialog']//input[@id='rpm-limit']").get_attribute("value") == "600", \
        "maas_budget_defaults rpm_limit"
    browser.shot("admin-user-budget")


def test_admin_sees_the_consumers_usage(portal_host, browser):
    browser.login(0)

    def ok(text):
        row = re.search(r"user@example\.com\s*\n\s*user@example\.com\s*\n\s*(\d+) (\d+)", text)
        return bool(row) and int(row.group(1)) >= 2 and int(row.group(2)) > 0

    try:
        until("the admin's usage page shows the consumer's 2 calls and their tokens under Top Users",
              lambda: usage_page(portal_host, browser, "/admin/usage", "Top Users", ok), ok)
    finally:
        browser.shot("admin-usage")


def test_capped_key_is_refused_and_the_portal_shows_its_budget_spent(portal_host, browser):
    proc = portal_host.run("playbooks/smoke.yml")
    assert proc.returncode == 0, proc.stdout[-4000:]
    capped = portal_host.records("until-refused")[-1]
    assert capped["refused"] and capped["status"] in (400, 422, 429) and "budget" in capped["error"].lower()
    browser.login(0)

    def capped_row():
        open_user(browser, "admin@example.com", "API Keys")
        try:
            return browser.find("//div[@role='dialog']//tr[contains(., 'capped-demo')]", timeout=10).text
        except TimeoutException:  # e.g. "Failed to load API keys": say what the backend answered
            return browser.find("//div[@role='dialog']").text + "\n" + portal_answers(portal_host, "/api-keys")

    def spent(row):
        m = re.search(r"\$([\d.]+) / \$([\d.]+)", row)
        return bool(m) and float(m.group(2)) == 0.01 and float(m.group(1)) >= 0.01

    try:
        until("the admin's view of capped-demo shows its budget of $0.01 spent", capped_row, spent)
    finally:
        browser.shot("admin-capped-key")


# ------------------------------------------------------------------ re-run, check mode, teardown

def changed_tasks(stdout):
    """The TASK headers of the results that said changed (for the failure message)."""
    task, found = None, []
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:"):
            found.append("%s %s" % (task, line[:200]))
    return found


def test_second_run_reports_no_change(portal_host):
    proc = portal_host.run("playbooks/site.yml", "-e", "maas_skip_smoke=true")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert recap(proc.stdout)["changed"] == 0, changed_tasks(proc.stdout)


def test_check_mode_reports_no_change_and_writes_nothing(portal_host):
    files = [os.path.join(portal_host.state_dir, "litemaas", f) for f in ("backend.env", "nginx/nginx.conf")]
    stamps = [os.path.getmtime(f) for f in files]
    proc = portal_host.run("playbooks/site.yml", "--check", "--diff", "-e", "maas_skip_smoke=true")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert recap(proc.stdout)["changed"] == 0, changed_tasks(proc.stdout) or proc.stdout[-6000:]
    assert [os.path.getmtime(f) for f in files] == stamps


def test_teardown_stops_everything_and_keeps_data(portal_host):
    sup = portal_host.supervisord_pid()
    assert sup and alive(sup)
    pids = descendants(sup)
    assert len(pids) >= 6, "supervisord, postgres, vLLM, LiteLLM, LiteMaaS backend, nginx"
    proc = portal_host.run("playbooks/teardown.yml", timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    deadline = time.time() + 30
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.5)
    assert [p for p in pids if alive(p)] == []
    assert [name for name, port in portal_host.ports.items() if listening(port)] == []
    # Data kept unless purged: the database, the LiteMaaS secrets and configuration.
    assert os.path.exists(os.path.join(portal_host.state_dir, "postgres", "data", "PG_VERSION"))
    assert os.path.exists(os.path.join(portal_host.state_dir, "secrets", "litemaas-jwt-secret"))
    assert os.path.exists(os.path.join(portal_host.state_dir, "litemaas", "backend.env"))
