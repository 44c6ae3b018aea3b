"""The real LiteMaaS 0.4.0 backend for tests and benchmarks, with everything it needs, on free ports.

    with LiteMaaSStack() as lm:     # lm.url, lm.jwt_secret, lm.admin_key, lm.automation, lm.litellm (LiteLLMStack)
        token = lm.login(1)          # mock OAuth login of mock user 1 (user@example.com) -> its JWT
        mark = lm.mark()
        ...                          # run modules against lm.url
        lm.requests(since=mark)      # what the backend's request log shows (method, url, status, ua)

- LiteMaaS is built once from ../shared/litemaas/litemaas-0.4.0.tar.gz (tests/setup/litemaas.sh, cached
  by the archive's hash).
- One PostgreSQL with two databases (litellm, litemaas_db owned by the role litemaas), the fake OpenAI
  upstream (``litellm.upstream_url`` needs no key, ``secured_upstream_url`` needs ``upstream_key``) and the
  real LiteLLM proxy (store_model_in_db; ``upstream_key`` in its environment as MAAS_VLLM_API_KEY) come from
  LiteLLMStack.
- The backend runs as in production (NODE_ENV=production, sslmode=disable) with mock OAuth
  (OAUTH_MOCK_ENABLED=true): only mock users 0 admin@example.com, 1 user@example.com and
  2 readonly@example.com can log in; a user row exists after its first login.
- The automation admin user is inserted by the SAME script the litemaas role's Job runs on OpenShift,
  rendered from templates/litemaas/automation-user-job.yaml.j2 (so the template is tested).
- ``rate_limit_max``: LiteMaaS allows 100 requests/min per client by default (RATE_LIMIT_MAX); the
  tests raise it (one client, 127.0.0.1, runs everything), the benchmark keeps the default.
Everything started is stopped on exit (and the temp folder removed unless MAAS_KEEP_WORK is set).
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid

import httpx
import jinja2
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from litellm_stack import LiteLLMStack, Stack, _raise_exit, _stop, free_ports, wait_http  # noqa: E402

MOCK_USERS = ("admin@example.com", "user@example.com", "readonly@example.com")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DEFAULT_TEAM_ID = "a0000000-0000-4000-8000-000000000001"       # LiteMaaS 0.4.0's DefaultTeamService
JOB_TEMPLATE = os.path.join(REPO, "templates", "litemaas", "automation-user-job.yaml.j2")


def build():
    """The LiteMaaS build directory (built once per archive hash)."""
    return subprocess.check_output([os.path.join(HERE, "litemaas.sh")], text=True).strip()


def automation_user_job(variables):
    """The automation-user Job, rendered from the template with the litemaas role's defaults + ``variables``."""
    with open(os.path.join(REPO, "roles", "litemaas", "defaults", "main.yml")) as f:
        defaults = yaml.safe_load(f)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    context = dict((k, v) for k, v in defaults.items() if not (isinstance(v, str) and "{{" in v))
    context.update(variables)
    for key, value in defaults.items():     # templated defaults (e.g. litemaas_psql_image), as Ansible would
        if key not in context:
            try:
                context[key] = env.from_string(value).render(**context).strip()
            except jinja2.UndefinedError:
                pass                        # needs inventory facts the Job does not use
    with open(JOB_TEMPLATE) as f:
        return yaml.safe_load(env.from_string(f.read()).render(**context))


