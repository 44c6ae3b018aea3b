#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litellm_model
short_description: Register an OpenAI-compatible model backend (such as vLLM) in a LiteLLM proxy
version_added: 0.1.0
description:
  - Creates, updates or deletes one model deployment stored in LiteLLM's database
    (the proxy needs C(store_model_in_db)). The model id and the public model name are O(name); requests
    go to O(endpoint) as C(openai/<name>).
  - Models registered here carry C(managed_by=redwood.maas) in their C(model_info).
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.engine
  - redwood.maas.attributes.litellm
options:
  name:
    description: Model name (the served model name of the backend, and the name clients use).
    type: str
    required: true
  state:
    description: Whether the model is registered.
    type: str
    choices: [present, absent]
    default: present
  endpoint:
    description: OpenAI-compatible base URL ending in C(/v1), for example C(http://vllm:8000/v1). Required with O(state=present).
    type: str
  api_key_ref:
    description:
      - The key LiteLLM sends to O(endpoint), as a reference C(os.environ/NAME) to a variable of LiteLLM's own
        environment (for example C(os.environ/MAAS_VLLM_API_KEY) on a host), never the key itself.
      - Compared like O(endpoint) (kept in C(model_info) as C(redwood_api_key_ref)); not set, a new model gets
        the placeholder key C(none) and an existing one keeps its reference.
    type: str
    version_added: 0.2.0
  cost:
    description: What the gateway charges.
    type: dict
    suboptions:
      input_per_1k:
        description: USD per 1,000 input tokens.
        type: float
      output_per_1k:
        description: USD per 1,000 output tokens.
        type: float
  tpm_limit:
    description: Tokens per minute for this deployment.
    type: int
  rpm_limit:
    description: Requests per minute for this deployment.
    type: int
"""

EXAMPLES = r"""
- name: Register a vLLM endpoint
  redwood.maas.litellm_model:
    gateway_url: http://127.0.0.1:4000
    token: "{{ litellm_master_key }}"
    name: granite-3-1-8b-instruct
    endpoint: http://granite.models.svc:8080/v1
    cost: {input_per_1k: 0.0005, output_per_1k: 0.0015}
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
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import SINGLE, MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM

FIELDS = ("name", "state", "endpoint", "cost", "tpm_limit", "rpm_limit")      # api_key_ref: LiteLLM.from_params


def main():
    spec = dict(
        SINGLE,
        endpoint=dict(type="str"),
        api_key_ref=dict(type="str", no_log=False),
        cost=dict(type="dict", options=dict(input_per_1k=dict(type="float"), output_per_1k=dict(type="float"))),
        tpm_limit=dict(type="int"),
        rpm_limit=dict(type="int"),
    )
    MaasModule(spec, flavour=LiteLLM).run(lambda m: m.run_one("models", FIELDS, endpoints={}))


if __name__ == "__main__":
    main()
