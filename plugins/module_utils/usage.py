# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Usage and chargeback from LiteLLM's own spend logs, for both gateway flavours (pure logic, no I/O).

Every call LiteLLM served (or refused after authentication) is one row of its spend logs: the key's hash,
``metadata.user_api_key_alias`` (kept after the key is rotated, revoked or deleted), the LiteLLM user and team,
the public model name (``model_group``), tokens, cost and ``status`` (``success`` or ``failure``). Each call is
attributed to objects of the INVENTORY:

- its key: the alias names an inventory key (LiteLLM flavour: the alias is the key's name; LiteMaaS names its
  aliases ``<name>_<8 hex>``), and the owner LiteLLM recorded agrees with the inventory's owner of that key
  (a LiteMaaS user may give a key made in the portal the name of someone else's inventory key);
- its owner: that key's inventory owner, else the inventory user or team LiteLLM recorded (keys people made
  themselves, e.g. in the LiteMaaS portal, are counted as ``(other keys of <owner>)``);
- its model, when the inventory lists it.
Calls that belong to no inventory owner (the master key, keys of people or teams no longer in the inventory)
are counted in ONE row that says so. Each dimension adds up to the total: owner rows (users + teams) + that row,
key rows + that row, model rows (+ a row for models not in the inventory).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

LITEMAAS_ALIAS = re.compile(r"^(?P<name>.+)_[0-9a-f]{8}$")
NO_OWNER = "(not in the inventory: master key, deleted keys, unknown owners)"
OTHER_MODELS = "(models not in the inventory)"
FIGURES = ("requests", "failed_requests", "hits_last_24h", "prompt_tokens", "completion_tokens", "total_tokens",
           "cost_usd")


def parse_time(value):
    """A spend log time (``2026-12-05T10:41:13.123000`` or with ``Z``/offset) as an aware UTC datetime."""
    text = str(value).strip().replace("Z", "+00:00").replace(" ", "T", 1)
    if "." in text:   # Python < 3.11 accepts only 3 or 6 fraction digits
        head, tail = text.split(".", 1)
        digits = re.match(r"\d*", tail).group(0)
        text = head + "." + (digits + "000000")[:6] + tail[len(digits):]
    parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


class Inventory(object):
    """The inventory objects calls are attributed to, and how the gateway names them."""

    def __init__(self, flavour, users=(), teams=(), api_keys=(), models=(), gateway_users=()):
        if flavour not in ("litellm", "litemaas"):
            raise ValueError("flavour must be litellm or litemaas, got %r" % (flavour,))
        self.flavour = flavour
        self.users = set(u["name"] for u in users or ())
        self.teams = set(t["name"] for t in teams or ())
        self.models = set(m["name"] for m in models or ())
        self.key_owner = {}
        for key in api_keys or ():
            owner = key.get("owner") or {}
            self.key_owner[key["name"]] = ("team", owner["team"]) if owner.get("team") else ("user", owner.get("user"))
        # LiteMaaS: LiteLLM's user_id is the LiteMaaS user's UUID; LiteMaaS sets its user_alias to the username
        emails = dict((u.get("email"), u["name"]) for u in users or () if u.get("email"))
        self.user_names = {}
        for row in gateway_users or ():
            name = row.get("user_alias") if row.get("user_alias") in self.users else emails.get(row.get("user_email"))
            if name:
                self.user_names[row.get("user_id")] = name

    def key_name(self, alias):
        if not alias:
            return None
        if self.flavour == "litemaas":
            match = LITEMAAS_ALIAS.match(alias)
            return match.group("name") if match else None
        return alias

    def user(self, user_id):
        if not user_id:
            return None
        if self.flavour == "litemaas":
            return self.user_names.get(user_id)
        return user_id if user_id in self.users else None

    def team(self, team_id):
        if self.flavour == "litellm" and team_id in self.teams:
            return team_id
        return None

    def attribute(self, log, keys_by_hash=None):
        """``(owner, key, model)`` of a spend log row: owner ``("user"|"team", name)`` or None, the inventory key
        name (or ``(other keys of <owner>)``) or None, the inventory model name or OTHER_MODELS."""
        meta = log.get("metadata") or {}
        known = (keys_by_hash or {}).get(log.get("api_key")) or {}
        alias = meta.get("user_api_key_alias") or known.get("key_alias")
        user_id = log.get("user") or meta.get("user_api_key_user_id") or known.get("user_id")
        user = self.user(user_id)
        team = self.team(log.get("team_id") or meta.get("user_api_key_team_id") or known.get("team_id"))
        recorded = ("user", user) if user else (("team", team) if team else None)
        name = self.key_name(alias)
        owner = self.key_owner.get(name)
        # LiteLLM aliases are unique; LiteMaaS aliases are not (any user may name a key like another's)
        if owner is not None and (self.flavour == "litellm" or not user_id or recorded == owner):
            key = name
        else:
            owner, key = recorded, None
            if owner is not None:
                key = "(other keys of %s %s)" % owner
        model = log.get("model_group") or log.get("model") or ""
        if model not in self.models and "/" in model and model.split("/", 1)[1] in self.models:
            model = model.split("/", 1)[1]
        return owner, key, (model if model in self.models else OTHER_MODELS)


