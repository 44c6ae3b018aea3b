#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litellm_tenants
short_description: Reconcile models, users, teams and API keys in a LiteLLM proxy in one call
version_added: 0.1.0
description:
  - Applies the whole tenant model of the C(redwood.maas) inventory (C(maas_models), C(maas_users),
    C(maas_teams), C(maas_api_keys), C(maas_budget_defaults)) to the LiteLLM management API.
  - Reads each kind of object once (paged lists), checks every entry and every reference (owners,
    members, models) before the first write, then writes only what differs. A no-op run sends no
    write request.
  - Objects are matched by name (model id, user id, team id, key alias). Objects this module creates
    carry the marker C(managed_by=redwood.maas) in their metadata; O(prune=true) deletes only marked
    objects the inventory no longer lists.
  - Everything that can be checked is checked before the first write (types, finite numbers,
    durations, duplicate names and e-mails, e-mails of other gateway users, owners, members,
    models, delivery destinations, objects without the marker, owner changes, the prune guard);
    such a failure sends no write request.
  - A key's secret is written to C(api_keys[].deliver_to) and never returned. C(changed) depends
    on non-secret fields only. C(api_keys[].rotate=true) replaces the secret (the plan, check mode
    and diff show it as C(rotated)).
  - If a key exists in the gateway but its destination does not hold its secret (the file is
    gone, or holds another one), the module does not invent a new secret silently; it warns,
    lists the key in RV(undelivered), and a run with C(api_keys[].rotate=true) delivers a new one.
  - Creates are safe to repeat and are retried like reads (connection errors, timeouts, HTTP
    429, 502, 503, 504); a create whose answer was lost is proven by reading the object back.
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.engine
  - redwood.maas.engine.bulk
  - redwood.maas.engine.delivery
  - redwood.maas.attributes.litellm
options:
  models:
    description:
      - Models to register, as in C(maas_models). Fields used here are C(name), C(state),
        C(endpoint), C(cost.input_per_1k), C(cost.output_per_1k), C(tpm_limit), C(rpm_limit); the
        serving fields (C(source), C(serving), C(gpus), C(max_model_len), C(vllm_args)) are accepted
        and ignored.
    type: list
    elements: dict
    default: []
  model_endpoints:
    description:
      - "C({model name: base URL}) published by the serving roles; a model's own C(endpoint) wins."
    type: dict
    default: {}
  model_api_key_refs:
    description:
      - "C({model name: os.environ/NAME}): the key LiteLLM sends to that model's server, as a reference to a
        variable of LiteLLM's own environment, which LiteLLM resolves when it loads the model. Never the key
        itself: anything else fails, naming the model, before any write. The host roles publish
        C(maas_model_api_key_refs) (C(os.environ/MAAS_VLLM_API_KEY), which only LiteLLM's environment holds)."
      - The reference is compared like the endpoint (kept in the model's C(model_info) as
        C(redwood_api_key_ref)), so a changed reference updates the model and C(--diff) shows it as
        C(api_key_ref).
      - A model not listed is created with the placeholder key C(none) (a server that asks for no key);
        an existing model not listed keeps the reference it has.
    type: dict
    default: {}
    version_added: 0.2.0
  budget_defaults:
    description:
      - Default C(max_budget), C(budget_duration), C(tpm_limit), C(rpm_limit) for users that do not
        set their own.
    type: dict
    default: {}
  users:
    description:
      - Users, as in C(maas_users). Fields C(name), C(state), C(email), C(role)
        (C(admin), C(admin-readonly), C(user)), C(models), C(max_budget), C(budget_duration),
        C(tpm_limit), C(rpm_limit).
    type: list
    elements: dict
    default: []
  teams:
    description:
      - Teams, as in C(maas_teams). Fields C(name), C(state), C(models), C(members), C(max_budget),
        C(budget_duration), C(tpm_limit), C(rpm_limit).
    type: list
    elements: dict
    default: []
  api_keys:
    description:
      - API keys, as in C(maas_api_keys). Fields C(name) (the key alias), C(state),
        C(owner) (C({user=...}) or C({team=...})), C(models), C(max_budget), C(budget_duration),
        C(tpm_limit), C(rpm_limit), C(duration), C(rotate), C(deliver_to) (C({file=/path}) or
        C({secret={namespace=..., name=...}})).
    type: list
    elements: dict
    default: []
notes:
  - Budgets are in USD; durations are a number followed by C(s), C(m), C(h), C(d) or C(mo).
"""

EXAMPLES = r"""
- name: Apply the tenants
  redwood.maas.litellm_tenants:
    gateway_url: http://127.0.0.1:4000
    token: "{{ litellm_master_key }}"
    models:
      - name: granite-3-1-8b-instruct
        endpoint: http://127.0.0.1:8000/v1
        cost: {input_per_1k: 0.0005, output_per_1k: 0.0015}
    model_api_key_refs:
      granite-3-1-8b-instruct: os.environ/MAAS_VLLM_API_KEY
    budget_defaults: {max_budget: 50, budget_duration: 30d}
    users:
      - {name: alice, email: alice@example.edu, role: admin, max_budget: 100}
    teams:
      - {name: computer-science, max_budget: 2000, budget_duration: 30d,
         models: [granite-3-1-8b-instruct], members: [alice]}
    api_keys:
      - name: canopy-cs
        owner: {team: computer-science}
        models: [granite-3-1-8b-instruct]
        max_budget: 200
        deliver_to: {file: /etc/canopy/maas.env}
    prune: true
"""

RETURN = r"""
summary:
  description:
    - Per kind (C(model), C(user), C(team), C(api_key)), the names C(created), C(updated), C(adopted),
      C(rotated), C(deleted) and C(unchanged).
  returned: always
  type: dict
  sample: {"api_key": {"created": ["canopy-cs"], "updated": [], "adopted": [], "rotated": [], "deleted": [],
           "unchanged": []}}
delivered:
  description: Keys whose secret was written to their destination on this run (would be, in check mode).
  returned: always
  type: list
  elements: str
undelivered:
  description: Keys that exist in the gateway but whose destination does not hold their secret (set C(rotate=true)).
  returned: always
  type: list
  elements: str
removed:
  description: Deleted keys whose secret was removed from their destination.
  returned: always
  type: list
  elements: str
requests:
  description: HTTP requests sent to the gateway, and how many of them were writes.
  returned: always
  type: dict
  sample: {"total": 4, "writes": 0}
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import BULK, MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM


def main():
    spec = dict(BULK, model_api_key_refs=dict(type="dict", default={}, no_log=False))
    MaasModule(spec, flavour=LiteLLM, kubernetes=True).run(MaasModule.run_bulk)


if __name__ == "__main__":
    main()
