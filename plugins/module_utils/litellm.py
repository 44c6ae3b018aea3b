# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""LiteLLM flavour: Kind adapters for models, users, teams and keys, input validation, and the
bulk reconcile used by the ``litellm_tenants`` module (single-object modules reuse the same adapters).

All I/O goes through ``client.GatewayClient``; all diffing through ``reconcile``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.redwood.maas.plugins.module_utils.client import GATEWAY_ARGUMENT_SPEC, GatewayError
from ansible_collections.redwood.maas.plugins.module_utils.reconcile import (
    MARKER_KEY, MARKER_VALUE, Kind, execute, plan_kind, summarize)
from ansible_collections.redwood.maas.plugins.module_utils.tenants import (
    InputError, env_content, validate_inventory, write_secret_file)

PAGE_SIZE = 100            # the maximum LiteLLM 1.106 accepts on /user/list, /key/list, /v2/team/list
ROLES = {"admin": "proxy_admin", "admin-readonly": "proxy_admin_viewer", "user": "internal_user"}
ROLES_BACK = dict((v, k) for k, v in ROLES.items())
LIMIT_FIELDS = ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")
CREATOR = "default_user_id"   # LiteLLM adds the creating admin to every team it makes
MARKER = {MARKER_KEY: MARKER_VALUE}


# ---------------------------------------------------------------- validation (pure)

def key_owner(item):
    owner = item.get("owner") or {}
    user, team = owner.get("user"), owner.get("team")
    if bool(user) == bool(team):
        raise InputError("api key '%s': owner must set exactly one of user or team, got %r"
                         % (item["name"], owner))
    return user, team


# ---------------------------------------------------------------- paging

def paged(client, path, items_key, what, params=None, size_param="page_size"):
    """Every row of a paged LiteLLM list, PAGE_SIZE rows per request (the maximum it accepts).

    Reading pages concurrently was measured not to help: the proxy serialises them (its /user/list
    runs one key-count query per user, about 1 s per page of 100 on the test machine)."""
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


# ---------------------------------------------------------------- kinds

API_KEY_REF = "redwood_api_key_ref"
API_KEY_REF_RE = re.compile(r"^os\.environ/[A-Za-z_][A-Za-z0-9_]*$")


class ModelKind(Kind):
    """A model deployment: ``model_info.id`` = model name, OpenAI-compatible backend."""
    kind = "model"
    # api_key is a reference ``os.environ/NAME`` (never a secret): LiteLLM reads the key the model
    # server wants from its own environment; the reference is kept in model_info to compare it.
    fields = ("endpoint", "api_key", "input_cost_per_token", "output_cost_per_token", "tpm_limit", "rpm_limit")

    def __init__(self, client):
        self.client = client

    def desired(self, item, endpoints=None, api_keys=None):
        cost = item.get("cost") or {}
        endpoint = item.get("endpoint") or (endpoints or {}).get(item["name"])
        out = dict(name=item["name"], state=item.get("state") or "present", endpoint=endpoint,
                   api_key=(api_keys or {}).get(item["name"]),
                   tpm_limit=item.get("tpm_limit"), rpm_limit=item.get("rpm_limit"))
        for src, dst in (("input_per_1k", "input_cost_per_token"), ("output_per_1k", "output_cost_per_token")):
            if cost.get(src) is not None:
                out[dst] = cost[src] / 1000.0
        return out

    def _current(self, row):
        params = row.get("litellm_params") or {}
        info = row.get("model_info") or {}
        return dict(name=info.get("id") or row.get("model_name"), id=info.get("id"),
                    model_name=row.get("model_name"), endpoint=params.get("api_base"),
                    api_key=info.get(API_KEY_REF),
                    input_cost_per_token=params.get("input_cost_per_token"),
                    output_cost_per_token=params.get("output_cost_per_token"),
                    tpm_limit=params.get("tpm"), rpm_limit=params.get("rpm"),
                    metadata={MARKER_KEY: info.get(MARKER_KEY)} if info.get(MARKER_KEY) else {},
                    db_model=info.get("db_model"))

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
            body = self.client.get("/model/info", what="model '%s'" % name, params={"litellm_model_id": name}) or {}
        except GatewayError as exc:
            if exc.status in (400, 404):      # LiteLLM answers 400 "Model id = X not found"
                return None
            raise
        for row in body.get("data") or []:
            cur = self._current(row)
            if cur["id"] == name:
                return cur
        return None

    def _body(self, name, desired):
        params = _clean(dict(model="openai/%s" % name, api_base=desired.get("endpoint"),
                             api_key=desired.get("api_key") or "none",
                             input_cost_per_token=desired.get("input_cost_per_token"),
                             output_cost_per_token=desired.get("output_cost_per_token"),
                             tpm=desired.get("tpm_limit"), rpm=desired.get("rpm_limit")))
        info = _clean({"id": name, MARKER_KEY: MARKER_VALUE, API_KEY_REF: desired.get("api_key")})
        return dict(model_name=name, litellm_params=params, model_info=info)

    def create(self, name, desired):
        return self.client.post("/model/new", what="model '%s'" % name, json=self._body(name, desired))

    def update(self, name, desired, current, changes):
        return self.client.post("/model/update", what="model '%s'" % name, json=self._body(name, desired),
                                idempotent=True)

    def delete(self, name, current):
        return self.client.post("/model/delete", what="model '%s'" % name, json={"id": current.get("id") or name},
                                idempotent=True)


