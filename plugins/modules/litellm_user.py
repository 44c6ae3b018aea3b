#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litellm_user
short_description: Manage a user in a LiteLLM proxy
version_added: 0.1.0
description:
  - Creates, updates or deletes one LiteLLM internal user, matched by its user id.
  - Only the options given are compared and written; a second run with the same options changes nothing.
  - Users created here carry the metadata marker C(managed_by=redwood.maas).
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.engine
  - redwood.maas.attributes.litellm
  - redwood.maas.limits
options:
  name:
    description: User id.
    type: str
    required: true
  state:
    description: Whether the user exists.
    type: str
    choices: [present, absent]
    default: present
  email:
    description: E-mail address (unique in LiteLLM).
    type: str
  role:
    description: C(admin) (proxy_admin), C(admin-readonly) (proxy_admin_viewer) or C(user) (internal_user).
    type: str
    choices: [admin, admin-readonly, user]
  models:
    description: Models the user may use; empty means all.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: A user with a monthly budget
  redwood.maas.litellm_user:
    gateway_url: http://127.0.0.1:4000
    token: "{{ litellm_master_key }}"
    name: alice
    email: alice@example.edu
    role: admin
    max_budget: 100
    budget_duration: 1mo
"""

RETURN = r"""
operation:
  description: What was done, C(create), C(update), C(adopt), C(rotate), C(delete) or C(none).
  returned: always
  type: str
  sample: update
requests:
  description: HTTP requests sent, and how many were writes.
  returned: always
  type: dict
  sample: {"total": 2, "writes": 1}
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import LIMITS, SINGLE, MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM

FIELDS = ("name", "state", "email", "role", "models", "max_budget", "budget_duration", "tpm_limit", "rpm_limit")


def main():
    spec = dict(
        SINGLE,
        email=dict(type="str"),
        role=dict(type="str", choices=["admin", "admin-readonly", "user"]),
        models=dict(type="list", elements="str"),
        **LIMITS
    )
    MaasModule(spec, flavour=LiteLLM).run(lambda m: m.run_one("users", FIELDS))


if __name__ == "__main__":
    main()
