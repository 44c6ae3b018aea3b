#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litemaas_usage_info
short_description: LiteMaaS usage by user, model or API key over a date range (chargeback)
version_added: "0.1.0"
description:
  - Reads LiteMaaS 0.4.0 usage analytics (requests, tokens, cost) for a date range, grouped by user, by model or
    by API key. Changes nothing.
  - Today's figures are cached by LiteMaaS for about five minutes.
extends_documentation_fragment:
  - redwood.maas.gateway
  - redwood.maas.litemaas
options:
  start_date:
    description: First day (C(YYYY-MM-DD)), inclusive. Defaults to 30 days before O(end_date).
    type: str
  end_date:
    description: Last day (C(YYYY-MM-DD)), inclusive. Defaults to today (UTC).
    type: str
  group_by:
    description: How to group the figures.
    type: str
    choices: [user, model, key]
    default: user
  users:
    description: Only these usernames. Users who have not logged in yet are listed in RV(pending_users).
    type: list
    elements: str
  models:
    description: Only these model names.
    type: list
    elements: str
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
    details: Reads only; check mode changes nothing.
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
author:
  - redwood.maas engineers (@redwood-maas)
"""

EXAMPLES = r"""
- name: Last month's spend per user
  redwood.maas.litemaas_usage_info:
    start_date: "2026-10-01"
    end_date: "2026-10-31"
    group_by: user
  register: usage
"""

RETURN = r"""
usage:
  description: One entry per user, model or key, with C(requests), C(prompt_tokens), C(completion_tokens),
    C(total_tokens) and C(cost); plus C(user) (user and key grouping), C(model) (model grouping), C(key) (key alias).
  returned: always
  type: list
  elements: dict
  sample: [{user: alice, requests: 12, prompt_tokens: 300, completion_tokens: 900, total_tokens: 1200, cost: 0.0015}]
totals:
  description: Sums of requests, tokens and cost over RV(usage).
  returned: always
  type: dict
period:
  description: The date range read.
  returned: always
  type: dict
  sample: {start_date: "2026-10-01", end_date: "2026-10-31"}
pending_users:
  description: Requested users who have not logged in yet.
  returned: always
  type: list
  elements: str
requests:
  description: HTTP requests sent, and how many of them were writes.
  returned: always
  type: dict
pending:
  description: Always false.
  returned: always
  type: bool
"""

import datetime

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError
from ansible_collections.redwood.maas.plugins.module_utils.litemaas import MAX_PAGES, LiteMaaS


def _date(value, what):
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        raise MaasError("%s must be a date YYYY-MM-DD, got %r" % (what, value))


def _figures(metrics, **extra):
    tokens = metrics.get("tokens") or {}
    out = dict(requests=int(metrics.get("requests") or 0), prompt_tokens=int(tokens.get("prompt") or 0),
               completion_tokens=int(tokens.get("completion") or 0), total_tokens=int(tokens.get("total") or 0),
               cost=float(metrics.get("cost") or 0))
    out.update(extra)
    return out


def period(params, today=None):
    end = _date(params["end_date"], "end_date") if params.get("end_date") else \
        (today or datetime.datetime.now(datetime.timezone.utc).date())
    start = _date(params["start_date"], "start_date") if params.get("start_date") else end - datetime.timedelta(days=30)
    if start > end:
        raise MaasError("start_date %s is after end_date %s" % (start, end))
    return start.isoformat(), end.isoformat()


def paged_post(api, path, body, what):
    rows, page = [], 1
    while page <= MAX_PAGES:
        res = api.read(path, what=what, params={"page": page, "limit": 200}, json=body) or {}
        rows.extend(res.get("data") or [])
        if not (res.get("pagination") or {}).get("hasNext"):
            break
        page += 1
    return rows


def main():
    MaasModule(dict(start_date=dict(type="str"), end_date=dict(type="str"),
                    group_by=dict(type="str", choices=["user", "model", "key"], default="user"),
                    users=dict(type="list", elements="str"), models=dict(type="list", elements="str")),
               flavour=LiteMaaS).run(lambda m: report(m.flavour().api, m.params))


def report(api, p):
    start, end = period(p)
    query = {"startDate": start, "endDate": end}
    pending_users = []
    if p.get("users"):
        ids = []
        for name in p["users"]:
            row = api.find_user(name)
            if row is None:
                pending_users.append(name)
            else:
                ids.append(row["id"])
        if not ids:
            return dict(changed=False, usage=[], totals=_figures({}), pending_users=pending_users,
                        period=dict(start_date=start, end_date=end))
        query["userIds"] = ids
    if p.get("models"):
        query["modelIds"] = p["models"]
    usage = []
    if p["group_by"] == "model":
        for row in paged_post(api, "/api/v1/admin/usage/by-model", query, "usage by model"):
            usage.append(_figures(row["metrics"], model=row["modelName"]))
    else:
        for row in paged_post(api, "/api/v1/admin/usage/by-user", query, "usage by user"):
            if p["group_by"] == "user":
                usage.append(_figures(row["metrics"], user=row["username"]))
                continue
            for key in row["metrics"].get("apiKeys") or []:
                usage.append(_figures(key, user=row["username"], key=key["keyAlias"], key_id=key["keyId"]))
    totals = dict((f, sum(u[f] for u in usage))
                  for f in ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost"))
    return dict(changed=False, usage=usage, totals=totals, pending_users=pending_users,
                period=dict(start_date=start, end_date=end))


if __name__ == "__main__":
    main()