class UserKind(Kind):
    kind = "user"
    fields = ("email", "role", "models") + LIMIT_FIELDS
    set_fields = ("models",)

    def __init__(self, client):
        self.client = client

    def desired(self, item, defaults=None):
        out = dict(name=item["name"], state=item.get("state") or "present", email=item.get("email"),
                   role=item.get("role") or "user", models=item.get("models"))
        for field in LIMIT_FIELDS:
            value = item.get(field)
            out[field] = value if value is not None else (defaults or {}).get(field)
        return out

    @staticmethod
    def _current(row):
        return dict(name=row["user_id"], email=row.get("user_email"),
                    role=ROLES_BACK.get(row.get("user_role"), row.get("user_role")),
                    models=row.get("models") or [], max_budget=row.get("max_budget"),
                    budget_duration=row.get("budget_duration"), tpm_limit=row.get("tpm_limit"),
                    rpm_limit=row.get("rpm_limit"), metadata=row.get("metadata") or {},
                    spend=row.get("spend"), teams=row.get("teams") or [])

    def list(self):
        rows = paged(self.client, "/user/list", "users", "users")
        return dict((r["user_id"], self._current(r)) for r in rows)

    def get(self, name):
        try:
            body = self.client.get("/user/info", what="user '%s'" % name, params={"user_id": name})
        except GatewayError as exc:
            if exc.status == 404:
                return None
            raise
        info = (body or {}).get("user_info")
        return self._current(info) if info else None

    def _body(self, name, desired, current=None):
        meta = dict(MARKER) if current is None else None
        return _clean(dict(user_id=name, user_email=desired.get("email"),
                           user_role=ROLES.get(desired.get("role")) if desired.get("role") else None,
                           models=desired.get("models"), max_budget=desired.get("max_budget"),
                           budget_duration=desired.get("budget_duration"), tpm_limit=desired.get("tpm_limit"),
                           rpm_limit=desired.get("rpm_limit"), metadata=meta))

    def create(self, name, desired):
        body = self._body(name, desired)
        body["auto_create_key"] = False
        return self.client.post("/user/new", what="user '%s'" % name, json=body)

    def update(self, name, desired, current, changes):
        body = self._body(name, dict((f, desired.get(f)) for f in changes), current)
        body["user_id"] = name
        return self.client.post("/user/update", what="user '%s'" % name, json=body, idempotent=True)

    def delete(self, name, current):
        return self.client.post("/user/delete", what="user '%s'" % name, json={"user_ids": [name]},
                                idempotent=True)


class TeamKind(Kind):
    kind = "team"
    fields = ("models", "members") + LIMIT_FIELDS
    set_fields = ("models", "members")

    def __init__(self, client):
        self.client = client

    def desired(self, item):
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
            body = self.client.get("/team/info", what="team '%s'" % name, params={"team_id": name})
        except GatewayError as exc:
            if exc.status in (404, 400):
                return None
            raise
        info = (body or {}).get("team_info")
        return self._current(info) if info else None

    def create(self, name, desired):
        body = _clean(dict(team_id=name, team_alias=name, models=desired.get("models"), metadata=dict(MARKER),
                           members_with_roles=[{"user_id": u, "role": "user"} for u in desired.get("members") or []]
                           or None, **dict((f, desired.get(f)) for f in LIMIT_FIELDS)))
        return self.client.post("/team/new", what="team '%s'" % name, json=body)

    def update(self, name, desired, current, changes):
        what = "team '%s'" % name
        fields = dict((f, desired.get(f)) for f in changes if f != "members")
        if fields:
            body = _clean(dict(team_id=name, **fields))
            self.client.post("/team/update", what=what, json=body, idempotent=True)
        if "members" in changes:
            want, have = set(desired.get("members") or []), set(current.get("members") or [])
            add = sorted(want - have)
            if add:
                self.client.post("/team/member_add", what=what, idempotent=True,
                                 json={"team_id": name, "member": [{"user_id": u, "role": "user"} for u in add]})
            for user in sorted(have - want):
                self.client.post("/team/member_delete", what=what, json={"team_id": name, "user_id": user},
                                 idempotent=True)

    def delete(self, name, current):
        return self.client.post("/team/delete", what="team '%s'" % name, json={"team_ids": [name]},
                                idempotent=True)


