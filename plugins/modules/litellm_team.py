#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litellm_team
short_description: Manage a team in a LiteLLM proxy
version_added: 0.1.0
description:
  - Creates, updates or deletes one LiteLLM team; the team id and alias are O(name).
  - O(members) is the complete list of member user ids (role C(user)); members not listed are removed.
  - Teams created here carry the metadata marker C(managed_by=redwood.maas).
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.engine
  - redwood.maas.attributes.litellm
  - redwood.maas.limits
options:
  name:
    description: Team id (also its alias).
    type: str
    required: true
  state:
    description: Whether the team exists.
    type: str
    choices: [present, absent]
    default: present
  models:
    description: Models the team may use.
    type: list
    elements: str
  members:
    description: User ids of the members.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: A team with two members
  redwood.maas.litellm_team:
    gateway_url: http://127.0.0.1:4000
    token: "{{ litellm_master_key }}"
    name: computer-science
    models: [granite-3-1-8b-instruct]
    members: [alice, bob]
    max_budget: 2000
    budget_duration: 30d
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

from ansible_collections.redwood.maas.plugins.module_utils.base import LIMITS, SINGLE, MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM

FIELDS = ("name", "state", "models", "members", "max_budget", "budget_duration", "tpm_limit", "rpm_limit")


def main():
    spec = dict(
        SINGLE,
        models=dict(type="list", elements="str"),
        members=dict(type="list", elements="str"),
        **LIMITS
    )
    MaasModule(spec, flavour=LiteLLM).run(lambda m: m.run_one("teams", FIELDS))


if __name__ == "__main__":
    main()
