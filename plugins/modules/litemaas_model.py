#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_model
short_description: Register a model (a vLLM endpoint) in LiteMaaS, idempotently
version_added: "0.1.0"
description:
  - Registers an OpenAI-compatible endpoint (vLLM) as a LiteMaaS 0.4.0 model.
  - C(POST /api/v1/admin/models) is not idempotent in LiteMaaS (every call adds another LiteLLM deployment), so this
    module reads the model list first, creates a model only once and updates it in place
    (C(PUT /api/v1/admin/models/<name>)) when a field differs.
  - Setting O(restricted_access=true) makes LiteMaaS strip the model from existing keys; keys left with no models would
    allow all models. M(redwood.maas.litemaas_api_key) gives managed keys their models back.
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
  - redwood.maas.attributes
options:
  name:
    description: Model name in LiteMaaS and LiteLLM (what consumers ask for).
    type: str
    required: true
  endpoint:
    description: OpenAI-compatible base URL of the serving endpoint, ending in C(/v1). Required when O(state=present).
    type: str
  backend_model_name:
    description: The model name the endpoint serves. Defaults to O(name).
    type: str
  endpoint_api_key:
    description:
      - API key LiteLLM sends to the endpoint, if it needs one. Best a reference C(os.environ/NAME) to a variable of
        LiteLLM's environment (the host roles set C(MAAS_VLLM_API_KEY) there); LiteMaaS registers it in LiteLLM as it
        is, and the key itself is then stored and logged nowhere else. A literal key works too (LiteMaaS stores it
        encrypted; its 0.4.0 backend logs model api_key values at log level C(info)).
      - Without it the placeholder C(none) is sent (LiteLLM refuses to call an OpenAI-compatible upstream without a
        key; vLLM without C(--api-key) accepts any).
      - Sent with every create and update, never compared (LiteMaaS does not show it); a changed key is sent with
        the model's next change.
    type: str
  description:
    description: Free text shown in the portal.
    type: str
  input_cost_per_1k:
    description: Cost of 1000 prompt tokens.
    type: float
    default: 0
  output_cost_per_1k:
    description: Cost of 1000 completion tokens.
    type: float
    default: 0
  tpm:
    description: Tokens per minute the deployment accepts.
    type: int
    default: 1000000
  rpm:
    description: Requests per minute the deployment accepts.
    type: int
    default: 10000
  max_tokens:
    description: Context length (vLLM C(max_model_len)).
    type: int
    default: 4096
  supports_vision:
    description: Model accepts images.
    type: bool
    default: false
  supports_function_calling:
    description: Model supports function calling.
    type: bool
    default: false
  supports_parallel_function_calling:
    description: Model supports parallel function calling.
    type: bool
    default: false
  supports_tool_choice:
    description: Model supports tool choice.
    type: bool
    default: false
  restricted_access:
    description:
      - Subscriptions to the model need an admin's approval (users asking in the portal). Left as it is when not set.
      - Making a model restricted strips it from existing keys and moves its active subscriptions to C(pending);
        making it unrestricted approves every pending subscription to it (LiteMaaS 0.4.0).
    type: bool
  state:
    description: V(present) registers or updates the model, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Register the granite vLLM endpoint
  redwood.maas.litemaas_model:
    gateway_url: https://litemaas.apps.example.com
    jwt_secret: "{{ maas_litemaas_jwt_secret }}"
    automation_user: "{{ maas_litemaas_automation_user }}"
    name: granite-3-1-8b-instruct
    endpoint: http://granite-3-1-8b-instruct.maas-models.svc:8080/v1
    input_cost_per_1k: 0.0005
    output_cost_per_1k: 0.0015
    max_tokens: 8192
"""

RETURN = r"""
model:
  description: The model's managed fields after the run.
  returned: when present
  type: dict
  sample: {name: granite-3-1-8b-instruct, endpoint: "http://granite:8080/v1", max_tokens: 8192}
operation:
  description: One of V(create), V(update), V(delete), V(none).
  returned: always
  type: str
changes:
  description: The fields that differ, with before and after values.
  returned: always
  type: dict
requests:
  description: HTTP requests sent, and how many of them were writes.
  returned: always
  type: dict
pending:
  description: Always false (for symmetry with the other litemaas modules).
  returned: always
  type: bool
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import LiteMaaS, desired_model
from ansible_collections.redwood.maas.plugins.module_utils.tenants import check_entry, check_number


def apply(m):
    p = m.params
    check_entry("model", dict(name=p["name"], endpoint=p["endpoint"]))
    for field in ("input_cost_per_1k", "output_cost_per_1k"):
        check_number("model %r: %s" % (p["name"], field), p[field])
    want = desired_model(dict(p, api_key=p["endpoint_api_key"],
                              cost=dict(input_per_1k=p["input_cost_per_1k"], output_per_1k=p["output_cost_per_1k"])))
    kind = m.flavour().kinds["model"]
    step, out = m.apply_kind("model", want, kind.list())
    after = step["after"]
    if step["action"] in ("create", "update") and not m.check_mode:
        after = kind.list().get(want["name"])
    return dict(changed=out["changed"], operation=step["action"], changes=step["changes"], model=kind.view(after),
                diff=out["diff"])


def main():
    MaasModule(dict(
        name=dict(type="str", required=True),
        endpoint=dict(type="str"),
        backend_model_name=dict(type="str"),
        endpoint_api_key=dict(type="str", no_log=True),
        description=dict(type="str"),
        input_cost_per_1k=dict(type="float", default=0),
        output_cost_per_1k=dict(type="float", default=0),
        tpm=dict(type="int", default=1000000),
        rpm=dict(type="int", default=10000),
        max_tokens=dict(type="int", default=4096, no_log=False),
        supports_vision=dict(type="bool", default=False),
        supports_function_calling=dict(type="bool", default=False),
        supports_parallel_function_calling=dict(type="bool", default=False),
        supports_tool_choice=dict(type="bool", default=False),
        restricted_access=dict(type="bool"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    ), flavour=LiteMaaS, required_if=[("state", "present", ("endpoint",))]).run(apply)


if __name__ == "__main__":
    main()