class KeyKind(Kind):
    """A virtual key, identified by its alias. The secret never takes part in the comparison."""
    kind = "key"
    fields = ("user", "team", "models", "duration") + LIMIT_FIELDS
    set_fields = ("models",)

    def __init__(self, client):
        self.client = client

    def desired(self, item):
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
        body = self.client.get("/key/list", what="key '%s'" % name,
                               params={"key_alias": name, "return_full_object": "true"}) or {}
        for row in body.get("keys") or []:
            if row.get("key_alias") == name:
                return self._current(row)
        return None

    @staticmethod
    def _meta(desired):
        meta = dict(MARKER)
        if desired.get("duration"):
            meta["duration"] = desired["duration"]
        return meta

    def create(self, name, desired):
        body = _clean(dict(key_alias=name, user_id=desired.get("user"), team_id=desired.get("team"),
                           models=desired.get("models"), duration=desired.get("duration"),
                           metadata=self._meta(desired), **dict((f, desired.get(f)) for f in LIMIT_FIELDS)))
        resp = self.client.post("/key/generate", what="key '%s'" % name, json=body) or {}
        return {"secret": resp.get("key")}

    def update(self, name, desired, current, changes):
        fields = dict((f, desired.get(f)) for f in changes)
        body = dict(key=current["token"])
        for f, v in fields.items():
            if f == "user":
                body["user_id"] = v
            elif f == "team":
                body["team_id"] = v
            elif f == "duration":
                body["duration"] = v
                body["metadata"] = dict(current.get("metadata") or {}, **self._meta(desired))
            elif v is not None:
                body[f] = v
        self.client.post("/key/update", what="key '%s'" % name, json=body, idempotent=True)
        return {}

    def delete(self, name, current):
        return self.client.post("/key/delete", what="key '%s'" % name, json={"keys": [current["token"]]},
                                idempotent=True)

    def rotate(self, name, desired, current):
        """Replace the secret: delete the old key (aliases are unique) and generate it again."""
        self.delete(name, current)
        return self.create(name, desired)


# ---------------------------------------------------------------- delivery

def deliver_keys(key_plan, results, public_url, check_mode, spool_dir=None):
    """Deliver new secrets; report keys whose destination file is missing.

    Returns ``(delivered, spooled, undelivered)`` lists of key names. A key that exists in the gateway
    but whose file is gone is never silently skipped: it is listed in ``undelivered`` (the module
    warns) until ``rotate: true`` makes and delivers a new secret.
    """
    delivered, spooled, undelivered = [], [], []
    for step in key_plan:
        desired = step["desired"] or {}
        deliver = desired.get("deliver_to") or {}
        secret = (results.get(step["name"]) or {}).get("secret")
        if step["action"] == "delete" or (desired.get("state") or "present") == "absent":
            continue
        if secret is None:
            if deliver.get("file") and not os.path.exists(deliver["file"]) and not check_mode:
                undelivered.append(step["name"])
            continue
        if deliver.get("file"):
            write_secret_file(deliver["file"], env_content(secret, public_url))
            delivered.append(step["name"])
        elif deliver.get("secret") and spool_dir:
            write_secret_file(os.path.join(spool_dir, step["name"] + ".env"), env_content(secret, public_url))
            spooled.append(step["name"])
    return delivered, spooled, undelivered


# ---------------------------------------------------------------- single object

