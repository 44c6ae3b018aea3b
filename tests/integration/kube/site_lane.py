# Copyright: redwood.maas contributors. Apache License 2.0.
"""The staging environment's life on one kube-local, run once per session in a background thread.

Every playbook run of site.yml/teardown.yml on the shared namespace is made here, in the order a
cluster admin would make them; the tests of test_apply.py assert on the recorded outputs and
snapshots (``Site.wait(step)``). Meanwhile the tests that use their own namespace or API server run
in the foreground (conftest.py orders the tests that wait for the lane last).

Two pairs run side by side because neither writes what the other reads: the second converge
(must change nothing) next to the check mode run (must write nothing), then the rotation run next
to the broken-manifest run (fails at the server before it writes). A write by either run of a
pair would still fail its test (changed != 0, or a resourceVersion/Secret that moved).
"""
import base64
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

from kube_helpers import Runner

NS = "maas-staging"
SITE = ("playbooks/site.yml", "-i", "inventories/staging", "--tags", "platform,serving,gateway")
PINNED = {
    "maas_k8s_wait": False,
    "gpu_operators_nfd": {"package": "nfd", "source": "redhat-operators", "namespace": "openshift-nfd",
                          "channel": "stable"},
    "gpu_operators_nvidia": {"package": "gpu-operator-certified", "source": "certified-operators",
                             "namespace": "nvidia-gpu-operator", "channel": "v24.9"},
}
SECRETS = ["maas-postgres", "maas-litellm", "maas-litemaas"]
CHECK_EXTRA = dict(PINNED, litellm_replicas=3, litellm_redis_host="redis.example", litellm_redis_secret="redis",
                   litemaas_rotate_secrets=True,
                   model_serving_overrides={"granite-3-1-8b-instruct": {"replicas": 4, "cache_volume": "emptyDir"},
                                            "mistral-7b-instruct": {"hf_token_secret": "hf-token"}})
STEPS = ("converge", "second", "check", "rotation", "broken", "teardown")


def secret_data(kube, name, ns=NS):
    obj = kube.get("v1", "Secret", name, ns)
    return {k: base64.b64decode(v).decode() for k, v in ((obj or {}).get("data") or {}).items()}


