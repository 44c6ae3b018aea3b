# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""LiteLLM flavour: the ``Flavour`` of the LiteLLM management API (models, users, teams, API keys).

All I/O goes through ``client.GatewayClient``; planning, execution and delivery through
``reconcile``. Key secrets are made here on the controller (``sk-`` + 32 random bytes), delivered
first and then sent as ``key`` to ``/key/generate``: a retried create is harmless, and a create is
proven by reading the key back (its ``token`` is the SHA-256 hex of the secret, as LiteLLM 1.106.2's
``hash_token`` computes it).

The key LiteLLM sends to a model server is never in the inventory: ``model_api_key_refs`` names, per model, a
variable of LiteLLM's own environment (``os.environ/NAME``, resolved by LiteLLM when it loads the model; the
host roles put vLLM's key there as ``MAAS_VLLM_API_KEY``). The reference is a compared field of the model,
kept in its ``model_info`` because LiteLLM never shows ``litellm_params.api_key`` back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import secrets

try:
    from urllib.parse import quote
except ImportError:           # Python 2 (sanity's compile test)
    from urllib import quote

from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import MARKER_KEY, MARKER_VALUE, Flavour, Kind
from ansible_collections.redwood.maas.plugins.module_utils.tenants import key_owner, present

PAGE_SIZE = 100            # the maximum LiteLLM 1.106 accepts on /user/list, /key/list, /v2/team/list
LIMIT_FIELDS = ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")
CREATOR = "default_user_id"   # LiteLLM adds the creating admin to every team it makes
MARKER = {MARKER_KEY: MARKER_VALUE}
API_KEY_REF = "redwood_api_key_ref"          # model_info field holding a model's api_key_ref
API_KEY_REF_RE = re.compile(r"^os\.environ/[A-Za-z_][A-Za-z0-9_]*$")
NO_KEY = "none"       # LiteLLM's OpenAI provider wants some api_key even for a server that asks for none


def paged(client, path, items_key, what, params=None, size_param="page_size"):
    """Every row of a paged LiteLLM list, PAGE_SIZE rows per request (the maximum it accepts).

    Reading pages concurrently was measured not to help: the proxy serialises them."""
    rows, page = [], 1
    while True:
        query = dict(params or {})
        query.update({"page": page, size_param: PAGE_SIZE})
        body = client.get(path, what=what, params=query) or {}
        chunk = body.get(items_key) or []
        rows.extend(chunk)
        if page >= int(body.get("total_pages") or 1) or not chunk:
            return rows
        page += 1


def _clean(d):
    return dict((k, v) for k, v in d.items() if v is not None)


def _created_or_raise(kind, name, exc, proof):
    """After a failed create (a retry may have met the first attempt's result): read it back by name."""
    try:
        current = kind.get(name)
    except MaasError:
        raise exc
    if current is None or not proof(current):
        raise exc
    return current


class LiteLLMKind(Kind):
    def __init__(self, client):
        self.client = client

    def what(self, name):
        return "%s '%s'" % (self.kind.replace("_", " "), name)


