#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_inventory_info
short_description: Check a tenant inventory against what the LiteMaaS flavour can express
version_added: "0.1.0"
description:
  - Validates the tenant data model (C(maas_models), C(maas_budget_defaults), C(maas_teams), C(maas_users),
    C(maas_api_keys)) with the same rules as the LiteLLM flavour (unknown fields, wrong types, negative budgets,
    malformed durations, duplicate names), then with what LiteMaaS 0.4.0 cannot express, and fails with a message
    naming the entry. Sends no request and changes nothing.
  - The C(tenants) role runs it before its first write when C(maas_gateway=litemaas).
options:
  models:
    description: As C(maas_models).
    type: list
    elements: dict
    default: []
  budget_defaults:
    description: As C(maas_budget_defaults).
    type: dict
    default: {}
  teams:
    description: As C(maas_teams). Must be empty, LiteMaaS 0.4.0 has no teams API.
    type: list
    elements: dict
    default: []
  users:
    description: As C(maas_users). No user may have C(state=absent), LiteMaaS 0.4.0 has no API to delete users.
    type: list
    elements: dict
    default: []
  api_keys:
    description: As C(maas_api_keys). Every key must be owned by a user and name at least one model of O(models).
    type: list
    elements: dict
    default: []
  model_endpoints:
    description: As C(maas_model_endpoints); every present model needs an endpoint from here or its own.
    type: dict
    default: {}
  prune:
    description: As C(maas_tenants_prune). Must be false, LiteMaaS objects carry no ownership marker.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Fail early on what LiteMaaS cannot express
  redwood.maas.litemaas_inventory_info:
    models: "{{ maas_models }}"
    teams: "{{ maas_teams }}"
    users: "{{ maas_users }}"
    api_keys: "{{ maas_api_keys }}"
    budget_defaults: "{{ maas_budget_defaults }}"
    model_endpoints: "{{ maas_model_endpoints }}"
"""

RETURN = r"""
users:
  description: Usernames the inventory lists.
  returned: always
  type: list
  elements: str
models:
  description: Names of the models the inventory keeps present.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redwood.maas.plugins.module_utils.litemaas_kinds import check_inventory as check
from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError


def main():
    module = AnsibleModule(argument_spec=dict(
        models=dict(type="list", elements="dict", default=[]),
        budget_defaults=dict(type="dict", default={}),
        teams=dict(type="list", elements="dict", default=[]),
        users=dict(type="list", elements="dict", default=[]),
        api_keys=dict(type="list", elements="dict", default=[], no_log=False),
        model_endpoints=dict(type="dict", default={}),
        prune=dict(type="bool", default=False),
    ), supports_check_mode=True)
    try:
        users, models = check(module.params)
    except InputError as exc:
        module.fail_json(msg="maas_gateway=litemaas: %s. Nothing was changed." % exc)
    module.exit_json(changed=False, users=users, models=models)


if __name__ == "__main__":
    main()
