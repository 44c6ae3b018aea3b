#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: usage_info
short_description: Usage and cost per user, team, API key and model, from LiteLLM's spend logs (both gateway flavours)
version_added: "0.2.0"
description:
  - Reads LiteLLM's own spend records (C(/spend/logs/v2), every call it served or refused after authentication)
    over a period and attributes each call to the objects of the inventory given in O(users), O(teams),
    O(api_keys) and O(models). Changes nothing.
  - Works for both values of C(maas_gateway). With C(litemaas), LiteMaaS creates the keys in LiteLLM with the alias
    C(<key name>_<8 hex>) and the LiteMaaS user's UUID as user id; the module maps both back to the inventory (it
    reads LiteLLM's user list once for the UUIDs). LiteMaaS 0.4.0's own usage API cannot do this (per-key figures
    are always empty there, and the usage of revoked or rotated keys lands in an C(Unknown User) row).
  - Calls of a key count for the inventory key of that name whatever happened to the key since (rotated, revoked,
    deleted), as long as the owner LiteLLM recorded is the key's inventory owner. Calls of keys that are not in the
    inventory count for their owner when the owner is in the inventory (row C(key) named
    C((other keys of user alice))). Calls that belong to no inventory owner (the master key, keys of people or
    teams no longer listed) are counted in one row of dimension C(none). So each dimension adds up to RV(totals) -
    user + team rows + the C(none) row, key rows + the C(none) row, and model rows.
  - C(requests) counts successful calls, C(failed_requests) the failed ones (refused over budget, upstream
    errors, ...); C(hits_last_24h) counts both, in the 24 hours before O(end).
  - LiteLLM writes spend logs in batches (every 10-15 s), so the calls of the last seconds may not be there yet.
extends_documentation_fragment:
  - redwood.maas.gateway
options:
  flavour:
    description: The gateway flavour that made the keys (C(maas_gateway)).
    type: str
    choices: [litellm, litemaas]
    default: litellm
  users:
    description: As C(maas_users) (C(name), C(email) used).
    type: list
    elements: dict
    default: []
  teams:
    description: As C(maas_teams) (C(name) used).
    type: list
    elements: dict
    default: []
  api_keys:
    description: As C(maas_api_keys) (C(name), C(owner) used; keys with C(state=absent) still own their past calls).
    type: list
    elements: dict
    default: []
  models:
    description: As C(maas_models) (C(name) used).
    type: list
    elements: dict
    default: []
  days:
    description: Length of the period, ending at O(end), when O(start) is not given.
    type: int
    default: 30
  start:
    description: Start of the period (ISO 8601 date or date-time, UTC unless it says otherwise).
    type: str
  end:
    description: End of the period (ISO 8601 date or date-time; a date means the end of that day). Default now.
    type: str
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
    details: Reads only.
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Last 30 days, per user, team, key and model
  redwood.maas.usage_info:
    gateway_url: "{{ maas_gateway_url }}"      # LiteLLM's admin URL, also behind LiteMaaS
    token: "{{ maas_gateway_token }}"          # LiteLLM's master key
    flavour: "{{ maas_gateway }}"
    users: "{{ maas_users }}"
    teams: "{{ maas_teams }}"
    api_keys: "{{ maas_api_keys }}"
    models: "{{ maas_models }}"
  register: usage

- name: October
  redwood.maas.usage_info:
    flavour: litemaas
    users: "{{ maas_users }}"
    api_keys: "{{ maas_api_keys }}"
    models: "{{ maas_models }}"
    start: "2026-10-01"
    end: "2026-10-31"
"""

RETURN = r"""
rows:
  description:
    - One entry per inventory user, team, key and model with calls in the period (C(dimension) C(user), C(team),
      C(key), C(model)), plus C(key) rows C((other keys of user X)), a C(model) row C((models not in the inventory))
      and one C(none) row for calls that belong to no inventory owner.
    - Figures C(requests) (successful), C(failed_requests), C(hits_last_24h), C(prompt_tokens), C(completion_tokens),
      C(total_tokens), C(cost_usd).
  returned: always
  type: list
  elements: dict
  sample: [{dimension: key, name: canopy-cs, requests: 12, failed_requests: 1, hits_last_24h: 3, prompt_tokens: 120,
            completion_tokens: 240, total_tokens: 360, cost_usd: 0.0004}]