class ModelKind(LiteLLMKind):
    """A model deployment: ``model_info.id`` = model name, OpenAI-compatible backend.

    ``api_key_ref`` (``os.environ/NAME`` or None) is what LiteLLM sends to the backend as its api_key: a
    reference, never a secret, so it is compared and shown in diff mode like the endpoint. None in the
    desired item leaves the current one in place."""
    kind = "model"
    fields = ("endpoint", "api_key_ref", "input_cost_per_token", "output_cost_per_token", "tpm_limit", "rpm_limit")

    @staticmethod
    def desired(item, endpoints=None, api_key_refs=None):
        cost = item.get("cost") or {}
        endpoint = item.get("endpoint") or (endpoints or {}).get(item["name"])
        out = dict(name=item["name"], state=item.get("state") or "present", endpoint=endpoint,
                   api_key_ref=(api_key_refs or {}).get(item["name"]),
                   tpm_limit=item.get("tpm_limit"), rpm_limit=item.get("rpm_limit"))
        for src, dst in (("input_per_1k", "input_cost_per_token"), ("output_per_1k", "output_cost_per_token")):
            if cost.get(src) is not None:
                out[dst] = cost[src] / 1000.0
        return out

    @staticmethod
    def _current(row):
        params = row.get("litellm_params") or {}
        info = row.get("model_info") or {}
        return dict(name=info.get("id") or row.get("model_name"), id=info.get("id"),
                    model_name=row.get("model_name"), endpoint=params.get("api_base"),
                    api_key_ref=info.get(API_KEY_REF),
                    input_cost_per_token=params.get("input_cost_per_token"),
                    output_cost_per_token=params.get("output_cost_per_token"),
                    tpm_limit=params.get("tpm"), rpm_limit=params.get("rpm"),
                    metadata={MARKER_KEY: info.get(MARKER_KEY)} if info.get(MARKER_KEY) else {})

    def list(self):
        body = self.client.get("/model/info", what="models") or {}
        out = {}
        for row in body.get("data") or []:
            cur = self._current(row)
            if cur["model_name"] == cur["name"] or cur["name"] not in out:
                out[cur["model_name"]] = cur
        return out

    def get(self, name):
        try:
            body = self.client.get("/model/info", what=self.what(name), params={"litellm_model_id": name}) or {}
        except MaasError as exc:
            if exc.status in (400, 404):      # LiteLLM answers 400 "Model id = X not found"
                return None
            raise
        for row in body.get("data") or []:
            cur = self._current(row)
            if cur["id"] == name:
                return cur
        return None

    def _body(self, name, desired, current=None):
        ref = desired.get("api_key_ref") or (current or {}).get("api_key_ref")
        params = _clean(dict(model="openai/%s" % name, api_base=desired.get("endpoint"), api_key=ref or NO_KEY,
                             input_cost_per_token=desired.get("input_cost_per_token"),
                             output_cost_per_token=desired.get("output_cost_per_token"),
                             tpm=desired.get("tpm_limit"), rpm=desired.get("rpm_limit")))
        return dict(model_name=name, litellm_params=params,
                    model_info=_clean({"id": name, MARKER_KEY: MARKER_VALUE, API_KEY_REF: ref}))

    def create(self, name, desired, deliver=None):
        try:
            self.client.post("/model/new", what=self.what(name), json=self._body(name, desired), safe=True)
        except MaasError as exc:          # an existing id answers 500: a retry met the first attempt
            _created_or_raise(self, name, exc, self.managed)

    def update(self, name, desired, current, changes, mark=False):
        """PATCH, not POST /model/update: LiteLLM 1.106.2's POST keeps the stored model_info, so neither the
        marker (adoption) nor api_key_ref would change. PATCH merges both litellm_params and model_info."""
        self.client.request("PATCH", "/model/%s/update" % quote(current.get("id") or name, safe=""),
                            what=self.what(name), json=self._body(name, desired, current), safe=True)

    def delete(self, name, current):
        self.client.post("/model/delete", what=self.what(name), json={"id": current.get("id") or name}, safe=True)


class UserKind(LiteLLMKind):
    kind = "user"
    fields = ("email", "role", "models") + LIMIT_FIELDS
    set_fields = ("models",)
    ROLES = {"admin": "proxy_admin", "admin-readonly": "proxy_admin_viewer", "user": "internal_user"}

    @staticmethod
    def desired(item, defaults=None):
        out = dict(name=item["name"], state=item.get("state") or "present", email=item.get("email"),
                   role=item.get("role") or "user", models=item.get("models"))
        for field in LIMIT_FIELDS:
            value = item.get(field)
            out[field] = value if value is not None else (defaults or {}).get(field)
        return out

    @classmethod
    def _current(cls, row):
        back = dict((v, k) for k, v in cls.ROLES.items())
        return dict(name=row["user_id"], email=row.get("user_email"),
                    role=back.get(row.get("user_role"), row.get("user_role")),
                    models=row.get("models") or [], max_budget=row.get("max_budget"),
                    budget_duration=row.get("budget_duration"), tpm_limit=row.get("tpm_limit"),
                    rpm_limit=row.get("rpm_limit"), metadata=row.get("metadata") or {},
                    spend=row.get("spend"), teams=row.get("teams") or [])

    def list(self):
        rows = paged(self.client, "/user/list", "users", "users")
        return dict((r["user_id"], self._current(r)) for r in rows)

    def get(self, name):
        try:
            body = self.client.get("/user/info", what=self.what(name), params={"user_id": name})
        except MaasError as exc:
            if exc.status == 404:
                return None
            raise
        info = (body or {}).get("user_info")
        return self._current(info) if info else None

    def _body(self, name, desired, metadata=None):
        return _clean(dict(user_id=name, user_email=desired.get("email"),
                           user_role=self.ROLES.get(desired.get("role")) if desired.get("role") else None,
                           models=desired.get("models"), max_budget=desired.get("max_budget"),
                           budget_duration=desired.get("budget_duration"), tpm_limit=desired.get("tpm_limit"),
                           rpm_limit=desired.get("rpm_limit"), metadata=metadata))

    def create(self, name, desired, deliver=None):
        body = self._body(name, desired, dict(MARKER))
        body["auto_create_key"] = False
        try:
            self.client.post("/user/new", what=self.what(name), json=body, safe=True)
        except MaasError as exc:          # 409 on a retry whose first attempt was applied
            _created_or_raise(self, name, exc, self.managed)

    def update(self, name, desired, current, changes, mark=False):
        meta = dict(current.get("metadata") or {}, **MARKER) if mark else None
        body = self._body(name, dict((f, desired.get(f)) for f in changes), meta)
        body["user_id"] = name
        self.client.post("/user/update", what=self.what(name), json=body, safe=True)

    def delete(self, name, current):
        self.client.post("/user/delete", what=self.what(name), json={"user_ids": [name]}, safe=True)


