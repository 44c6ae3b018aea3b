# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""LiteMaaS object kinds (users, API keys, models, subscriptions) on the reconcile engine, shared by the
single-object litemaas_* modules and the bulk litemaas_tenants module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.redwood.maas.plugins.module_utils import litemaas
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import Kind, execute, plan_kind, summarize
from ansible_collections.redwood.maas.plugins.module_utils.tenants import InputError, validate_inventory


# ---------------------------------------------------------------- users

BUDGET_FIELDS = (("max_budget", "maxBudget"), ("tpm_limit", "tpmLimit"), ("rpm_limit", "rpmLimit"),
                 ("budget_duration", "budgetDuration"))


class UserKind(Kind):
    kind = "user"
    fields = ("roles", "max_budget", "tpm_limit", "rpm_limit", "budget_duration")
    set_fields = ("roles",)

    def __init__(self, api):
        self.api = api

    def current(self, username, row=None):
        row = row or self.api.require_user(username)
        detail = self.api.user_detail(row["id"], username)
        cur = dict(name=username, id=row["id"], roles=detail.get("roles") or [])
        for field, api_field in BUDGET_FIELDS:
            cur[field] = detail.get(api_field)
        return cur

    def update(self, name, desired, current, changes):
        if "roles" in changes:
            self.api.write("PATCH", "/api/v1/users/%s" % current["id"], what="user %r" % name,
                           json={"roles": desired["roles"]})
        budget = dict((api_field, desired[field]) for field, api_field in BUDGET_FIELDS if field in changes)
        if budget:
            self.api.write("PATCH", "/api/v1/admin/users/%s/budget-limits" % current["id"],
                           what="user %r" % name, json=budget)


def desired_user(params):
    want = dict(name=params["username"])
    if params.get("roles") is not None:
        want["roles"] = sorted(set(params["roles"]) | {"user"})
    for field, dummy in BUDGET_FIELDS:
        want[field] = params.get(field)
    litemaas.check_duration(want["budget_duration"], "user %r" % params["username"])
    litemaas.check_non_negative(dict((f, want[f]) for f in ("max_budget", "tpm_limit", "rpm_limit")),
                                "user %r" % params["username"])
    return want


# ---------------------------------------------------------------- API keys

# inventory field -> LiteMaaS API field
KEY_FIELDS = (("models", "models"), ("max_budget", "maxBudget"), ("soft_budget", "softBudget"),
              ("budget_duration", "budgetDuration"), ("tpm_limit", "tpmLimit"), ("rpm_limit", "rpmLimit"),
              ("max_parallel_requests", "maxParallelRequests"), ("expires_at", "expiresAt"))


def _body(desired, fields):
    body = {}
    for field, api_field in KEY_FIELDS:
        if field in fields and desired.get(field) is not None:
            body["modelIds" if field == "models" else api_field] = desired[field]
    return body


class ApiKeyKind(Kind):
    kind = "api_key"
    fields = tuple(f for f, dummy in KEY_FIELDS)
    set_fields = ("models",)

    def __init__(self, api, user):
        self.api = api
        self.user = user
        self.base = "/api/v1/admin/users/%s/api-keys" % user["id"]

    def list(self):
        out = {}
        for row in self.api.keys(self.user["id"], self.user["username"]):
            if not row.get("isActive"):
                continue
            cur = dict(name=row["name"], id=row["id"])
            for field, api_field in KEY_FIELDS:
                cur[field] = row.get(api_field)
            cur["expires_at"] = litemaas.to_datetime_str(cur["expires_at"], "key %r" % row["name"])
            if cur["name"] in out:
                raise ValueError("user %r has several active API keys named %r (ids %s, %s); LiteMaaS allows "
                                 "that, this module does not: revoke the extra ones first"
                                 % (self.user["username"], row["name"], out[cur["name"]]["id"], row["id"]))
            out[cur["name"]] = cur
        return out

    def what(self, name):
        return "API key %r of user %r" % (name, self.user["username"])

    def create(self, name, desired):
        body = dict(_body(desired, self.fields), name=name)
        if desired.get("lifetime") and not desired.get("expires_at"):
            body["expiresAt"] = expiry_from(desired["lifetime"])
        return self.api.write("POST", self.base, what=self.what(name), json=body, ok=(201,))

    def update(self, name, desired, current, changes):
        # PATCH always answers 200 and its models are [] whenever a quota field is sent: the caller
        # re-reads the key instead of trusting the response.
        self.api.write("PATCH", "%s/%s" % (self.base, current["id"]), what=self.what(name),
                       json=_body(desired, changes), ok=(200,))

    def delete(self, name, current):
        self.api.write("DELETE", "%s/%s" % (self.base, current["id"]), what=self.what(name), ok=(200,))


