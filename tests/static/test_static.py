"""Static checks of the whole collection: ansible-lint (production profile, offline) and
ansible-doc rendering of every module. ansible-test sanity: test_sanity.py."""
import glob
import os

import pytest

from collection_copy import REPO, run

MODULES = sorted(os.path.splitext(os.path.basename(p))[0]
                 for p in glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))
                 if not p.endswith("__init__.py"))


def test_ansible_lint_production_profile():
    res = run(["ansible-lint", "--offline", "--profile", "production", "--nocolor"])
    assert res.returncode == 0, res.stdout[-8000:] + res.stderr[-4000:]


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module):
    res = run(["ansible-doc", "redwood.maas." + module])
    assert res.returncode == 0, res.stderr[-4000:]
    for section in ("OPTIONS", "EXAMPLES", "RETURN"):
        assert section in res.stdout, "%s missing from ansible-doc of %s" % (section, module)
