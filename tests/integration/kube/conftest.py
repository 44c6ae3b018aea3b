import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from fixtures.kube import kube_local  # noqa: E402,F401  (session fixture)

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def kube_extra_crds():
    return [HERE / "standin-crds.yaml"]


class Runner:
    def __init__(self, kube):
        self.kube = kube

    def start(self, *args, extra=None):
        env = dict(self.kube.env, ANSIBLE_NOCOLOR="1")
        cmd = ["ansible-playbook", *args]
        for k, v in (extra or {}).items():
            cmd += ["-e", json.dumps({k: v})]
        return subprocess.Popen(cmd, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

    def run(self, *args, extra=None, ok=True, timeout=600):
        p = self.start(*args, extra=extra)
        out = p.communicate(timeout=timeout)[0]
        if ok:
            assert p.returncode == 0, out[-8000:]
        return p.returncode, out


def recap(out):
    m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    assert m, out[-3000:]
    return {"ok": int(m[1]), "changed": int(m[2]), "failed": int(m[4])}


@pytest.fixture(scope="session")
def ansible(kube_local):
    return Runner(kube_local)
