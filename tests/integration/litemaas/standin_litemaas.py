# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""A STAND-IN for the LiteMaaS 0.4.0 backend (LiteMaaS itself cannot run on this machine: its images
come from quay.io). It is used only by tests whose names say ``standin``.

- Every request is checked against ``../shared/litemaas/openapi.json`` (the contract a real 0.4.0 serves):
  the path and method must exist; path, query and body parameters must match their schemas (formats
  uuid/date/date-time/uri checked; unknown query parameters and unknown body fields are rejected).
  A mismatch answers HTTP 400 and is recorded in ``violations``.
- Every 2xx response it sends is validated against the contract too (a stand-in bug is a violation).
- It models the documented behaviours of 0.4.0 (../shared/litemaas/README.md): users exist only after
  login (``login()``), API key names are not unique, the secret is returned only on create, PATCH of a
  key always answers 200 and returns ``models: []`` when a name or quota field was sent, at most 10 active
  keys, a second revoke is a 400, ``POST /admin/models`` is not idempotent (adds another deployment),
  restricting a model strips it from keys, approve answers 200 even when items fail, PUT of settings
  replaces everything, and writes made with an ``ltm_admin_`` key are APPLIED and then answered with 500.
"""

import copy
import datetime
import json
import re
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import os

import jsonschema
import jwt

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SPEC = os.path.join(os.environ.get("MAAS_SHARED_DIR", os.path.join(REPO, "..", "shared")), "litemaas", "openapi.json")

JWT_SECRET = "standin-jwt-secret-0123456789abcdef"   # test-only values
ADMIN_KEY = "ltm_admin_standin0123456789"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uuid")
def _uuid(value):
    return not isinstance(value, str) or bool(UUID_RE.match(value))


@FORMATS.checks("date", raises=ValueError)
def _date(value):
    return not isinstance(value, str) or bool(datetime.date.fromisoformat(value)) and len(value) == 10


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    if isinstance(value, str):
        if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
            raise ValueError("not an RFC 3339 date-time")
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _uri(value):
    return not isinstance(value, str) or bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$", value))


@FORMATS.checks("email")
def _email(value):
    return not isinstance(value, str) or "@" in value


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def strict(schema):
    """A copy of a request schema where objects without additionalProperties reject unknown fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(schema)
    return schema


def clean(d):
    return dict((k, v) for k, v in d.items() if v is not None)


class Contract(object):
    def __init__(self, spec_path):
        with open(spec_path) as handle:
            self.spec = json.load(handle)
        self.routes = []
        for template, ops in self.spec["paths"].items():
            regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            for method, op in ops.items():
                self.routes.append((method.upper(), re.compile(regex), template, op))

    def match(self, method, path):
        found = False
        for m, regex, template, op in self.routes:
            hit = regex.match(path)
            if hit:
                found = True
                if m == method:
                    return template, op, hit.groupdict()
        raise ContractError("%s %s: %s" % (method, path, "method not in the contract" if found else
                                           "path not in the contract"))

    def check_request(self, method, path, query, body):
        template, op, path_params = self.match(method, path)
        params = op.get("parameters", [])
        errors = []
        known_query = set()
        parsed_query = {}
        body_schema = None
        for prm in params:
            where, name = prm["in"], prm["name"]
            if where == "body":
                body_schema = prm["schema"]
                continue
            schema = dict((k, v) for k, v in prm.items() if k not in ("in", "name", "required", "description"))
            if where == "path":
                value = path_params.get(name)
            elif where == "query":
                known_query.add(name)
                if name not in query:
                    continue
                raw = query[name]
                value = raw if schema.get("type") == "array" else raw[-1]
                value = self._coerce(value, schema)
                parsed_query[name] = value
            else:
                continue
            for err in jsonschema.Draft7Validator(schema, format_checker=FORMATS).iter_errors(value):
                errors.append("%s parameter %r: %s" % (where, name, err.message))
        unknown = set(query) - known_query
        if unknown:
            errors.append("unknown query parameter(s) %s" % sorted(unknown))
        if body_schema is None:
            if body not in (None, b""):
                errors.append("this operation takes no request body")
        else:
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                doc = None
                errors.append("body is not JSON")
            if doc is not None:
                for err in jsonschema.Draft7Validator(strict(body_schema), format_checker=FORMATS).iter_errors(doc):
                    errors.append("body %s: %s" % ("/".join(map(str, err.absolute_path)) or "(root)", err.message))
        if errors:
            raise ContractError("%s %s (%s): %s" % (method, path, template, "; ".join(errors)))
        return template, op, path_params, parsed_query

    @staticmethod
    def _coerce(value, schema):
        kind = schema.get("type")
        try:
            if kind == "integer" and re.match(r"^-?\d+$", value):
                return int(value)
            if kind == "number":
                return float(value)
            if kind == "boolean" and value in ("true", "false"):
                return value == "true"
        except (TypeError, ValueError):
            pass
        return value

    def check_response(self, op, status, body):
        resp = op.get("responses", {}).get(str(status))
        if resp is None:
            return ["status %d is not a documented response" % status]
        schema = resp.get("schema")
        if schema is None:
            return []
        return [e.message for e in jsonschema.Draft7Validator(schema, format_checker=FORMATS).iter_errors(body)]


