# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""LiteMaaS 0.4.0 admin API helpers shared by the litemaas_* modules.

Built on the one client (client.GatewayClient) and the one engine (reconcile.same/compare).

Authentication (see README, section LiteMaaS):
- every WRITE uses a short-lived HS256 JWT minted here from the LiteMaaS JWT secret for the
  automation admin user (an ``ltm_admin_`` key fails writes with HTTP 500 AFTER applying them);
- READS use the ``ltm_admin_`` key (option ``token``) when given, else the same JWT.
HS256 is implemented with hmac/hashlib so the module needs no JWT library on its host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import json
import os
import re
import time

from ansible_collections.redwood.maas.plugins.module_utils.client import (
    GATEWAY_ARGUMENT_SPEC, GatewayClient, GatewayError, gateway_params)
from ansible_collections.redwood.maas.plugins.module_utils.tenants import write_secret_file

# Connection options of every litemaas_* module (doc fragments gateway + litemaas).
LITEMAAS_ARGUMENT_SPEC = dict(GATEWAY_ARGUMENT_SPEC)
LITEMAAS_ARGUMENT_SPEC.update(
    jwt_secret=dict(type="str", no_log=True),
    automation_user=dict(type="dict", options=dict(
        id=dict(type="str", required=True),
        username=dict(type="str", required=True),
        email=dict(type="str", required=True),
    )),
    jwt_ttl=dict(type="int", default=300),
)

