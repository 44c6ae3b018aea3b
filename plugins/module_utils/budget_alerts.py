# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Budget alerts: one notification when a user, team or key crosses a share of its budget.

Why not LiteLLM's own alerting (measured on LiteLLM 1.106.2, see README "Budget alerts"): its key
soft-budget alert also sends a ``projected_limit_exceeded`` webhook on the first calls of any key
that has a soft budget (a forecast, long before the threshold), and the key flag that silences it
(``soft_budget_cooldown``) cannot be set through the API; users have no soft budget at all (their
alerts come at the fixed 85 %, 95 % and 100 % marks, and only for personal keys); a team's soft-budget
alert is sent only when the team's metadata lists e-mail recipients; and de-duplication lives in each
proxy process's memory, so two replicas, or a restart, alert twice.

So this checks spend itself (the gateway's own numbers, read once per kind), and remembers what it
has sent in a small state file: one alert per object and budget period (an object whose spend falls
back under its threshold, as at a budget reset, is forgotten and can alert again).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import smtplib
import tempfile
from email.message import EmailMessage

KINDS = {"users": "user", "teams": "team", "keys": "key"}


def thresholds_for(kind, name, default, overrides):
    """Percent at which ``name`` alerts (0 or None: never)."""
    value = (overrides or {}).get(name, default)
    return value or None


def crossings(info, default_percent, overrides):
    """Objects whose spend has reached their threshold: list of alert payloads (without gateway)."""
    out = []
    for kinds, kind in sorted(KINDS.items()):
        for row in info.get(kinds) or []:
            budget = row.get("max_budget")
            spend = float(row.get("spend") or 0.0)
            pct = thresholds_for(kind, row["name"], default_percent, (overrides or {}).get(kinds))
            if budget in (None, 0) or pct is None:
                continue
            budget = float(budget)
            threshold = budget * pct / 100.0
            if spend < threshold:
                continue
            used = 100.0 * spend / budget
            alert = {
                "event": "budget_threshold_crossed", "kind": kind, "name": row["name"],
                "spend": round(spend, 6), "max_budget": budget, "threshold_percent": pct,
                "threshold": round(threshold, 6), "percent_used": round(used, 1),
                "budget_duration": row.get("budget_duration"),
            }
            if kind == "user":
                alert["email"] = row.get("email")
            elif kind == "team":
                alert["members"] = row.get("members") or []
            else:
                alert["owner"] = {"user": row.get("user"), "team": row.get("team")}
            alert["text"] = ("%s %s has spent %.4f USD of its %.4f USD budget (%.1f %%; alert at %s %%)"
                             % (kind, row["name"], spend, budget, used, pct))
            out.append(alert)
    return out


def load_state(path):
    try:
        with open(path) as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (IOError, OSError):
        return {}
    except ValueError:
        return {}


def save_state(path, state):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".budget-alerts-")
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)
    os.rename(tmp, path)


def plan(info, default_percent, overrides, state):
    """(alerts to send now, new state): the crossings not alerted yet, and the state without the
    objects that are back under their threshold (a budget reset), so they can alert again."""
    over = crossings(info, default_percent, overrides)
    current = dict(("%s/%s" % (a["kind"], a["name"]), a) for a in over)
    new_state = dict((k, v) for k, v in state.items() if k in current)
    to_send = [a for k, a in sorted(current.items()) if k not in new_state]
    return to_send, new_state, over


def send_webhook(client, url, alert, headers=None):
    resp = client.post(url, json=alert, headers=headers or {})
    if resp.status_code >= 300:
        raise AlertError("webhook answered HTTP %d for %s %s" % (resp.status_code, alert["kind"], alert["name"]))


def recipients(alert, email, people):
    """E-mail addresses for one alert: the configured ``to`` list, plus the people concerned."""
    to = list(email.get("to") or [])
    if email.get("to_owners"):
        if alert["kind"] == "user" and alert.get("email"):
            to.append(alert["email"])
        elif alert["kind"] == "team":
            to += [people[m] for m in alert.get("members") or [] if people.get(m)]
        elif alert["kind"] == "key" and people.get((alert.get("owner") or {}).get("user")):
            to.append(people[alert["owner"]["user"]])
    seen = []
    for addr in to:
        if addr and addr not in seen:
            seen.append(addr)
    return seen


def send_email(email, alert, to):
    msg = EmailMessage()
    msg["Subject"] = "[Models as a Service] budget alert: %s %s at %.1f %%" % (alert["kind"], alert["name"], alert["percent_used"])
    msg["From"] = email.get("sender") or "redwood-maas@localhost"
    msg["To"] = ", ".join(to)
    msg.set_content(alert["text"] + "\n\n" + json.dumps(alert, indent=1, sort_keys=True) + "\n")
    smtp = smtplib.SMTP(email.get("host") or "localhost", int(email.get("port") or 25), timeout=30)
    try:
        if email.get("starttls"):
            smtp.starttls()
        if email.get("username"):
            smtp.login(email["username"], email.get("password") or "")
        smtp.send_message(msg)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class AlertError(Exception):
    """A notification could not be delivered."""
