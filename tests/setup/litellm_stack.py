"""Start a throwaway PostgreSQL + fake OpenAI upstream + real LiteLLM proxy on free loopback ports.

Used by tests/integration/litellm/conftest.py and benchmarks/litellm_bench.py (and anyone else):

    with LiteLLMStack() as gw:      # gw.url, gw.master_key, gw.upstream_url, gw.secured_upstream_url
        ...

The upstream is tests/setup/fake_upstream.py: ``upstream_url`` needs no key (as vLLM without --api-key),
``secured_upstream_url`` answers only with ``upstream_key``, which LiteLLM has in its environment as
MAAS_VLLM_API_KEY (as the host roles give it vLLM's key): models registered with the api_key
``os.environ/MAAS_VLLM_API_KEY`` reach it.

Everything is installed by tests/setup/litellm.sh (cached); everything started is stopped on exit.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
UPSTREAM_KEY_VAR = "MAAS_VLLM_API_KEY"


def free_ports(n):
    socks = [socket.socket() for dummy in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_http(url, timeout, proc=None, headers=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process for %s exited with %s" % (url, proc.returncode))
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    raise RuntimeError("%s did not answer within %s s" % (url, timeout))


def _stop(proc, timeout=15):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


class Stack(object):
    """A context manager over start() and stop(): what start() got running is stopped when it fails."""

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()


class LiteLLMStack(Stack):
    def __init__(self, workdir=None, databases=()):
        """``databases``: more (empty) databases to create in the same PostgreSQL, e.g. for LiteMaaS
        (``pg_port`` and ``pg_url(name)`` reach them)."""
        self.upstream_key = "upstream-" + secrets.token_hex(8)
        self.work = workdir or tempfile.mkdtemp(prefix="maas-litellm-")
        self._own_work = workdir is None
        self.databases = tuple(databases)
        self.procs = []
        self.pg_dir = os.path.join(self.work, "pg")
        self.pg_started = False
        self.master_key = "sk-master-" + secrets.token_hex(16)

    def start(self):
        shared = os.environ.get("MAAS_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")
        llo = os.path.join(shared, "litellm-offline")
        self.venv = subprocess.check_output([os.path.join(HERE, "litellm.sh")], text=True).strip()
        pg_port, up_port, port = free_ports(3)
        os.chmod(self.work, 0o711)
        subprocess.check_call([os.path.join(HERE, "postgres.sh"), "start", self.pg_dir, str(pg_port)])
        self.pg_started = True
        self.pg_port = pg_port
        for name in ("litellm",) + self.databases:
            subprocess.check_call([os.path.join(HERE, "postgres.sh"), "createdb", str(pg_port), name])
        self.database_url = self.pg_url("litellm")
        subprocess.check_call([os.path.join(llo, "migrate"), self.database_url, self.venv],
                              stderr=subprocess.DEVNULL)
        py = os.path.join(self.venv, "bin", "python")
        up = subprocess.Popen([py, os.path.join(HERE, "fake_upstream.py"), str(up_port), self.upstream_key],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(up)
        self.upstream_port = up_port
        self.upstream_url = "http://127.0.0.1:%d/v1" % up_port
        self.secured_upstream_url = "http://127.0.0.1:%d/secured/v1" % up_port
        wait_http(self.upstream_url + "/models", 30, up)
        env = dict(os.environ)
        for line in subprocess.check_output([os.path.join(llo, "env"), self.venv], text=True).splitlines():
            if line.startswith("export "):
                k, v = line[len("export "):].split("=", 1)
                env[k] = subprocess.check_output(["bash", "-c", "printf %s " + v], text=True, env=env)
        env.update(DATABASE_URL=self.database_url, LITELLM_MASTER_KEY=self.master_key,
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        env[UPSTREAM_KEY_VAR] = self.upstream_key
        config = os.path.join(self.work, "config.yaml")
        with open(config, "w") as f:
            f.write("""model_list: []
litellm_settings:
  telemetry: false
  drop_params: true
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DATABASE_URL
  disable_prisma_schema_update: true
  store_model_in_db: true
""")
        self.log_path = os.path.join(self.work, "litellm.log")
        self._cmd = [os.path.join(self.venv, "bin", "litellm"), "--config", config, "--host", "127.0.0.1",
                     "--port", str(port)]
        self._env = env
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self._start_proxy()

    def _start_proxy(self):
        with open(self.log_path, "a") as log:
            self.proxy = subprocess.Popen(self._cmd, cwd=self.work, env=self._env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(self.proxy)
        wait_http(self.url + "/health/readiness", 240, self.proxy)

    def kill_proxy(self):
        """SIGKILL LiteLLM and its query engine (a crash, for fault tests); PostgreSQL keeps running."""
        try:
            os.killpg(self.proxy.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proxy.wait(10)
        self.procs.remove(self.proxy)

    def restart_proxy(self):
        """Start LiteLLM again on the same port and database after kill_proxy()."""
        deadline = time.time() + 30           # the port is free once the killed process is gone
        while time.time() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    break
            time.sleep(0.2)
        self._start_proxy()

    def pg_url(self, database, user="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (user, self.pg_port, database)

    def log_tail(self, n=60):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        for proc in reversed(self.procs):
            _stop(proc)
        self.procs = []
        if self.pg_started:
            subprocess.call([os.path.join(HERE, "postgres.sh"), "stop", self.pg_dir])
            self.pg_started = False
        if self._own_work and not os.environ.get("MAAS_KEEP_WORK"):
            shutil.rmtree(self.work, ignore_errors=True)


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":  # manual use: python tests/setup/litellm_stack.py  (Ctrl-C or SIGTERM stops it all)
    signal.signal(signal.SIGTERM, _raise_exit)
    with LiteLLMStack() as gw:
        print("LiteLLM %s master key %s upstream %s" % (gw.url, gw.master_key, gw.upstream_url), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