ROLES = ("admin", "adminReadonly", "user")
DURATION_RE = re.compile(r"^(daily|weekly|monthly|yearly|\d+[smhd]|\d+mo)$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_PAGES = 1000


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


def check_duration(value, what):
    if value is not None and not DURATION_RE.match(str(value)):
        raise ValueError("%s: budget duration %r is not daily|weekly|monthly|yearly or <n>s|m|h|d|mo"
                         % (what, value))


def check_non_negative(values, what):
    for field, value in values.items():
        if value is not None and value < 0:
            raise ValueError("%s: %s must be >= 0, got %r" % (what, field, value))


def drop_none(d):
    return dict((k, v) for k, v in d.items() if v is not None)


class LiteMaaS(object):
    """The LiteMaaS admin API: reads with the admin key (or JWT), writes with a minted JWT."""

    def __init__(self, params, client=None):
        conn = gateway_params(params)
        self._read_key = conn.pop("token")
        self._secret = params.get("jwt_secret") or os.environ.get("MAAS_LITEMAAS_JWT_SECRET")
        self._user = params.get("automation_user")
        self._ttl = params.get("jwt_ttl") or 300
        self._jwt = None
        self.client = client or GatewayClient(**conn)
        if not self._read_key and not self._secret:
            raise GatewayError("LiteMaaS: set jwt_secret and automation_user (writes and reads), "
                               "or token (an ltm_admin_ key, reads only)")
        if self._secret and not self._user:
            raise GatewayError("LiteMaaS: jwt_secret is set but automation_user (id, username, email) is not")
        if self._user and not UUID_RE.match(self._user["id"]):
            raise GatewayError("LiteMaaS: automation_user.id must be the user's UUID, got %r" % self._user["id"])

    def scrub(self, text):
        """``text`` without the minted JWT, the JWT secret or the admin key."""
        for secret in (self._jwt, self._secret, self._read_key):
            if secret:
                text = text.replace(secret, "********")
        return text

    def _write_token(self):
        if not self._secret:
            raise GatewayError("LiteMaaS: this change needs jwt_secret and automation_user; an ltm_admin_ key "
                               "(token) is only used for reads because LiteMaaS 0.4.0 fails admin writes "
                               "made with it after applying them")
        if self._jwt is None:
            self._jwt = mint_jwt(self._secret, self._user, ttl=self._ttl)
        return self._jwt

    def read(self, path, what=None, params=None, json=None, ok=(200,)):
        token = self._read_key or self._write_token()
        method = "POST" if json is not None else "GET"
        return self.client.request(method, path, what=what, params=params, json=json, ok=ok,
                                   idempotent=True, token=token)

    def write(self, method, path, what=None, json=None, params=None, ok=(200, 201)):
        return self.client.request(method, path, what=what, json=json, params=params, ok=ok,
                                   token=self._write_token())

    def paged(self, path, what, params=None, limit=100):
        items = []
        page = 1
        while page <= MAX_PAGES:
            query = dict(params or {}, page=page, limit=limit)
            body = self.read(path, what=what, params=query) or {}
            items.extend(body.get("data") or [])
            pag = body.get("pagination") or {}
            if page >= int(pag.get("totalPages") or 1):
                break
            page += 1
        return items

    # -- users -------------------------------------------------------------------------
    def find_user(self, username):
        """The user row for an exact username, or None (the user has not logged in yet)."""
        for row in self.paged("/api/v1/users/", "user %r" % username, params={"search": username}):
            if row.get("username") == username:
                return row
        return None

    def user_detail(self, user_id, username):
        return self.read("/api/v1/admin/users/%s" % user_id, what="user %r" % username)

    def require_user(self, username):
        user = self.find_user(username)
        if user is None:
            raise PendingUser(username)
        return user

    # -- models ------------------------------------------------------------------------
    def models(self):
        """``{model id: model}`` of every model LiteMaaS knows (id = model_name)."""
        out = {}
        for row in self.paged("/api/v1/models/", "models", limit=1000):
            out[row.get("id") or row.get("name")] = row
        return out

    # -- API keys ----------------------------------------------------------------------
    def keys(self, user_id, username):
        return self.paged("/api/v1/admin/users/%s/api-keys" % user_id, "API keys of user %r" % username)

    def subscriptions(self, user_id, username):
        return self.paged("/api/v1/admin/users/%s/subscriptions" % user_id,
                          "subscriptions of user %r" % username)


class PendingUser(Exception):
    """The user has not logged in to LiteMaaS yet, so no user row exists (not an error)."""

    def __init__(self, username):
        super(PendingUser, self).__init__(
            "user %r has not logged in to LiteMaaS yet (pending): applied on a later run" % username)
        self.username = username


def run(module, body):
    """Run ``body(api)`` for a module: turns errors into fail_json, never leaking secrets."""
    try:
        api = LiteMaaS(module.params)
    except GatewayError as exc:
        module.fail_json(msg=str(exc))
    try:
        result = body(api)
    except PendingUser as exc:
        result = dict(changed=False, pending=True, msg=str(exc))
    except (GatewayError, ValueError) as exc:
        module.fail_json(msg=api.scrub(str(exc)), status=getattr(exc, "status", None))
    finally:
        api.client.close()
    result.setdefault("pending", False)
    result["requests"] = api.client.requests
    module.exit_json(**result)


def to_datetime_str(value, what):
    """Normalise an ISO 8601 date or date-time to ``YYYY-MM-DDTHH:MM:SS+00:00`` (UTC)."""
    if value in (None, ""):
        return None
    import datetime
    text = str(value).strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            parsed = datetime.datetime.strptime(text, "%Y-%m-%d")
        else:
            parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("%s: %r is not an ISO 8601 date or date-time" % (what, value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat()


def write_env_file(path, key, base_url, check_mode=False):
    """Deliver a key as ``OPENAI_API_KEY=`` / ``OPENAI_BASE_URL=`` lines, mode 0600.

    ``key=None`` keeps the key already in the file (only the base URL may change). Returns
    whether the file changed (or would change in check mode)."""
    current = {}
    if os.path.exists(path):
        with open(path) as handle:
            for line in handle:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    current[k] = v
    if key is None:
        key = current.get("OPENAI_API_KEY")
        if key is None:
            return False
    lines = ["OPENAI_API_KEY=%s" % key]
    if base_url:
        lines.append("OPENAI_BASE_URL=%s" % base_url)
    want = dict(line.split("=", 1) for line in lines)
    mode_ok = os.path.exists(path) and (os.stat(path).st_mode & 0o777) == 0o600
    if want == current and mode_ok:
        return False
    if not check_mode:
        write_secret_file(path, "\n".join(lines) + "\n")
    return True
