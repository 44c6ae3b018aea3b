"""The role's meta/argument_specs.yml documents exactly the fields of the Python schema (tenants.SCHEMA):
every field, nested fields included, with its type and choices. Adding a field to one without the other
fails here."""
import os
import re

import pytest
import yaml

from ansible_collections.redwood.maas.plugins.module_utils.tenants import SCHEMA

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = yaml.safe_load(open(os.path.join(REPO, "roles", "tenants", "meta", "argument_specs.yml")))
OPTIONS = SPEC["argument_specs"]["main"]["options"]
VARIABLES = {"maas_models": "model", "maas_teams": "team", "maas_users": "user", "maas_api_keys": "api key",
             "maas_budget_defaults": "budget_defaults"}
TYPES = {"budget": "float", "count": "int", "strlist": "list", "str": "str", "name": "str", "url": "str",
         "duration": "str", "bool": "bool"}
FIELD_RE = re.compile(r"^C\(([a-z_.0-9]+)\) \(([a-z]+)(?:, one of ([a-z, -]+?))?(?:, required)?(?:, default [^)]*)?\)")


def flatten(schema, prefix=""):
    out = {}
    for field, kind in schema.items():
        name = prefix + field
        if isinstance(kind, dict):
            out[name] = ("dict", None)
            out.update(flatten(kind, name + "."))
        elif isinstance(kind, tuple):
            out[name] = ("str", tuple(kind))
        else:
            out[name] = (TYPES[kind], None)
    return out


def documented(variable):
    out = {}
    for line in OPTIONS[variable]["description"]:
        match = FIELD_RE.match(line)
        if match:
            choices = tuple(c.strip() for c in match.group(3).split(",")) if match.group(3) else None
            out[match.group(1)] = (match.group(2), choices)
    return out


@pytest.mark.parametrize("variable", sorted(VARIABLES))
def test_role_argument_specs_document_the_python_schema(variable):
    assert documented(variable) == flatten(SCHEMA[VARIABLES[variable]])


def test_engine_switches_are_role_variables_with_defaults():
    defaults = yaml.safe_load(open(os.path.join(REPO, "roles", "tenants", "defaults", "main.yml")))
    for var in ("maas_tenants_prune", "maas_tenants_prune_force", "maas_tenants_adopt", "maas_gateway_timeout",
                "maas_gateway_retries"):
        assert var in OPTIONS and OPTIONS[var]["default"] == defaults[var], var
