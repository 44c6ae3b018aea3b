# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Helpers of the LiteMaaS tests (a module of its own name: another directory's conftest would shadow
``from conftest import ...`` when both run in one session)."""

import os
import time
import uuid

import httpx
import yaml

from fixtures import ansible_run
TENANT_TASK = "Apply models, users, subscriptions and API keys (new secrets delivered once; never printed)"


class Run(ansible_run.Run):
    def task(self, name=TENANT_TASK):
        return super(Run, self).task(name)


def run_playbook(workdir, variables, *args, **kwargs):
    """fixtures.ansible_run.run_playbook; ``Run.task()`` defaults to the LiteMaaS bulk task."""
    run = ansible_run.run_playbook(workdir, variables, *args, **kwargs)
    run.__class__ = Run
    return run


def connection(lm):
    """Exactly what the README says the tenants role needs against an existing LiteMaaS (plus the public URL
    consumers use)."""
    return dict(maas_gateway="litemaas", maas_litemaas_url=lm.url, maas_litemaas_jwt_secret=lm.jwt_secret,
                maas_litemaas_automation_user=lm.automation, maas_gateway_public_url=lm.litellm.url)


def chat(base_url, key, model, content="hello"):
    """One chat completion as a consumer makes it; returns (status, body)."""
    resp = httpx.post(base_url.rstrip("/") + "/chat/completions", timeout=60,
                      headers={"Authorization": "Bearer %s" % key},
                      json={"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 8})
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    return resp.status_code, body


def read_env(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def wait_for(predicate, timeout=90, interval=2, what="condition"):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("%s not met within %s s" % (what, timeout))
        time.sleep(interval)


def run_tasks(workdir, lm, tasks, *args, **kwargs):
    """Run module ``tasks`` on localhost with the LiteMaaS connection as module_defaults (``connection=False``:
    none); Run.task(name) reads each task's result."""
    path = os.path.join(str(workdir), "tasks-%s.yml" % uuid.uuid4().hex[:6])
    defaults = dict(gateway_url=lm.url, jwt_secret=lm.jwt_secret, automation_user=lm.automation) \
        if kwargs.pop("connection", True) else {}
    with open(path, "w") as f:
        yaml.safe_dump([dict(name="Tasks", hosts="maas", gather_facts=False,
                             module_defaults={"group/redwood.maas.litemaas": defaults}, tasks=tasks)], f,
                       sort_keys=False)
    return run_playbook(workdir, {}, *args, playbook=path, **kwargs)


def request_as(lm, user, method, path, body=None, roles=("user",)):
    """A request as ``user`` ({id, username, email}) makes it in the portal (a JWT minted for it), e.g. asking for
    a subscription; returns the JSON answer."""
    import jwt
    now = int(time.time())
    token = jwt.encode(dict(userId=user["id"], username=user["username"], email=user["email"], roles=list(roles),
                            iat=now, exp=now + 120), lm.jwt_secret, algorithm="HS256")
    with lm.api(token) as api:
        return api.request(method, path, json=body).raise_for_status().json()


def admin_request(lm, method, path, body=None):
    """What an admin does by hand in the portal (make a model restricted, a key, ...), with an admin's JWT."""
    return request_as(lm, lm.automation, method, path, body, roles=("admin", "user"))