class TeamKind(LiteLLMKind):
    kind = "team"
    fields = ("models", "members") + LIMIT_FIELDS
    set_fields = ("models", "members")

    @staticmethod
    def desired(item):
        out = dict(name=item["name"], state=item.get("state") or "present", models=item.get("models"),
                   members=item.get("members"))
        for field in LIMIT_FIELDS:
            out[field] = item.get(field)
        return out

    @staticmethod
    def _current(row):
        members = [m.get("user_id") for m in row.get("members_with_roles") or []
                   if m.get("user_id") and m.get("user_id") != CREATOR]
        return dict(name=row["team_id"], models=row.get("models") or [], members=members,
                    max_budget=row.get("max_budget"), budget_duration=row.get("budget_duration"),
                    tpm_limit=row.get("tpm_limit"), rpm_limit=row.get("rpm_limit"),
                    metadata=row.get("metadata") or {}, spend=row.get("spend"))

    def list(self):
        rows = paged(self.client, "/v2/team/list", "teams", "teams")
        return dict((r["team_id"], self._current(r)) for r in rows)

    def get(self, name):
        try:
            body = self.client.get("/team/info", what=self.what(name), params={"team_id": name})
        except MaasError as exc:
            if exc.status in (404, 400):
                return None
            raise
        info = (body or {}).get("team_info")
        return self._current(info) if info else None

    def create(self, name, desired, deliver=None):
        body = _clean(dict(team_id=name, team_alias=name, models=desired.get("models"), metadata=dict(MARKER),
                           members_with_roles=[{"user_id": u, "role": "user"} for u in desired.get("members") or []]
                           or None, **dict((f, desired.get(f)) for f in LIMIT_FIELDS)))
        try:
            self.client.post("/team/new", what=self.what(name), json=body, safe=True)
        except MaasError as exc:
            _created_or_raise(self, name, exc, self.managed)

    def update(self, name, desired, current, changes, mark=False):
        what = self.what(name)
        fields = dict((f, desired.get(f)) for f in changes if f != "members")
        if mark:
            fields["metadata"] = dict(current.get("metadata") or {}, **MARKER)
        if fields:
            self.client.post("/team/update", what=what, json=_clean(dict(team_id=name, **fields)), safe=True)
        if "members" in changes:
            want, have = set(desired.get("members") or []), set(current.get("members") or [])
            add = sorted(want - have)
            if add:
                self.client.post("/team/member_add", what=what, safe=True,
                                 json={"team_id": name, "member": [{"user_id": u, "role": "user"} for u in add]})
            for user in sorted(have - want):
                self.client.post("/team/member_delete", what=what, json={"team_id": name, "user_id": user},
                                 safe=True)

    def delete(self, name, current):
        self.client.post("/team/delete", what=self.what(name), json={"team_ids": [name]}, safe=True)


