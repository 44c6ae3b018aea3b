# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The one reconcile engine and the ``Flavour`` interface every gateway flavour implements.

A run, for the bulk modules and the single-object modules alike (``run()``):

    validate (pure) -> check destinations -> read everything once -> check references
      -> plan every kind (adoption, owner and prune guards refuse here) -> execute in dependency
      order (deletes in reverse) -> deliver -> summarise

Nothing is written before the plan of every kind is complete, so bad input and refused changes
send no write request. A flavour (``litellm.py``, ``litemaas.py``) supplies ``Kind`` adapters (how
to list, create, update and delete one kind of object, which fields are compared) and its
capabilities as data. Key secrets: a ``Kind`` with ``secret = "controller"`` gets a secret from the
engine and must call ``deliver(secret)`` BEFORE its create request (write-ahead, so a retried create
is harmless); one with ``secret = "gateway"`` calls ``deliver(secret)`` as soon as the create answers,
before any other request. Either way every key the gateway holds has its secret at its destination.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError
from ansible_collections.redwood.maas.plugins.module_utils.delivery import check_destinations, destination
from ansible_collections.redwood.maas.plugins.module_utils.tenants import check_endpoints, validate_inventory

MARKER_KEY = "managed_by"
MARKER_VALUE = "redwood.maas"
WRITES = ("create", "update", "adopt", "rotate")
BUCKETS = dict(create="created", update="updated", adopt="adopted", rotate="rotated", delete="deleted",
               none="unchanged")


class Kind(object):
    """Adapter for one kind of gateway object; a flavour's subclasses implement the I/O.

    ``list()`` returns ``{name: current}``, ``current`` being a dict of the same fields as the desired
    items (in inventory units) plus what the adapter needs (ids, metadata)."""

    kind = "object"
    fields = ()           # compared fields (never secrets)
    set_fields = ()       # list fields compared without regard to order or duplicates
    owner_fields = ()     # fields that never change: a different value is refused (a key's owner)
    marked = True         # objects carry the marker; False: every object with a listed name is managed
    secret = None         # keys: "controller" (write-ahead) or "gateway" (deliver on the create's answer)

    def list(self):
        raise NotImplementedError

    def get(self, name):
        return self.list().get(name)

    def create(self, name, desired, deliver=None):
        raise NotImplementedError

    def update(self, name, desired, current, changes, mark=False):
        raise NotImplementedError

    def delete(self, name, current):
        raise NotImplementedError

    def rotate(self, name, desired, current, deliver):
        raise NotImplementedError

    def verify(self, created):
        """After the creates of a run: prove that ``created`` ({name: secret}) exist as sent."""

    def holds(self, current, secret):
        """Whether ``secret`` is the working secret of ``current``: True, False, or None (cannot tell)."""
        return None

    def destination_of(self, current):
        """Where a key without an inventory entry (pruned) was delivered, as a ``deliver_to`` mapping."""
        return None

    def managed(self, current):
        if not self.marked:
            return True
        return (current.get("metadata") or {}).get(MARKER_KEY) == MARKER_VALUE

    def view(self, obj):
        """What diff mode shows of an object: the compared fields only (no ids, no secrets)."""
        if obj is None:
            return None
        return dict((f, obj.get(f)) for f in self.fields if f in obj)


class Flavour(object):
    """One gateway flavour: capabilities as data, kinds, and the steps the engine cannot know.

    ``capabilities``: ``gateway`` (name in messages), ``teams``, ``prune``, ``delete_users``,
    ``key_models_required``, ``duration_words`` (read by ``tenants.validate_inventory``), ``roles``
    (inventory role -> gateway role), ``pending_users`` (users may not exist yet: reported, not failed),
    ``public_url`` (consumers call another URL than the gateway's: ``public_url`` has no default).
    ``order``: kind names in dependency order."""

    name = None
    capabilities = {}
    order = ()
    connection = {}       # the flavour's own connection options (argument spec), added by base.MaasModule

    def __init__(self, client):
        self.client = client
        self.kinds = {}

    @classmethod
    def from_params(cls, client, params, **kwargs):
        """The flavour for a module: its client and the module's params (its connection options)."""
        return cls(client, **kwargs)

    def validate(self, inv):
        """Flavour-specific checks without I/O (after the shared validation)."""

    def read(self, inv):
        """Everything the plan needs, each kind read once: ``{kind: {name: current}}``."""
        return dict((name, self.kinds[name].list()) for name in self.order)

    def check(self, inv, current):
        """References and uniqueness against what the gateway holds (no write)."""

    def desired(self, inv, current):
        """``{kind: [desired items]}`` in the flavour's units."""
        raise NotImplementedError

    def extra(self):
        """Flavour-specific result fields (e.g. LiteMaaS's pending users)."""
        return {}


