# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""LiteMaaS 0.4.0 flavour: the ``Flavour`` of the LiteMaaS admin API (models, users, subscriptions,
API keys), and every LiteMaaS-specific HTTP detail (paths, field names, authentication).

Authentication (README, section LiteMaaS):
- every WRITE uses a short-lived HS256 JWT minted here from the LiteMaaS JWT secret for the
  automation admin user (an ``ltm_admin_`` key fails writes with HTTP 500 AFTER applying them);
- READS use the ``ltm_admin_`` key (option ``token``) when given, else the same JWT.
HS256 is implemented with hmac/hashlib so the module needs no JWT library on its host.

LiteMaaS makes a key's secret itself: ``ApiKeyKind.create`` hands it to the engine's ``deliver``
as soon as the create answers, before any other request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import hmac
import json
import re
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError
from ansible_collections.redwood.maas.plugins.module_utils.litellm import check_api_key_refs
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import Flavour, Kind
from ansible_collections.redwood.maas.plugins.module_utils.tenants import present

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_PAGES = 1000
LIVE = ("active", "pending")
# inventory role -> LiteMaaS role id (0.4.0's RBAC: admin, admin-readonly, user; "adminReadonly" in its texts is
# no role: a user given it has no read-only admin rights)
ROLES = {"admin": "admin", "admin-readonly": "admin-readonly", "user": "user"}
DURATION_WORDS = ("daily", "weekly", "monthly", "yearly")
# budget_duration as the portal shows it: its forms know only these words (any other value shows as "None (no
# auto-reset)"); LiteLLM 1.106.2 resets a 30d budget and a monthly one alike, on the 1st of the next month (measured)
PORTAL_DURATIONS = {"1d": "daily", "24h": "daily", "7d": "weekly", "30d": "monthly"}


def portal_duration(value):
    return PORTAL_DURATIONS.get(value, value)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_jwt(secret, user, roles=("admin", "user"), ttl=300, now=None):
    """An HS256 JWT ``{userId, username, email, roles, iat, exp}`` as LiteMaaS 0.4.0 expects."""
    now = int(now if now is not None else time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"userId": user["id"], "username": user["username"], "email": user["email"],
               "roles": list(roles), "iat": now, "exp": now + int(ttl)}
    signing_input = "%s.%s" % (_b64(json.dumps(header, separators=(",", ":")).encode()),
                               _b64(json.dumps(payload, separators=(",", ":")).encode()))
    sig = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return "%s.%s" % (signing_input, _b64(sig))


