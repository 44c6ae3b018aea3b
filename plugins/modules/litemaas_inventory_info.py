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
requests:
  description: HTTP requests sent (always none).
  returned: always
  type: dict
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

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import LiteMaaS
from ansible_collections.redwood.maas.plugins.module_utils.tenants import check_endpoints, present, validate_inventory


def check(p):
    """The shared validation with LiteMaaS's capabilities (no request); returns (usernames, present models)."""
    models, dummy, users, dummy2, dummy3 = validate_inventory(
        p["models"], p["teams"], p["users"], p["api_keys"], p["budget_defaults"],
        capabilities=LiteMaaS.capabilities, prune=p["prune"])
    check_endpoints(models, p["model_endpoints"])
    return dict(changed=False, users=sorted(u["name"] for u in users), models=[m["name"] for m in present(models)])


def main():
    MaasModule(dict(
        models=dict(type="list", elements="dict", default=[]),
        budget_defaults=dict(type="dict", default={}),
        teams=dict(type="list", elements="dict", default=[]),
        users=dict(type="list", elements="dict", default=[]),
        api_keys=dict(type="list", elements="dict", default=[], no_log=False),
        model_endpoints=dict(type="dict", default={}),
        prune=dict(type="bool", default=False),
    )).run(lambda m: check(m.params))


if __name__ == "__main__":
    main()
