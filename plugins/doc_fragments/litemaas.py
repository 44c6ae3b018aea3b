# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # LiteMaaS options, used together with redwood.maas.gateway (gateway_url is the LiteMaaS
    # backend URL, token an optional ltm_admin_ key used for reads only).
    DOCUMENTATION = r"""
options:
  jwt_secret:
    description:
      - The LiteMaaS backend's E(JWT_SECRET). Every write is authenticated with a short-lived HS256
        JWT that the module mints from it for O(automation_user) (LiteMaaS 0.4.0 fails admin writes made
        with an C(ltm_admin_) key with HTTP 500, often after applying them).
      - If not set, the environment variable E(MAAS_LITEMAAS_JWT_SECRET) is used.
      - Never logged, never returned. The minted token is never returned either.
    type: str
    required: false
  automation_user:
    description:
      - The automation admin identity the JWT is minted for. It must be an existing, active row
        of the LiteMaaS C(users) table with roles C(admin) and C(user) (no API creates users; the
        C(litemaas) role inserts it).
    type: dict
    required: false
    suboptions:
      id:
        description: The user's UUID.
        type: str
        required: true
      username:
        description: The user's username.
        type: str
        required: true
      email:
        description: The user's email address.
        type: str
        required: true
  jwt_ttl:
    description:
      - Lifetime in seconds of the minted JWT.
    type: int
    default: 300
notes:
  - O(gateway_url) is the LiteMaaS backend base URL (without C(/api)), for example
    C(https://litemaas.apps.example.com) or C(http://127.0.0.1:8080).
  - O(token), if set, must be an C(ltm_admin_) key; it is used for reads only.
"""
