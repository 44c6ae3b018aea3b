#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: budget_alerts
short_description: Alert once when a user, team or API key crosses a share of its budget
version_added: 0.2.0
description:
  - Reads the spend and budget of every user, team and key of a LiteLLM proxy (one paged read per kind;
    also the LiteLLM behind LiteMaaS), and for each one whose spend has reached O(threshold_percent) of its
    C(max_budget) and that was not alerted yet, posts one JSON alert to O(webhook_url) and/or sends one
    e-mail (O(email)).
  - What was sent is kept in O(state_file), so each object alerts once per budget period; an object whose
    spend falls back under its threshold (a budget reset) is forgotten and alerts again when it next crosses.
  - Run it on a schedule (cron, a systemd timer, an AWX/GitLab schedule); an alert goes out on the first
    run after the gateway has recorded the spend (LiteLLM writes spend in batches of about 10 s).
  - Why not LiteLLM's own alerting (1.106.2, measured) - its key soft-budget alert also sends a
    C(projected_limit_exceeded) forecast on a key's first calls, long before the threshold, and the flag that
    silences it cannot be set through the API; users have no soft budget; team alerts need e-mail metadata;
    de-duplication is per proxy process (replicas and restarts alert again).
author:
  - redwood.maas engineers (@redwood-maas)
extends_documentation_fragment:
  - redwood.maas.gateway
attributes:
  check_mode:
    description: Reports the alerts it would send; sends nothing and writes no state.
    support: full
  diff_mode:
    description: No diff; the alerts are returned.
    support: none
options:
  threshold_percent:
    description: Percent of C(max_budget) at which an object alerts, unless O(overrides) says otherwise.
    type: float
    default: 80
  overrides:
    description:
      - "Per object thresholds, C({users: {bob: 90}, teams: {research: 50}, keys: {ci: 0}}); C(0) silences one."
    type: dict
    default: {}
  kinds:
    description: Which kinds to watch.
    type: list
    elements: str
    choices: [users, teams, keys]
    default: [users, teams, keys]
  webhook_url:
    description: URL that receives each alert as a JSON C(POST) (it has a C(text) field, so Slack and Teams
      incoming webhooks show it as is).
    type: str
  webhook_headers:
    description: Extra HTTP headers for the webhook (e.g. an authorization header).
    type: dict
  email:
    description:
      - SMTP delivery of each alert as an e-mail.
    type: dict
    suboptions:
      host:
        description: SMTP server.
        type: str
        default: localhost
      port:
        description: SMTP port.
        type: int
        default: 25
      starttls:
        description: Use STARTTLS.
        type: bool
        default: false
      username:
        description: SMTP login.
        type: str
      password:
        description: SMTP password (never logged).
        type: str
      sender:
        description: The From address.
        type: str
      to:
        description: Addresses that receive every alert.
        type: list
        elements: str
        default: []
      to_owners:
        description:
          - Also mail the people concerned, at the e-mail the gateway knows - the user, a team's members, a key's owner.
        type: bool
        default: false
  state_file:
    description: JSON file that records the alerts sent (created, mode 0600 directory 0700).
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Alert at 80 % of every budget, 50 % for the research team, to a webhook and the owners
  redwood.maas.budget_alerts:
    gateway_url: http://127.0.0.1:4000
    token: "{{ litellm_master_key }}"
    threshold_percent: 80
    overrides: {teams: {research: 50}}
    webhook_url: https://hooks.example.edu/maas
    email: {host: smtp.example.edu, sender: maas@example.edu, to: [maas-admins@example.edu], to_owners: true}
    state_file: /var/lib/redwood-maas/budget-alerts.json
"""

RETURN = r"""
alerts:
  description: The alerts sent by this run (in check mode, the ones it would send).
  returned: always
  type: list
  elements: dict
  sample:
    - {event: budget_threshold_crossed, kind: user, name: bob, spend: 4.1, max_budget: 5.0, threshold_percent: 80,
       threshold: 4.0, percent_used: 82.0, email: bob@example.edu,
       text: "user bob has spent 4.1000 USD of its 5.0000 USD budget (82.0 %; alert at 80 %)"}
over_threshold:
  description: Every object currently at or over its threshold (alerted now or earlier).
  returned: always
  type: list
  elements: dict
