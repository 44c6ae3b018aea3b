# Copyright: redwood.maas contributors. Apache License 2.0.
"""Helpers of the kube tests (a uniquely named module: every test directory has a conftest)."""
import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


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