class ContractError(Exception):
    pass


class HttpError(Exception):
    def __init__(self, status, message):
        super(HttpError, self).__init__(message)
        self.status = status


class StandInLiteMaaS(object):
    """State + behaviour of the stand-in. Tests drive it directly (``login``, ``add_usage``)."""

    def __init__(self, spec_path, jwt_secret, admin_keys=()):
        self.contract = Contract(spec_path)
        self.jwt_secret = jwt_secret
        self.admin_keys = set(admin_keys)
        self.lock = threading.RLock()
        self.users, self.keys, self.models, self.subs = {}, {}, {}, {}
        self.deployments = {}          # model name -> number of LiteLLM deployments
        self.usage = []
        self.user_defaults = {"maxBudget": None, "tpmLimit": None, "rpmLimit": None}
        self.key_settings = {"defaults": dict.fromkeys(["maxBudget", "tpmLimit", "rpmLimit", "budgetDuration",
                                                        "softBudget", "expirationDays"]),
                             "maximums": dict.fromkeys(["maxBudget", "tpmLimit", "rpmLimit", "expirationDays"])}
        self.exchanges = []            # (method, path, query, status, request body, response body)
        self.violations = []
        self.writes = 0

    # -- test helpers ------------------------------------------------------------------
    def login(self, username, email=None, roles=("user",)):
        """What a first OAuth login does: the user row appears (roles are merged, never dropped)."""
        with self.lock:
            for user in self.users.values():
                if user["username"] == username:
                    user["roles"] = sorted(set(user["roles"]) | set(roles))
                    return user
            uid = str(uuid.uuid4())
            self.users[uid] = dict(id=uid, username=username, email=email or "%s@example.edu" % username,
                                   fullName=username.title(), roles=sorted(set(roles)), isActive=True,
                                   maxBudget=None, tpmLimit=None, rpmLimit=None, budgetDuration=None,
                                   createdAt=now(), lastLoginAt=now())
            return self.users[uid]

    def user_by_name(self, username):
        return next((u for u in self.users.values() if u["username"] == username), None)

    def add_usage(self, username, model, key_id, prompt, completion, cost, day):
        self.usage.append(dict(user=self.user_by_name(username)["id"], model=model, key=key_id, prompt=prompt,
                               completion=completion, cost=cost, day=day))

    def snapshot(self):
        with self.lock:
            return json.dumps([self.users, self.keys, self.models, self.subs, self.deployments,
                               self.user_defaults, self.key_settings], sort_keys=True, default=str)

    # -- auth ----------------------------------------------------------------------------
    def authenticate(self, header, method):
        if not header.startswith("Bearer "):
            raise HttpError(401, "missing bearer token")
        token = header[len("Bearer "):]
        if token.startswith("ltm_admin_"):
            if token not in self.admin_keys:
                raise HttpError(401, "invalid admin API key")
            return dict(id="admin-api-key", roles=["admin"], admin_key=True)
        try:
            claims = jwt.decode(token, self.jwt_secret, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            raise HttpError(401, "invalid token: %s" % exc)
        user = self.users.get(claims.get("userId"))
        if not user or not user["isActive"]:
            raise HttpError(401, "token user does not exist or is inactive")
        for field in ("username", "email", "roles", "iat", "exp"):
            if field not in claims:
                raise HttpError(401, "token lacks %s" % field)
        return dict(id=user["id"], roles=claims["roles"], admin_key=False)

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, method, raw_path, headers, body):
        split = urlsplit(raw_path)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        try:
            template, op, pp, q = self.contract.check_request(method, path, query, body)
        except ContractError as exc:
            self.violations.append(str(exc))
            return 400, {"error": {"code": "CONTRACT", "message": str(exc), "statusCode": 400, "timestamp": now()}}
        doc = json.loads(body) if body else {}
        with self.lock:
            try:
                if op.get("security"):
                    who = self.authenticate(headers.get("Authorization", ""), method)
                    if "admin" not in who["roles"] and "adminReadonly" not in who["roles"]:
                        raise HttpError(403, "admin role required")
                    if method != "GET" and "admin" not in who["roles"]:
                        raise HttpError(403, "admin role required for writes")
                handler = getattr(self, "op_%s_%s" % (method.lower(), re.sub(r"\W+", "_", template).strip("_")),
                                  None)
                if handler is None:
                    raise HttpError(501, "not modelled by the stand-in")
                if method != "GET" and not template.startswith("/api/v1/admin/usage/"):
                    self.writes += 1
                status, out = handler(pp, q, doc)
                if op.get("security") and method != "GET" and who["admin_key"] and "/usage/" not in template:
                    # LiteMaaS 0.4.0: the write is applied, then the audit insert fails on the uuid.
                    raise HttpError(500, 'invalid input syntax for type uuid: "admin-api-key"')
            except HttpError as exc:
                status, out = exc.status, {"error": {"code": "E%d" % exc.status, "message": str(exc),
                                                     "statusCode": exc.status, "timestamp": now()}}
        if 200 <= status < 300:
            for problem in self.contract.check_response(op, status, out):
                self.violations.append("response of %s %s: %s" % (method, path, problem))
        self.exchanges.append((method, path, query, status, doc, out))
        return status, out

    # -- users ---------------------------------------------------------------------------
    def _user(self, uid):
        if uid not in self.users:
            raise HttpError(404, "user not found")
        return self.users[uid]

    def op_get_api_v1_users(self, pp, q, doc):
        rows = [u for u in self.users.values()
                if not q.get("search") or q["search"].lower() in (u["username"] + u["email"]).lower()]
        return 200, self._page(rows, q, lambda u: clean(dict(
            (k, u[k]) for k in ("id", "username", "email", "fullName", "roles", "isActive", "lastLoginAt",
                                "createdAt"))))

    @staticmethod
    def _page(rows, q, view):
        page, limit = int(q.get("page", 1)), int(q.get("limit", 20))
        total = len(rows)
        return {"data": [view(r) for r in rows[(page - 1) * limit:page * limit]],
                "pagination": {"page": page, "limit": limit, "total": total,
                               "totalPages": max(1, -(-total // limit))}}

    def op_patch_api_v1_users_id(self, pp, q, doc):
        user = self._user(pp["id"])
        user["roles"] = list(doc.get("roles", user["roles"]))
        return 200, dict((k, user[k]) for k in ("id", "username", "email", "fullName", "roles", "createdAt"))

    def op_get_api_v1_admin_users_id(self, pp, q, doc):
        user = self._user(pp["id"])
        keys = [k for k in self.keys.values() if k["userId"] == user["id"]]
        subs = [s for s in self.subs.values() if s["userId"] == user["id"]]
        return 200, clean(dict(user, subscriptionsCount=len(subs),
                               activeSubscriptionsCount=len([s for s in subs if s["status"] == "active"]),
                               apiKeysCount=len(keys), activeApiKeysCount=len([k for k in keys if k["isActive"]])))

    def op_patch_api_v1_admin_users_id_budget_limits(self, pp, q, doc):
        user = self._user(pp["id"])
        for field in ("maxBudget", "tpmLimit", "rpmLimit", "budgetDuration"):
            if field in doc:
                user[field] = doc[field]
        return 200, clean(dict(id=user["id"], maxBudget=user["maxBudget"], tpmLimit=user["tpmLimit"],
                               rpmLimit=user["rpmLimit"], updatedAt=now())) | {"budgetDuration": user["budgetDuration"]}

    # -- API keys ------------------------------------------------------------------------
    KEY_FIELDS = ("maxBudget", "tpmLimit", "rpmLimit", "budgetDuration", "softBudget", "maxParallelRequests",
                  "modelMaxBudget", "modelRpmLimit", "modelTpmLimit", "expiresAt")

    def op_get_api_v1_admin_users_id_api_keys(self, pp, q, doc):
        self._user(pp["id"])
        rows = [k for k in self.keys.values() if k["userId"] == pp["id"]
                and ("isActive" not in q or k["isActive"] == q["isActive"])]
        return 200, self._page(rows, q, lambda k: clean(dict((f, v) for f, v in k.items()
                                                             if f not in ("key", "userId"))))

    def op_post_api_v1_admin_users_id_api_keys(self, pp, q, doc):
        self._user(pp["id"])
        for model in doc["modelIds"]:
            if model not in self.models:
                raise HttpError(400, "model %s not found" % model)
        if len([k for k in self.keys.values() if k["userId"] == pp["id"] and k["isActive"]]) >= 10:
            raise HttpError(400, "maximum of 10 active API keys reached")
        secret = "sk-" + secrets.token_hex(16)
        kid = str(uuid.uuid4())
        key = dict(id=kid, userId=pp["id"], name=doc["name"], key=secret, keyPrefix=secret[:8],
                   models=list(doc["modelIds"]), isActive=True, createdAt=now(), currentSpend=0.0)
        for field in self.KEY_FIELDS:
            key[field] = doc.get(field)
        self.keys[kid] = key
        for model in doc["modelIds"]:
            self._subscribe(pp["id"], model, force_active=True)
        return 201, clean(dict((f, key[f]) for f in ("id", "name", "key", "keyPrefix", "models", "isActive",
                                                     "createdAt", "expiresAt")))

    def _key(self, pp):
        key = self.keys.get(pp["keyId"])
        if not key or key["userId"] != pp["id"]:
            raise HttpError(404, "API key not found")
        return key

    def op_patch_api_v1_admin_users_id_api_keys_keyId(self, pp, q, doc):
        key = self._key(pp)
        if "modelIds" in doc:
            key["models"] = list(doc["modelIds"])
        for field in ("name",) + self.KEY_FIELDS:
            if field in doc:
                key[field] = doc[field]
        quota_or_name = any(f in doc for f in ("name",) + self.KEY_FIELDS)
        return 200, {"id": key["id"], "name": key["name"], "models": [] if quota_or_name else key["models"],
                     "updatedAt": now()}

    def op_delete_api_v1_admin_users_id_api_keys_keyId(self, pp, q, doc):
        key = self._key(pp)
        if q.get("permanent"):
            del self.keys[key["id"]]
            return 200, {"success": True}
        if not key["isActive"]:
            raise HttpError(400, "API key is already inactive")
        key["isActive"] = False
        key["revokedAt"] = now()
        return 200, {"success": True}

    # -- subscriptions ------------------------------------------------------------------
    def _subscribe(self, uid, model, force_active=False):
        existing = [s for s in self.subs.values() if s["userId"] == uid and s["modelId"] == model]
        want = "active" if force_active or not self.models[model].get("restrictedAccess") else "pending"
        if not existing:
            sid = str(uuid.uuid4())
            self.subs[sid] = dict(id=sid, userId=uid, modelId=model, status=want, createdAt=now(),
                                  updatedAt=now(), statusChangedAt=now())
            return "created", self.subs[sid]
        sub = existing[0]
        if sub["status"] == "active":
            return "alreadyActive", sub
        previous = sub["status"]
        sub.update(status=want, updatedAt=now(), statusChangedAt=now())
        return "activated", dict(sub, previousStatus=previous)

    def op_get_api_v1_admin_users_id_subscriptions(self, pp, q, doc):
        self._user(pp["id"])
        rows = [s for s in self.subs.values() if s["userId"] == pp["id"]
                and (not q.get("status") or s["status"] == q["status"])]
        return 200, self._page(rows, q, lambda s: dict(
            id=s["id"], modelId=s["modelId"], modelName=s["modelId"], provider="openai", status=s["status"],
            createdAt=s["createdAt"], statusChangedAt=s["statusChangedAt"]))

    def op_post_api_v1_admin_users_id_subscriptions(self, pp, q, doc):
        self._user(pp["id"])
        out = {"created": [], "activated": [], "alreadyActive": []}
        for model in doc["modelIds"]:
            if model not in self.models:
                raise HttpError(400, "model %s not found" % model)
        for model in doc["modelIds"]:
            what, sub = self._subscribe(pp["id"], model)
            if what == "created":
                out["created"].append({"modelId": model, "subscriptionId": sub["id"]})
            elif what == "activated":
                out["activated"].append({"modelId": model, "subscriptionId": sub["id"],
                                         "previousStatus": sub["previousStatus"]})
            else:
                out["alreadyActive"].append(model)
        return 201, out

    def _decide(self, doc, new_status):
        out = {"successful": 0, "failed": 0, "errors": []}
        for sid in doc["subscriptionIds"]:
            sub = self.subs.get(sid)
            if not sub or sub["status"] != "pending":
                out["failed"] += 1
                out["errors"].append({"subscription": sid, "error": "not pending"})
                continue
            sub.update(status=new_status, statusReason=doc.get("reason"), statusChangedAt=now(), updatedAt=now())
            out["successful"] += 1
        return 200, out

    def op_post_api_v1_admin_subscriptions_approve(self, pp, q, doc):
        return self._decide(doc, "active")

    def op_post_api_v1_admin_subscriptions_deny(self, pp, q, doc):
        return self._decide(doc, "denied")

    def op_delete_api_v1_admin_subscriptions_id(self, pp, q, doc):
        sub = self.subs.get(pp["id"])
        if not sub:
            raise HttpError(404, "subscription not found")
        sub.update(status="cancelled", statusChangedAt=now(), updatedAt=now())
        return 200, {"success": True}

    # -- models --------------------------------------------------------------------------
    MODEL_FIELDS = (("api_base", "apiBase"), ("backend_model_name", "backendModelName"),
                    ("input_cost_per_token", "inputCostPerToken"), ("output_cost_per_token", "outputCostPerToken"),
                    ("tpm", "tpm"), ("rpm", "rpm"), ("max_tokens", "maxTokens"), ("description", "description"),
                    ("supports_vision", "supportsVision"), ("supports_function_calling", "supportsFunctionCalling"),
                    ("supports_parallel_function_calling", "supportsParallelFunctionCalling"),
                    ("supports_tool_choice", "supportsToolChoice"), ("restrictedAccess", "restrictedAccess"))

    def op_get_api_v1_models(self, pp, q, doc):
        return 200, self._page(list(self.models.values()), q, lambda m: clean(dict(
            m, id=m["name"], provider="openai", isActive=True, contextLength=m.get("maxTokens"))))

    def _apply_model(self, model, doc):
        for write_field, read_field in self.MODEL_FIELDS:
            if write_field in doc:
                model[read_field] = doc[write_field]
        if model.get("restrictedAccess"):
            for key in self.keys.values():          # documented: restricting strips the model from keys
                if model["name"] in key["models"]:
                    key["models"] = [m for m in key["models"] if m != model["name"]]

    def op_post_api_v1_admin_models(self, pp, q, doc):
        name = doc["model_name"]
        self.deployments[name] = self.deployments.get(name, 0) + 1   # NOT idempotent
        model = self.models.setdefault(name, dict(name=name, createdAt=now()))
        self._apply_model(model, doc)
        model["updatedAt"] = now()
        return 201, {"success": True, "message": "created", "model": {"id": name, "model_name": name,
                                                                      "created_at": model["createdAt"]}}

    def op_put_api_v1_admin_models_id(self, pp, q, doc):
        model = self.models.get(pp["id"])
        if not model:
            raise HttpError(404, "model not found")
        self._apply_model(model, doc)
        model["updatedAt"] = now()
        return 200, {"success": True, "message": "updated", "model": {"id": pp["id"], "model_name": pp["id"],
                                                                      "updated_at": model["updatedAt"]}}

    def op_delete_api_v1_admin_models_id(self, pp, q, doc):
        if pp["id"] not in self.models:
            raise HttpError(404, "model not found")
        del self.models[pp["id"]]
        self.deployments.pop(pp["id"], None)
        return 200, {"success": True, "message": "deleted"}

    # -- settings ------------------------------------------------------------------------
    def op_get_api_v1_admin_settings_user_defaults(self, pp, q, doc):
        return 200, dict(self.user_defaults, envDefaults={"maxBudget": 100, "tpmLimit": None, "rpmLimit": None})

    def op_put_api_v1_admin_settings_user_defaults(self, pp, q, doc):
        self.user_defaults = dict((f, doc.get(f)) for f in ("maxBudget", "tpmLimit", "rpmLimit"))  # replaces all
        return 200, dict(self.user_defaults)

    def op_get_api_v1_admin_settings_api_key_defaults(self, pp, q, doc):
        return 200, copy.deepcopy(self.key_settings)

    def op_put_api_v1_admin_settings_api_key_defaults(self, pp, q, doc):
        self.key_settings = {
            "defaults": dict((f, doc["defaults"].get(f)) for f in self.key_settings["defaults"]),
            "maximums": dict((f, doc["maximums"].get(f)) for f in self.key_settings["maximums"])}
        return 200, copy.deepcopy(self.key_settings)

    # -- usage ---------------------------------------------------------------------------
    def _usage_rows(self, doc):
        return [u for u in self.usage if doc["startDate"] <= u["day"] <= doc["endDate"]
                and (not doc.get("userIds") or u["user"] in doc["userIds"])
                and (not doc.get("modelIds") or u["model"] in doc["modelIds"])]

    @staticmethod
    def _metrics(rows):
        return dict(requests=len(rows), cost=sum(r["cost"] for r in rows),
                    tokens=dict(prompt=sum(r["prompt"] for r in rows), completion=sum(r["completion"] for r in rows),
                                total=sum(r["prompt"] + r["completion"] for r in rows)))

    def _usage_page(self, items, q):
        body = self._page(items, q, lambda x: x)
        body["pagination"].update(hasNext=body["pagination"]["page"] < body["pagination"]["totalPages"],
                                  hasPrevious=body["pagination"]["page"] > 1)
        return 200, body

    def op_post_api_v1_admin_usage_by_user(self, pp, q, doc):
        rows = self._usage_rows(doc)
        items = []
        for uid in sorted(set(r["user"] for r in rows)):
            mine = [r for r in rows if r["user"] == uid]
            user = self.users[uid]
            keys = []
            for kid in sorted(set(r["key"] for r in mine)):
                krows = [r for r in mine if r["key"] == kid]
                keys.append(dict(self._metrics(krows), keyId=kid, keyAlias="%s_%s" % (self.keys[kid]["name"], kid[:8]),
                                 lastUsed=now()))
            models = [dict(self._metrics([r for r in mine if r["model"] == m]), modelId=m, modelName=m,
                           provider="openai", successRate=100) for m in sorted(set(r["model"] for r in mine))]
            metrics = dict(self._metrics(mine), models=models, apiKeys=keys, lastActive=now())
            items.append(dict(userId=uid, username=user["username"], email=user["email"], role="user",
                              metrics=metrics))
        return self._usage_page(items, q)

    def op_post_api_v1_admin_usage_by_model(self, pp, q, doc):
        rows = self._usage_rows(doc)
        items = []
        for model in sorted(set(r["model"] for r in rows)):
            mine = [r for r in rows if r["model"] == model]
            items.append(dict(modelId=model, modelName=model, provider="openai",
                              metrics=dict(self._metrics(mine), users=len(set(r["user"] for r in mine)),
                                           successRate=100)))
        return self._usage_page(items, q)

    def op_get_api_v1_health_ready(self, pp, q, doc):
        return 200, {"ready": True}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        status, out = self.server.standin.handle(self.command, self.path, self.headers, body)
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *args):
        pass


def serve(standin, host="127.0.0.1"):
    """Start the stand-in on a free loopback port; returns (server, base_url). ``server.shutdown()`` stops it."""
    server = ThreadingHTTPServer((host, 0), _Handler)
    server.daemon_threads = True
    server.standin = standin
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://%s:%d" % (host, server.server_address[1])
