#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_api_key
short_description: API keys of LiteMaaS users (create, update, rotate, revoke, deliver)
version_added: "0.1.0"
description:
  - Ensures an API key named O(name) of the LiteMaaS 0.4.0 user O(owner), with its models, budget and
    limits, through the admin API.
  - LiteMaaS does not make key names unique per user; this module does. It refuses to act when the
    owner already has several active keys with this name (made by hand).
  - The secret is known only when a key is created (or rotated). It is written to O(deliver_to_file) as soon as
    LiteMaaS answers, before any other request, and never returned. Re-runs never regenerate it.
  - A managed key never keeps an empty model list (in LiteLLM an empty list means all models); a key
    whose models were stripped (for example by making a model restricted) is given its models back.
  - An owner who has not logged in yet is reported as pending (C(changed=false)).
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
  - redwood.maas.attributes
options:
  name:
    description: The key's name, unique per owner.
    type: str
    required: true
  owner:
    description: Username of the key's owner.
    type: str
    required: true
  models:
    description: Model names the key may use (at least one). Required when O(state=present).
    type: list
    elements: str
  max_budget:
    description: Maximum spend per budget period.
    type: float
  soft_budget:
    description: Spend at which LiteLLM warns.
    type: float
  budget_duration:
    description: Budget period, C(daily), C(weekly), C(monthly), C(yearly) or C(<n>s|m|h|d|mo).
    type: str
  tpm_limit:
    description: Tokens per minute.
    type: int
  rpm_limit:
    description: Requests per minute.
    type: int
  max_parallel_requests:
    description: Maximum number of parallel requests.
    type: int
  expires_at:
    description: Expiry, an ISO 8601 date or date-time (UTC if no zone is given).
    type: str
  duration:
    description:
      - Lifetime of the key from its creation or rotation, C(<n>s|m|h|d|mo) (for example C(90d); C(mo) is 30 days). Sets the expiry of a new
        key only; it is not compared on later runs (use O(expires_at) for a fixed date). Ignored when O(expires_at) is set.
    type: str
  rotate:
    description:
      - Issue a new secret for an existing key (a new key with the same name and settings is created, then the old
        one is revoked). Always reports a change.
    type: bool
    default: false
  deliver_to_file:
    description:
      - Write the new secret to this file (mode 0600) as C(OPENAI_API_KEY=...) and C(OPENAI_BASE_URL=...) lines.
      - On later runs the file keeps its key; only the base URL line is corrected.
    type: path
  base_url:
    description: The OpenAI-compatible base URL consumers use (C(OPENAI_BASE_URL) in the delivered file).
    type: str
  state:
    description: V(present) ensures the key, V(absent) revokes every active key of the owner with this name.
    type: str
    choices: [present, absent]
    default: present
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: A key for alice's notebook, delivered to a file
  redwood.maas.litemaas_api_key:
    gateway_url: https://litemaas.apps.example.com
    jwt_secret: "{{ maas_litemaas_jwt_secret }}"
    automation_user: "{{ maas_litemaas_automation_user }}"
    name: alice-notebook
    owner: alice
    models: [granite-3-1-8b-instruct]
    max_budget: 20
    budget_duration: monthly
    deliver_to_file: /home/alice/.config/maas.env
    base_url: https://litellm.apps.example.com/v1

- name: Revoke it
  redwood.maas.litemaas_api_key:
    name: alice-notebook
    owner: alice
    state: absent
"""

RETURN = r"""
pending:
  description: True when the owner has not logged in yet (nothing was changed).
  returned: always
  type: bool
api_key:
  description: The key's managed fields after the run (never the secret).
  returned: when present
  type: dict
  sample: {name: alice-notebook, id: 7d0c..., models: [granite-3-1-8b-instruct], max_budget: 20.0}
operation:
  description: What was done, one of V(create), V(update), V(rotate), V(delete), V(none).
  returned: always
  type: str
delivered:
  description: Whether the delivery file was written (or would be, in check mode).
  returned: always
  type: bool
requests:
  description: HTTP requests sent, and how many of them were writes.
  returned: always
  type: dict
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.delivery import FileDestination, check_destinations
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import DURATION_WORDS, LiteMaaS, desired_key
from ansible_collections.redwood.maas.plugins.module_utils.tenants import check_duration, check_number

NUMBERS = dict(max_budget="budget", soft_budget="budget", tpm_limit="count", rpm_limit="count",
               max_parallel_requests="count")


def apply(m):
    p = m.params
    p["public_url"] = p["base_url"]
    what = "API key %r of user %r" % (p["name"], p["owner"])
    check_duration("%s: budget_duration" % what, p["budget_duration"], DURATION_WORDS)
    check_duration("%s: duration" % what, p["duration"])
    for field, kind in NUMBERS.items():
        check_number("%s: %s" % (what, field), p[field], kind)
    want = desired_key(p)
    dests = {p["name"]: FileDestination(p["name"], p["deliver_to_file"])} if p["deliver_to_file"] else {}
    check_destinations(dests)
    flavour = m.flavour()
    kind = flavour.kinds["api_key"]
    owner = flavour.api.require_user(p["owner"])
    kind.owners = {p["owner"]: owner}
    current = kind.keys_of(owner)
    if want["state"] == "present":
        flavour.check_models(want["models"], m.check_mode, m.warn, what)
    step, out = m.apply_kind("api_key", want, current, dests)
    after = step["after"]
    if step["action"] in ("create", "update", "rotate") and not m.check_mode:
        after = kind.keys_of(owner).get(p["name"])
    result = dict(changed=out["changed"], operation=step["action"], delivered=p["name"] in out["delivered"],
                  diff=out["diff"])
    if after is not None:
        result["api_key"] = dict(kind.view(after), id=after.get("id"))
    return result


def main():
    MaasModule(dict(
        name=dict(type="str", required=True),
        owner=dict(type="str", required=True),
        models=dict(type="list", elements="str"),
        max_budget=dict(type="float"),
        soft_budget=dict(type="float"),
        budget_duration=dict(type="str"),
        tpm_limit=dict(type="int"),
        rpm_limit=dict(type="int"),
        max_parallel_requests=dict(type="int"),
        expires_at=dict(type="str"),
        duration=dict(type="str"),
        rotate=dict(type="bool", default=False),
        deliver_to_file=dict(type="path"),
        base_url=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    ), flavour=LiteMaaS).run(apply)


if __name__ == "__main__":
    main()
