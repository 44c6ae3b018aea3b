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
      - The user's complete set of roles, in the collection's role vocabulary (C(admin-readonly) is mapped to
        LiteMaaS's read-only admin role). C(user) is always added. Omit to leave roles alone.
      - Roles that come from OpenShift groups are merged back by LiteMaaS at the user's next login.
    type: list
    elements: str
    choices: [admin, admin-readonly, user]
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
  description: HTTP requests sent, and how many of them were writes.
  returned: always
  type: dict
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import DURATION_WORDS, LiteMaaS, desired_user
from ansible_collections.redwood.maas.plugins.module_utils.tenants import ROLES, check_duration, check_number

LIMITS = ("max_budget", "tpm_limit", "rpm_limit")


def apply(m):
    p = m.params
    what = "user %r" % p["username"]
    check_duration("%s: budget_duration" % what, p["budget_duration"], DURATION_WORDS)
    for field in LIMITS:
        check_number("%s: %s" % (what, field), p[field], "budget" if field == "max_budget" else "count")
    want = desired_user(dict(p, name=p["username"]))
    flavour = m.flavour()
    kind = flavour.kinds["user"]
    current = kind.current(flavour.api.require_user(p["username"]))
    step, out = m.apply_kind("user", want, {want["name"]: current})
    return dict(changed=out["changed"], changes=step["changes"], user=kind.view(step["after"]), diff=out["diff"])


def main():
    MaasModule(dict(
        username=dict(type="str", required=True),
        roles=dict(type="list", elements="str", choices=list(ROLES)),
        max_budget=dict(type="float"),
        budget_duration=dict(type="str"),
        tpm_limit=dict(type="int"),
        rpm_limit=dict(type="int"),
        state=dict(type="str", choices=["present"], default="present"),
    ), flavour=LiteMaaS).run(apply)


if __name__ == "__main__":
    main()
