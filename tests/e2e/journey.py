"""The local journey's harness, for real: site.yml on inventories/local with the demo model on the CPU.

State (PostgreSQL data, models, configuration, keys, supervisor) goes to a fresh temporary
directory and every service listens on free loopback ports, so a developer's own install and
concurrent test runs are not disturbed. The heavy virtualenvs (vLLM ~2.5 GB, LiteLLM) are keyed
on their pins and cached under $MAAS_CACHE/host-venvs; from nothing they are installed by the play.
"""

# Here, not in conftest.py: when pytest runs several directories, the module name "conftest" is another
# directory's (tests/containers has one too), so the tests and benchmarks import this module.
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Journey:
    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.record = os.path.join(state_dir, "smoke-record.jsonl")
        self.ports = {"postgres": free_port(), "vllm": free_port(), "litellm": free_port()}
        self.extra_vars = {
            "maas_host_state_dir": state_dir,
            "maas_host_postgres_port": self.ports["postgres"],
            "maas_host_vllm_base_port": self.ports["vllm"],
            "maas_host_litellm_port": self.ports["litellm"],
            "maas_smoke_record": self.record,
            "maas_usage_report_dir": os.path.join(state_dir, "reports"),
        }
        self.vars_file = os.path.join(state_dir, "e2e-vars.json")
        self.write_vars()

    def write_vars(self, **more):
        with open(self.vars_file, "w", encoding="utf-8") as fh:
            json.dump({**self.extra_vars, **more}, fh)

    def run(self, playbook, *args, inventory="inventories/local", timeout=1800):
        cmd = ["ansible-playbook", "-i", inventory, playbook, "-e", "@" + self.vars_file, *args]
        env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        with open(os.path.join(self.state_dir, "ansible.log"), "a", encoding="utf-8") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}\nrc={proc.returncode}\n")
        return proc

    def records(self, mode):
        if not os.path.exists(self.record):
            return []
        with open(self.record, encoding="utf-8") as fh:
            return [r for r in map(json.loads, fh) if r["mode"] == mode]

    def supervisord_pid(self):
        try:
            with open(os.path.join(self.state_dir, "supervisor", "supervisord.pid"), encoding="utf-8") as fh:
                return int(fh.read().strip())
        except (OSError, ValueError):
            return None


def recap(stdout):
    """{'ok': n, 'changed': n, 'failed': n, ...} of the play recap for localhost."""
    line = [l for l in stdout.splitlines() if l.startswith("localhost") and "changed=" in l][-1]
    return {k: int(v) for k, v in (f.split("=") for f in line.split(":", 1)[1].split())}


def processes_in(directory):
    """PIDs of processes whose working directory lies in ``directory``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink("/proc/%s/cwd" % entry)
            except OSError:
                continue
            if cwd == directory or cwd.startswith(directory + os.sep):
                pids.append(int(entry))
    return pids


def journey_in_own_state_dir(cls, prefix):
    """A journey of class cls in a new state dir; afterwards everything it started is stopped, even
    after a failure: teardown (purge), then any supervisord left behind (its children die with it),
    then any process still running from the state dir. MAAS_E2E_KEEP=1 keeps the dir."""
    # Not under pytest's tmp_path: /tmp/pytest-of-root is 0700 and PostgreSQL runs as user postgres.
    state_dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(state_dir, 0o755)
    j = cls(state_dir)
    yield j
    j.run("playbooks/teardown.yml", "-e", "maas_purge=true", timeout=300)
    pid = j.supervisord_pid()
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in processes_in(state_dir):  # e.g. a query engine orphaned by the SIGKILL test
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if not os.environ.get("MAAS_E2E_KEEP"):
        shutil.rmtree(state_dir, ignore_errors=True)