requests:
  description: Requests sent to the gateway (C(total), C(writes)); this module only reads.
  returned: always
  type: dict
  sample: {total: 3, writes: 0}
"""

from ansible_collections.redwood.maas.plugins.module_utils.base import MaasModule
from ansible_collections.redwood.maas.plugins.module_utils.budget_alerts import (
    AlertError, load_state, now_iso, plan, recipients, save_state, send_email, send_webhook)
from ansible_collections.redwood.maas.plugins.module_utils.litellm import LiteLLM, read_info

try:
    import httpx
except ImportError:  # reported by the gateway client first
    httpx = None


def check_params(module):
    p = module.params
    if not 0 < p["threshold_percent"] <= 100:
        module.fail_json(msg="threshold_percent must be in (0, 100], got %s. Nothing was sent." % p["threshold_percent"])
    for kinds, table in p["overrides"].items():
        if kinds not in ("users", "teams", "keys") or not isinstance(table, dict):
            module.fail_json(msg="overrides: %r must be one of users, teams, keys, each a mapping name -> percent. "
                                 "Nothing was sent." % kinds)
        for name, pct in table.items():
            if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not 0 <= pct <= 100:
                module.fail_json(msg="overrides.%s.%s must be a percent between 0 and 100, got %r. Nothing was sent."
                                     % (kinds, name, pct))


def alerts(module):
    p = module.params
    check_params(module)
    kinds = list(p["kinds"])
    if p["email"] and p["email"]["to_owners"] and "users" not in kinds:
        kinds.append("users")
    info = read_info(module.client, kinds)
    info["keys"] = info.pop("api_keys", None) or []  # read_info says api_keys (litellm_info's name)
    people = dict((u["name"], u.get("email")) for u in info.get("users") or [])
    for kind in ("users", "teams", "keys"):
        if kind not in p["kinds"]:
            info.pop(kind, None)
    state = load_state(p["state_file"])
    to_send, new_state, over = plan(info, p["threshold_percent"], p["overrides"], state)
    if module.check_mode:
        return dict(changed=bool(to_send) or new_state != state, alerts=to_send, over_threshold=over)
    sent = []
    try:
        with httpx.Client(timeout=30, verify=p.get("ca_path") or p["validate_certs"]) as web:
            for alert in to_send:
                if p["webhook_url"]:
                    send_webhook(web, p["webhook_url"], alert, p["webhook_headers"])
                if p["email"]:
                    to = recipients(alert, p["email"], people)
                    if to:
                        send_email(p["email"], alert, to)
                new_state["%s/%s" % (alert["kind"], alert["name"])] = {
                    "sent_at": now_iso(), "spend": alert["spend"], "threshold_percent": alert["threshold_percent"]}
                sent.append(alert)
                save_state(p["state_file"], new_state)
    except (AlertError, httpx.HTTPError, OSError) as exc:
        save_state(p["state_file"], new_state)
        module.fail_json(msg="budget alert not delivered: %s (%d of %d sent, recorded in %s)"
                             % (exc, len(sent), len(to_send), p["state_file"]), alerts=sent, over_threshold=over)
    changed = bool(sent) or new_state != state
    if new_state != state:
        save_state(p["state_file"], new_state)
    return dict(changed=changed, alerts=sent, over_threshold=over)


def main():
    spec = dict(
        threshold_percent=dict(type="float", default=80),
        overrides=dict(type="dict", default={}),
        kinds=dict(type="list", elements="str", choices=["users", "teams", "keys"], default=["users", "teams", "keys"]),
        webhook_url=dict(type="str", no_log=True),
        webhook_headers=dict(type="dict", no_log=True),
        email=dict(type="dict", options=dict(
            host=dict(type="str", default="localhost"), port=dict(type="int", default=25),
            starttls=dict(type="bool", default=False), username=dict(type="str"),
            password=dict(type="str", no_log=True), sender=dict(type="str"),
            to=dict(type="list", elements="str", default=[]), to_owners=dict(type="bool", default=False))),
        state_file=dict(type="path", required=True),
    )
    MaasModule(spec, flavour=LiteLLM, required_one_of=[["webhook_url", "email"]]).run(alerts)


if __name__ == "__main__":
    main()
