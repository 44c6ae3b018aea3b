# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every gateway module. Set them once for a play with
    # module_defaults and the action groups group/redwood.maas.litellm or group/redwood.maas.litemaas.
    DOCUMENTATION = r"""
options:
  gateway_url:
    description:
      - Base URL of the gateway API, for example C(https://litellm.apps.example.com) or
        C(http://127.0.0.1:4000).
      - If not set, the environment variable E(MAAS_GATEWAY_URL) is used.
    type: str
    required: false
  token:
    description:
      - Bearer token for the gateway's admin API (the LiteLLM master key, or a LiteMaaS
        C(ltm_admin_) key for reads).
      - If not set, the environment variable E(MAAS_GATEWAY_TOKEN) is used.
      - Never logged and never part of an error message.
    type: str
    required: false
  validate_certs:
    description:
      - Verify the gateway's TLS certificate. Only set to V(false) on throwaway test systems.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA bundle that signs the gateway's certificate (for example the
        OpenShift ingress CA).
    type: path
    required: false
  timeout:
    description:
      - Seconds to wait for each HTTP request.
    type: float
    default: 30
  retries:
    description:
      - How many times an idempotent request is retried after a connection error or an
        HTTP 429, 502, 503 or 504, with exponential backoff.
    type: int
    default: 4
requirements:
  - httpx >= 0.24 (on the host that runs the module, usually the controller)
"""
