#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_user
short_description: Roles and budget limits of a LiteMaaS user
version_added: "0.1.0"
description:
  - Sets the roles and the budget and rate limits of a LiteMaaS 0.4.0 user, found by username.
  - LiteMaaS has no API to create users; a user row appears at the user's first login. A user who
    has not logged in yet is reported as pending (RV(pending=true), C(changed=false), not an error)
    and is handled by a later run.
  - Reads the user first and writes only the fields that differ.
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
  - redwood.maas.attributes
options:
  username:
    description: The user's username (OpenShift user name or OIDC preferred username).
    type: str
    required: true
  roles:
    description:
      - The user's complete set of roles. C(user) is always added. Omit to leave roles alone.
      - Roles that come from OpenShift groups are merged back by LiteMaaS at the user's next login.
    type: list
    elements: str
    choices: [admin, adminReadonly, user]
  max_budget:
    description: Maximum spend of the user per budget period. Omit to leave unchanged.
    type: float
  budget_duration:
    description: Budget period, C(daily), C(weekly), C(monthly), C(yearly) or C(<n>s|m|h|d|mo), e.g. C(30d).
    type: str
  tpm_limit:
    description: Tokens per minute limit.
    type: int
  rpm_limit:
    description: Requests per minute limit.
    type: int
  state:
    description:
      - Only V(present). LiteMaaS 0.4.0 has no API to delete or deactivate a user.
    type: str
    choices: [present]
    default: present
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Alice is an admin with a 100 per month budget
  redwood.maas.litemaas_user:
    gateway_url: https://litemaas.apps.example.com
    jwt_secret: "{{ maas_litemaas_jwt_secret }}"
    automation_user: "{{ maas_litemaas_automation_user }}"
    username: alice
    roles: [admin, user]
    max_budget: 100
    budget_duration: monthly
"""

RETURN = r"""
pending:
  description: True when the user has not logged in yet (nothing was changed).
  returned: always
  type: bool
user:
  description: The user's managed fields after the run (in check mode, as they would be).
  returned: when the user exists
  type: dict
  sample: {name: alice, roles: [admin, user], max_budget: 100.0, budget_duration: monthly}
changes:
  description: The fields that differ, with before and after values.
  returned: always
  type: dict
requests:
  description: Number of HTTP requests sent.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redwood.maas.plugins.module_utils import litemaas
from ansible_collections.redwood.maas.plugins.module_utils.litemaas_kinds import UserKind, desired_user
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import execute, plan_kind, summarize


def main():
    spec = dict(litemaas.LITEMAAS_ARGUMENT_SPEC)
    spec.update(
        username=dict(type="str", required=True),
        roles=dict(type="list", elements="str", choices=list(litemaas.ROLES)),
        max_budget=dict(type="float"),
        budget_duration=dict(type="str"),
        tpm_limit=dict(type="int"),
        rpm_limit=dict(type="int"),
        state=dict(type="str", choices=["present"], default="present"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        want = desired_user(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    def body(api):
        kind = UserKind(api)
        current = {want["name"]: kind.current(want["name"])}
        plan = plan_kind(kind, [want], current)
        execute(kind, plan, module.check_mode)
        changed, dummy, diff = summarize([(kind, plan)])
        step = plan[0]
        result = dict(changed=changed, changes=step["changes"], user=kind.view(step["after"]))
        if module._diff:
            result["diff"] = diff
        return result

    litemaas.run(module, body)


if __name__ == "__main__":
    main()