def run_job(job, secret_data, extra_env=None, timeout=60):
    """Run the Job's container command here as the cluster would (env from ``secret_data[(secret, key)]``)."""
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = dict(os.environ, **(extra_env or {}))
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secret_data[(ref["name"], ref["key"])]
    return subprocess.run(list(container["command"]) + list(container.get("args") or []), env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


class LiteMaaSStack(Stack):
    def __init__(self, rate_limit_max=100000, workdir=None, extra_env=None):
        self.rate_limit_max = rate_limit_max
        self.extra_env = extra_env or {}
        self.litellm = LiteLLMStack(workdir=workdir, databases=("litemaas_db",))
        self.proc = None
        self.jwt_secret = secrets.token_hex(32)
        self.admin_key = "ltm_admin_" + secrets.token_hex(16)
        self.automation = None
        self._log = None

    @property
    def upstream_key(self):
        return self.litellm.upstream_key

    @property
    def secured_upstream_url(self):
        return self.litellm.secured_upstream_url

    # ------------------------------------------------------------------ start / stop
    def start(self):
        t0 = time.time()
        self.build = build()
        t1 = time.time()
        gw = self.litellm.__enter__()
        t2 = time.time()
        self.work = gw.work
        self.psql("CREATE ROLE litemaas LOGIN; ALTER DATABASE litemaas_db OWNER TO litemaas;")
        (port,) = free_ports(1)
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        env = dict(os.environ)
        env.update(
            NODE_ENV="production", HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="info",
            DATABASE_URL="postgresql://litemaas@127.0.0.1:%d/litemaas_db?sslmode=disable" % gw.pg_port,
            LITELLM_DATABASE_URL=gw.pg_url("litellm") + "?sslmode=disable",
            JWT_SECRET=self.jwt_secret, ADMIN_API_KEYS=self.admin_key,
            AUTH_PROVIDER="openshift", OAUTH_MOCK_ENABLED="true", OAUTH_CLIENT_ID="litemaas-test",
            OAUTH_CLIENT_SECRET=secrets.token_hex(16), OAUTH_ISSUER="http://127.0.0.1:9",
            OAUTH_CALLBACK_URL=self.url + "/api/auth/callback", CORS_ORIGIN=self.url,
            LITELLM_API_URL=gw.url, LITELLM_API_KEY=gw.master_key, LITELLM_MASTER_KEY=gw.master_key,
            RATE_LIMIT_MAX=str(self.rate_limit_max),
            NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        env.update(self.extra_env)
        self.log_path = os.path.join(self.work, "litemaas.log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["node", "dist/index.js"], cwd=os.path.join(self.build, "backend"), env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(self.url + "/api/v1/health/live", 120, self.proc)
        self._wait_ready()
        self.add_automation_user()
        self.timings = dict(build=round(t1 - t0, 1), litellm=round(t2 - t1, 1), litemaas=round(time.time() - t2, 1))

    def _wait_ready(self, timeout=120):
        """Ready = database and LiteLLM healthy, schema migrated (0.4.0 silently falls back to mock data)."""
        deadline = time.time() + timeout
        body = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("LiteMaaS exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                resp = httpx.get(self.url + "/api/v1/health/ready", timeout=10)
                body = resp.json()
                if resp.status_code == 200 and self._log_has("Database migrations applied successfully"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if self._log_has("Failed to apply database migrations"):
                raise RuntimeError("LiteMaaS could not create its schema:\n%s" % self.log_tail())
            time.sleep(0.5)
        raise RuntimeError("LiteMaaS not ready within %s s (%s):\n%s" % (timeout, body, self.log_tail()))

    def add_automation_user(self):
        """Insert the automation admin user with the litemaas role's Job (rendered template, run here)."""
        user_id = str(uuid.uuid4())
        job = automation_user_job(dict(
            maas_namespace="maas", litemaas_automation_hash="test", litemaas_db_host="127.0.0.1",
            litemaas_db_port=self.litellm.pg_port, litemaas_db_name="litemaas_db", litemaas_db_user="litemaas",
            litemaas_db_secret="maas-postgres", litemaas_secret_name="maas-litemaas"))
        proc = run_job(job, {("maas-postgres", "litemaas-password"): "unused-trust-auth",
                             ("maas-litemaas", "automation-user-id"): user_id})
        if proc.returncode != 0:
            raise RuntimeError("the automation-user Job failed (%s):\n%s%s" % (proc.returncode, proc.stdout, proc.stderr))
        defaults = yaml.safe_load(open(os.path.join(REPO, "roles", "litemaas", "defaults", "main.yml")))
        self.automation = dict(id=user_id, username=defaults["litemaas_automation_username"],
                               email=defaults["litemaas_automation_email"])

    def stop(self):
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.litellm.stop()

    # ------------------------------------------------------------------ helpers
    def psql(self, sql, database="litemaas_db"):
        """Run SQL as the superuser; returns psql's unaligned output."""
        return subprocess.check_output(
            ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.litellm.pg_port),
             "-U", "postgres", "-d", database, "-c", sql], text=True)

    def login(self, n):
        """Log mock user ``n`` (0 admin, 1 user, 2 readonly) in through the mock OAuth flow; returns its JWT."""
        with httpx.Client(base_url=self.url, timeout=30, headers={"User-Agent": "redwood-maas-tests"}) as client:
            resp = client.post("/api/auth/login")
            resp.raise_for_status()
            state = urllib.parse.parse_qs(urllib.parse.urlparse(resp.json()["authUrl"]).query)["state"][0]
            resp = client.get("/api/auth/callback", params={"code": str(n), "state": state})
            if resp.status_code != 302:
                raise RuntimeError("mock login of user %s: HTTP %s %s" % (n, resp.status_code, resp.text[:300]))
            fragment = urllib.parse.urlparse(resp.headers["location"]).fragment
            return urllib.parse.parse_qs(fragment)["token"][0]

    def insert_user(self, username, email=None, roles=("user",)):
        """A user as a first OAuth login makes it, without logging in (the mock OAuth flow has only three users): the
        row in ``users`` (provider openshift, LiteMaaS's default limits), a member of LiteMaaS's default team, and
        the LiteLLM user LiteMaaS creates at that login (same id, e-mail, alias, limits, team). Returns the id."""
        email = email or (username if "@" in username else username + "@example.edu")
        sql = ("INSERT INTO users (username, email, full_name, oauth_provider, oauth_id, roles, last_login_at) "
               "VALUES ('%s', '%s', '%s', 'openshift', '%s', '{%s}', NOW()) "
               "RETURNING id, COALESCE(max_budget, 0), COALESCE(tpm_limit, 0), COALESCE(rpm_limit, 0)"
               % (username, email, username, uuid.uuid4(), ",".join(roles)))
        user_id, budget, tpm, rpm = self.psql(sql).strip().splitlines()[0].split("|")
        self.psql("INSERT INTO team_members (team_id, user_id, role, joined_at) SELECT id, '%s', 'member', NOW() "
                  "FROM teams WHERE id = '%s' ON CONFLICT DO NOTHING" % (user_id, DEFAULT_TEAM_ID))
        body = dict(user_id=user_id, user_email=email, user_alias=username,
                    user_role="proxy_admin" if "admin" in roles else "internal_user", auto_create_key=False,
                    max_budget=float(budget) or None, tpm_limit=int(tpm) or None, rpm_limit=int(rpm) or None)
        with self.litellm_api() as api:
            teams = api.get("/team/info", params={"team_id": DEFAULT_TEAM_ID}).status_code == 200
            api.post("/user/new", json=dict(body, teams=[DEFAULT_TEAM_ID]) if teams else body).raise_for_status()
        return user_id

    def api(self, token=None):
        """An httpx client on the backend, authenticated with ``token`` (default: the admin key, reads only)."""
        return httpx.Client(base_url=self.url, timeout=60, headers={
            "Authorization": "Bearer %s" % (token or self.admin_key), "User-Agent": "redwood-maas-tests"})

    def litellm_api(self):
        """An httpx client on the LiteLLM proxy with its master key."""
        return httpx.Client(base_url=self.litellm.url, timeout=60,
                            headers={"Authorization": "Bearer %s" % self.litellm.master_key})

    def _log_has(self, text):
        try:
            with open(self.log_path) as f:
                return text in f.read()
        except OSError:
            return False

    def log_tail(self, n=60):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def mark(self):
        """A position in the backend's log; ``requests(since=mark)`` lists what came after it."""
        if self._log is not None:
            self._log.flush()
        return os.path.getsize(self.log_path)

    def requests(self, since=0, user_agent=None):
        """Requests the backend completed after ``since`` (from its pino request log), oldest first:
        ``[{method, url, status, user_agent}]``; ``user_agent`` keeps only those from that client."""
        incoming, out = {}, []
        with open(self.log_path) as f:
            f.seek(since)
            for line in f:
                if not line.startswith("{"):
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("msg") == "Incoming request":
                    incoming[rec.get("reqId")] = (rec.get("headers") or {}).get("user-agent")
                elif rec.get("msg") == "Request completed":
                    ua = incoming.get(rec.get("reqId"))
                    if user_agent is None or ua == user_agent:
                        out.append(dict(method=rec.get("method"), url=rec.get("url"), status=rec.get("statusCode"),
                                        user_agent=ua))
        return out

    def writes(self, since=0, user_agent="redwood.maas"):
        return [r for r in self.requests(since, user_agent) if r["method"] in WRITE_METHODS]


def attach(path):
    """A LiteMaaSStack view of a stack started by hand (``python tests/setup/litemaas_stack.py`` writes its JSON):
    ``MAAS_LITEMAAS_STACK=/path/stack.json tests/run tests/integration/litemaas`` reuses it (for development;
    nothing is started or stopped)."""
    with open(path) as f:
        info = json.load(f)
    lm = LiteMaaSStack.__new__(LiteMaaSStack)
    lm.proc = lm._log = None
    lm.litellm = LiteLLMStack.__new__(LiteLLMStack)
    lm.litellm.url = info["litellm_url"]
    lm.litellm.master_key = info["litellm_master_key"]
    lm.litellm.upstream_url = info["upstream_url"]
    lm.litellm.pg_port = info["pg_port"]
    lm.litellm.upstream_key = info["upstream_key"]
    lm.litellm.secured_upstream_url = info["secured_upstream_url"]
    for k in ("url", "jwt_secret", "admin_key", "log_path", "automation"):
        setattr(lm, k, info[k])
    lm.timings = {"attached": path}
    lm.stop = lambda: None
    return lm


def describe(lm):
    return dict(url=lm.url, jwt_secret=lm.jwt_secret, admin_key=lm.admin_key, automation=lm.automation,
                litellm_url=lm.litellm.url, litellm_master_key=lm.litellm.master_key,
                upstream_url=lm.litellm.upstream_url, secured_upstream_url=lm.secured_upstream_url,
                upstream_key=lm.upstream_key, pg_port=lm.litellm.pg_port, log_path=lm.log_path)


if __name__ == "__main__":  # manual use: python tests/setup/litemaas_stack.py [JSON]  (Ctrl-C or SIGTERM stops it)
    signal.signal(signal.SIGTERM, _raise_exit)
    with LiteMaaSStack(rate_limit_max=int(os.environ.get("RATE_LIMIT_MAX", "100"))) as lm:
        text = json.dumps(describe(lm), indent=2)
        print(text, flush=True)
        if len(sys.argv) > 1:
            with open(sys.argv[1], "w") as f:
                f.write(text)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
