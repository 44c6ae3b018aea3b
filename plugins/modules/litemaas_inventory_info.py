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

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError, validate_inventory


def check(p):
    models, teams, users, keys, dummy = validate_inventory(p["models"], p["teams"], p["users"], p["api_keys"],
                                                           p["budget_defaults"])
    why = "LiteMaaS 0.4.0"
    if teams:
        raise InputError("maas_teams lists %s, but %s has no teams API: remove the teams (or use maas_gateway=litellm)"
                         % (", ".join(t["name"] for t in teams), why))
    if p["prune"]:
        raise InputError("maas_tenants_prune is not supported with %s: its objects carry no ownership marker" % why)
    present = [m["name"] for m in models if (m.get("state") or "present") == "present"]
    for item in models:
        if item["name"] in present and not (item.get("endpoint") or p["model_endpoints"].get(item["name"])):
            raise InputError("model '%s': no endpoint (set endpoint, or deploy it so that maas_model_endpoints lists it)"
                             % item["name"])
    for item in users:
        if (item.get("state") or "present") == "absent":
            raise InputError("user '%s': state absent is not possible, %s has no API to delete users" % (item["name"], why))
        missing = sorted(set(item.get("models") or []) - set(present))
        if missing:
            raise InputError("user '%s': model(s) %s are not in maas_models" % (item["name"], ", ".join(missing)))
    for item in keys:
        if (item.get("state") or "present") == "absent":
            continue
        label = "api key '%s'" % item["name"]
        if not (item.get("owner") or {}).get("user"):
            raise InputError("%s: owned by a team, but %s has no teams API: give it a user owner" % (label, why))
        if not item.get("models"):
            raise InputError("%s: models must list at least one model (an empty list means ALL models)" % label)
        missing = sorted(set(item["models"]) - set(present))
        if missing:
            raise InputError("%s: model(s) %s are not in maas_models" % (label, ", ".join(missing)))
        if item.get("duration") and not re.match(r"^\d+(s|m|h|d|mo)$", item["duration"]):
            raise InputError("%s: duration %r must be <n>s|m|h|d|mo" % (label, item["duration"]))
    return sorted(u["name"] for u in users), present


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
