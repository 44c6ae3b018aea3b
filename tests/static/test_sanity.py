"""ansible-test sanity and the unit tests across the claimed ansible-core range.

meta/runtime.yml claims requires_ansible ">=2.16.0". Both ends are tested:
- the lowest, ansible-core 2.16 (tests/setup/ansible-core-2.16.txt, Python 3.11), and
- the newest, ansible-core 2.21 (tests/setup/ansible-core-2.21.txt, Python >= 3.12),
each in its own cached venv (tests/setup/ansible_core.sh); the rest of the suite runs on the tool
chain's ansible-core 2.19 (tests/requirements.txt).

Sanity: all of it on the newest; on 2.16 only the tests whose verdict depends on the ansible-core
version (module docs and argument specs, imports, compile, runtime metadata): pylint alone takes
about 1 of the 1.5 minutes of a full warm run here (3.5 of 5 on a loaded machine), and the style
checks give the same answer on every version. Nothing runs sanity on the tool chain's 2.19 (CI
budget); tests/sanity/ignore-2.19.txt is for `tests/run-tool ansible-test sanity` by hand.
"""
import os
import re
import subprocess

import pytest
import yaml
from ansible.release import __version__ as toolchain_core

from collection_copy import REPO, collection_copy, install_get_pip_standin, run

VERSION_DEPENDENT = ["action-plugin-docs", "ansible-doc", "compile", "ignores", "import",
                     "runtime-metadata", "validate-modules"]
TOOLCHAIN = ".".join(toolchain_core.split(".")[:2])
CORES = {  # ansible-core -> sanity tests to run (None: all)
    "2.16": VERSION_DEPENDENT,
    "2.21": None,
}


class Core:
    """One ansible-core install: a cached venv made by tests/setup/ansible_core.sh."""

    def __init__(self, version):
        self.version = version
        venv = subprocess.run([os.path.join(REPO, "tests", "setup", "ansible_core.sh"), version],
                              check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
        self.bindir = os.path.join(venv, "bin")
        self.python = os.path.join(self.bindir, "python")
        info = run([self.python, "-c", "import sys, ansible_test, ansible.release as r; "
                    "print('%d.%d' % sys.version_info[:2]); print(ansible_test.__path__[0]); print(r.__version__)"])
        assert info.returncode == 0, info.stderr
        self.python_version, self.ansible_test_dir, self.core_version = info.stdout.split()
        assert self.core_version.startswith(version + "."), (version, self.core_version)
        self.env = dict(os.environ, PATH=self.bindir + os.pathsep + os.environ["PATH"])


_CORES = {}


def core_for(version):
    if version not in _CORES:
        _CORES[version] = Core(version)
    return _CORES[version]


def test_claimed_range_is_the_tested_range():
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as fh:
        claim = yaml.safe_load(fh)["requires_ansible"]
    lowest = re.fullmatch(r">=(\d+\.\d+)\.0", claim)
    assert lowest, "requires_ansible %r: expected '>=X.Y.0'" % claim
    assert lowest.group(1) == min(CORES, key=lambda v: tuple(map(int, v.split(".")))), (
        "meta/runtime.yml claims %s but the lowest ansible-core tested here is %s" % (claim, min(CORES)))
    for version in list(CORES) + [TOOLCHAIN]:
        assert os.path.exists(os.path.join(REPO, "tests", "sanity", "ignore-%s.txt" % version)), version


@pytest.mark.parametrize("version", sorted(CORES))
def test_ansible_test_sanity(version, tmp_path):
    core = core_for(version)
    install_get_pip_standin(core.ansible_test_dir)
    dest = collection_copy(tmp_path)
    cmd = [os.path.join(core.bindir, "ansible-test"), "sanity", "--local", "--python", core.python_version,
           "--color", "no"]
    for test in CORES[core.version] or []:
        cmd += ["--test", test]
    res = run(cmd, cwd=str(dest), env=core.env)
    out = res.stdout + res.stderr
    assert res.returncode == 0, "ansible-core %s:\n%s" % (core.core_version, out[-10000:])
    assert 'Running sanity test "validate-modules"' in out


@pytest.mark.parametrize("version", sorted(CORES))
def test_unit_tests(version):
    """tests/unit under this ansible-core (the tool chain's run them in the main session)."""
    core = core_for(version)
    res = run([core.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"], env=core.env)
    assert res.returncode == 0, "ansible-core %s:\n%s" % (core.core_version, (res.stdout + res.stderr)[-8000:])
    assert " passed" in res.stdout
