#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litellm_info
short_description: Read users, teams, API keys and models, with their spend, from a LiteLLM proxy
version_added: 0.1.0
description:
  - Lists the objects of the chosen kinds (paged reads, one pass per kind), with budgets, limits and
    the spend LiteLLM has recorded. Never returns a key's secret or hash.
  - Spend is written by LiteLLM in batches, so it can lag a few seconds behind the requests.
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
options:
  kinds:
    description: Which kinds to read.
    type: list
    elements: str
    choices: [users, teams, keys, models]
    default: [users, teams, keys, models]
  names:
    description: Only return objects with these names (user ids, team ids, key aliases, model names).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Spend of every key
  redwood.maas.litellm_info:
    gateway_url: http://127.0.0.1:4000
    token: "{{ litellm_master_key }}"
    kinds: [keys]
  register: spend

- name: Show it
  ansible.builtin.debug:
    msg: "{{ spend.keys | map(attribute='spend') | list }}"
"""

RETURN = r"""
users:
  description: Users (name, email, role, models, max_budget, budget_duration, tpm_limit, rpm_limit, spend, teams, managed).
  returned: when C(users) is in O(kinds)
  type: list
  elements: dict
teams:
  description: Teams (name, models, members, limits, spend, managed).
  returned: when C(teams) is in O(kinds)
  type: list
  elements: dict
keys:
  description: API keys (name, user, team, models, limits, duration, expires, spend, managed); no secrets.
  returned: when C(keys) is in O(kinds)
  type: list
  elements: dict
models:
  description: Models (name, endpoint, input_cost_per_token, output_cost_per_token, tpm_limit, rpm_limit, managed).
  returned: when C(models) is in O(kinds)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redwood.maas.plugins.module_utils.client import (
    GATEWAY_ARGUMENT_SPEC, GatewayClient, GatewayError, gateway_params)
from ansible_collections.redwood.maas.plugins.module_utils.litellm import read_info


def main():
    spec = dict(GATEWAY_ARGUMENT_SPEC)
    spec.update(
        kinds=dict(type="list", elements="str", choices=["users", "teams", "keys", "models"],
                   default=["users", "teams", "keys", "models"]),
        names=dict(type="list", elements="str"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        client = GatewayClient(**gateway_params(module.params))
        result = read_info(client, module.params["kinds"], module.params["names"])
    except GatewayError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