totals:
  description: The same figures over every call in the period.
  returned: always
  type: dict
series:
  description:
    - Time series (per hour for periods up to two days, else per day) C(requests) (calls per bucket),
      C(cost_by_owner) (per C(user alice) or C(team research), cost per bucket) and C(cost_by_model) (per model,
      cost per bucket).
  returned: always
  type: dict
period:
  description: C(start) and C(end) of the period (ISO 8601, UTC) and whether figures are C(hourly).
  returned: always
  type: dict
requests:
  description: HTTP requests sent to LiteLLM (C(total), C(writes)).
  returned: always
  type: dict
"""

import datetime

from ansible_collections.redwood.maas.plugins.module_utils import usage
from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM


def period(params, now=None):
    """(start, end) aware UTC datetimes from the module options."""
    now = now or datetime.datetime.now(datetime.timezone.utc)

    def parse(value, what, end_of_day=False):
        try:
            if len(value.strip()) == 10:
                day = datetime.datetime.strptime(value.strip(), "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
                return day + datetime.timedelta(days=1, microseconds=-1) if end_of_day else day
            return usage.parse_time(value)
        except ValueError:
            raise ValueError("%s must be an ISO 8601 date or date-time, got %r" % (what, value))

    end = parse(params["end"], "end", end_of_day=True) if params.get("end") else now
    if params.get("start"):
        start = parse(params["start"], "start")
    else:
        if params["days"] < 1:
            raise ValueError("days must be >= 1, got %r" % params["days"])
        start = end - datetime.timedelta(days=params["days"])
    if start > end:
        raise ValueError("start %s is after end %s" % (start.isoformat(), end.isoformat()))
    return start, end


def report(module):
    """The module's result: LiteLLM's spend logs of the period, attributed to the inventory."""
    p = module.params
    try:
        start, end = period(p)
    except ValueError as exc:
        raise MaasError(str(exc))
    for what in ("users", "teams", "api_keys", "models"):
        for n, item in enumerate(p[what], 1):
            if not item.get("name"):
                raise MaasError("%s entry #%d has no name" % (what, n))
    client = module.client
    logs = usage.read_spend_logs(client, start, end)
    gateway_users = []
    if p["flavour"] == "litemaas":     # LiteLLM user id = LiteMaaS UUID; LiteMaaS sets user_alias = username
        gateway_users = usage.read_paged(client, "/user/list", "users", "LiteLLM users", size_param="page_size")
    keys_by_hash = {}
    learned = usage.learned_keys(logs)
    if any(not (log.get("metadata") or {}).get("user_api_key_alias") and log.get("api_key") not in learned
           for log in logs):
        keys = usage.read_paged(client, "/key/list", "keys", "LiteLLM keys", extra={"return_full_object": "true"})
        keys_by_hash = dict((k.get("token"), k) for k in keys)
    inventory = usage.Inventory(p["flavour"], p["users"], p["teams"], p["api_keys"], p["models"], gateway_users)
    rows, totals, series = usage.aggregate(logs, inventory, start, end, keys_by_hash)
    return dict(changed=False, rows=rows, totals=totals, series=series,
                period=dict(start=start.isoformat(), end=end.isoformat(),
                            hourly=(end - start) <= datetime.timedelta(days=2)))


def main():
    spec = dict(
        flavour=dict(type="str", choices=["litellm", "litemaas"], default="litellm"),
        users=dict(type="list", elements="dict", default=[]),
        teams=dict(type="list", elements="dict", default=[]),
        api_keys=dict(type="list", elements="dict", default=[], no_log=False),
        models=dict(type="list", elements="dict", default=[]),
        days=dict(type="int", default=30),
        start=dict(type="str"),
        end=dict(type="str"),
    )
    MaasModule(spec, flavour=LiteLLM).run(report)


if __name__ == "__main__":
    main()
