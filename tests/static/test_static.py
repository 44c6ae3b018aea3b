"""Static checks of the whole collection: ansible-lint (production profile, offline),
ansible-test sanity, and ansible-doc rendering of every module."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(os.path.splitext(os.path.basename(p))[0]
                 for p in glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))
                 if not p.endswith("__init__.py"))


def run(cmd, cwd=REPO, timeout=1800):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def test_ansible_lint_production_profile():
    res = run(["ansible-lint", "--offline", "--profile", "production", "--nocolor"])
    assert res.returncode == 0, res.stdout[-8000:] + res.stderr[-4000:]


def _collection_copy(tmp_path):
    """ansible-test needs the collection at .../ansible_collections/redwood/maas (no symlink)."""
    files = run(["git", "ls-files", "-co", "--exclude-standard"]).stdout.split()
    dest = tmp_path / "ansible_collections" / "redwood" / "maas"
    for rel in files:
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        os.makedirs(dest / os.path.dirname(rel), exist_ok=True)
        shutil.copy2(src, dest / rel)
    return dest


def _install_get_pip_standin():
    """ansible-test downloads a get-pip script from the internet; use our ensurepip stand-in."""
    from ansible_test._internal import python_requirements as pr  # noqa: F401 (version lookup below)
    import re
    text = open(pr.__file__).read()
    version = re.search(r"pip='([0-9.]+)'", text).group(1)
    cache = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    shutil.copy(os.path.join(REPO, "tests", "setup", "get_pip_standin.py"), cache)


def test_ansible_test_sanity(tmp_path):
    _install_get_pip_standin()
    dest = _collection_copy(tmp_path)
    py = "%d.%d" % sys.version_info[:2]
    res = run(["ansible-test", "sanity", "--local", "--python", py, "--color", "no"], cwd=str(dest))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-10000:]
    assert "Running sanity test \"validate-modules\"" in out


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module):
    res = run(["ansible-doc", "redwood.maas." + module])
    assert res.returncode == 0, res.stderr[-4000:]
    for section in ("OPTIONS", "EXAMPLES", "RETURN"):
        assert section in res.stdout, "%s missing from ansible-doc of %s" % (section, module)