def desired_key(params):
    what = "API key %r of user %r" % (params["name"], params["owner"])
    want = dict(name=params["name"], state=params["state"])
    for field, dummy in KEY_FIELDS:
        want[field] = params.get(field)
    if params["state"] == "present":
        if not want["models"]:
            raise ValueError("%s: models must list at least one model (an empty list means ALL models "
                             "in LiteLLM)" % what)
        want["models"] = sorted(set(want["models"]))
    litemaas.check_duration(want["budget_duration"], what)
    litemaas.check_non_negative(dict((f, want[f]) for f in ("max_budget", "soft_budget", "tpm_limit", "rpm_limit")),
                                what)
    want["expires_at"] = litemaas.to_datetime_str(want["expires_at"], what)
    duration = params.get("duration")
    if duration is not None and not re.match(r"^\d+(s|m|h|d|mo)$", duration):
        raise ValueError("%s: duration %r must be <n>s|m|h|d|mo, for example 90d" % (what, duration))
    want["lifetime"] = duration
    return want


def expiry_from(duration, now=None):
    """``now + duration`` (``90d``, ``12h``, ...) as an ISO 8601 UTC date-time."""
    if duration.endswith("mo"):     # a month is 30 days here
        delta = datetime.timedelta(days=30 * int(duration[:-2]))
    else:
        unit = dict(s="seconds", m="minutes", h="hours", d="days")[duration[-1]]
        delta = datetime.timedelta(**{unit: int(duration[:-1])})
    start = now or datetime.datetime.now(datetime.timezone.utc)
    return (start + delta).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------- models

# module field -> (field of GET /api/v1/models, field of POST/PUT /api/v1/admin/models)
MODEL_FIELDS = (
    ("endpoint", "apiBase", "api_base"),
    ("backend_model_name", "backendModelName", "backend_model_name"),
    ("input_cost_per_token", "inputCostPerToken", "input_cost_per_token"),
    ("output_cost_per_token", "outputCostPerToken", "output_cost_per_token"),
    ("tpm", "tpm", "tpm"),
    ("rpm", "rpm", "rpm"),
    ("max_tokens", "maxTokens", "max_tokens"),
    ("supports_vision", "supportsVision", "supports_vision"),
    ("supports_function_calling", "supportsFunctionCalling", "supports_function_calling"),
    ("supports_parallel_function_calling", "supportsParallelFunctionCalling", "supports_parallel_function_calling"),
    ("supports_tool_choice", "supportsToolChoice", "supports_tool_choice"),
    ("restricted_access", "restrictedAccess", "restrictedAccess"),
    ("description", "description", "description"),
)


class ModelKind(Kind):
    kind = "model"
    fields = tuple(f[0] for f in MODEL_FIELDS)

    def __init__(self, api, endpoint_api_key=None):
        self.api = api
        self.endpoint_api_key = endpoint_api_key

    def list(self):
        out = {}
        for model_id, row in self.api.models().items():
            cur = dict(name=model_id)
            for field, read_field, dummy in MODEL_FIELDS:
                cur[field] = row.get(read_field)
            out[model_id] = cur
        return out

    def _payload(self, name, desired):
        body = dict(model_name=name)
        for field, dummy, write_field in MODEL_FIELDS:
            if desired.get(field) is not None:
                body[write_field] = desired[field]
        if self.endpoint_api_key:
            body["api_key"] = self.endpoint_api_key
        return body

    def create(self, name, desired):
        return self.api.write("POST", "/api/v1/admin/models/", what="model %r" % name,
                              json=self._payload(name, desired), ok=(201,))

    def update(self, name, desired, current, changes):
        return self.api.write("PUT", "/api/v1/admin/models/%s" % name, what="model %r" % name,
                              json=self._payload(name, desired), ok=(200,))

    def delete(self, name, current):
        return self.api.write("DELETE", "/api/v1/admin/models/%s" % name, what="model %r" % name, ok=(200,))


