# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""redwood.maas.host_files on this machine: what it writes, what a second run and check mode do, the diff."""
import os
import stat
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fixtures.ansible_run import run_playbook  # noqa: E402


def play(tmp_path, files, name="play.yml", directories=None):
    path = tmp_path / name
    args = {"files": files, **({"directories": directories} if directories else {})}
    path.write_text(yaml.safe_dump([{"hosts": "maas", "gather_facts": False, "tasks": [
        {"name": "Files", "redwood.maas.host_files": args, "register": "result"},
        {"name": "Written", "ansible.builtin.debug": {"var": "result.written"}},
    ]}]))
    return str(path)


def files(d, unit="[Unit]\nDescription=one\n"):
    return [{"path": str(d / "one.service"), "content": unit},
            {"path": str(d / "secret.env"), "content": "KEY=s3cret\n", "mode": "0600"}]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def target(tmp_path):
    d = tmp_path / "etc"
    d.mkdir()
    return d


def test_writes_then_a_second_run_changes_nothing(tmp_path, target):
    first = run_playbook(tmp_path, {}, playbook=play(tmp_path, files(target)))
    assert first.rc == 0, first.out[-3000:]
    assert first.task("Files")["written"] == [str(target / "one.service"), str(target / "secret.env")]
    assert (target / "one.service").read_text() == "[Unit]\nDescription=one\n"
    assert mode(target / "one.service") == 0o644 and mode(target / "secret.env") == 0o600
    assert sorted(os.listdir(target)) == ["one.service", "secret.env"], "no temporary file left"
    again = run_playbook(tmp_path, {}, playbook=play(tmp_path, files(target)))
    assert again.rc == 0 and again.stats["changed"] == 0 and again.task("Files")["written"] == []


def test_check_mode_reports_and_diff_shows_the_change_without_writing(tmp_path, target):
    assert run_playbook(tmp_path, {}, playbook=play(tmp_path, files(target))).rc == 0
    os.chmod(target / "secret.env", 0o644)
    changed = play(tmp_path, files(target, unit="[Unit]\nDescription=two\n"), "changed.yml")
    check = run_playbook(tmp_path, {}, "--check", "--diff", playbook=changed, json_output=False)
    assert check.rc == 0, check.out[-3000:]
    assert "-Description=one" in check.out and "+Description=two" in check.out
    assert "s3cret" not in check.out, "only the changed file's content is shown"
    assert (target / "one.service").read_text() == "[Unit]\nDescription=one\n"
    assert mode(target / "secret.env") == 0o644, "check mode writes nothing"
    applied = run_playbook(tmp_path, {}, playbook=changed)
    assert applied.task("Files")["written"] == [str(target / "one.service"), str(target / "secret.env")]
    assert (target / "one.service").read_text() == "[Unit]\nDescription=two\n" and mode(target / "secret.env") == 0o600


def test_bad_paths_fail_naming_the_file_before_anything_is_written(tmp_path, target):
    for bad, message in (({"path": "relative.conf", "content": "x"}, "path 'relative.conf' is not absolute"),
                         ({"path": str(tmp_path / "missing" / "x.conf"), "content": "x"},
                          "the directory of %s does not exist" % (tmp_path / "missing" / "x.conf"))):
        run = run_playbook(tmp_path, {}, playbook=play(tmp_path, files(target) + [bad]))
        assert run.rc != 0 and message in run.out, run.out[-3000:]
        assert os.listdir(target) == []


def test_directories_are_created_with_their_mode_before_the_files_check_mode_creates_none(tmp_path, target):
    new = target / "state" / "secrets"
    dirs = [{"path": str(new), "mode": "0700"}]
    secret = [{"path": str(new / "k.env"), "content": "K=1\n", "mode": "0600"},
              {"path": str(target / "state" / "next-to.conf"), "content": "in a parent created with it\n"}]
    check = run_playbook(tmp_path, {}, "--check", "--diff", playbook=play(tmp_path, secret, directories=dirs), json_output=False)
    assert check.rc == 0 and "changed=1" in check.out, check.out[-3000:]
    assert os.listdir(target) == [], "check mode creates no directory"
    first = run_playbook(tmp_path, {}, playbook=play(tmp_path, secret, directories=dirs))
    assert first.rc == 0, first.out[-3000:]
    assert first.task("Files")["written"] == [str(new), str(new / "k.env"), str(target / "state" / "next-to.conf")]
    assert mode(new) == 0o700 and (new / "k.env").read_text() == "K=1\n"
    os.chmod(new, 0o755)
    again = run_playbook(tmp_path, {}, playbook=play(tmp_path, secret, directories=dirs))
    assert again.task("Files")["written"] == [str(new)] and mode(new) == 0o700, "the mode is set again"
    assert run_playbook(tmp_path, {}, playbook=play(tmp_path, secret, directories=dirs)).stats["changed"] == 0


def test_validate_checks_the_new_content_and_a_failure_leaves_the_file_as_it_was(tmp_path, target):
    conf = target / "site.conf"
    conf.write_text("good\n")
    bad = [{"path": str(conf), "content": "bad\n", "validate": "grep -q good %s"}]
    run = run_playbook(tmp_path, {}, playbook=play(tmp_path, bad))
    assert run.rc != 0 and "%s: the new content fails its check (grep -q good %%s)" % conf in run.out, run.out[-3000:]
    assert conf.read_text() == "good\n" and os.listdir(target) == ["site.conf"], "unchanged, no temporary file left"
    ok = [{"path": str(conf), "content": "still good\n", "validate": "grep -q good %s"}]
    assert run_playbook(tmp_path, {}, playbook=play(tmp_path, ok)).task("Files")["written"] == [str(conf)]
    assert conf.read_text() == "still good\n"
