#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_settings
short_description: LiteMaaS user defaults and API-key defaults and maximums
version_added: "0.1.0"
description:
  - Sets the defaults LiteMaaS 0.4.0 gives new users, and the defaults and maximums of the API keys users create.
  - LiteMaaS replaces the whole settings document on C(PUT) (omitted fields become null). This module reads the current
    values, merges the options given here into them and writes only when something differs, so settings not named
    here are kept.
  - A value of V(null) is not expressible here; omit a field to keep it.
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
  - redwood.maas.attributes
options:
  user_defaults:
    description: Defaults for new users.
    type: dict
    suboptions:
      max_budget:
        description: Budget of a new user.
        type: float
      tpm_limit:
        description: Tokens per minute of a new user.
        type: int
      rpm_limit:
        description: Requests per minute of a new user.
        type: int
  api_key_defaults:
    description: Defaults of a new API key.
    type: dict
    suboptions:
      max_budget:
        description: Budget of a new key.
        type: float
      tpm_limit:
        description: Tokens per minute.
        type: int
      rpm_limit:
        description: Requests per minute.
        type: int
      budget_duration:
        description: Budget period (C(daily), C(weekly), C(monthly), C(yearly) or C(<n>s|m|h|d|mo)).
        type: str
      soft_budget:
        description: Soft budget.
        type: float
      expiration_days:
        description: Days until a new key expires.
        type: int
  api_key_maximums:
    description: Upper limits users may set on their keys.
    type: dict
    suboptions:
      max_budget:
        description: Highest budget.
        type: float
      tpm_limit:
        description: Highest tokens per minute.
        type: int
      rpm_limit:
        description: Highest requests per minute.
        type: int
      expiration_days:
        description: Longest lifetime in days.
        type: int
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Budget defaults from the inventory
  redwood.maas.litemaas_settings:
    user_defaults: {max_budget: 50, tpm_limit: 100000, rpm_limit: 300}
    api_key_defaults: {budget_duration: 30d}
    api_key_maximums: {max_budget: 500}
"""

RETURN = r"""
settings:
  description: The settings after the run (in inventory field names).
  returned: always
  type: dict
  sample: {user_defaults: {max_budget: 50.0}, api_key_defaults: {budget_duration: 30d}, api_key_maximums: {}}
changed_sections:
  description: Which of user_defaults, api_key_settings were (or would be) written.
  returned: always
  type: list
  elements: str
pending:
  description: Always false.
  returned: always
  type: bool
requests:
  description: HTTP requests sent, and how many of them were writes.
  returned: always
  type: dict
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import DURATION_WORDS, LiteMaaS
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import same
from ansible_collections.redwood.maas.plugins.module_utils.tenants import check_duration, check_number

NAMES = dict(max_budget="maxBudget", tpm_limit="tpmLimit", rpm_limit="rpmLimit", budget_duration="budgetDuration",
             soft_budget="softBudget", expiration_days="expirationDays")
USER_FIELDS = ("max_budget", "tpm_limit", "rpm_limit")
KEY_FIELDS = ("max_budget", "tpm_limit", "rpm_limit", "budget_duration", "soft_budget", "expiration_days")
MAX_FIELDS = ("max_budget", "tpm_limit", "rpm_limit", "expiration_days")
USER_PATH = "/api/v1/admin/settings/user-defaults"
KEY_PATH = "/api/v1/admin/settings/api-key-defaults"


def to_api(fields, values):
    return dict((NAMES[f], values.get(f)) for f in fields)


def from_api(fields, values):
    return dict((f, (values or {}).get(NAMES[f])) for f in fields)


def merge(current, wanted):
    """Current values with the wanted (non-None) ones on top; whether anything differs."""
    merged = dict(current)
    for field, value in (wanted or {}).items():
        if value is not None:
            merged[field] = value
    return merged, not all(same(merged[f], current.get(f)) for f in merged)


def validate(params):
    for section in ("user_defaults", "api_key_defaults", "api_key_maximums"):
        values = params.get(section) or {}
        for field, value in values.items():
            if field != "budget_duration":
                check_number("%s: %s" % (section, field), value, "count" if field.endswith(("limit", "days"))
                             else "budget")
        if values.get("expiration_days") is not None and values["expiration_days"] < 1:
            raise MaasError("%s: expiration_days must be >= 1" % section)
    check_duration("api_key_defaults: budget_duration", (params.get("api_key_defaults") or {}).get("budget_duration"),
                   DURATION_WORDS)


def apply(m):
    p = m.params
    validate(p)
    api = m.flavour().api
    before, after, changed_sections = {}, {}, []
    if p.get("user_defaults"):
        cur = from_api(USER_FIELDS, api.read(USER_PATH, what="user defaults"))
        new, differs = merge(cur, p["user_defaults"])
        before["user_defaults"], after["user_defaults"] = cur, new
        if differs:
            changed_sections.append("user_defaults")
            if not m.check_mode:
                api.write("PUT", USER_PATH, what="user defaults", json=to_api(USER_FIELDS, new), ok=(200,))
    if p.get("api_key_defaults") or p.get("api_key_maximums"):
        doc = api.read(KEY_PATH, what="API key defaults") or {}
        cur_d, cur_m = from_api(KEY_FIELDS, doc.get("defaults")), from_api(MAX_FIELDS, doc.get("maximums"))
        new_d, diff_d = merge(cur_d, p.get("api_key_defaults"))
        new_m, diff_m = merge(cur_m, p.get("api_key_maximums"))
        before.update(api_key_defaults=cur_d, api_key_maximums=cur_m)
        after.update(api_key_defaults=new_d, api_key_maximums=new_m)
        if diff_d or diff_m:
            changed_sections.append("api_key_settings")
            if not m.check_mode:
                api.write("PUT", KEY_PATH, what="API key defaults", ok=(200,),
                          json={"defaults": to_api(KEY_FIELDS, new_d), "maximums": to_api(MAX_FIELDS, new_m)})
    return dict(changed=bool(changed_sections), changed_sections=changed_sections, settings=after,
                diff={"before": before, "after": after})


def main():
    def section(fields, types):
        return dict(type="dict", options=dict((f, dict(type=types.get(f, "int"))) for f in fields))
    types = dict(max_budget="float", soft_budget="float", budget_duration="str")
    MaasModule(dict(user_defaults=section(USER_FIELDS, types),
                    api_key_defaults=dict(section(KEY_FIELDS, types), no_log=False),
                    api_key_maximums=dict(section(MAX_FIELDS, types), no_log=False)), flavour=LiteMaaS).run(apply)


if __name__ == "__main__":
    main()
