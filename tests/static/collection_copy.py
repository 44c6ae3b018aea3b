"""Helpers of the static tests (a uniquely named module: every test directory may have a conftest)."""
import os
import re
import shutil
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd, cwd=REPO, timeout=1800, env=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env)


def collection_copy(tmp_path):
    """The checkout's files (tracked and new, not ignored) at tmp_path/ansible_collections/redwood/maas.

    ansible-test and antsibull-changelog need the collection below ansible_collections/<ns>/<name>
    as real files (no symlink), and the copy leaves the checkout untouched.
    """
    files = run(["git", "ls-files", "-co", "--exclude-standard"]).stdout.split()
    dest = tmp_path / "ansible_collections" / "redwood" / "maas"
    for rel in files:
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        os.makedirs(dest / os.path.dirname(rel), exist_ok=True)
        shutil.copy2(src, dest / rel)
    return dest


def install_get_pip_standin(ansible_test_dir):
    """ansible-test downloads a get-pip script from the internet; use our ensurepip stand-in.

    ansible_test_dir: the ansible_test package of the ansible-core under test (its pip version
    names the cached script it looks for).
    """
    with open(os.path.join(ansible_test_dir, "_internal", "python_requirements.py"), encoding="utf-8") as fh:
        version = re.search(r"pip='([0-9.]+)'", fh.read()).group(1)
    cache = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    shutil.copy(os.path.join(REPO, "tests", "setup", "get_pip_standin.py"), cache)
