"""The collection's molecule scenarios (extensions/molecule/), run the way a role author runs them:
`molecule test -s <scenario>` from the collection root (each scenario's test_sequence: converge,
idempotence, verify, then cleanup/destroy).

host: throwaway state directory and a free port (MAAS_MOLECULE_STATE_DIR, MAAS_MOLECULE_PG_PORT).
kube: its own kube-apiserver from ../shared/kube-local, started and stopped by the scenario.
"""
import os
import shutil
import socket
import subprocess
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def molecule_test(scenario, **env):
    env = dict(os.environ, NO_COLOR="1", ANSIBLE_NOCOLOR="1", **env)
    proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1800, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-12000:]
    return out


def assert_steps_ran(out, scenario, steps):
    for step in steps:
        assert "%s > %s: Executed: Successful" % (scenario, step) in out, (step, out[-6000:])


def test_molecule_host_scenario():
    # Not under pytest's tmp_path: /tmp/pytest-of-root is 0700 and PostgreSQL runs as user postgres.
    state = tempfile.mkdtemp(prefix="maas-molecule-", dir="/tmp")
    os.chmod(state, 0o755)
    try:
        out = molecule_test("host", MAAS_MOLECULE_STATE_DIR=state, MAAS_MOLECULE_PG_PORT=str(free_port()))
        assert_steps_ran(out, "host", ["converge", "idempotence", "verify", "cleanup"])
        assert not os.path.exists(state), "cleanup left the state directory behind"
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_molecule_kube_scenario():
    out = molecule_test("kube")
    assert_steps_ran(out, "kube", ["create", "converge", "idempotence", "verify", "destroy"])
