# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Key delivery, shared by every flavour: an env file (0600, atomic) or a Kubernetes Secret.

A destination holds ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``. ``check()`` runs before the first
write of a run (absolute path, creatable and writable directory, not a directory; the Secret's
namespace exists); ``secret()`` reads what is delivered (so a flavour can prove it works);
``write()`` delivers; ``remove()`` takes a dead secret away. Modules never return a secret, so no
task needs ``no_log`` for one. Kubernetes access uses the ``kubernetes`` Python client with the
same options as kubernetes.core (``kubeconfig``, ``context``; env K8S_AUTH_KUBECONFIG, KUBECONFIG).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import tempfile

from ansible_collections.redwood.maas.plugins.module_utils.client import MaasError

LABELS = {"app.kubernetes.io/managed-by": "redwood.maas"}
DATA_KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
NEXT_KEY = "OPENAI_API_KEY_NEXT"     # a staged secret (rotation with overlap), published once the gateway holds it


def base_v1(public_url):
    base = (public_url or "").rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def env_content(secret, public_url):
    return "OPENAI_API_KEY=%s\nOPENAI_BASE_URL=%s\n" % (secret, base_v1(public_url))


def write_secret_file(path, content):
    """Write ``content`` to ``path`` atomically with mode 0600 (a reader sees the old or the new file)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".maas-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class FileDestination(object):
    def __init__(self, key, path):
        self.key = key
        self.path = path
        self.label = "file %s" % path

    def check(self):
        what = "api key '%s': deliver_to.file %r" % (self.key, self.path)
        if not os.path.isabs(self.path):
            raise MaasError("%s must be an absolute path (a relative one would land wherever the play runs)" % what)
        if os.path.isdir(self.path):
            raise MaasError("%s is a directory" % what)
        parent = os.path.dirname(self.path)
        while not os.path.isdir(parent):
            if os.path.exists(parent):
                raise MaasError("%s: %s is not a directory" % (what, parent))
            parent = os.path.dirname(parent)
        try:            # a real probe: os.access() says yes to root on a read-only or immutable directory
            fd, probe = tempfile.mkstemp(dir=parent, prefix=".maas-probe-")
            os.close(fd)
            os.unlink(probe)
        except (IOError, OSError) as exc:
            raise MaasError("%s: directory %s is not writable (%s)" % (what, parent, exc.strerror))

    def values(self):
        try:
            with open(self.path) as handle:
                return dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)
        except (IOError, OSError):
            return {}

    def secret(self):
        return self.values().get("OPENAI_API_KEY")

    def write(self, secret, public_url):
        try:
            write_secret_file(self.path, env_content(secret, public_url))
        except (IOError, OSError) as exc:
            raise MaasError("api key '%s': cannot write deliver_to.file %s: %s" % (self.key, self.path, exc.strerror))

    def needs_base_url(self, public_url):
        values = self.values()
        return bool(values.get("OPENAI_API_KEY")) and values.get("OPENAI_BASE_URL") != base_v1(public_url)

    # Staged delivery (a rotation with overlap): the new secret waits next to the destination until
    # the gateway holds it, then replaces the old one in one rename; a reader never sees a secret
    # the gateway does not know yet.
    def stage(self, secret, public_url):
        try:
            write_secret_file(self.path + ".next", env_content(secret, public_url))
        except (IOError, OSError) as exc:
            raise MaasError("api key '%s': cannot write %s.next: %s" % (self.key, self.path, exc.strerror))

    def staged(self):
        try:
            with open(self.path + ".next") as handle:
                return dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line).get("OPENAI_API_KEY")
        except (IOError, OSError):
            return None

    def publish(self):
        try:
            os.rename(self.path + ".next", self.path)
        except OSError as exc:
            raise MaasError("api key '%s': cannot move %s.next over it: %s" % (self.key, self.path, exc.strerror))

    def remove(self):
        try:
            os.unlink(self.path)
        except OSError as exc:
            if os.path.exists(self.path):
                raise MaasError("api key '%s': cannot remove %s: %s" % (self.key, self.path, exc.strerror))


class SecretDestination(object):
    def __init__(self, key, namespace, name, kube):
        self.key = key
        self.namespace = namespace
        self.name = name
        self.kube = kube
        self.label = "Secret %s/%s" % (namespace, name)
        self._cached = None

    def _fail(self, doing, exc):
        reason = getattr(exc, "reason", None) or str(exc)
        raise MaasError("api key '%s': cannot %s Kubernetes Secret %s/%s: %s %s"
                        % (self.key, doing, self.namespace, self.name, getattr(exc, "status", ""), reason))

    def check(self):
        api = self.kube.core()
        try:
            api.read_namespace(self.namespace)
        except Exception as exc:  # pylint: disable=broad-except
            if getattr(exc, "status", None) == 404:
                raise MaasError("api key '%s': deliver_to.secret namespace %r does not exist"
                                % (self.key, self.namespace))
            if getattr(exc, "status", None) != 403:     # not allowed to read namespaces: the Secret will tell
                self._fail("reach the namespace of", exc)
        self.values()

    def values(self):
        if self._cached is None:
            try:
                obj = self.kube.core().read_namespaced_secret(self.name, self.namespace)
                data = obj.data or {}
                self._cached = dict((k, base64.b64decode(v).decode("utf-8")) for k, v in data.items())
            except Exception as exc:  # pylint: disable=broad-except
                if getattr(exc, "status", None) != 404:
                    self._fail("read", exc)
                self._cached = {}
        return self._cached

    def secret(self):
        return self.values().get("OPENAI_API_KEY")

    def needs_base_url(self, public_url):
        values = self.values()
        return bool(values.get("OPENAI_API_KEY")) and values.get("OPENAI_BASE_URL") != base_v1(public_url)

    def _patch(self, data):
        api = self.kube.core()
        body = {"metadata": {"labels": LABELS}, "data": data}
        try:
            api.patch_namespaced_secret(self.name, self.namespace, body, _content_type="application/merge-patch+json")
        except Exception as exc:  # pylint: disable=broad-except
            if getattr(exc, "status", None) != 404 or not any(data.values()):
                self._fail("write", exc)
            body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": self.name, "namespace": self.namespace, "labels": LABELS}, "data": data}
            try:
                api.create_namespaced_secret(self.namespace, body)
            except Exception as exc2:  # pylint: disable=broad-except
                self._fail("create", exc2)

    def write(self, secret, public_url):
        values = {"OPENAI_API_KEY": secret, "OPENAI_BASE_URL": base_v1(public_url)}
        self._patch(dict((k, base64.b64encode(v.encode()).decode()) for k, v in values.items()))
        self._cached = values

    # Staged delivery (a rotation with overlap): the new secret waits in the data key
    # OPENAI_API_KEY_NEXT until the gateway holds it, then replaces OPENAI_API_KEY in one patch.
    def stage(self, secret, public_url):
        self._patch({NEXT_KEY: base64.b64encode(secret.encode()).decode()})
        self._cached = None

    def staged(self):
        return self.values().get(NEXT_KEY)

    def publish(self):
        secret = self.staged()
        if secret:
            self._patch({"OPENAI_API_KEY": base64.b64encode(secret.encode()).decode(), NEXT_KEY: None})
        self._cached = None

    def remove(self):
        if self.values():
            self._patch(dict((k, None) for k in DATA_KEYS + (NEXT_KEY,)))
        self._cached = {}


class Kube(object):
    """A lazily built CoreV1Api from ``kubeconfig``/``context`` (kubernetes.core's options and env)."""

    def __init__(self, kubeconfig=None, context=None):
        self.kubeconfig = kubeconfig or os.environ.get("K8S_AUTH_KUBECONFIG") or os.environ.get("KUBECONFIG")
        self.context = context or os.environ.get("K8S_AUTH_CONTEXT")
        self._api = None

    def core(self):
        if self._api is None:
            try:
                from kubernetes import client, config
            except ImportError:
                raise MaasError("deliver_to.secret needs the Python library kubernetes on the host that runs "
                                "the module")
            try:
                if self.kubeconfig or not os.environ.get("KUBERNETES_SERVICE_HOST"):
                    api_client = config.new_client_from_config(config_file=self.kubeconfig, context=self.context)
                else:
                    config.load_incluster_config()
                    api_client = client.ApiClient()
            except Exception as exc:  # pylint: disable=broad-except
                raise MaasError("cannot load the Kubernetes configuration (kubeconfig %s): %s"
                                % (self.kubeconfig or "~/.kube/config", exc))
            self._api = client.CoreV1Api(api_client)
        return self._api


def destination(item, kube):
    """The destination of an inventory key entry (None when it has no ``deliver_to``)."""
    deliver = item.get("deliver_to") or {}
    if deliver.get("file"):
        return FileDestination(item["name"], deliver["file"])
    if deliver.get("secret"):
        return SecretDestination(item["name"], deliver["secret"]["namespace"], deliver["secret"]["name"], kube)
    return None


def check_destinations(dests):
    """Before any write: each destination valid and used by one key only. ``dests``: {key: dest}."""
    seen = {}
    for key in sorted(dests):
        dest = dests[key]
        where = dest.label if isinstance(dest, SecretDestination) else os.path.normpath(dest.path)
        if where in seen:
            raise MaasError("api keys '%s' and '%s' are both delivered to %s: each key needs its own destination"
                            % (seen[where], key, dest.label))
        seen[where] = key
    for key in sorted(dests):
        dests[key].check()