def desired_model(params):
    want = dict(name=params["name"], state=params["state"])
    if params["state"] == "absent":
        return want
    endpoint = params.get("endpoint")
    if not endpoint or not endpoint.startswith(("http://", "https://")):
        raise ValueError("model %r: endpoint must be an http(s) URL, got %r" % (params["name"], endpoint))
    litemaas.check_non_negative(dict(input_cost_per_1k=params["input_cost_per_1k"],
                                     output_cost_per_1k=params["output_cost_per_1k"]), "model %r" % params["name"])
    for field in ("tpm", "rpm", "max_tokens"):
        if params[field] < 1:
            raise ValueError("model %r: %s must be >= 1" % (params["name"], field))
    want.update(endpoint=endpoint.rstrip("/"), backend_model_name=params.get("backend_model_name") or params["name"],
                input_cost_per_token=params["input_cost_per_1k"] / 1000.0,
                output_cost_per_token=params["output_cost_per_1k"] / 1000.0,
                description=params.get("description"))
    for field in ("tpm", "rpm", "max_tokens", "supports_vision", "supports_function_calling",
                  "supports_parallel_function_calling", "supports_tool_choice", "restricted_access"):
        want[field] = params[field]
    return want


# ---------------------------------------------------------------- subscriptions

LIVE = ("active", "pending")


def statuses(api, user, models):
    """``{model: (status, subscription id)}`` for the user's subscriptions to ``models``."""
    out = {}
    for row in api.subscriptions(user["id"], user["username"]):
        if row["modelId"] in models:
            # an active/pending subscription wins over older cancelled ones
            if row["modelId"] not in out or row["status"] in LIVE:
                out[row["modelId"]] = (row["status"], row["id"])
    return out


def decide(api, verb, ids, reason, what):
    body = {"subscriptionIds": ids, "reason": reason}
    res = api.write("POST", "/api/v1/admin/subscriptions/%s" % verb, what=what, json=body, ok=(200,)) or {}
    if res.get("failed") or res.get("successful", 0) != len(ids):
        raise ValueError("%s: %s of %d subscription(s) failed although LiteMaaS answered 200: %s"
                         % (what, verb, len(ids), res.get("errors")))


def apply_subscriptions(api, user, models, known, pending="keep", reason="managed by redwood.maas", state="present",
                        check=False):
    """Ensure ``user``'s subscriptions to ``models``; returns (out, view_before, view_after)."""
    what = "subscriptions of user %r" % user["username"]
    before = statuses(api, user, models)
    out = dict(subscribed=[], approved=[], denied=[], removed=[])
    if state == "absent":
        for model in models:
            status, sub_id = before.get(model, (None, None))
            if status in LIVE:
                out["removed"].append(model)
                if not check:
                    api.write("DELETE", "/api/v1/admin/subscriptions/%s" % sub_id, what=what,
                              json={"reason": reason}, ok=(200,))
    else:
        missing = [m for m in models if before.get(m, (None, None))[0] not in LIVE + ("denied",)]
        if missing:
            out["subscribed"] = missing
            if not check:
                api.write("POST", "/api/v1/admin/users/%s/subscriptions" % user["id"], what=what,
                          json={"modelIds": missing}, ok=(201,))
        now = statuses(api, user, models) if missing and not check else before
        if pending != "keep":
            decided = [m for m in models if now.get(m, (None, None))[0] == "pending"]
            if check:  # a new subscription to a restricted model would be pending
                decided += [m for m in missing if known.get(m, {}).get("restrictedAccess")]
            if decided:
                out["approved" if pending == "approve" else "denied"] = decided
                if not check:
                    decide(api, pending, [now[m][1] for m in decided], reason, what)
    after = before if check or not any(out.values()) else statuses(api, user, models)
    view_before = dict((m, before.get(m, ("none",))[0]) for m in models)
    view_after = dict((m, after.get(m, ("none",))[0]) for m in models)
    if check:
        for m in out["subscribed"]:
            view_after[m] = "pending" if known.get(m, {}).get("restrictedAccess") else "active"
        for key, status in (("approved", "active"), ("denied", "denied"), ("removed", "cancelled")):
            for m in out[key]:
                view_after[m] = status
    return out, view_before, view_after


def has_key(path):
    try:
        with open(path) as handle:
            return any(line.startswith("OPENAI_API_KEY=") for line in handle)
    except (IOError, OSError):
        return False