def token_of(secret):
    """LiteLLM's stored ``token`` of a key: SHA-256 hex of the secret (litellm.proxy._types.hash_token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyKind(LiteLLMKind):
    """A virtual key, identified by its alias. The secret never takes part in the comparison."""
    kind = "api_key"
    fields = ("user", "team", "models", "duration") + LIMIT_FIELDS
    set_fields = ("models",)
    owner_fields = ("user", "team")
    secret = "controller"

    @staticmethod
    def desired(item):
        user, team = key_owner(item) if (item.get("state") or "present") == "present" else (None, None)
        out = dict(name=item["name"], state=item.get("state") or "present", user=user, team=team,
                   models=item.get("models"), duration=item.get("duration"), rotate=bool(item.get("rotate")),
                   deliver_to=item.get("deliver_to"))
        for field in LIMIT_FIELDS:
            out[field] = item.get(field)
        return out

    @staticmethod
    def _current(row):
        meta = row.get("metadata") or {}
        return dict(name=row.get("key_alias"), token=row.get("token"), user=row.get("user_id"),
                    team=row.get("team_id"), models=row.get("models") or [], duration=meta.get("duration"),
                    max_budget=row.get("max_budget"), budget_duration=row.get("budget_duration"),
                    tpm_limit=row.get("tpm_limit"), rpm_limit=row.get("rpm_limit"), metadata=meta,
                    spend=row.get("spend"), expires=row.get("expires"))

    def list(self):
        rows = paged(self.client, "/key/list", "keys", "keys", params={"return_full_object": "true"},
                     size_param="size")
        return dict((r["key_alias"], self._current(r)) for r in rows if r.get("key_alias"))

    def get(self, name):
        body = self.client.get("/key/list", what=self.what(name),
                               params={"key_alias": name, "return_full_object": "true"}) or {}
        for row in body.get("keys") or []:
            if row.get("key_alias") == name:
                return self._current(row)
        return None

    @staticmethod
    def _meta(desired, base=None):
        meta = dict(base or {}, **MARKER)
        if desired.get("duration"):
            meta["duration"] = desired["duration"]
        deliver = desired.get("deliver_to") or {}
        if deliver.get("file"):
            meta["delivered_to"] = {"file": deliver["file"]}
        elif deliver.get("secret"):
            meta["delivered_to"] = {"secret": deliver["secret"]}
        return meta

    def holds(self, current, secret):
        return bool(secret) and current is not None and token_of(secret) == current.get("token")

    def destination_of(self, current):
        return (current.get("metadata") or {}).get("delivered_to")

    def create(self, name, desired, deliver=None):
        secret = "sk-" + secrets.token_urlsafe(32)
        deliver(secret)                               # write-ahead: the secret is safe before the key exists
        body = _clean(dict(key=secret, key_alias=name, user_id=desired.get("user"), team_id=desired.get("team"),
                           models=desired.get("models"), duration=desired.get("duration"),
                           metadata=self._meta(desired), **dict((f, desired.get(f)) for f in LIMIT_FIELDS)))
        try:
            self.client.post("/key/generate", what=self.what(name), json=body, safe=True)
        except MaasError as exc:          # a retry meets its first attempt: 400 "alias exists"; proven below
            _created_or_raise(self, name, exc, lambda cur: self.holds(cur, secret))

    def verify(self, created):
        """LiteLLM answers 200 to an existing ``key`` without storing anything: read the keys back."""
        if len(created) <= 3:
            rows = dict((name, self.get(name)) for name in created)
        else:
            rows = self.list()
        wrong = sorted(name for name, secret in created.items() if not self.holds(rows.get(name), secret))
        if wrong:
            raise MaasError("api key(s) %s: created, but LiteLLM does not hold the delivered secret (read back by "
                            "alias); a re-run reports them undelivered" % ", ".join(wrong))

    def update(self, name, desired, current, changes, mark=False):
        body = dict(key=current["token"])
        for f in changes:
            if f == "duration":
                body["duration"] = desired.get(f)
            elif desired.get(f) is not None:
                body[f] = desired.get(f)
        if "duration" in changes or mark:
            body["metadata"] = self._meta(desired, current.get("metadata"))
        self.client.post("/key/update", what=self.what(name), json=body, safe=True)

    def delete(self, name, current):
        self.client.post("/key/delete", what=self.what(name), json={"keys": [current["token"]]}, safe=True)

    def rotate(self, name, desired, current, deliver):
        """Replace the secret: delete the old key (aliases are unique), then create it again. A failure in
        between leaves no key at all (the next run creates one), never a key without its secret."""
        self.delete(name, current)
        self.create(name, desired, deliver)


class LiteLLM(Flavour):
    name = "litellm"
    capabilities = dict(gateway="LiteLLM", teams=True, prune=True, delete_users=True, key_models_required=False,
                        duration_words=(), roles=UserKind.ROLES)
    order = ("model", "user", "team", "api_key")

    def __init__(self, client, single=False, api_key_refs=None):
        """``single``: a single-object module; read only the objects named (no references checked).
        ``api_key_refs``: ``{model name: os.environ/NAME}``, the key LiteLLM sends to each model server."""
        super(LiteLLM, self).__init__(client)
        self.single = single
        self.api_key_refs = api_key_refs or {}
        self.kinds = dict(model=ModelKind(client), user=UserKind(client), team=TeamKind(client),
                          api_key=KeyKind(client))

    @classmethod
    def from_params(cls, client, params, **kwargs):
        """litellm_tenants' ``model_api_key_refs``, or litellm_model's ``api_key_ref`` for its one model."""
        refs = params.get("model_api_key_refs")
        if params.get("api_key_ref") is not None:
            refs = {params["name"]: params["api_key_ref"]}
        return cls(client, api_key_refs=refs, **kwargs)

    def validate(self, inv):
        check_api_key_refs(self.api_key_refs)

    def _items(self, inv):
        return dict(model=inv["models"], user=inv["users"], team=inv["teams"], api_key=inv["api_keys"])

    def read(self, inv):
        if not self.single:
            return super(LiteLLM, self).read(inv)
        out = {}
        for kind, items in self._items(inv).items():
            found = dict((i["name"], self.kinds[kind].get(i["name"])) for i in items)
            out[kind] = dict((n, c) for n, c in found.items() if c is not None)
        return out

    def check(self, inv, current):
        if self.single:
            return
        check_references(inv["models"], inv["teams"], inv["users"], inv["api_keys"], current)
        owners = dict(((c.get("email") or "").lower(), n) for n, c in current["user"].items() if c.get("email"))
        for item in present(inv["users"]):
            other = owners.get((item.get("email") or "").lower())
            if item.get("email") and other not in (None, item["name"]):
                raise MaasError("user '%s': email %r already belongs to gateway user '%s'"
                                % (item["name"], item["email"], other))

    def desired(self, inv, current):
        defaults = dict((k, v) for k, v in inv["budget_defaults"].items() if v is not None)
        return dict(model=[ModelKind.desired(i, inv["endpoints"], self.api_key_refs) for i in inv["models"]],
                    user=[UserKind.desired(i, defaults) for i in inv["users"]],
                    team=[TeamKind.desired(i) for i in inv["teams"]],
                    api_key=[KeyKind.desired(i) for i in inv["api_keys"]])


def check_api_key_refs(refs):
    """Each model's api_key_ref must be ``os.environ/NAME``. The message names the model, never the value
    (a key pasted there by mistake stays out of the output)."""
    if not isinstance(refs, dict):
        raise MaasError("model_api_key_refs must be a mapping {model name: os.environ/NAME}")
    for name in sorted(refs, key=str):
        ref = refs[name]
        if not isinstance(ref, str) or not API_KEY_REF_RE.match(ref):
            raise MaasError("model '%s': model_api_key_refs['%s'] must be a reference os.environ/NAME to a variable of "
                            "LiteLLM's environment that holds the model server's key, never the key itself (the value "
                            "given is not shown)" % (name, name))


def check_references(models, teams, users, keys, current):
    """Owners, members and models must exist in the inventory (present) or already in the gateway."""
    def names(items, kind):
        absent = set(i["name"] for i in items if i.get("state") == "absent")
        return (set(i["name"] for i in present(items)) | set(current[kind])) - absent
    model_names, user_names, team_names = names(models, "model"), names(users, "user"), names(teams, "team")
    for kind, items in (("team", teams), ("user", users), ("api key", keys)):
        for item in present(items):
            missing = [m for m in item.get("models") or [] if m not in model_names]
            if missing:
                raise MaasError("%s '%s' references model(s) not registered: %s"
                                % (kind, item["name"], ", ".join(missing)))
    for item in present(teams):
        missing = [m for m in item.get("members") or [] if m not in user_names]
        if missing:
            raise MaasError("team '%s' has member(s) that are neither in maas_users nor in the gateway: %s"
                            % (item["name"], ", ".join(missing)))
    for item in present(keys):
        user, team = key_owner(item)
        if user and user not in user_names:
            raise MaasError("api key '%s': owner user '%s' is neither in maas_users nor in the gateway"
                            % (item["name"], user))
        if team and team not in team_names:
            raise MaasError("api key '%s': owner team '%s' is neither in maas_teams nor in the gateway"
                            % (item["name"], team))


def read_info(client, kinds, names=None):
    """What litellm_info returns: plain rows per kind, with spend and the managed flag, no secrets."""
    flavour = LiteLLM(client)
    out = {}
    # (the kinds option's value, the returned list, the flavour's kind)
    for option, plural, kind in (("users", "users", "user"), ("teams", "teams", "team"),
                                 ("keys", "api_keys", "api_key"), ("models", "models", "model")):
        if option not in kinds:
            continue
        adapter = flavour.kinds[kind]
        rows = []
        for name, cur in sorted(adapter.list().items()):
            if names and name not in names:
                continue
            row = dict((k, v) for k, v in cur.items() if k not in ("token", "metadata", "id"))
            row["managed"] = adapter.managed(cur)
            rows.append(row)
        out[plural] = rows
    return out
