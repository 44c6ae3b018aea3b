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
    msg: "{{ spend.api_keys | map(attribute='spend') | list }}"
"""

RETURN = r"""
requests:
  description: HTTP requests sent to the gateway, and how many of them were writes (always 0).
  returned: always
  type: dict
  sample: {"total": 4, "writes": 0}
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
api_keys:
  description:
    - API keys (name, user, team, models, limits, duration, expires, spend, managed); no secrets.
    - Until 0.2.0 this was returned as C(keys), which Jinja resolves to the dictionary's C(keys) method
      (C(result.keys) is not the list). C(keys) is still returned, deprecated, until 1.0.0.
  returned: when C(keys) is in O(kinds)
  version_added: 0.2.0
  type: list
  elements: dict
models:
  description: Models (name, endpoint, input_cost_per_token, output_cost_per_token, tpm_limit, rpm_limit, managed).
  returned: when C(models) is in O(kinds)
  type: list
  elements: dict
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM, read_info


def main():
    spec = dict(
        kinds=dict(type="list", elements="str", choices=["users", "teams", "keys", "models"],
                   default=["users", "teams", "keys", "models"]),
        names=dict(type="list", elements="str"),
    )
    MaasModule(spec, flavour=LiteLLM).run(info)


def info(module):
    result = dict(changed=False, **read_info(module.client, module.params["kinds"], module.params["names"]))
    if "api_keys" in result:
        result["keys"] = result["api_keys"]
        module.deprecate("The return value 'keys' of litellm_info is renamed 'api_keys' (result.keys is the "
                         "dictionary's method in Jinja); read 'api_keys'.", version="1.0.0",
                         collection_name="redwood.maas")
    return result


if __name__ == "__main__":
    main()