def _empty():
    return dict((f, 0) for f in FIGURES)


def learned_keys(logs):
    """``{key hash: {key_alias, user_id, team_id}}`` from the rows that carry the alias: a call that LiteLLM
    refused before it knew the key (401 after a rotation or revocation) carries only the hash."""
    out = {}
    for log in logs:
        meta = log.get("metadata") or {}
        if meta.get("user_api_key_alias") and log.get("api_key"):
            out[log["api_key"]] = dict(key_alias=meta["user_api_key_alias"],
                                       user_id=log.get("user") or meta.get("user_api_key_user_id"),
                                       team_id=log.get("team_id") or meta.get("user_api_key_team_id"))
    return out


def aggregate(logs, inventory, start, end, keys_by_hash=None):
    """Rows per user, team, key and model (plus the no-owner row), totals and time series, from spend logs.

    ``start``/``end``: aware datetimes; logs outside are ignored; a log appearing twice (same request_id, as
    overlapping reads may return it) counts once."""
    keys_by_hash = dict(keys_by_hash or {}, **learned_keys(logs))
    rows, totals, seen = {}, _empty(), set()
    hourly = (end - start) <= datetime.timedelta(days=2)
    series = dict(requests={}, cost_by_owner={}, cost_by_model={})
    day_ago = end - datetime.timedelta(hours=24)
    for log in logs:
        rid = log.get("request_id")
        if rid is not None:
            if rid in seen:
                continue
            seen.add(rid)
        when = parse_time(log["startTime"])
        if when < start or when > end:
            continue
        owner, key, model = inventory.attribute(log, keys_by_hash)
        ok = (log.get("status") or "success") == "success"
        prompt = int(log.get("prompt_tokens") or 0)
        completion = int(log.get("completion_tokens") or 0)
        cost = float(log.get("spend") or 0.0)
        targets = [("model", model)]
        if owner is None:
            targets.append(("none", NO_OWNER))
        else:
            targets += [owner, ("key", key)]
        for target in targets + [None]:
            figures = totals if target is None else rows.setdefault(target, _empty())
            figures["requests" if ok else "failed_requests"] += 1
            figures["hits_last_24h"] += int(when >= day_ago)
            figures["prompt_tokens"] += prompt
            figures["completion_tokens"] += completion
            figures["total_tokens"] += prompt + completion
            figures["cost_usd"] += cost
        bucket = when.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d")
        series["requests"][bucket] = series["requests"].get(bucket, 0) + 1
        who = "%s %s" % owner if owner else NO_OWNER
        for name, label in (("cost_by_owner", who), ("cost_by_model", model)):
            per = series[name].setdefault(label, {})
            per[bucket] = per.get(bucket, 0.0) + cost
    order = dict(user=0, team=1, key=2, model=3, none=4)
    out = []
    for (dimension, name), figures in sorted(rows.items(), key=lambda item: (order[item[0][0]], item[0][1])):
        out.append(dict(figures, dimension=dimension, name=name, cost_usd=round(figures["cost_usd"], 10)))
    totals["cost_usd"] = round(totals["cost_usd"], 10)
    return out, totals, series


# ------------------------------------------------------------------ reading (through the one client)

SPEND_PAGE = 1000     # /spend/logs/v2 answers at most 1000 rows a page


def _stamp(when):
    return when.strftime("%Y-%m-%d %H:%M:%S")


def read_spend_logs(client, start, end):
    """Every spend log row with ``start <= startTime <= end`` from LiteLLM's ``/spend/logs/v2``.

    LiteLLM pages with LIMIT/OFFSET ordered by startTime only, and keeps writing rows (in batches, with past
    start times) while we read: paging is not stable. So a window that holds more than one page is split in
    two (the halves share their boundary second; duplicates are dropped later by request_id) until each
    window fits in one page; only a single second holding more than a page is paged."""
    out = []
    todo = [(start.replace(microsecond=0), (end + datetime.timedelta(seconds=1)).replace(microsecond=0))]
    while todo:
        lo, hi = todo.pop()
        body = _spend_page(client, lo, hi, 1)
        total = int(body.get("total") or 0)
        if total <= SPEND_PAGE:
            out.extend(body.get("data") or [])
        elif hi - lo > datetime.timedelta(seconds=1):
            middle = (lo + (hi - lo) // 2).replace(microsecond=0)
            todo += [(lo, middle), (middle, hi)]
        else:
            out.extend(body.get("data") or [])
            for page in range(2, int(body.get("total_pages") or 1) + 1):
                out.extend(_spend_page(client, lo, hi, page).get("data") or [])
    return out


def _spend_page(client, lo, hi, page):
    return client.get("/spend/logs/v2", what="LiteLLM spend logs", params=dict(
        start_date=_stamp(lo), end_date=_stamp(hi), page=page, page_size=SPEND_PAGE, sort_by="startTime",
        sort_order="asc")) or {}


def read_paged(client, path, field, what, size_param="size", size=100, extra=None):
    rows, page = [], 1
    while True:
        body = client.get(path, what=what, params=dict(extra or {}, page=page, **{size_param: size})) or {}
        rows += [r for r in body.get(field) or [] if isinstance(r, dict)]
        if page >= int(body.get("total_pages") or 1):
            return rows
        page += 1
