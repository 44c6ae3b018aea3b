import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from stack import ENVIRONMENTS, SHARED, Images  # noqa: E402  pylint: disable=wrong-import-position


def _setup(script):
    return subprocess.run([str(REPO / "tests" / "setup" / script)], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.split()


@pytest.fixture(scope="session")
def workdir():
    # Not under pytest's tmp_path (0700): the container UID must traverse it.
    d = tempfile.mkdtemp(prefix="maas-containers-", dir="/tmp")
    os.chmod(d, 0o755)
    yield Path(d)
    subprocess.run(["rm", "-rf", d], check=False)


@pytest.fixture(scope="session")
def images(workdir):
    if os.geteuid() != 0:
        pytest.skip("the container layer needs root (mount namespaces, network namespaces, setpriv)")
    vllm_venv, demo_model = _setup("vllm.sh")
    litellm_venv = _setup("litellm.sh")[-1]
    build = _setup("litemaas.sh")[-1]
    _setup("containers.sh")
    env = {}
    out = subprocess.run([str(SHARED / "litellm-offline" / "env"), litellm_venv], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        key, value = line[len("export "):].split("=", 1)
        env[key] = value.replace('"$PATH"', "").strip('"')
    env["LITELLM_VENV"] = litellm_venv
    return Images(vllm_venv, demo_model, litellm_venv, env, build, workdir)


@pytest.fixture(scope="session")
def rendered(workdir):
    """Every example inventory rendered (render mode, no cluster), in parallel: {env: dir}."""
    procs, out = {}, {}
    for env in ENVIRONMENTS:
        target = workdir / ("render-" + env)
        procs[env] = (target, subprocess.Popen(
            ["ansible-playbook", "playbooks/site.yml", "-i", "inventories/%s" % env, "-e", "maas_delivery=render",
             "-e", "maas_render_dir=%s" % target], cwd=REPO, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=dict(os.environ, ANSIBLE_NOCOLOR="1")))
    for env, (target, proc) in procs.items():
        log = proc.communicate()[0]
        assert proc.returncode == 0, log[-5000:]
        out[env] = target
    return out