def ensure_namespace_with_hf_token(kube, ns):
    if kube.get("v1", "Namespace", ns) is None:
        kube.resource("v1", "Namespace").create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    if kube.get("v1", "Secret", "hf-token", ns) is None:
        kube.resource("v1", "Secret").create(namespace=ns, body={
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf-token"}, "stringData": {"HF_TOKEN": "hf_test"}})


def workload_versions(kube, ns=NS):
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
            for kind in ("Deployment", "StatefulSet") for o in kube.list("apps/v1", kind, ns)}


# What test_full_converge_creates_every_component reads, as the first converge left it.
STATE_KINDS = [("apps/v1", "StatefulSet"), ("apps/v1", "Deployment"), ("batch/v1", "Job"),
               ("serving.kserve.io/v1beta1", "InferenceService"), ("serving.kserve.io/v1alpha1", "ServingRuntime"),
               ("monitoring.coreos.com/v1", "ServiceMonitor"), ("route.openshift.io/v1", "Route"),
               ("v1", "ServiceAccount"), ("user.openshift.io/v1", "Group"),
               ("operators.coreos.com/v1alpha1", "Subscription"), ("nvidia.com/v1", "ClusterPolicy"),
               ("networking.k8s.io/v1", "NetworkPolicy")]


class State:
    """A copy of every object of STATE_KINDS, read like KubeLocal (get, list)."""

    def __init__(self, kube):
        self.objs = {(a, k): kube.list(a, k) for a, k in STATE_KINDS}

    def list(self, api_version, kind, namespace=None):
        return [o for o in self.objs[(api_version, kind)]
                if namespace is None or o["metadata"].get("namespace") == namespace]

    def get(self, api_version, kind, name, namespace=None):
        found = [o for o in self.list(api_version, kind, namespace) if o["metadata"]["name"] == name]
        return found[0] if found else None


class Site:
    """Runs the steps in a thread; ``wait(step)`` returns that step's record (or raises its error)."""

    def __init__(self, kube):
        self.kube = kube
        self.runner = Runner(kube)
        self.rec = {}
        self.done = {s: threading.Event() for s in STEPS}
        self.error = None
        self.thread = threading.Thread(target=self._main, name="site-lane", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def wait(self, step, timeout=3600):
        assert self.done[step].wait(timeout), "the site lane did not reach %s in %s s" % (step, timeout)
        if step not in self.rec:
            raise AssertionError("the site lane stopped before %s:\n%s" % (step, self.error))
        return self.rec[step]

    def join(self):
        self.thread.join()

    def _run(self, *args, extra=None):
        return self.runner.run(*args, extra=extra, ok=False, timeout=1800)

    def _main(self):
        try:
            self._steps()
        # Any error is reported by every test that waits for a step the lane did not reach.
        except Exception:  # pylint: disable=broad-except
            self.error = traceback.format_exc()
        finally:
            for ev in self.done.values():
                ev.set()

    def _finish(self, step, **record):
        self.rec[step] = record
        self.done[step].set()

    def _steps(self):
        k = self.kube
        ensure_namespace_with_hf_token(k, NS)
        rc, first = self._run(*SITE, extra=PINNED)
        self._finish("converge", rc=rc, out=first, secrets=self._secrets(), state=State(k))

        before = workload_versions(k)
        secrets_before = self._secrets()
        with ThreadPoolExecutor(2) as pool:
            second = pool.submit(self._run, *SITE, extra=PINNED)
            check = pool.submit(self._run, *SITE, "--check", "--diff", extra=CHECK_EXTRA)
            (rc2, out2), (rcc, outc) = second.result(), check.result()
        secrets2 = self._secrets()
        self._finish("second", rc=rc2, out=out2, secrets=secrets2)
        self._finish("check", rc=rcc, out=outc, before=before, after=workload_versions(k),
                     secrets_before=secrets_before, secrets_after=secrets2,
                     litellm_replicas=k.get("apps/v1", "Deployment", "litellm", NS)["spec"]["replicas"])

        with ThreadPoolExecutor(2) as pool:
            rotation = pool.submit(self._run, *SITE[:3], "--tags", "gateway", extra=dict(PINNED, litellm_rotate_secrets=True))
            broken = pool.submit(self._run, *SITE[:3], "--tags", "gateway", extra=dict(PINNED, litellm_replicas=-1))
            (rcr, outr), (rcb, outb) = rotation.result(), broken.result()
        self._finish("rotation", rc=rcr, out=outr, before=secrets2, after=self._secrets())
        self._finish("broken", rc=rcb, out=outb)

        keep = self._secrets()
        pvcs = {p["metadata"]["name"] for p in k.list("v1", "PersistentVolumeClaim", NS)}
        rct, outt = self._run("playbooks/teardown.yml", "-i", "inventories/staging")
        gone = {
            "deployments": k.list("apps/v1", "Deployment", NS),
            "postgres": k.get("apps/v1", "StatefulSet", "postgres", NS),
            "isvc": k.get("serving.kserve.io/v1beta1", "InferenceService", "mistral-7b-instruct", NS),
            "group": k.get("user.openshift.io/v1", "Group", "litemaas-admins"),
            "pvcs": {p["metadata"]["name"] for p in k.list("v1", "PersistentVolumeClaim", NS)},
            "secrets": self._secrets(),
        }
        # A new converge reuses the kept Secrets.
        rca, outa = self._run(*SITE[:3], "--tags", "platform,gateway", extra=dict(PINNED, gpu_operators_enabled=False))
        self._finish("teardown", rc=rct, out=outt, keep=keep, pvcs=pvcs, gone=gone, again_rc=rca, again_out=outa,
                     again_secrets=self._secrets(), again_postgres=k.get("apps/v1", "StatefulSet", "postgres", NS))

    def _secrets(self):
        return {n: secret_data(self.kube, n) for n in SECRETS}