def apply_key(kind, current, want, rotate=False, path=None, base_url=None, check=False, warn=None, diff=False):
    """Reconcile one API key of ``kind``'s owner (``current``: the owner's keys by name); returns the
    module result (``key`` holds a new secret, only when one was made)."""
    plan = plan_kind(kind, [want], current)
    step = plan[0]
    action = step["action"]
    result = dict(delivered=False)
    secret = None
    if action != "delete" and rotate and step["before"] is not None:
        action = "rotate"
        step["after"] = dict(step["before"], **dict((k, v) for k, v in want.items()
                                                    if k in kind.fields and v is not None))
        if not check:
            secret = kind.create(want["name"], want)["key"]
            kind.delete(want["name"], step["before"])
    else:
        outcome = execute(kind, plan, check)
        if action == "create" and not check:
            secret = outcome[want["name"]]["key"]
    if secret is not None:
        result["key"] = secret
    if action in ("update", "create", "rotate") and not check:
        after = kind.list().get(want["name"])
        if not after or not after.get("models"):
            raise ValueError("%s: LiteMaaS reports an empty model list after the %s; refusing to leave it "
                             "(that would allow ALL models)" % (kind.what(want["name"]), action))
        step["after"] = after
    if path and want["state"] == "present":
        if secret is not None or (check and action in ("create", "rotate")):
            result["delivered"] = litemaas.write_env_file(path, secret or "(new key)", base_url, check_mode=check)
        else:
            result["delivered"] = litemaas.write_env_file(path, None, base_url, check_mode=check)
            if not result["delivered"] and not has_key(path) and warn:
                warn("%s exists but %s holds no key: the secret is only known when a key is created; "
                     "set rotate: true to issue and deliver a new one" % (kind.what(want["name"]), path))
    result.update(changed=action != "none" or result["delivered"], operation=action,
                  api_key=kind.view(step["after"]))
    if step["after"] is not None:
        result["api_key"]["id"] = step["after"].get("id")
    if diff:
        result["diff"] = summarize([(kind, plan)])[2]
        if action == "rotate":
            label = "api_key/%s" % want["name"]
            result["diff"] = {"before": {label: dict(kind.view(step["before"]), secret="(old)")},
                              "after": {label: dict(kind.view(step["after"]), secret="(rotated)")}}
    return result


# ---------------------------------------------------------------- inventory

def check_inventory(p):
    """Validate the tenant inventory for the LiteMaaS flavour (no I/O); returns (usernames, present models)."""
    models, teams, users, keys, dummy = validate_inventory(p["models"], p["teams"], p["users"], p["api_keys"],
                                                           p["budget_defaults"])
    why = "LiteMaaS 0.4.0"
    if teams:
        raise InputError("maas_teams lists %s, but %s has no teams API: remove the teams (or use maas_gateway=litellm)"
                         % (", ".join(t["name"] for t in teams), why))
    if p["prune"]:
        raise InputError("maas_tenants_prune is not supported with %s: its objects carry no ownership marker" % why)
    present = [m["name"] for m in models if (m.get("state") or "present") == "present"]
    for item in models:
        if item["name"] in present and not (item.get("endpoint") or p["model_endpoints"].get(item["name"])):
            raise InputError("model '%s': no endpoint (set endpoint, or deploy it so that maas_model_endpoints lists it)"
                             % item["name"])
    for item in users:
        if (item.get("state") or "present") == "absent":
            raise InputError("user '%s': state absent is not possible, %s has no API to delete users" % (item["name"], why))
        missing = sorted(set(item.get("models") or []) - set(present))
        if missing:
            raise InputError("user '%s': model(s) %s are not in maas_models" % (item["name"], ", ".join(missing)))
    for item in keys:
        if (item.get("state") or "present") == "absent":
            continue
        label = "api key '%s'" % item["name"]
        if not (item.get("owner") or {}).get("user"):
            raise InputError("%s: owned by a team, but %s has no teams API: give it a user owner" % (label, why))
        if not item.get("models"):
            raise InputError("%s: models must list at least one model (an empty list means ALL models)" % label)
        missing = sorted(set(item["models"]) - set(present))
        if missing:
            raise InputError("%s: model(s) %s are not in maas_models" % (label, ", ".join(missing)))
        if item.get("duration") and not re.match(r"^\d+(s|m|h|d|mo)$", item["duration"]):
            raise InputError("%s: duration %r must be <n>s|m|h|d|mo" % (label, item["duration"]))
    return sorted(u["name"] for u in users), present