# ---------------------------------------------------------------- comparison

def _num(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def same(desired, current, as_set=False):
    """Whether a desired value is already satisfied by the current one.

    Numbers compare by value (50 == 50.0); dicts compare only the keys the desired side sets
    (a gateway may add its own metadata); ``as_set`` lists ignore order and duplicates.
    """
    if desired is None:
        return True
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            return False
        return all(same(v, current.get(k)) for k, v in desired.items())
    if isinstance(desired, (list, tuple)):
        if not isinstance(current, (list, tuple)):
            return not desired and current is None
        if as_set:
            return set(map(_hashable, desired)) == set(map(_hashable, current))
        return len(desired) == len(current) and all(same(d, c) for d, c in zip(desired, current))
    dn, cn = _num(desired), _num(current)
    if dn is not None and cn is not None:
        return abs(dn - cn) <= 1e-9 * max(1.0, abs(dn))
    return desired == current


def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def compare(kind, desired, current):
    """``{field: {'before': .., 'after': ..}}`` for each compared field that differs."""
    changes = {}
    for field in kind.fields:
        want = desired.get(field)
        have = current.get(field)
        if not same(want, have, as_set=field in kind.set_fields):
            changes[field] = {"before": have, "after": want}
    return changes


# ---------------------------------------------------------------- planning

def _step(kind, name, action, changes, before, after, desired):
    return dict(kind=kind.kind, name=name, action=action, changes=changes, before=before, after=after,
                desired=desired)


def plan_kind(kind, desired, current, prune=False, adopt=False):
    """The actions for one kind: a list of steps ``{kind, name, action, changes, before, after, desired}``
    with action create, update, adopt, rotate, delete or none. Raises MaasError, before any write, for
    an object without the marker (unless ``adopt``) and for a change of an owner field."""
    plan = []
    wanted = set()
    for item in desired:
        name = item["name"]
        wanted.add(name)
        have = current.get(name)
        label = "%s '%s'" % (kind.kind.replace("_", " "), name)
        unmarked = have is not None and not kind.managed(have)
        if unmarked and not adopt:
            raise MaasError("%s exists in the gateway but was not made by redwood.maas (no managed_by marker): "
                            "rename the inventory entry, remove the object, or set maas_tenants_adopt: true "
                            "(adopt: true) to take it over" % label)
        if (item.get("state") or "present") == "absent":
            plan.append(_step(kind, name, "delete" if have is not None else "none", {}, have, None, item))
            continue
        if have is None:
            plan.append(_step(kind, name, "create", {}, None, item, item))
            continue
        for field in kind.owner_fields:
            if item.get(field) is not None and item.get(field) != have.get(field):
                raise MaasError("%s belongs to %s %r in the gateway, the inventory says %s %r: a key never "
                                "changes owner; give the new owner a new key (another name) and delete this one"
                                % (label, field, have.get(field), field, item.get(field)))
        changes = compare(kind, item, have)
        after = _merged(have, changes)
        action = "update" if changes else "none"
        if unmarked:
            action = "adopt"
        if item.get("rotate"):
            action = "rotate"
            after = dict(after, secret="(new secret)")
        plan.append(_step(kind, name, action, changes, have, after, item))
    if prune:
        for name in sorted(current):
            if name not in wanted and kind.marked and kind.managed(current[name]):
                plan.append(_step(kind, name, "delete", {}, current[name], None, None))
    return plan


def _merged(current, changes):
    after = copy.deepcopy(current)
    for field, change in changes.items():
        want = change["after"]
        if isinstance(want, dict) and isinstance(after.get(field), dict):
            after[field] = dict(after[field], **want)
        else:
            after[field] = want
    return after


def guard_prune(kind, plan, current, force):
    """Stop a prune that would delete more than half of the managed objects of a kind."""
    managed = [n for n, c in current.items() if kind.managed(c)]
    pruned = [s["name"] for s in plan if s["action"] == "delete" and s["desired"] is None]
    if pruned and len(pruned) * 2 > len(managed) and not force:
        raise MaasError("prune would delete %d of the %d managed %s objects (more than half; e.g. %s): if the "
                        "inventory really lost them, set maas_tenants_prune_force: true (prune_force: true)"
                        % (len(pruned), len(managed), kind.kind, ", ".join(pruned[:5])))


# ---------------------------------------------------------------- execution

class Engine(object):
    def __init__(self, flavour, dests=None, kube=None, check_mode=False, prune=False, prune_force=False,
                 adopt=False, public_url=None, warn=None):
        self.flavour = flavour
        self.dests = dests or {}
        self.kube = kube
        self.check_mode = check_mode
        self.prune = prune
        self.prune_force = prune_force
        self.adopt = adopt
        self.public_url = public_url
        self.warn = warn or (lambda msg: None)
        self.delivered, self.undelivered, self.removed = [], [], []

    def plan(self, desired, current):
        plans = {}
        for name in self.flavour.order:
            if name not in desired:
                continue
            kind = self.flavour.kinds[name]
            plans[name] = plan_kind(kind, desired[name], current.get(name) or {}, self.prune, self.adopt)
            if self.prune:
                guard_prune(kind, plans[name], current.get(name) or {}, self.prune_force)
        return plans

    def _deliverer(self, name):
        return Deliverer(self, name, self.dests.get(name))

    def execute(self, plans):
        self.created = {}
        order = [n for n in self.flavour.order if n in plans]
        for name in order:
            kind = self.flavour.kinds[name]
            for step in plans[name]:
                if step["action"] in WRITES and not self.check_mode:
                    self._write(kind, step)
                elif step["action"] in ("create", "rotate") and step["name"] in self.dests:
                    self.delivered.append(step["name"])         # check mode: would deliver
            if kind.secret and self.created:
                kind.verify(self.created)
        for name in reversed(order):
            kind = self.flavour.kinds[name]
            for step in plans[name]:
                if step["action"] == "delete":
                    if not self.check_mode:
                        kind.delete(step["name"], step["before"])
                    if kind.secret:
                        self._remove(kind, step)
        for name in order:
            kind = self.flavour.kinds[name]
            if kind.secret:
                for step in plans[name]:
                    if step["action"] in ("none", "update", "adopt"):
                        self._check_delivery(kind, step)

    def _write(self, kind, step):
        name, desired, before = step["name"], step["desired"], step["before"]
        if step["action"] == "create":
            kind.create(name, desired, self._deliverer(name))
        elif step["action"] == "rotate":
            kind.rotate(name, desired, before, self._deliverer(name))
        else:
            kind.update(name, desired, before, step["changes"], mark=step["action"] == "adopt")

    def _remove(self, kind, step):
        """A deleted key's secret leaves its destination (only if that is where it was delivered)."""
        dest = self.dests.get(step["name"])
        from_inventory = dest is not None
        if dest is None and kind.destination_of(step["before"]):
            dest = destination(dict(name=step["name"], deliver_to=kind.destination_of(step["before"])), self.kube)
        if dest is None:
            return
        try:
            holds = kind.holds(step["before"], dest.secret())
        except MaasError as exc:
            self.warn("%s: %s" % (step["name"], exc))
            return
        if holds or (holds is None and from_inventory and dest.secret()):
            if not self.check_mode:
                dest.remove()
            self.removed.append(step["name"])

    def _check_delivery(self, kind, step):
        dest = self.dests.get(step["name"])
        if dest is None:
            return
        staged = dest.staged()
        if staged and kind.holds(step["before"], staged):    # a rotation stopped before it published
            if not self.check_mode:
                dest.publish()
            self.delivered.append(step["name"])
            return
        secret = dest.secret()
        if secret is None or kind.holds(step["before"], secret) is False:
            self.undelivered.append(step["name"])
            self.warn("api key '%s' exists in the gateway but %s does not hold its secret, which cannot be "
                      "recovered: set rotate: true for it to make and deliver a new one" % (step["name"], dest.label))
        elif dest.needs_base_url(self.public_url):
            if not self.check_mode:
                dest.write(secret, self.public_url)
            self.delivered.append(step["name"])

    def result(self, plans):
        summary, before, after = {}, {}, {}
        changed = bool(self.delivered or self.removed)
        for name in [n for n in self.flavour.order if n in plans]:
            kind = self.flavour.kinds[name]
            bucket = summary.setdefault(kind.kind, dict((b, []) for b in BUCKETS.values()))
            for step in plans[name]:
                bucket[BUCKETS[step["action"]]].append(step["name"])
                if step["action"] == "none":
                    continue
                changed = True
                label = "%s/%s" % (kind.kind, step["name"])
                if step["before"] is not None:
                    before[label] = kind.view(step["before"])
                    if step["action"] == "rotate":
                        before[label]["secret"] = "(old secret)"
                if step["after"] is not None:
                    after[label] = kind.view(step["after"])
                    if step["action"] == "rotate":
                        after[label]["secret"] = "(new secret)"
        out = dict(changed=changed, summary=summary, diff={"before": before, "after": after},
                   delivered=sorted(set(self.delivered)), undelivered=self.undelivered, removed=self.removed)
        out.update(self.flavour.extra())
        return out

    def apply(self, desired, current):
        plans = self.plan(desired, current)
        self.execute(plans)
        return self.result(plans)


class Deliverer(object):
    """What a ``Kind`` calls to deliver one key's new secret: ``deliver(secret)`` writes it (write-ahead,
    before the create); ``stage(secret)`` + ``publish()`` put it next to the destination first and
    swap it in once the gateway holds it (a rotation with overlap: the destination never holds a
    secret the gateway does not know, so a consumer that re-reads it never fails)."""

    def __init__(self, engine, name, dest):
        self.engine, self.name, self.dest = engine, name, dest

    def __call__(self, secret):
        self.engine.created[self.name] = secret
        if self.dest is not None:
            self.dest.write(secret, self.engine.public_url)
            self.engine.delivered.append(self.name)

    def stage(self, secret):
        self.engine.created[self.name] = secret
        if self.dest is not None:
            self.dest.stage(secret, self.engine.public_url)

    def publish(self):
        if self.dest is not None:
            self.dest.publish()
            self.engine.delivered.append(self.name)


def run(flavour, inventory, kube=None, check_mode=False, prune=False, prune_force=False, adopt=False,
        public_url=None, warn=None, endpoints=None):
    """The whole pipeline for a tenant inventory (the bulk modules; single-object modules pass one item).

    ``inventory``: ``models, teams, users, api_keys, budget_defaults`` as in the role's variables;
    ``endpoints``: ``{model: URL}``."""
    models, teams, users, keys, defaults = validate_inventory(
        inventory.get("models"), inventory.get("teams"), inventory.get("users"), inventory.get("api_keys"),
        inventory.get("budget_defaults"), capabilities=flavour.capabilities, prune=prune)
    inv = dict(models=models, teams=teams, users=users, api_keys=keys, budget_defaults=defaults,
               endpoints=endpoints or {})
    if inventory.get("models") is not None and endpoints is not None:
        check_endpoints(models, endpoints)
    flavour.validate(inv)
    dests = {}
    for item in keys:
        dest = destination(item, kube)
        if dest is not None:
            dests[item["name"]] = dest
    check_destinations(dests)
    if dests and not public_url and flavour.capabilities.get("public_url"):
        raise MaasError("public_url (maas_gateway_public_url) is not set: it is the base URL consumers call (LiteLLM's, "
                        "not %s's), written with each delivered key (%s)"
                        % (flavour.capabilities["gateway"], ", ".join(sorted(dests)[:3])))
    current = flavour.read(inv)
    flavour.check(inv, current)
    engine = Engine(flavour, dests, kube, check_mode, prune, prune_force, adopt, public_url, warn)
    return engine.apply(flavour.desired(inv, current), current)
