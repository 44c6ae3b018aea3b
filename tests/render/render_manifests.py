# Copyright: redwood.maas contributors. Apache License 2.0.
"""Offline validation of rendered manifests.

Core kinds: kubernetes-validate (strict, Kubernetes 1.30 ~ OpenShift 4.17).
Custom resources: the CRD's openAPIV3Schema from ../shared/crds/crd (OAS 3.0), made strict
(unknown fields rejected where the schema lists properties and does not preserve unknown fields).
OpenShift-only kinds and ServiceMonitor: the strict JSON schemas of ../shared/crds/jsonschema.
"""
import copy
import json
import os
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from openapi_schema_validator import OAS30Validator

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MAAS_SHARED_DIR", REPO.parent / "shared")).resolve()
K8S_VERSION = "1.30.0"

JSON_SCHEMAS = {
    ("user.openshift.io/v1", "Group"): "group_user.openshift.io_v1.json",
    ("user.openshift.io/v1", "User"): "user_user.openshift.io_v1.json",
    ("oauth.openshift.io/v1", "OAuthClient"): "oauthclient_oauth.openshift.io_v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_servicemonitor_v1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com_podmonitor_v1.json",
}


def _strict(schema):
    """Reject unknown fields like a strict validator (the API server would prune them silently)."""
    schema = copy.deepcopy(schema)

    def walk(s):
        if not isinstance(s, dict):
            return
        for key in [k for k, v in s.items() if v is None]:
            del s[key]  # e.g. "anyOf:" left empty upstream
        if ("properties" in s and "additionalProperties" not in s
                and not s.get("x-kubernetes-preserve-unknown-fields")):
            s["additionalProperties"] = False
        for key in ("properties", "patternProperties"):
            for sub in (s.get(key) or {}).values():
                walk(sub)
        for key in ("items", "additionalProperties", "not"):
            walk(s.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in s.get(key) or []:
                walk(sub)

    walk(schema)
    # metadata is validated by the API server, not by the CRD schema.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return schema


def _crd_schemas():
    out = {}
    for f in sorted((SHARED / "crds" / "crd").glob("*.yaml")):
        for crd in yaml.safe_load_all(f.read_text()):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for v in crd["spec"]["versions"]:
                out[("%s/%s" % (group, v["name"]), kind)] = _strict(v["schema"]["openAPIV3Schema"])
    return out


_CRDS = None


def validate(doc):
    """Raise AssertionError naming the object if ``doc`` is not valid."""
    global _CRDS
    if _CRDS is None:
        _CRDS = _crd_schemas()
    key = (doc.get("apiVersion"), doc.get("kind"))
    name = "%s %s/%s" % (doc.get("kind"), doc.get("metadata", {}).get("namespace", ""),
                         doc.get("metadata", {}).get("name"))
    try:
        if key in _CRDS:
            errors = sorted(OAS30Validator(_CRDS[key]).iter_errors(doc), key=str)
            assert not errors, "; ".join("%s at %s" % (e.message, list(e.absolute_path)) for e in errors[:5])
        elif key in JSON_SCHEMAS:
            schema = json.loads((SHARED / "crds" / "jsonschema" / JSON_SCHEMAS[key]).read_text())
            jsonschema.validate(doc, schema)
        else:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except (jsonschema.ValidationError, kubernetes_validate.ValidationError,
            kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        raise AssertionError("%s: %s" % (name, getattr(exc, "message", exc))) from None
    except AssertionError as exc:
        raise AssertionError("%s: %s" % (name, exc)) from None
