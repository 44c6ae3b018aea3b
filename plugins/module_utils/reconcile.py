# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The one reconcile engine: read current state, compute the minimal diff, write only that.

A gateway flavour describes each kind of object with a ``Kind`` adapter (how to list, create,
update and delete it, which fields are compared). The engine is flavour-agnostic:

    plan = plan_kind(kind, desired, current, prune)   # no I/O beyond what the caller read
    execute(kind, plan, check_mode)                    # writes only the planned changes

Single-object modules call it with one desired item and ``current`` from ``kind.get(name)``;
the bulk modules read every kind once (``kind.list()``, paged), plan all kinds (so every
reference can be checked before the first write), then execute creates/updates in dependency
order and deletes in reverse order. Names are identities: objects are matched by name, never by
position, so a run interrupted midway converges when it is run again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

MARKER_KEY = "managed_by"
MARKER_VALUE = "redwood.maas"


class Kind(object):
    """Adapter for one kind of gateway object; subclasses implement the I/O.

    ``list()`` returns ``{name: current}`` where ``current`` is a dict of the same fields as the
    desired items (normalised to inventory units), plus whatever the adapter needs (ids).
    """

    kind = "object"
    fields = ()           # compared fields (never secrets)
    set_fields = ()       # list fields compared without regard to order or duplicates

    def list(self):
        raise NotImplementedError

    def get(self, name):
        return self.list().get(name)

    def create(self, name, desired):
        raise NotImplementedError

    def update(self, name, desired, current, changes):
        raise NotImplementedError

    def delete(self, name, current):
        raise NotImplementedError

    def managed(self, current):
        """True if the object carries the collection's marker (only those are pruned)."""
        meta = current.get("metadata") or {}
        return meta.get(MARKER_KEY) == MARKER_VALUE

    def view(self, obj):
        """What diff mode shows of an object: the compared fields only (no ids, no secrets)."""
        if obj is None:
            return None
        return dict((f, obj.get(f)) for f in self.fields if f in obj)


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
    """``{field: {'before': .., 'after': ..}}`` for each managed field that differs."""
    changes = {}
    for field in kind.fields:
        want = desired.get(field)
        have = current.get(field)
        if not same(want, have, as_set=field in kind.set_fields):
            changes[field] = {"before": have, "after": want}
    return changes


def plan_kind(kind, desired, current, prune=False):
    """Compute the actions for one kind. ``desired``: list of dicts with ``name`` and optional
    ``state`` (present/absent); ``current``: ``{name: obj}``. Returns a list of action dicts
    ``{kind, name, action: create|update|delete|none, changes, before, after, desired, current}``.
    """
    plan = []
    wanted = set()
    for item in desired:
        name = item["name"]
        wanted.add(name)
        have = current.get(name)
        state = item.get("state") or "present"
        if state == "absent":
            action = "delete" if have is not None else "none"
            plan.append(_action(kind, name, action, {}, have, None, item))
            continue
        if have is None:
            plan.append(_action(kind, name, "create", {}, None, item, item))
            continue
        changes = compare(kind, item, have)
        after = _merged(kind, have, item) if changes else have
        plan.append(_action(kind, name, "update" if changes else "none", changes, have, after, item))
    if prune:
        for name in sorted(current):
            if name not in wanted and kind.managed(current[name]):
                plan.append(_action(kind, name, "delete", {}, current[name], None, None))
    return plan


def _merged(kind, current, desired):
    after = copy.deepcopy(current)
    for field in kind.fields:
        if desired.get(field) is not None:
            want = desired[field]
            if isinstance(want, dict) and isinstance(after.get(field), dict):
                after[field] = dict(after[field], **want)
            else:
                after[field] = want
    return after


def _action(kind, name, action, changes, before, after, desired):
    return dict(kind=kind.kind, name=name, action=action, changes=changes,
                before=before, after=after, desired=desired)


def execute(kind, plan, check_mode=False, actions=("create", "update", "delete")):
    """Carry out the planned actions of the given types; in check mode, write nothing.

    Returns ``{name: result}`` with what create/update returned (e.g. a new key's secret).
    """
    results = {}
    for step in plan:
        if step["action"] not in actions or check_mode:
            continue
        name = step["name"]
        if step["action"] == "create":
            results[name] = kind.create(name, step["desired"])
        elif step["action"] == "update":
            results[name] = kind.update(name, step["desired"], step["before"], step["changes"])
        elif step["action"] == "delete":
            results[name] = kind.delete(name, step["before"])
    return results


def summarize(kinds_plans):
    """Module result pieces from ``[(kind, plan), ...]``: changed, per-kind lists, diff."""
    changed = False
    summary = {}
    before, after = {}, {}
    for kind, plan in kinds_plans:
        bucket = summary.setdefault(kind.kind, {"created": [], "updated": [], "deleted": [], "unchanged": []})
        for step in plan:
            key = {"create": "created", "update": "updated", "delete": "deleted", "none": "unchanged"}[step["action"]]
            bucket[key].append(step["name"])
            if step["action"] != "none":
                changed = True
                label = "%s/%s" % (kind.kind, step["name"])
                if step["before"] is not None:
                    before[label] = kind.view(step["before"])
                if step["after"] is not None:
                    after[label] = kind.view(step["after"])
    return changed, summary, {"before": before, "after": after}