# LiteMaaS 0.4.0 lists dates as JavaScript's Date.toString(): "Tue Mar 02 2027 03:33:47 GMT+0000 (Coordinated
# Universal Time)"; other answers (and the inventory) use ISO 8601.
JS_DATE = re.compile(r"^[A-Z][a-z]{2} (?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}) (?P<year>\d{4}) "
                     r"(?P<time>\d{2}:\d{2}:\d{2}) GMT(?P<offset>[+-]\d{4})")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_datetime_str(value, what):
    """Normalise an ISO 8601 date or date-time, or a JavaScript Date.toString() (as LiteMaaS lists dates), to
    ``YYYY-MM-DDTHH:MM:SS+00:00`` (UTC)."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace("Z", "+00:00")
    js = JS_DATE.match(text)
    try:
        if js and js.group("month") in MONTHS:
            text = "%s-%02d-%02dT%s%s:%s" % (js.group("year"), MONTHS.index(js.group("month")) + 1,
                                             int(js.group("day")), js.group("time"), js.group("offset")[:3],
                                             js.group("offset")[3:])
            parsed = datetime.datetime.fromisoformat(text)
        elif len(text) == 10:
            parsed = datetime.datetime.strptime(text, "%Y-%m-%d")
        else:
            parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise MaasError("%s: %r is neither an ISO 8601 date or date-time nor a date as LiteMaaS lists it"
                        % (what, value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat()


def expiry_from(duration, now=None):
    """``now + duration`` (``90d``, ``12h``, ...) as an ISO 8601 UTC date-time (a month is 30 days)."""
    if duration.endswith("mo"):
        delta = datetime.timedelta(days=30 * int(duration[:-2]))
    else:
        unit = dict(s="seconds", m="minutes", h="hours", d="days")[duration[-1]]
        delta = datetime.timedelta(**{unit: int(duration[:-1])})
    start = now or datetime.datetime.now(datetime.timezone.utc)
    return (start + delta).replace(microsecond=0).isoformat()


def pending_user(username):
    return MaasError("user %r has not logged in to LiteMaaS yet (pending): applied on a later run" % username,
                     pending=True)


class Api(object):
    """The LiteMaaS admin API: reads with the admin key (or JWT), writes with a minted JWT."""

    def __init__(self, client, jwt_secret=None, automation_user=None, jwt_ttl=300, read_key=None):
        self.client = client
        self._read_key = read_key
        self._secret = jwt_secret
        self._user = automation_user
        self._ttl = jwt_ttl or 300
        self._jwt = None
        self._jwt_renew_at = 0
        client.secrets.extend(s for s in (jwt_secret, read_key) if s)
        if not read_key and not jwt_secret:
            raise MaasError("LiteMaaS: set jwt_secret and automation_user (writes and reads), "
                            "or token (an ltm_admin_ key, reads only)")
        if jwt_secret and not automation_user:
            raise MaasError("LiteMaaS: jwt_secret is set but automation_user (id, username, email) is not")
        if automation_user and not UUID_RE.match(automation_user["id"]):
            raise MaasError("LiteMaaS: automation_user.id must be the user's UUID, got %r" % automation_user["id"])

    def _write_token(self):
        if not self._secret:
            raise MaasError("LiteMaaS: this change needs jwt_secret and automation_user; an ltm_admin_ key "
                            "(token) is only used for reads because LiteMaaS 0.4.0 fails admin writes "
                            "made with it after applying them")
        # A run can outlast one token (100 requests a minute: 400 keys take > 10 min): a new one is minted
        # at half its life, so a request that waits out a 429 (up to 60 s) still carries a valid one.
        now = time.time()
        if self._jwt is None or now >= self._jwt_renew_at:
            self._jwt = mint_jwt(self._secret, self._user, ttl=self._ttl, now=now)
            self._jwt_renew_at = now + self._ttl / 2.0
            self.client.secrets.append(self._jwt)
        return self._jwt

    def read(self, path, what=None, params=None, json=None, ok=(200,)):
        token = self._read_key or self._write_token()
        method = "POST" if json is not None else "GET"
        return self.client.request(method, path, what=what, params=params, json=json, ok=ok, safe=True, token=token)

    def write(self, method, path, what=None, json=None, params=None, ok=(200, 201)):
        return self.client.request(method, path, what=what, json=json, params=params, ok=ok,
                                   token=self._write_token())

    def paged(self, path, what, params=None, limit=100):
        items, page = [], 1
        while page <= MAX_PAGES:
            body = self.read(path, what=what, params=dict(params or {}, page=page, limit=limit)) or {}
            items.extend(body.get("data") or [])
            if page >= int((body.get("pagination") or {}).get("totalPages") or 1):
                break
            page += 1
        return items

    def users(self):
        return dict((row["username"], row) for row in self.paged("/api/v1/users/", "users"))

    def find_user(self, username):
        """The user row for an exact username, or None (the user has not logged in yet)."""
        for row in self.paged("/api/v1/users/", "user %r" % username, params={"search": username}):
            if row.get("username") == username:
                return row
        return None

    def require_user(self, username):
        row = self.find_user(username)
        if row is None:
            raise pending_user(username)
        return row

    def models(self):
        """``{model id: model}`` of every model LiteMaaS knows (id = model_name)."""
        return dict((row.get("id") or row.get("name"), row) for row in self.paged("/api/v1/models/", "models",
                                                                                  limit=1000))


# ---------------------------------------------------------------- kinds

class LiteMaaSKind(Kind):
    marked = False        # LiteMaaS objects carry no ownership marker: a listed name is managed

    def __init__(self, api):
        self.api = api


# inventory/module field -> (field of GET /api/v1/models, field of POST/PUT /api/v1/admin/models)
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
# restricted_access is not among them: the inventory does not manage it (an admin may restrict a model in the portal;
# sending false would undo that, and 0.4.0 then auto-approves every pending subscription to it)
MODEL_DEFAULTS = dict(tpm=1000000, rpm=10000, max_tokens=4096, supports_vision=False, supports_function_calling=False,
                      supports_parallel_function_calling=False, supports_tool_choice=False)
# LiteLLM's OpenAI provider refuses to call an upstream without an api_key ("Missing credentials"): an endpoint
# that needs none (vLLM without --api-key) gets this placeholder. LiteMaaS stores a model's api_key (encrypted)
# and registers it in LiteLLM as it is, so a reference os.environ/NAME is resolved by LiteLLM from its environment.
NO_UPSTREAM_KEY = "none"


class ModelKind(LiteMaaSKind):
    kind = "model"
    fields = tuple(f[0] for f in MODEL_FIELDS)

    def list(self):
        out = {}
        for model_id, row in self.api.models().items():
            out[model_id] = dict(name=model_id, **dict((f, row.get(r)) for f, r, dummy in MODEL_FIELDS))
        return out

    @staticmethod
    def _payload(name, desired):
        """The POST/PUT body. The upstream key goes with every create and update: LiteMaaS never shows it, so
        it cannot be compared (a changed key or reference is sent with the model's next change)."""
        body = dict(model_name=name, api_key=desired.get("api_key") or NO_UPSTREAM_KEY)
        for field, dummy, write_field in MODEL_FIELDS:
            if desired.get(field) is not None:
                body[write_field] = desired[field]
        return body

    def create(self, name, desired, deliver=None):
        # POST is not idempotent in LiteMaaS (each call adds a deployment): never repeated blindly; after a
        # failure the model is read back by name
        try:
            self.api.write("POST", "/api/v1/admin/models/", what="model %r" % name,
                           json=self._payload(name, desired), ok=(201,))
        except MaasError as exc:
            if exc.status is not None and exc.status < 500 or self.get(name) is None:
                raise

    def update(self, name, desired, current, changes, mark=False):
        self.api.write("PUT", "/api/v1/admin/models/%s" % name, what="model %r" % name,
                       json=self._payload(name, desired), ok=(200,))

    def delete(self, name, current):
        self.api.write("DELETE", "/api/v1/admin/models/%s" % name, what="model %r" % name, ok=(200,))


def desired_model(item, endpoints=None, api_keys=None):
    """A model in LiteMaaS units from an inventory entry or the litemaas_model options (``api_key``: a key or a
    reference os.environ/NAME; else ``api_keys``: ``{model: os.environ/NAME}``)."""
    want = dict(name=item["name"], state=item.get("state") or "present")
    if want["state"] == "absent":
        return want
    cost = item.get("cost") or {}
    endpoint = item.get("endpoint") or (endpoints or {}).get(item["name"])
    want.update(dict((f, item.get(f) if item.get(f) is not None else d) for f, d in MODEL_DEFAULTS.items()))
    want.update(endpoint=endpoint.rstrip("/"), backend_model_name=item.get("backend_model_name") or item["name"],
                input_cost_per_token=float(cost.get("input_per_1k") or 0) / 1000.0,
                output_cost_per_token=float(cost.get("output_per_1k") or 0) / 1000.0,
                description=item.get("description"), restricted_access=item.get("restricted_access"),
                api_key=item.get("api_key") or (api_keys or {}).get(item["name"]))
    for inv_field, field in (("tpm_limit", "tpm"), ("rpm_limit", "rpm"), ("max_model_len", "max_tokens")):
        if item.get(inv_field) is not None:
            want[field] = item[inv_field]
    for field in ("tpm", "rpm", "max_tokens"):
        if want[field] < 1:
            raise MaasError("model %r: %s must be >= 1" % (item["name"], field))
    return want


BUDGET_FIELDS = (("max_budget", "maxBudget"), ("tpm_limit", "tpmLimit"), ("rpm_limit", "rpmLimit"),
                 ("budget_duration", "budgetDuration"))


class UserKind(LiteMaaSKind):
    """Roles and budget limits of users who exist (LiteMaaS has no API to create or delete users)."""
    kind = "user"
    fields = ("roles",) + tuple(f for f, dummy in BUDGET_FIELDS)
    set_fields = ("roles",)

    def current(self, row, budgets=True):
        """A user's roles (from the user list row) and, if ``budgets``, its budget limits (one more read: only
        the user detail has them)."""
        cur = dict(name=row["username"], id=row["id"], roles=row.get("roles") or [])
        if budgets:
            detail = self.api.read("/api/v1/admin/users/%s" % row["id"], what="user %r" % row["username"])
            cur.update(dict((f, detail.get(a)) for f, a in BUDGET_FIELDS), roles=detail.get("roles") or [])
        return cur

    def update(self, name, desired, current, changes, mark=False):
        if "roles" in changes:
            self.api.write("PATCH", "/api/v1/users/%s" % current["id"], what="user %r" % name,
                           json={"roles": desired["roles"]})
        budget = dict((a, desired[f]) for f, a in BUDGET_FIELDS if f in changes)
        if budget:
            self.api.write("PATCH", "/api/v1/admin/users/%s/budget-limits" % current["id"],
                           what="user %r" % name, json=budget)


def desired_user(item, defaults=None):
    """Roles are managed only when set (LiteMaaS merges group roles back at each login); ``user`` always kept."""
    want = dict(name=item["name"])
    roles = item.get("roles") or ([item["role"]] if item.get("role") else None)
    if roles is not None:
        want["roles"] = sorted(set(ROLES[r] for r in roles) | {"user"})
    for field, dummy in BUDGET_FIELDS:
        want[field] = item.get(field) if item.get(field) is not None else (defaults or {}).get(field)
    want["budget_duration"] = portal_duration(want["budget_duration"])
    return want


class SubscriptionKind(LiteMaaSKind):
    """A user's subscriptions to some models: ``{model: status}``; approve/deny decide pending ones."""
    kind = "subscription"
    fields = ("subscriptions",)

    def __init__(self, api, reason="managed by redwood.maas"):
        super(SubscriptionKind, self).__init__(api)
        self.reason = reason

    def statuses(self, user):
        """``{model: (status, subscription id)}``; an active/pending subscription wins over cancelled ones."""
        out = {}
        for row in self.api.paged("/api/v1/admin/users/%s/subscriptions" % user["id"],
                                  "subscriptions of user %r" % user["username"]):
            if row["modelId"] not in out or row["status"] in LIVE:
                out[row["modelId"]] = (row["status"], row["id"])
        return out

    def current(self, user, found=None):
        found = self.statuses(user) if found is None else found
        return dict(name=user["username"], user=user, ids=dict((m, s[1]) for m, s in found.items()),
                    subscriptions=dict((m, s[0]) for m, s in found.items()))

    def all_statuses(self, models):
        """``{user id: {model: (status, subscription id)}}`` for ``models``, every user at once (the admin
        subscription list, 100 a page, instead of one read per user)."""
        out = {}
        for row in self.api.paged("/api/v1/admin/subscriptions/", "subscriptions", params={"modelIds": models}):
            per = out.setdefault(row["userId"], {})
            if row["modelId"] not in per or row["status"] in LIVE:
                per[row["modelId"]] = (row["status"], row["id"])
        return out

    def view(self, obj):
        return None if obj is None else dict(obj.get("subscriptions") or {})

    def update(self, name, desired, current, changes, mark=False):
        what = "subscriptions of user %r" % name
        want = changes_of(desired, current)
        activate = sorted(m for m, (old, target) in want.items() if target == "active" and old != "pending")
        if activate:        # creates them, or reactivates cancelled/denied ones
            self.api.write("POST", "/api/v1/admin/users/%s/subscriptions" % current["user"]["id"], what=what,
                           json={"modelIds": activate}, ok=(201,))
        for verb, target in (("approve", "active"), ("deny", "denied")):
            ids = [current["ids"][m] for m, (old, t) in sorted(want.items()) if t == target and old == "pending"]
            if ids:
                res = self.api.write("POST", "/api/v1/admin/subscriptions/%s" % verb, what=what, ok=(200,),
                                     json={"subscriptionIds": ids, "reason": self.reason}) or {}
                if res.get("failed") or res.get("successful", 0) != len(ids):
                    raise MaasError("%s: %s of %d subscription(s) failed although LiteMaaS answered 200: %s"
                                    % (what, verb, len(ids), res.get("errors")))
        for model, (old, target) in sorted(want.items()):
            if target == "none" and old in LIVE:      # deleted for good; its model leaves the user's keys
                self.api.write("DELETE", "/api/v1/admin/subscriptions/%s" % current["ids"][model], what=what,
                               json={"reason": self.reason}, ok=(200,))


def changes_of(desired, current):
    """``{model: (current status, target status)}`` for the models whose status must change."""
    have = current.get("subscriptions") or {}
    return dict((m, (have.get(m, "none"), t)) for m, t in desired["subscriptions"].items() if have.get(m, "none") != t)


def subscription_targets(models, current, pending="keep", state="present"):
    """The status each model should have, as LiteMaaS 0.4.0 does it. ``absent`` deletes live ones (``none``: the
    admin API deletes a subscription for good). Otherwise
    a subscription the admin API makes is ACTIVE at once, restricted model or not (it bypasses approval), and
    a pending one (asked for in the portal, or moved there when its model was made restricted) is approved,
    denied or kept (``pending``: litemaas_subscription). ``activate`` (the bulk module: the inventory wins)
    makes every listed one active, pending, denied or cancelled, as LiteMaaS itself does to the subscriptions
    a key needs when an admin creates the key or changes its models."""
    have = current.get("subscriptions") or {}
    out = {}
    for m in models:
        status = have.get(m, "none")
        if state == "absent":
            if status != "none":            # (no subscription: nothing to compare, nothing to do)
                out[m] = "none" if status in LIVE else status
        elif status == "pending":
            out[m] = dict(approve="active", activate="active", deny="denied").get(pending, status)
        elif status == "denied" and pending != "activate":
            out[m] = status
        else:
            out[m] = "active"
    return dict(name=current["name"], subscriptions=out)


def subscribed_models(inv):
    """``{username: models}`` the bulk module subscribes: a listed user's ``models`` and the models of the user's
    present keys (LiteMaaS makes those subscriptions active anyway when it creates a key or changes its models)."""
    out = {}
    for user in present(inv["users"]):
        out.setdefault(user["name"], set()).update(user.get("models") or [])
    for key in present(inv["api_keys"]):
        owner = (key.get("owner") or {}).get("user")
        if owner:
            out.setdefault(owner, set()).update(key.get("models") or [])
    return out


# inventory/module field -> LiteMaaS API field
KEY_FIELDS = (("models", "models"), ("max_budget", "maxBudget"), ("soft_budget", "softBudget"),
              ("budget_duration", "budgetDuration"), ("tpm_limit", "tpmLimit"), ("rpm_limit", "rpmLimit"),
              ("max_parallel_requests", "maxParallelRequests"), ("expires_at", "expiresAt"))


def _key_body(desired, fields):
    body = {}
    for field, api_field in KEY_FIELDS:
        if field in fields and desired.get(field) is not None:
            body["modelIds" if field == "models" else api_field] = desired[field]
    return body


class ApiKeyKind(LiteMaaSKind):
    """API keys of users, by name (unique per owner here, although LiteMaaS allows duplicates)."""
    kind = "api_key"
    fields = tuple(f for f, dummy in KEY_FIELDS)
    set_fields = ("models",)
    owner_fields = ("owner",)
    secret = "gateway"

    def __init__(self, api, owners=None):
        super(ApiKeyKind, self).__init__(api)
        self.owners = owners or {}          # {username: user row}

    @staticmethod
    def what(name, owner):
        return "API key %r of user %r" % (name, owner)

    def keys_of(self, user):
        out = {}
        for row in self.api.paged("/api/v1/admin/users/%s/api-keys" % user["id"], "API keys of user %r"
                                  % user["username"]):
            if not row.get("isActive"):
                continue
            cur = dict(name=row["name"], id=row["id"], owner=user["username"])
            cur.update(dict((f, row.get(a)) for f, a in KEY_FIELDS))
            cur["expires_at"] = to_datetime_str(cur["expires_at"], self.what(row["name"], user["username"]))
            if cur["name"] in out:
                raise MaasError("user %r has several active API keys named %r (ids %s, %s); LiteMaaS allows that, "
                                "this module does not: revoke the extra ones first"
                                % (user["username"], row["name"], out[cur["name"]]["id"], row["id"]))
            out[cur["name"]] = cur
        return out

    def list(self):
        out = {}
        for username in sorted(self.owners):
            out.update(self.keys_of(self.owners[username]))
        return out

    def _reread(self, name, owner, action):
        after = self.keys_of(self.owners[owner]).get(name)
        if not after or not after.get("models"):
            raise MaasError("%s: LiteMaaS reports an empty model list after the %s; refusing to leave it (that "
                            "would allow ALL models)" % (self.what(name, owner), action))
        return after

    def create(self, name, desired, deliver=None, reread=True):
        owner = desired["owner"]
        body = dict(_key_body(desired, self.fields), name=name)
        if desired.get("lifetime") and not desired.get("expires_at"):
            body["expiresAt"] = expiry_from(desired["lifetime"])
        res = self.api.write("POST", "/api/v1/admin/users/%s/api-keys" % self.owners[owner]["id"],
                             what=self.what(name, owner), json=body, ok=(201,)) or {}
        if res.get("key"):
            self.api.client.secrets.append(res["key"])
        deliver(res.get("key"))              # before any other request: the secret exists only in this answer
        if reread:
            self._reread(name, owner, "create")
        return res

    def update(self, name, desired, current, changes, mark=False):
        # PATCH always answers 200 and its models are [] whenever a quota field is sent: re-read the key
        owner = current["owner"]
        self.api.write("PATCH", "/api/v1/admin/users/%s/api-keys/%s" % (self.owners[owner]["id"], current["id"]),
                       what=self.what(name, owner), json=_key_body(desired, changes), ok=(200,))
        self._reread(name, owner, "update")

    def delete(self, name, current):
        owner = current["owner"]
        self.api.write("DELETE", "/api/v1/admin/users/%s/api-keys/%s" % (self.owners[owner]["id"], current["id"]),
                       what=self.what(name, owner), ok=(200,))

    def rotate(self, name, desired, current, deliver):
        """A new key with the same name and settings (its secret delivered at once), then the old one revoked."""
        self.create(name, dict(desired, owner=current["owner"]), deliver, reread=False)
        self.delete(name, current)
        self._reread(name, current["owner"], "rotation")


def desired_key(item):
    """A key in LiteMaaS units from an inventory entry or the litemaas_api_key options."""
    owner = item["owner"]["user"] if isinstance(item.get("owner"), dict) else item.get("owner")
    what = ApiKeyKind.what(item["name"], owner)
    want = dict(name=item["name"], state=item.get("state") or "present", owner=owner,
                rotate=bool(item.get("rotate")), lifetime=item.get("duration"))
    want.update(dict((f, item.get(f)) for f, dummy in KEY_FIELDS))
    want["budget_duration"] = portal_duration(want["budget_duration"])
    if want["state"] == "present":
        if not want["models"]:
            raise MaasError("%s: models must list at least one model (an empty list means ALL models in LiteLLM)"
                            % what)
        want["models"] = sorted(set(want["models"]))
    want["expires_at"] = to_datetime_str(want["expires_at"], what)
    return want


# ---------------------------------------------------------------- the flavour

class LiteMaaS(Flavour):
    name = "litemaas"
    capabilities = dict(gateway="LiteMaaS 0.4.0", teams=False, prune=False, delete_users=False,
                        key_models_required=True, duration_words=DURATION_WORDS, roles=ROLES, pending_users=True,
                        public_url=True)
    order = ("model", "user", "subscription", "api_key")
    connection = dict(     # doc fragment redwood.maas.litemaas
        jwt_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["MAAS_LITEMAAS_JWT_SECRET"])),
        automation_user=dict(type="dict", options=dict(id=dict(type="str", required=True),
                                                       username=dict(type="str", required=True),
                                                       email=dict(type="str", required=True))),
        jwt_ttl=dict(type="int", default=300),
    )

    @classmethod
    def from_params(cls, client, params, **kwargs):
        return cls(client, params.get("jwt_secret"), params.get("automation_user"), params.get("jwt_ttl"),
                   api_key_refs=params.get("model_api_key_refs"), **kwargs)

    def __init__(self, client, jwt_secret=None, automation_user=None, jwt_ttl=300, api_key_refs=None):
        """``api_key_refs``: ``{model name: os.environ/NAME}`` (litemaas_tenants' ``model_api_key_refs``), the key
        LiteLLM sends to each model server; LiteMaaS registers the reference in LiteLLM as it is."""
        super(LiteMaaS, self).__init__(client)
        self.api_key_refs = api_key_refs or {}
        self.api = Api(client, jwt_secret, automation_user, jwt_ttl, read_key=client.secrets[0] if client.secrets
                       else None)
        self.kinds = dict(model=ModelKind(self.api), user=UserKind(self.api),
                          subscription=SubscriptionKind(self.api), api_key=ApiKeyKind(self.api))
        self.pending = []
        self.subscriptions = {}

    def validate(self, inv):
        check_api_key_refs(self.api_key_refs)

    def read(self, inv):
        models = self.kinds["model"].list()
        rows = self.api.users()
        wanted = list(inv["users"])
        owners = sorted(set(k["owner"]["user"] for k in present(inv["api_keys"]) if (k.get("owner") or {}).get("user")))
        self.pending = sorted(set(u["name"] for u in wanted if u["name"] not in rows) |
                              set(o for o in owners if o not in rows))
        self.kinds["api_key"].owners = dict((o, rows[o]) for o in owners if o in rows)
        listed = [u for u in wanted if u["name"] in rows]
        self.subscriptions = dict((n, ms) for n, ms in subscribed_models(inv).items() if n in rows and ms)
        subs = self.kinds["subscription"].all_statuses(sorted(set().union(*self.subscriptions.values()))) \
            if self.subscriptions else {}

        def budgets(item):      # the user detail (one read each) only for users whose budgets are managed
            want = desired_user(item, inv["budget_defaults"])
            return any(want.get(f) is not None for f, dummy in BUDGET_FIELDS)

        return dict(model=models,
                    user=dict((u["name"], self.kinds["user"].current(rows[u["name"]], budgets(u))) for u in listed),
                    subscription=dict((n, self.kinds["subscription"].current(
                        rows[n], dict((m, s) for m, s in subs.get(rows[n]["id"], {}).items() if m in ms)))
                        for n, ms in self.subscriptions.items()),
                    api_key=self.kinds["api_key"].list())

    def desired(self, inv, current):
        return dict(
            model=[desired_model(m, inv["endpoints"], self.api_key_refs) for m in inv["models"]],
            user=[desired_user(u, inv["budget_defaults"]) for u in inv["users"] if u["name"] not in self.pending],
            subscription=[subscription_targets(sorted(ms), current["subscription"][n], "activate")
                          for n, ms in sorted(self.subscriptions.items())],
            api_key=[desired_key(k) for k in inv["api_keys"]
                     if (k.get("owner") or {}).get("user") not in self.pending])

    def extra(self):
        return dict(pending_users=self.pending, pending=bool(self.pending))

    def check_models(self, names, check_mode, warn, what):
        """Single-object modules: the models must exist (check mode only warns: an earlier task may create them)."""
        known = self.api.models()
        unknown = [m for m in names if m not in known]
        if unknown and check_mode:
            warn("%s: model(s) %s do not exist yet (check mode: an earlier task may create them)"
                 % (what, ", ".join(unknown)))
        elif unknown:
            raise MaasError("%s: unknown model(s) %s (known: %s)" % (what, ", ".join(unknown), ", ".join(sorted(known))))
        return known
