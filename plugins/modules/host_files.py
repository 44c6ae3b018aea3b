#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: host_files
short_description: Write a service's small text files on the host in one module run
version_added: 0.2.0
description:
  - Writes each file whose content differs, atomically (a temporary file in the same directory, then a
    rename), and sets its mode, owner and group; files already as given are left untouched.
  - The host roles write a service's definition (its systemd unit and supervisord section) and its
    configuration with one task of this module. C(ansible.builtin.template) costs two module runs per
    file even when nothing changes (C(stat), then C(file)); a module run costs about 0.4 s on a 2-core
    host, and these files made up a quarter of a no-op run of C(site.yml).
  - Content comes from the controller (for instance C(lookup('ansible.builtin.template', ...))); a task
    whose files hold secrets sets C(no_log), which also hides its diff.
  - The parent directories must exist or be listed in O(directories) (in check mode, a file in a missing
    directory is reported as written).
author:
  - redwood.maas engineers (@redwood-maas)
attributes:
  check_mode:
    description: Reports what it would write, and writes nothing.
    support: full
  diff_mode:
    description: One diff per file whose content changes.
    support: full
options:
  directories:
    description:
      - Directories created (with their parents) before the files are written, when missing, and given their mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      mode:
        description: Permissions, octal as a string (C("0700")).
        type: str
        default: "0755"
  files:
    description: The files.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: The file's whole content.
        type: str
        required: true
      mode:
        description: Permissions, octal as a string (C("0644")).
        type: str
        default: "0644"
      owner:
        description: Owner; unchanged when omitted.
        type: str
      group:
        description: Group; unchanged when omitted.
        type: str
      validate:
        description:
          - A command that checks the new content before it replaces the file, V(%s) standing for a temporary file
            that holds it (as for C(ansible.builtin.template)); when it fails, the file is left as it was and the
            task fails naming the file.
        type: str
"""

EXAMPLES = r"""
- name: Service definition of maas-litellm (systemd unit and supervisord section)
  redwood.maas.host_files:
    files:
      - path: /etc/systemd/system/maas-litellm.service
        content: "{{ lookup('ansible.builtin.template', 'program.service.j2') }}"
      - path: /var/lib/maas/supervisor/conf.d/maas-litellm.conf
        content: "{{ lookup('ansible.builtin.template', 'program.conf.j2') }}"
  register: definition

- name: Metrics sampler script, in its directory (created when missing)
  redwood.maas.host_files:
    directories:
      - path: /var/lib/maas/metrics/samples
    files:
      - path: /var/lib/maas/metrics/metrics_sampler.py
        content: "{{ lookup('ansible.builtin.file', 'metrics_sampler.py') }}"

- name: Restart when the unit changed
  ansible.builtin.systemd_service:
    name: maas-litellm.service
    state: restarted
    daemon_reload: true
  when: "'/etc/systemd/system/maas-litellm.service' in definition.written"
"""

RETURN = r"""
written:
  description:
    - Paths of the directories created or whose mode changed, then of the files written (content, mode, owner or
      group changed), in the order given.
  returned: always
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes


def read(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def set_attributes(module, f, path, changed=False):
    changed = module.set_owner_if_different(path, f["owner"], changed)
    changed = module.set_group_if_different(path, f["group"], changed)
    return module.set_mode_if_different(path, f["mode"], changed)


def write(module, f, data):
    """Write to a temporary file with the file's final mode and owner, then rename it over the file:
    a reader sees the old or the new content, and a secret is never readable by others meanwhile."""
    path = f["path"]
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        set_attributes(module, f, tmp)
        if f["validate"]:
            rc, out, err = module.run_command(f["validate"].replace("%s", tmp))
            if rc != 0:
                module.fail_json(msg="host_files: %s: the new content fails its check (%s): %s"
                                 % (path, f["validate"], (err or out).strip()[-2000:]), rc=rc)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec=dict(directories=dict(type="list", elements="dict", default=[], options=dict(
            path=dict(type="path", required=True),
            mode=dict(type="str", default="0755"),
        )), files=dict(type="list", elements="dict", required=True, options=dict(
            path=dict(type="path", required=True),
            content=dict(type="str", required=True),
            mode=dict(type="str", default="0644"),
            owner=dict(type="str"),
            group=dict(type="str"),
            validate=dict(type="str"),
        ))),
        supports_check_mode=True,
    )
    dirs = module.params["directories"]
    for f in dirs + module.params["files"]:
        if not os.path.isabs(f["path"]):
            module.fail_json(msg="host_files: path %r is not absolute" % f["path"])
    to_create = set()  # the directories listed, and their parents (created with them)
    for d in dirs:
        path = d["path"]
        while path not in to_create and path != os.path.dirname(path):
            to_create.add(path)
            path = os.path.dirname(path)
    for f in module.params["files"]:
        if not module.check_mode and not os.path.isdir(os.path.dirname(f["path"])) \
                and os.path.dirname(f["path"]) not in to_create:
            module.fail_json(msg="host_files: the directory of %s does not exist" % f["path"])
    written, diffs = [], []
    for d in dirs:
        if not os.path.isdir(d["path"]):
            diffs.append(dict(before_header=d["path"], after_header=d["path"], before={"state": "absent"},
                              after={"state": "directory", "mode": d["mode"]}))
            if not module.check_mode:
                try:
                    os.makedirs(d["path"])
                except OSError as exc:
                    module.fail_json(msg="host_files: cannot create the directory %s: %s" % (d["path"], exc))
                module.set_mode_if_different(d["path"], d["mode"], False)
            written.append(d["path"])
        elif module.set_mode_if_different(d["path"], d["mode"], False):
            written.append(d["path"])
    for f in module.params["files"]:
        path, data = f["path"], to_bytes(f["content"])
        before = read(path)
        if before != data:
            diffs.append(dict(before_header=path, after_header=path,
                              before="" if before is None else before.decode("utf-8", "replace"),
                              after=f["content"]))
            if not module.check_mode:
                write(module, f, data)
            written.append(path)
        elif set_attributes(module, f, path):
            written.append(path)
    module.exit_json(changed=bool(written), written=written, diff=diffs)


if __name__ == "__main__":
    main()