def apply_one(kind, desired, check_mode):
    """Reconcile one object (single-object modules). Returns (result dict, create/update result)."""
    current = kind.get(desired["name"])
    plan = plan_kind(kind, [desired], {desired["name"]: current} if current is not None else {})
    rotate = bool(desired.get("rotate")) and current is not None and desired.get("state") != "absent"
    results = {}
    if rotate:
        if not check_mode:
            results[desired["name"]] = kind.rotate(desired["name"], desired, current)
        plan[0].update(action="update", after=plan[0]["after"] or current,
                       changes=dict(plan[0]["changes"], secret={"before": "(old secret)", "after": "(new secret)"}))
    else:
        results = execute(kind, plan, check_mode)
    changed, summary, diff = summarize([(kind, plan)])
    return plan, results, dict(changed=changed, action=plan[0]["action"], diff=diff)


# ---------------------------------------------------------------- bulk

def _present(items):
    return [i for i in items if (i.get("state") or "present") == "present"]


def validate(models, teams, users, keys, budget_defaults, endpoints):
    """Everything that can be checked without the gateway; returns normalised copies."""
    models, teams, users, keys, budget_defaults = validate_inventory(models, teams, users, keys, budget_defaults)
    for item in _present(models):
        endpoint = item.get("endpoint") or endpoints.get(item["name"])
        if not endpoint:
            raise InputError("model '%s': no endpoint (set endpoint, or deploy it so that maas_model_endpoints "
                             "lists it)" % item["name"])
        if not str(endpoint).startswith(("http://", "https://")):
            raise InputError("model '%s': endpoint must be an http(s) URL, got %r" % (item["name"], endpoint))
    return models, teams, users, keys, budget_defaults


def check_references(models, teams, users, keys, current):
    """Owners, members and models must exist in the inventory (present) or already in the gateway."""
    model_names = set(i["name"] for i in _present(models)) | set(current["model"])
    model_names -= set(i["name"] for i in models if i.get("state") == "absent")
    user_names = (set(i["name"] for i in _present(users)) | set(current["user"])) - \
        set(i["name"] for i in users if i.get("state") == "absent")
    team_names = (set(i["name"] for i in _present(teams)) | set(current["team"])) - \
        set(i["name"] for i in teams if i.get("state") == "absent")
    for kind, items in (("team", teams), ("user", users), ("api key", keys)):
        for item in _present(items):
            missing = [m for m in item.get("models") or [] if m not in model_names]
            if missing:
                raise InputError("%s '%s' references model(s) not registered: %s"
                                 % (kind, item["name"], ", ".join(missing)))
    for item in _present(teams):
        missing = [m for m in item.get("members") or [] if m not in user_names]
        if missing:
            raise InputError("team '%s' has member(s) that are neither in maas_users nor in the gateway: %s"
                             % (item["name"], ", ".join(missing)))
    for item in _present(keys):
        user, team = key_owner(item)
        if user and user not in user_names:
            raise InputError("api key '%s': owner user '%s' is neither in maas_users nor in the gateway"
                             % (item["name"], user))
        if team and team not in team_names:
            raise InputError("api key '%s': owner team '%s' is neither in maas_teams nor in the gateway"
                             % (item["name"], team))


def reconcile_tenants(client, models, teams, users, keys, budget_defaults=None, endpoints=None,
                      prune=False, check_mode=False, public_url=None, spool_dir=None, api_keys=None):
    """Read every kind once, check everything, then write only what differs.

    Returns a dict for the module result: changed, summary, diff, delivered, spooled, undelivered.
    """
    endpoints = endpoints or {}
    api_keys = api_keys or {}
    for name, ref in sorted(api_keys.items()):
        if not isinstance(ref, str) or not API_KEY_REF_RE.match(ref):
            raise InputError("model_api_keys['%s'] must be a reference os.environ/NAME to a variable of the "
                             "gateway's environment, never the key itself" % name)
    models, teams, users, keys, budget_defaults = validate(models, teams, users, keys, budget_defaults, endpoints)
    budget_defaults = dict((k, v) for k, v in budget_defaults.items() if v is not None)
    kinds = dict(model=ModelKind(client), user=UserKind(client), team=TeamKind(client), key=KeyKind(client))
    current = dict((name, kind.list()) for name, kind in kinds.items())     # one paged read per kind
    check_references(models, teams, users, keys, current)

    desired = dict(model=[kinds["model"].desired(i, endpoints, api_keys) for i in models],
                   user=[kinds["user"].desired(i, budget_defaults) for i in users],
                   team=[kinds["team"].desired(i) for i in teams],
                   key=[kinds["key"].desired(i) for i in keys])
    plans = dict((name, plan_kind(kinds[name], desired[name], current[name], prune)) for name in kinds)
    rotations = []
    for step in plans["key"]:
        if step["action"] in ("none", "update") and step["desired"] and step["desired"].get("rotate") \
                and step["desired"].get("state") != "absent":
            rotations.append(step)
            step["action"] = "rotate"
    order = ("model", "user", "team", "key")
    results = {}
    for name in order:
        results[name] = execute(kinds[name], plans[name], check_mode, actions=("create", "update"))
    for step in rotations:
        if not check_mode:
            results["key"][step["name"]] = kinds["key"].rotate(step["name"], step["desired"], step["before"])
    for name in reversed(order):
        execute(kinds[name], plans[name], check_mode, actions=("delete",))

    for step in rotations:   # summarize() knows create/update/delete/none; a rotation is an update
        step["action"] = "update"
        step["changes"] = dict(step["changes"], secret={"before": "(old secret)", "after": "(new secret)"})
        step["after"] = step["after"] or step["before"]
    changed, summary, diff = summarize([(kinds[n], plans[n]) for n in order])
    delivered, spooled, undelivered = ([], [], [])
    if public_url is not None or spool_dir is not None:
        delivered, spooled, undelivered = deliver_keys(plans["key"], results["key"], public_url or client.base_url,
                                                       check_mode, spool_dir)
    summary["key"]["rotated"] = [s["name"] for s in rotations]
    return dict(changed=changed, summary=summary, diff=diff, delivered=delivered, spooled=spooled,
                undelivered=undelivered)


