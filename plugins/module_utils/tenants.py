# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The tenant data model (DESIGN.md section 2), flavour-agnostic: field schema and validation.

``validate_inventory()`` checks types, unknown fields, duplicate names, finite budgets, durations,
e-mails and key owners, and names the offending entry in every message (``user 'alice': max_budget
must be ...``). It does no I/O. What a flavour cannot express is asked of its ``capabilities``
(data, see ``engine.Flavour``), never by branching on the flavour's name. ``SCHEMA`` is also what
``roles/tenants/meta/argument_specs.yml`` documents (a unit test compares them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError

InputError = MaasError          # bad input is the same exception type, raised before any write

DURATION_RE = re.compile(r"^[1-9][0-9]*(s|m|h|d|mo)$")
DURATION_TEXT = "a number followed by s, m, h, d or mo (e.g. 30s, 30m, 30h, 30d, 1mo)"
STATES = ("present", "absent")
ROLES = ("admin", "admin-readonly", "user")
LIMITS = {"max_budget": "budget", "budget_duration": "duration", "tpm_limit": "count", "rpm_limit": "count"}

SCHEMA = {
    "model": dict(name="name", state=STATES, source="str", serving=("deployment", "kserve"), gpus="count",
                  max_model_len="count", vllm_args="strlist", endpoint="url", tpm_limit="count",
                  rpm_limit="count", cost={"input_per_1k": "budget", "output_per_1k": "budget"}),
    "team": dict(name="name", state=STATES, models="strlist", members="strlist", **LIMITS),
    "user": dict(name="name", state=STATES, email="str", role=ROLES, models="strlist", **LIMITS),
    "api key": dict(name="name", state=STATES, owner={"user": "str", "team": "str"}, models="strlist",
                    duration="duration", rotate="bool",
                    deliver_to={"file": "str", "secret": {"namespace": "str", "name": "str"}}, **LIMITS),
    "budget_defaults": dict(LIMITS),
}


def check_duration(where, value, words=()):
    """One duration rule for every flavour; ``words`` are extra names a flavour accepts (``daily``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not (DURATION_RE.match(value) or value in words):
        extra = " or one of %s" % ", ".join(words) if words else ""
        raise InputError("%s %r is malformed: use %s%s" % (where, value, DURATION_TEXT, extra))
    return value


def check_number(where, value, kind="budget"):
    """A finite number >= 0 (``budget``) or a non-negative integer (``count``); numeric strings are
    accepted. ``.inf``, ``.nan`` and ``1e309`` are refused: no gateway can store them."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = int(value) if kind == "count" and value.isdigit() else float(value)
        except ValueError:
            pass
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError("%s must be a non-negative integer, got %r" % (where, value))
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("%s must be a number (USD), got %r" % (where, value))
    if not math.isfinite(value):
        raise InputError("%s must be a finite number, got %r" % (where, value))
    if value < 0:
        raise InputError("%s must be >= 0, got %r" % (where, value))
    return value


def _check(label, field, kind, value, words=()):
    """Check (and normalise numeric strings of) one value; returns the value to use."""
    if value is None:
        return None
    where = "%s: %s" % (label, field)
    if isinstance(kind, tuple):
        if value not in kind:
            raise InputError("%s must be one of %s, got %r" % (where, ", ".join(kind), value))
    elif isinstance(kind, dict):
        if not isinstance(value, dict):
            raise InputError("%s must be a mapping, got %r" % (where, value))
        unknown = sorted(set(value) - set(kind))
        if unknown:
            raise InputError("%s: unknown field(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(sorted(kind))))
        return dict((k, _check(label, "%s.%s" % (field, k), kind[k], v, words)) for k, v in value.items())
    elif kind in ("str", "name", "url"):
        if not isinstance(value, str) or (kind != "str" and not value):
            raise InputError("%s must be a non-empty string, got %r" % (where, value))
        if kind == "url" and not value.startswith(("http://", "https://")):
            raise InputError("%s must be an http(s) URL, got %r" % (where, value))
    elif kind == "bool":
        if not isinstance(value, bool):
            raise InputError("%s must be true or false, got %r" % (where, value))
    elif kind == "strlist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError("%s must be a list of names, got %r" % (where, value))
    elif kind in ("budget", "count"):
        return check_number(where, value, kind)
    elif kind == "duration":
        return check_duration(where, value, words if field == "budget_duration" else ())
    return value


def check_entry(kind, item, position=None, words=()):
    """Validate one entry of ``kind``; returns a normalised copy."""
    if not isinstance(item, dict):
        raise InputError("%s entry #%s must be a mapping, got %r" % (kind, position, item))
    schema = SCHEMA[kind]
    label = "%s '%s'" % (kind, item.get("name")) if "name" in schema else kind
    if "name" in schema and not item.get("name"):
        label = "%s entry #%s" % (kind, position)
    unknown = sorted(set(item) - set(schema))
    if unknown:
        raise InputError("%s: unknown field(s) %s (allowed: %s)" % (label, ", ".join(unknown), ", ".join(sorted(schema))))
    if "name" in schema:
        if item.get("name") is None:
            raise InputError("%s: name is required" % label)
        _check(label, "name", "name", item.get("name"))
    return dict((k, _check(label, k, schema[k], v, words)) for k, v in item.items())


def check_list(kind, items, words=()):
    if not isinstance(items, list):
        raise InputError("%s list must be a list, got %r" % (kind, items))
    out = [check_entry(kind, item, n, words) for n, item in enumerate(items, 1)]
    seen = set()
    for item in out:
        if item["name"] in seen:
            raise InputError("duplicate %s name '%s'" % (kind, item["name"]))
        seen.add(item["name"])
    return out


def present(items):
    return [i for i in items if (i.get("state") or "present") == "present"]


def key_owner(item):
    owner = item.get("owner") or {}
    user, team = owner.get("user"), owner.get("team")
    if bool(user) == bool(team):
        raise InputError("api key '%s': owner must set exactly one of user or team, got %r" % (item["name"], owner))
    return user, team


def validate_inventory(models=None, teams=None, users=None, keys=None, budget_defaults=None, capabilities=None,
                       prune=False):
    """Validate the whole tenant model; returns normalised copies (models, teams, users, keys, defaults).

    ``capabilities`` (a flavour's data) adds what that gateway cannot express: no teams, no user
    deletion, no prune, keys that must name models, extra duration words."""
    caps = capabilities or {}
    words = tuple(caps.get("duration_words") or ())
    models = check_list("model", models or [], words)
    teams = check_list("team", teams or [], words)
    users = check_list("user", users or [], words)
    keys = check_list("api key", keys or [], words)
    defaults = check_entry("budget_defaults", budget_defaults or {}, words=words)
    emails = {}
    for item in present(users):
        email = (item.get("email") or "").lower()
        if email and email in emails:
            raise InputError("user '%s': email %r is also the email of user '%s' (e-mails must be unique)"
                             % (item["name"], item["email"], emails[email]))
        emails[email] = item["name"]
    for item in present(keys):
        key_owner(item)
        deliver = item.get("deliver_to") or {}
        if deliver and bool(deliver.get("file")) == bool(deliver.get("secret")):
            raise InputError("api key '%s': deliver_to must set exactly one of file or secret" % item["name"])
        secret = deliver.get("secret")
        if secret and not (secret.get("namespace") and secret.get("name")):
            raise InputError("api key '%s': deliver_to.secret needs namespace and name" % item["name"])
    why = caps.get("gateway", "this gateway")
    if prune and not caps.get("prune", True):
        raise InputError("maas_tenants_prune is not supported with %s: its objects carry no ownership marker" % why)
    if teams and not caps.get("teams", True):
        raise InputError("maas_teams lists %s, but %s has no teams API: remove the teams (or use maas_gateway=litellm)"
                         % (", ".join(t["name"] for t in teams), why))
    if not caps.get("delete_users", True):
        for item in users:
            if item.get("state") == "absent":
                raise InputError("user '%s': state absent is not possible, %s has no API to delete users"
                                 % (item["name"], why))
    if caps.get("key_models_required"):
        names = set(m["name"] for m in present(models))
        for kind, items in (("user", present(users)), ("api key", present(keys))):
            for item in items:
                if kind == "api key" and not item.get("models"):
                    raise InputError("api key '%s': models must list at least one model (an empty list means "
                                     "ALL models)" % item["name"])
                missing = sorted(set(item.get("models") or []) - names)
                if missing:
                    raise InputError("%s '%s': model(s) %s are not in maas_models" % (kind, item["name"], ", ".join(missing)))
    if not caps.get("teams", True):
        for item in present(keys):
            if key_owner(item)[1]:
                raise InputError("api key '%s': owned by a team, but %s has no teams API: give it a user owner"
                                 % (item["name"], why))
    return models, teams, users, keys, defaults


def check_endpoints(models, endpoints):
    """Every present model needs an http(s) endpoint, its own or from ``maas_model_endpoints``."""
    for item in present(models):
        endpoint = item.get("endpoint") or (endpoints or {}).get(item["name"])
        if not endpoint:
            raise InputError("model '%s': no endpoint (set endpoint, or deploy it so that maas_model_endpoints "
                             "lists it)" % item["name"])
        if not str(endpoint).startswith(("http://", "https://")):
            raise InputError("model '%s': endpoint must be an http(s) URL, got %r" % (item["name"], endpoint))
