# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The tenant data model (DESIGN.md section 2), flavour-agnostic: field schema and validation.

``validate_inventory()`` checks types, unknown fields, duplicate names, budgets and durations, and
names the offending entry in every message (``user 'alice': max_budget must be ...``). It does no
I/O, so gateway modules call it before their first request. Cross-references against what exists
in the gateway are the flavour's job (see ``litellm.check_references``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

DURATION_RE = re.compile(r"^[1-9][0-9]*(s|m|h|d|mo)$")
STATES = ("present", "absent")
LIMITS = {"max_budget": "budget", "budget_duration": "duration", "tpm_limit": "count", "rpm_limit": "count"}

SCHEMA = {
    "model": dict(name="name", state=STATES, source="str", serving=("deployment", "kserve"), gpus="count",
                  max_model_len="count", vllm_args="strlist", endpoint="url", tpm_limit="count",
                  rpm_limit="count", cost={"input_per_1k": "budget", "output_per_1k": "budget"}),
    "team": dict(name="name", state=STATES, models="strlist", members="strlist", **LIMITS),
    "user": dict(name="name", state=STATES, email="str", role=("admin", "admin-readonly", "user"),
                 models="strlist", **LIMITS),
    "api key": dict(name="name", state=STATES, owner={"user": "str", "team": "str"}, models="strlist",
                    duration="duration", rotate="bool",
                    deliver_to={"file": "str", "secret": {"namespace": "str", "name": "str"}}, **LIMITS),
    "budget_defaults": dict(LIMITS),
}


class InputError(Exception):
    """Bad inventory input; raised before anything is written."""


def _check(label, field, kind, value):
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
        return dict((k, _check(label, "%s.%s" % (field, k), kind[k], v)) for k, v in value.items())
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
    elif kind == "budget":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError("%s must be a number (USD), got %r" % (where, value))
        if value < 0:
            raise InputError("%s must be >= 0, got %r" % (where, value))
    elif kind == "count":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError("%s must be a non-negative integer, got %r" % (where, value))
    elif kind == "duration":
        if not isinstance(value, str) or not DURATION_RE.match(value):
            raise InputError("%s %r is malformed: use a number followed by s, m, h, d or mo "
                             "(e.g. 30s, 30m, 30h, 30d, 1mo)" % (where, value))
    return value


def check_entry(kind, item, position=None):
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
    if "name" in schema and item.get("name") is None:
        raise InputError("%s: name is required" % label)
    if "name" in schema:
        _check(label, "name", "name", item.get("name"))
    return dict((k, _check(label, k, schema[k], v)) for k, v in item.items())


def check_list(kind, items):
    if not isinstance(items, list):
        raise InputError("%s list must be a list, got %r" % (kind, items))
    out = [check_entry(kind, item, n) for n, item in enumerate(items, 1)]
    seen = set()
    for item in out:
        if item["name"] in seen:
            raise InputError("duplicate %s name '%s'" % (kind, item["name"]))
        seen.add(item["name"])
    return out


def validate_inventory(models=None, teams=None, users=None, keys=None, budget_defaults=None):
    """Validate the whole tenant model; returns normalised copies (models, teams, users, keys, defaults)."""
    models = check_list("model", models or [])
    teams = check_list("team", teams or [])
    users = check_list("user", users or [])
    keys = check_list("api key", keys or [])
    defaults = check_entry("budget_defaults", budget_defaults or {})
    for item in keys:
        if (item.get("state") or "present") == "absent":
            continue
        owner = item.get("owner") or {}
        if bool(owner.get("user")) == bool(owner.get("team")):
            raise InputError("api key '%s': owner must set exactly one of user or team, got %r" % (item["name"], owner))
        deliver = item.get("deliver_to") or {}
        if deliver and bool(deliver.get("file")) == bool(deliver.get("secret")):
            raise InputError("api key '%s': deliver_to must set exactly one of file or secret" % item["name"])
        secret = deliver.get("secret")
        if secret and not (secret.get("namespace") and secret.get("name")):
            raise InputError("api key '%s': deliver_to.secret needs namespace and name" % item["name"])
    return models, teams, users, keys, defaults


def env_content(secret, public_url):
    base = public_url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return "OPENAI_API_KEY=%s\nOPENAI_BASE_URL=%s\n" % (secret, base)


def write_secret_file(path, content):
    """Write ``content`` to ``path`` atomically with mode 0600."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".maas-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
