#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_tenants
short_description: Apply the whole tenant inventory (models, users, subscriptions, API keys) to LiteMaaS in one call
version_added: "0.1.0"
description:
  - The bulk form of M(redwood.maas.litemaas_model), M(redwood.maas.litemaas_user),
    M(redwood.maas.litemaas_subscription) and M(redwood.maas.litemaas_api_key), with the same behaviour, for the
    C(tenants) role with C(maas_gateway=litemaas). It validates the whole inventory first (as
    M(redwood.maas.litemaas_inventory_info)) and sends no request if anything is wrong; it reads every user and
    model once.
  - A user's roles are set only when the inventory gives the user a C(role) (the server's role ids C(admin),
    C(admin-readonly), C(user); C(user) is always kept); otherwise the roles LiteMaaS took from OpenShift groups
    are left alone.
  - Users who have not logged in yet are reported in RV(pending_users) (with the keys they own) and handled on a
    later run.
  - A new key's secret is delivered to its C(deliver_to) (file or Kubernetes Secret) as soon as LiteMaaS answers
    the create, before any other request, and is never returned; a revoked key's secret is removed from there.
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
  - redwood.maas.engine
  - redwood.maas.engine.bulk
  - redwood.maas.engine.delivery
  - redwood.maas.attributes
options:
  models:
    description: As C(maas_models).
    type: list
    elements: dict
    default: []
  model_endpoints:
    description: As C(maas_model_endpoints).
    type: dict
    default: {}
  model_api_key_refs:
    description:
      - "As C(maas_model_api_key_refs): C({model name: os.environ/NAME}), the key LiteLLM sends to that model's
        server, as a reference to a variable of LiteLLM's own environment, never the key itself (anything else
        fails, naming the model, before any write)."
      - LiteMaaS registers the reference in LiteLLM as it is. It is sent with every create and update of the
        model but cannot be compared (LiteMaaS never shows a model's key). Models not listed get the
        placeholder C(none) (LiteLLM refuses to call an upstream without a key).
    type: dict
    default: {}
  budget_defaults:
    description: As C(maas_budget_defaults); limits of users that do not set their own.
    type: dict
    default: {}
  teams:
    description: As C(maas_teams); must be empty (LiteMaaS 0.4.0 has no teams API).
    type: list
    elements: dict
    default: []
  users:
    description: As C(maas_users).
    type: list
    elements: dict
    default: []
  api_keys:
    description: As C(maas_api_keys); every key owned by a user.
    type: list
    elements: dict
    default: []
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Apply the tenants to LiteMaaS
  redwood.maas.litemaas_tenants:
    gateway_url: "{{ maas_litemaas_url }}"
    jwt_secret: "{{ maas_litemaas_jwt_secret }}"
    automation_user: "{{ maas_litemaas_automation_user }}"
    models: "{{ maas_models }}"
    model_endpoints: "{{ maas_model_endpoints }}"
    budget_defaults: "{{ maas_budget_defaults }}"
    users: "{{ maas_users }}"
    api_keys: "{{ maas_api_keys }}"
    public_url: https://litellm.apps.example.com/v1
  register: tenants
"""

RETURN = r"""
summary:
  description: Per kind (C(model), C(user), C(subscription), C(api_key)), the names created, updated, adopted, rotated,
    deleted, unchanged.
  returned: always
  type: dict
pending_users:
  description: Users (and key owners) who have not logged in yet; nothing was applied for them.
  returned: always
  type: list
  elements: str
pending:
  description: True when some users are pending.
  returned: always
  type: bool
delivered:
  description: Keys whose secret was written to their destination on this run.
  returned: always
  type: list
  elements: str
undelivered:
  description: Keys that exist but whose destination holds no secret (set C(rotate=true)).
  returned: always
  type: list
  elements: str
removed:
  description: Revoked keys whose secret was removed from their destination.
  returned: always
  type: list
  elements: str
requests:
  description: HTTP requests sent, and how many of them were writes.
  returned: always
  type: dict
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import BULK, MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import LiteMaaS


def main():
    spec = dict(BULK, model_api_key_refs=dict(type="dict", default={}, no_log=False))
    MaasModule(spec, flavour=LiteMaaS, kubernetes=True).run(MaasModule.run_bulk)


if __name__ == "__main__":
    main()
