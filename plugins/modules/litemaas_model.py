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
    description: API key the gateway sends to the endpoint, if it needs one. Sent on every create/update, never compared.
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
    description: Subscriptions to the model need an admin's approval.
    type: bool
    default: false
  state:
    description: V(present) registers or updates the model, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
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
  description: Number of HTTP requests sent.
  returned: always
  type: int
pending:
  description: Always false (for symmetry with the other litemaas modules).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redwood.maas.plugins.module_utils import litemaas
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import Kind, execute, plan_kind, summarize

# module field -> (field of GET /api/v1/models, field of POST/PUT /api/v1/admin/models)
FIELDS = (
    ("endpoint", "apiBase", "api_base"),
    ("backend_model_name", "backendModelName", "backend_model_name"),
    ("input_cost_per_token", "inputCostPerToken", "input_cost_per_token"),
    ("output_cost_per_token", "outputCostPerToken", "output_cost_per_token"),
    ("tpm", "tpm", "tpm"),
    ("rpm", "rpm", "rpm"),
    ("max_tokens", "maxTokens", "max_tokens"),
    ("supports_vision", "supportsVision", "supports_vision"),
    ("supports_function_calling", "supportsFunctionCalling", "supports_function_calling"),
    ("supports_parallel_function_calling", "supportsParallelFunctionCalling", "supports_parallel_function_calling"),
    ("supports_tool_choice", "supportsToolChoice", "supports_tool_choice"),
    ("restricted_access", "restrictedAccess", "restrictedAccess"),
    ("description", "description", "description"),
)


class ModelKind(Kind):
    kind = "model"
    fields = tuple(f[0] for f in FIELDS)

    def __init__(self, api, endpoint_api_key=None):
        self.api = api
        self.endpoint_api_key = endpoint_api_key

    def list(self):
        out = {}
        for model_id, row in self.api.models().items():
            cur = dict(name=model_id)
            for field, read_field, dummy in FIELDS:
                cur[field] = row.get(read_field)
            out[model_id] = cur
        return out

    def _payload(self, name, desired):
        body = dict(model_name=name)
        for field, dummy, write_field in FIELDS:
            if desired.get(field) is not None:
                body[write_field] = desired[field]
        if self.endpoint_api_key:
            body["api_key"] = self.endpoint_api_key
        return body

    def create(self, name, desired):
        return self.api.write("POST", "/api/v1/admin/models/", what="model %r" % name,
                              json=self._payload(name, desired), ok=(201,))

    def update(self, name, desired, current, changes):
        return self.api.write("PUT", "/api/v1/admin/models/%s" % name, what="model %r" % name,
                              json=self._payload(name, desired), ok=(200,))

    def delete(self, name, current):
        return self.api.write("DELETE", "/api/v1/admin/models/%s" % name, what="model %r" % name, ok=(200,))


def desired_model(params):
    want = dict(name=params["name"], state=params["state"])
    if params["state"] == "absent":
        return want
    endpoint = params.get("endpoint")
    if not endpoint or not endpoint.startswith(("http://", "https://")):
        raise ValueError("model %r: endpoint must be an http(s) URL, got %r" % (params["name"], endpoint))
    litemaas.check_non_negative(dict(input_cost_per_1k=params["input_cost_per_1k"],
                                     output_cost_per_1k=params["output_cost_per_1k"]), "model %r" % params["name"])
    for field in ("tpm", "rpm", "max_tokens"):
        if params[field] < 1:
            raise ValueError("model %r: %s must be >= 1" % (params["name"], field))
    want.update(endpoint=endpoint.rstrip("/"), backend_model_name=params.get("backend_model_name") or params["name"],
                input_cost_per_token=params["input_cost_per_1k"] / 1000.0,
                output_cost_per_token=params["output_cost_per_1k"] / 1000.0,
                description=params.get("description"))
    for field in ("tpm", "rpm", "max_tokens", "supports_vision", "supports_function_calling",
                  "supports_parallel_function_calling", "supports_tool_choice", "restricted_access"):
        want[field] = params[field]
    return want


def main():
    spec = dict(litemaas.LITEMAAS_ARGUMENT_SPEC)
    spec.update(
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
        restricted_access=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[("state", "present", ("endpoint",))])
    try:
        want = desired_model(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    def body(api):
        kind = ModelKind(api, module.params.get("endpoint_api_key"))
        plan = plan_kind(kind, [want], kind.list())
        execute(kind, plan, module.check_mode)
        changed, dummy, diff = summarize([(kind, plan)])
        step = plan[0]
        after = step["after"]
        if step["action"] in ("create", "update") and not module.check_mode:
            after = kind.list().get(want["name"])
        result = dict(changed=changed, operation=step["action"], changes=step["changes"], model=kind.view(after))
        if module._diff:
            result["diff"] = diff
        return result

    litemaas.run(module, body)


if __name__ == "__main__":
    main()
