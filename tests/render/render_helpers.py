# Copyright: redwood.maas contributors. Apache License 2.0.
"""Helpers of the render tests (a uniquely named module: every test directory has a conftest)."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ["dev", "staging", "prod"]


def run_playbook(*args, check=False, extra_env=None):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", **(extra_env or {}))
    proc = subprocess.run(["ansible-playbook", *args], cwd=REPO, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout[-6000:]
    return proc
