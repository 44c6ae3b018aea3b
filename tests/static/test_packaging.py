"""The collection as the ecosystem packages it: galaxy.yml, the built artifact, an execution
environment (ansible-builder), and the changelog (antsibull-changelog)."""
import ast
import datetime
import glob
import os
import re
import shutil
import sys
import tarfile

import pytest
import yaml

from collection_copy import REPO, collection_copy, run

HERE = os.path.dirname(os.path.abspath(__file__))


def load_yaml(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def version_tuple(version):
    return tuple(int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", version).groups())


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """The collection tarball, built as a release would build it (ansible-galaxy collection build)."""
    out = tmp_path_factory.mktemp("artifact")
    res = run(["ansible-galaxy", "collection", "build", "--output-path", str(out)])
    assert res.returncode == 0, res.stdout + res.stderr
    (path,) = glob.glob(str(out / "redwood-maas-*.tar.gz"))
    return path


def test_galaxy_metadata_is_real():
    galaxy = load_yaml("galaxy.yml")
    assert (galaxy["namespace"], galaxy["name"]) == ("redwood", "maas")
    assert re.fullmatch(r"\d+\.\d+\.\d+", galaxy["version"]), galaxy["version"]
    assert galaxy["dependencies"].get("kubernetes.core"), "the OpenShift roles need kubernetes.core"
    for key in ("repository", "documentation", "homepage", "issues"):
        url = galaxy.get(key)
        if url is not None:  # no public home yet: absent rather than invented
            assert url.startswith("https://") and not re.search(r"example\.|\.invalid|localhost|TODO", url), (key, url)
    released = load_yaml("changelogs", "changelog.yaml")["releases"]
    newest = max(released, key=version_tuple)
    assert version_tuple(galaxy["version"]) >= version_tuple(newest), (
        "galaxy.yml version %s is older than the last release %s" % (galaxy["version"], newest))


def test_artifact_ships_the_packaging_files(artifact):
    with tarfile.open(artifact) as tar:
        names = set(tar.getnames())
        manifest = yaml.safe_load(tar.extractfile("MANIFEST.json"))
    for needed in ("meta/execution-environment.yml", "requirements.txt", "bindep.txt", "meta/runtime.yml",
                   "CHANGELOG.md", "changelogs/changelog.yaml", "changelogs/config.yaml", "README.md", "LICENSE",
                   "extensions/molecule/config.yml"):
        assert needed in names, needed
    leaked = [n for n in names if re.match(r"(tests/output|\.cache|\.ci|rendered|benchmarks/output)(/|$)", n)
              or n.endswith((".pyc", ".tar.gz", "/.plugin-cache.yaml"))]
    assert not leaked, leaked
    info = manifest["collection_info"]
    assert info["version"] == load_yaml("galaxy.yml")["version"]
    assert info["dependencies"] == {"kubernetes.core": ">=5.0.0"}


def test_execution_environment_build_context(artifact, tmp_path):
    """ansible-builder create writes the context a container engine builds; its introspection step
    (run here on the installed artifact, as the builder stage runs it) finds our dependencies."""
    ee_dir = tmp_path / "ee"
    ee_dir.mkdir()
    shutil.copy(os.path.join(HERE, "execution-environment.yml"), ee_dir)
    shutil.copy(artifact, ee_dir / "redwood-maas.tar.gz")
    ctx = tmp_path / "context"
    res = run(["ansible-builder", "create", "--file", str(ee_dir / "execution-environment.yml"),
               "--context", str(ctx), "--output-filename", "Containerfile"])
    assert res.returncode == 0, res.stdout + res.stderr
    containerfile = (ctx / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    assert re.search(r"ansible-galaxy collection install .*-r requirements.yml", containerfile)
    assert "introspect.py introspect" in containerfile
    galaxy_reqs = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text())
    assert galaxy_reqs == {"collections": [{"name": "collections/redwood-maas.tar.gz", "type": "file"}]}
    assert (ctx / "_build" / "collections" / "redwood-maas.tar.gz").read_bytes() == open(artifact, "rb").read()

    # The builder stage: collections installed from requirements.yml, then introspected.
    installed = tmp_path / "collections"
    res = run(["ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", str(installed),
               str(ctx / "_build" / "collections" / "redwood-maas.tar.gz")])
    assert res.returncode == 0, res.stdout + res.stderr
    assert (installed / "ansible_collections" / "redwood" / "maas" / "meta" / "execution-environment.yml").is_file()
    res = run(["ansible-builder", "introspect", "--sanitize", str(installed)])
    assert res.returncode == 0, res.stdout + res.stderr
    deps = yaml.safe_load(res.stdout.split("---", 1)[1])
    ours = {"python": [], "system": []}
    for kind in ours:
        for line in deps[kind]:
            req, origin = (line.split("#", 1) + [""])[:2]
            if origin.strip() == "from collection redwood.maas":
                ours[kind].append(req.strip())
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as fh:
        declared = [l.split("#")[0].strip() for l in fh if l.split("#")[0].strip()]
    assert ours["python"] == declared
    assert {re.split(r"[<>=!~ ]", r)[0] for r in ours["python"]} >= {"httpx", "kubernetes"}
    assert "openssh-clients [platform:rpm]" in ours["system"]


def test_modules_import_only_declared_python_packages():
    """Every third-party import of plugins/ and playbooks/files/ is declared in requirements.txt
    (what an execution environment installs)."""
    imported = set()
    for path in glob.glob(os.path.join(REPO, "plugins", "**", "*.py"), recursive=True) + \
            glob.glob(os.path.join(REPO, "playbooks", "files", "*.py")):
        with open(path, encoding="utf-8") as fh:
            for node in ast.walk(ast.parse(fh.read(), path)):
                if isinstance(node, ast.Import):
                    imported.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    imported.add(node.module.split(".")[0])
    local = {os.path.splitext(os.path.basename(p))[0]  # playbooks/files/*.py import each other
             for p in glob.glob(os.path.join(REPO, "playbooks", "files", "*.py"))}
    third_party = imported - set(sys.stdlib_module_names) - local - {"ansible", "ansible_collections", "__future__"}
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as fh:
        declared = {re.split(r"[<>=!~ \[]", l.split("#")[0].strip())[0].lower()
                    for l in fh if l.split("#")[0].strip()}
    assert third_party <= declared, "imported but not in requirements.txt: %s" % sorted(third_party - declared)


def test_collection_docs_lint(tmp_path):
    """antsibull-docs (what docs.ansible.com builds with) accepts every module's and role's docs."""
    dest = collection_copy(tmp_path)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    res = run(["antsibull-docs", "lint-collection-docs", "--plugin-docs", str(dest)], env=env)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


def test_changelog_fragments_lint():
    res = run(["antsibull-changelog", "lint"])
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


def test_changelog_md_is_generated(tmp_path):
    """CHANGELOG.md is antsibull-changelog's output for changelogs/changelog.yaml, not hand-edited."""
    out = tmp_path / "CHANGELOG.md"
    res = run(["antsibull-changelog", "generate", "--output", str(out), "--output-format", "md"])
    assert res.returncode == 0, res.stdout + res.stderr
    with open(os.path.join(REPO, "CHANGELOG.md"), encoding="utf-8") as fh:
        assert fh.read() == out.read_text(), "CHANGELOG.md differs: run antsibull-changelog generate"


def test_release_rehearsal(tmp_path):
    """What the release manager will run (antsibull-changelog release) works on a copy, and every
    pending fragment lands in the new release's section."""
    dest = collection_copy(tmp_path)
    version = load_yaml("galaxy.yml")["version"]
    fragments = sorted(glob.glob(str(dest / "changelogs" / "fragments" / "*.y*ml")))
    if version in load_yaml("changelogs", "changelog.yaml")["releases"]:
        assert not fragments, "version %s is released: bump galaxy.yml for the pending fragments" % version
        return
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    res = run(["antsibull-changelog", "release", "--date", datetime.date.today().isoformat()],
              cwd=str(dest), env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    text = (dest / "CHANGELOG.md").read_text()
    assert "v%s" % version.replace(".", "\\.") in text
    released = yaml.safe_load((dest / "changelogs" / "changelog.yaml").read_text())["releases"][version]
    assert sorted(released["fragments"]) == sorted(os.path.basename(f) for f in fragments)
    assert not glob.glob(str(dest / "changelogs" / "fragments" / "*.y*ml"))
