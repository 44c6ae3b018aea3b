#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litellm_key
short_description: Manage an API key (virtual key) in a LiteLLM proxy and deliver its secret
version_added: 0.1.0
description:
  - Creates, updates or deletes one LiteLLM virtual key, identified by its alias O(name).
  - The secret is made on the controller, written to O(deliver_to) first and then sent to LiteLLM,
    so a retried create is harmless; it is never returned or logged. C(changed) depends on the
    non-secret options only.
  - O(rotate=true) replaces the secret (the old key is deleted, a new one with the same alias and
    limits is made and delivered); leave it set and every run rotates.
  - If the key exists but O(deliver_to) does not hold its secret, the module warns instead of
    inventing a new secret; run it with O(rotate=true) to deliver a new one.
  - O(state=absent) deletes the key and removes its secret from O(deliver_to).
  - Keys created here carry the metadata marker C(managed_by=redwood.maas).
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.engine
  - redwood.maas.engine.delivery
  - redwood.maas.attributes.litellm
  - redwood.maas.limits
options:
  name:
    description: Key alias (unique in LiteLLM).
    type: str
    required: true
  state:
    description: Whether the key exists.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description: The owner, exactly one of O(owner.user) or O(owner.team). Required with O(state=present).
    type: dict
    suboptions:
      user:
        description: Owning user id.
        type: str
      team:
        description: Owning team id.
        type: str
  models:
    description: Models the key may use.
    type: list
    elements: str
  duration:
    description: Lifetime from creation (C(30d), C(1mo), ...); unset means no expiry. Changing it resets the expiry.
    type: str
  rotate:
    description: Replace the secret on this run.
    type: bool
    default: false
  deliver_to:
    description: Where the secret is written (exactly one of O(deliver_to.file) or O(deliver_to.secret)).
    type: dict
    suboptions:
      file:
        description: Env file written with mode 0600 (an absolute path).
        type: path
      secret:
        description: Kubernetes Secret whose keys C(OPENAI_API_KEY) and C(OPENAI_BASE_URL) are written.
        type: dict
        suboptions:
          namespace:
            description: Namespace of the Secret.
            type: str
            required: true
          name:
            description: Name of the Secret.
            type: str
            required: true
  public_url:
    description: Base URL written as C(OPENAI_BASE_URL) (C(/v1) appended). Defaults to O(gateway_url).
    type: str
"""

EXAMPLES = r"""
- name: A team key delivered to an env file
  redwood.maas.litellm_key:
    gateway_url: http://127.0.0.1:4000
    token: "{{ litellm_master_key }}"
    name: canopy-cs
    owner: {team: computer-science}
    models: [granite-3-1-8b-instruct]
    max_budget: 200
    budget_duration: 30d
    deliver_to: {file: /etc/canopy/maas.env}
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
delivered:
  description: Whether a secret was written to O(deliver_to) on this run.
  returned: always
  type: bool
removed:
  description: Whether the deleted key's secret was removed from O(deliver_to).
  returned: always
  type: bool
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import LIMITS, SINGLE, MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM

FIELDS = ("name", "state", "owner", "models", "duration", "rotate", "deliver_to", "max_budget", "budget_duration",
          "tpm_limit", "rpm_limit")


def main():
    spec = dict(
        SINGLE,
        owner=dict(type="dict", options=dict(user=dict(type="str"), team=dict(type="str")),
                   mutually_exclusive=[("user", "team")]),
        models=dict(type="list", elements="str"),
        duration=dict(type="str"),
        rotate=dict(type="bool", default=False),
        deliver_to=dict(type="dict", options=dict(file=dict(type="path"), secret=dict(type="dict", no_log=False, options=dict(
            namespace=dict(type="str", required=True), name=dict(type="str", required=True)))),
            mutually_exclusive=[("file", "secret")]),
        public_url=dict(type="str"),
        **LIMITS
    )
    MaasModule(spec, flavour=LiteLLM, kubernetes=True, required_if=[("state", "present", ("owner",))]).run(
        lambda m: m.run_one("api_keys", FIELDS))


if __name__ == "__main__":
    main()
