import os
import subprocess

import pytest

from render_helpers import ENVIRONMENTS, REPO


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """Render every example inventory (in parallel) into its own directory: {env: (dir, output)}."""
    base = tmp_path_factory.mktemp("rendered")
    procs = {}
    for env in ENVIRONMENTS:
        cmd = ["ansible-playbook", "playbooks/site.yml", "-i", "inventories/%s" % env,
               "-e", "maas_delivery=render", "-e", "maas_render_dir=%s" % (base / env)]
        procs[env] = subprocess.Popen(cmd, cwd=REPO, text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT,
                                      env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    out = {}
    for env, p in procs.items():
        stdout = p.communicate()[0]
        assert p.returncode == 0, "render of %s failed:\n%s" % (env, stdout[-6000:])
        out[env] = (base / env, stdout)
    return out
