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
  - A key's secret exists only when it is created. It is written to C(api_keys[].deliver_to.file)
    (mode 0600, C(OPENAI_API_KEY=...) and C(OPENAI_BASE_URL=...) lines) and never returned.
    C(changed) depends on non-secret fields only. C(api_keys[].rotate=true) replaces the secret.
  - If a key exists in the gateway but its delivery file is missing, the module does not invent a
    new secret silently; it warns, lists the key in RV(undelivered), and a run with
    C(api_keys[].rotate=true) delivers a new one.
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
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
  model_api_keys:
    description:
      - "C({model name: os.environ/NAME}): the key LiteLLM sends to that model's server, as a reference to
        a variable of the gateway's own environment (never the key itself; the host roles set
        C(MAAS_VLLM_API_KEY) there). The reference is compared, so a change updates the model."
      - Models not listed are registered without a key.
    type: dict
    default: {}
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
  prune:
    description:
      - Delete objects carrying the C(managed_by=redwood.maas) marker that are not listed. Objects
        without the marker (made by hand) are never deleted.
    type: bool
    default: false
  public_url:
    description:
      - Base URL consumers use, written as C(OPENAI_BASE_URL) (C(/v1) appended) in delivered key
        files. Defaults to O(gateway_url).
    type: str
  secret_spool_dir:
    description:
      - Private directory where new secrets of keys delivered to a Kubernetes Secret are written
        (one C(<key name>.env) file each, mode 0600) for the role to store and then remove.
    type: path
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
  description: Per kind (C(model), C(user), C(team), C(key)), the names created, updated, deleted and unchanged (and C(rotated) keys).
  returned: always
  type: dict
  sample: {"key": {"created": ["canopy-cs"], "updated": [], "deleted": [], "unchanged": [], "rotated": []}}
delivered:
  description: Keys whose new secret was written to their C(deliver_to.file).
  returned: always
  type: list
  elements: str
spooled:
  description: Keys whose new secret was written to O(secret_spool_dir) for a Kubernetes Secret.
  returned: always
  type: list
  elements: str
undelivered:
  description: Keys that exist in the gateway but whose delivery file is missing (set C(rotate=true) to deliver a new secret).
  returned: always
  type: list
  elements: str
requests:
  description: HTTP requests sent to the gateway, and how many of them were writes.
  returned: always
  type: dict
  sample: {"total": 4, "writes": 0}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redwood.maas.plugins.module_utils.client import (
    GATEWAY_ARGUMENT_SPEC, GatewayClient, GatewayError, gateway_params)
from ansible_collections.redwood.maas.plugins.module_utils.litellm import InputError, reconcile_tenants


def main():
    spec = dict(GATEWAY_ARGUMENT_SPEC)
    spec.update(
        models=dict(type="list", elements="dict", default=[]),
        model_endpoints=dict(type="dict", default={}),
        model_api_keys=dict(type="dict", default={}, no_log=False),
        budget_defaults=dict(type="dict", default={}),
        users=dict(type="list", elements="dict", default=[]),
        teams=dict(type="list", elements="dict", default=[]),
        api_keys=dict(type="list", elements="dict", default=[], no_log=False),
        prune=dict(type="bool", default=False),
        public_url=dict(type="str"),
        secret_spool_dir=dict(type="path"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    client = None
    try:
        client = GatewayClient(**gateway_params(p))
        out = reconcile_tenants(client, p["models"], p["teams"], p["users"], p["api_keys"],
                                budget_defaults=p["budget_defaults"], endpoints=p["model_endpoints"],
                                prune=p["prune"], check_mode=module.check_mode,
                                public_url=p["public_url"] or client.base_url, spool_dir=p["secret_spool_dir"],
                                api_keys=p["model_api_keys"])
    except (InputError, GatewayError) as exc:
        module.fail_json(msg=str(exc), requests=_counts(client))
    for name in out["undelivered"]:
        module.warn("key '%s' exists in the gateway but its deliver_to file is missing; its secret cannot be "
                    "recovered: set rotate: true for it to make and deliver a new one" % name)
    result = dict(changed=out["changed"], summary=out["summary"], delivered=out["delivered"],
                  spooled=out["spooled"], undelivered=out["undelivered"], requests=_counts(client))
    if module._diff:
        result["diff"] = out["diff"]
    module.exit_json(**result)


def _counts(client):
    return dict(total=client.requests, writes=client.writes) if client else dict(total=0, writes=0)


if __name__ == "__main__":
    main()