# ---------------------------------------------------------------- module glue

def item_from_params(params, fields):
    return dict((f, params[f]) for f in fields if params.get(f) is not None)


LIMITS_ARGUMENT_SPEC = dict(max_budget=dict(type="float"), budget_duration=dict(type="str"),
                            tpm_limit=dict(type="int"), rpm_limit=dict(type="int"))


def single_argument_spec(**options):
    """Argument spec of a single-object module: connection, name, state, then its own options."""
    spec = dict(GATEWAY_ARGUMENT_SPEC)
    spec.update(name=dict(type="str", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"))
    spec.update(options)
    return spec


def run_single_module(module, schema_kind, kind_class, fields, endpoints=None):
    """The whole body of a single-object module: validate, read one object, write only what differs."""
    from ansible_collections.redwood.maas.plugins.module_utils.client import GatewayClient, gateway_params
    from ansible_collections.redwood.maas.plugins.module_utils.tenants import check_entry
    client = None
    try:
        item = check_entry(schema_kind, item_from_params(module.params, fields))
        client = GatewayClient(**gateway_params(module.params))
        kind = kind_class(client)
        if kind_class is ModelKind:
            desired = kind.desired(item, endpoints)
            if desired["state"] == "present" and not desired.get("endpoint"):
                raise InputError("model '%s': endpoint is required" % item["name"])
        elif kind_class is UserKind:
            desired = kind.desired(item, {})
        else:
            desired = kind.desired(item)
        plan, results, out = apply_one(kind, desired, module.check_mode)
        delivered = []
        if kind_class is KeyKind:
            public_url = module.params.get("public_url") or client.base_url
            delivered, _spooled, undelivered = deliver_keys(plan, results, public_url, module.check_mode)
            for name in undelivered:
                module.warn("key '%s' exists but its deliver_to file is missing; set rotate: true to make and "
                            "deliver a new secret" % name)
    except (InputError, GatewayError) as exc:
        module.fail_json(msg=str(exc), requests=_counts(client))
    result = dict(changed=out["changed"], operation=out["action"], requests=_counts(client))
    if kind_class is KeyKind:
        result["delivered"] = bool(delivered)
    if module._diff:
        result["diff"] = out["diff"]
    module.exit_json(**result)


def _counts(client):
    return dict(total=client.requests, writes=client.writes) if client else dict(total=0, writes=0)


def read_info(client, kinds, names=None):
    """What litellm_info returns: plain rows per kind, with spend and the managed flag, no secrets."""
    classes = dict(users=UserKind, teams=TeamKind, keys=KeyKind, models=ModelKind)
    out = {}
    for kind in kinds:
        adapter = classes[kind](client)
        rows = []
        for name, cur in sorted(adapter.list().items()):
            if names and name not in names:
                continue
            row = dict((k, v) for k, v in cur.items() if k not in ("token", "metadata", "id", "db_model"))
            row["managed"] = adapter.managed(cur)
            rows.append(row)
        out[kind] = rows
    return out
