"""The host roles run their read-only probes as `ansible.builtin.raw` commands (no Python module wrapper).

Ansible parses a raw command for key=value words when it loads the task, before any Jinja, and refuses
unbalanced quotes (an apostrophe in a shell comment is enough): the play then fails at that task's
include, far from the cause. A command in a folded scalar (`>-`) must not continue on a more-indented
line outside Jinja: YAML keeps that line's newline and the shell sees two commands. Both are checked
here for every raw task, with Ansible's own parser.
"""
import glob
import os

import pytest
import yaml
from ansible.parsing.splitter import parse_kv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def raw_scalars(node):
    """(style, value) of every `ansible.builtin.raw` value in a composed YAML document ('>' folded, '|' literal)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "ansible.builtin.raw":
                yield value.style, value.value
            else:
                yield from raw_scalars(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from raw_scalars(item)


def outside_jinja(command):
    """The command with every {{ ... }} expression cut out."""
    out, depth, i = [], 0, 0
    while i < len(command):
        if command.startswith("{{", i):
            depth, i = depth + 1, i + 2
        elif command.startswith("}}", i) and depth:
            depth, i = depth - 1, i + 2
        else:
            if not depth:
                out.append(command[i])
            i += 1
    return "".join(out)


RAW = sorted((os.path.relpath(path, REPO), style or "plain", value)
             for path in glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml"))
             + glob.glob(os.path.join(REPO, "playbooks", "*.yml"))
             for style, value in raw_scalars(yaml.compose(open(path, encoding="utf-8"))))


def test_the_host_roles_have_raw_probes():
    assert len(RAW) >= 10, RAW


@pytest.mark.parametrize("path, style, command", RAW, ids=["%s: %s" % (r[0], r[2][:40]) for r in RAW])
def test_raw_command_parses_and_stays_one_command(path, style, command):
    parsed = parse_kv(command, check_raw=True)
    assert set(parsed) == {"_raw_params"}, "%s: words of %r were taken as raw's options: %s" % (path, command[:60], parsed)
    if style != "|":
        assert "\n" not in outside_jinja(command).strip(), (
            "%s: the folded command %r continues on a more-indented line: YAML keeps that newline" % (path, command[:60]))
