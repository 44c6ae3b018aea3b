# Copyright: redwood.maas contributors. Apache License 2.0.
"""From rendered manifests to sandboxed containers (pod_sandbox.py), with local image equivalents.

What the kubelet and OpenShift would do, reproduced from the manifest alone: env with
``secretKeyRef`` resolved from the render's ``secrets/`` directory and ``$(VAR)`` expanded,
service-link variables (enableServiceLinks), the service-account mount, volumes, initContainers
before the main container, ``HOME=/`` unless the manifest or the image sets it. KServe pods are
assembled from the ServingRuntime and the InferenceService the way KServe's controller merges
them (``{{.Name}}`` replaced, runtime args + model args, runtime env + model env, the model at
/mnt/models as the storage-initializer or the modelcar leaves it).

Each image is replaced by what is installed here, and every difference is listed in IMAGES:
what cannot run here (a GPU, the sclorg PostgreSQL entrypoint, a download from Hugging Face) is
named, and the tests that rely on a stand-in say so in their names.
"""
import copy
import re
from pathlib import Path

import yaml

PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")
CPU_ARG_DROPS = ("--quantization", "--gpu-memory-utilization")
DEMO_MAX_LEN = 2048


def load_render(directory):
    """{(kind, namespace, name): doc} of a render directory, Secrets (secrets/) included."""
    directory = Path(directory)
    objs = {}
    files = sorted(directory.glob("*/manifests.yaml")) + sorted((directory / "secrets").glob("*.yaml"))
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if doc:
                key = (doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])
                objs[key] = doc
    return objs


def workloads(objs):
    """Every pod the manifests make: [(kind, name, namespace, pod spec, labels)]."""
    out = []
    for (kind, ns, name), doc in sorted(objs.items()):
        if kind in ("Deployment", "StatefulSet", "Job"):
            tpl = doc["spec"]["template"]
            out.append((kind, name, ns, copy.deepcopy(tpl["spec"]), tpl["metadata"].get("labels", {})))
        elif kind == "InferenceService":
            # KServe copies the InferenceService's labels to the predictor pods.
            labels = dict(doc["metadata"].get("labels", {}), **{
                "serving.kserve.io/inferenceservice": name, "component": "predictor"})
            out.append((kind, name, ns, kserve_pod(objs, doc), labels))
    return out


def kserve_pod(objs, isvc):
    """The predictor pod KServe makes from a RawDeployment InferenceService and its runtime."""
    ns, name = isvc["metadata"]["namespace"], isvc["metadata"]["name"]
    pred = isvc["spec"]["predictor"]
    model = pred["model"]
    runtime = objs[("ServingRuntime", ns, model["runtime"])]["spec"]
    container = copy.deepcopy(runtime["containers"][0])
    container["args"] = [a.replace("{{.Name}}", name) for a in container.get("args", [])] + model.get("args", [])
    container["env"] = container.get("env", []) + model.get("env", [])
    container["resources"] = model.get("resources", {})
    container.setdefault("volumeMounts", []).append(
        {"name": "kserve-provision-location", "mountPath": "/mnt/models", "readOnly": True})
    spec = {"containers": [container], "volumes": copy.deepcopy(runtime.get("volumes", [])),
            "serviceAccountName": pred.get("serviceAccountName", "default")}
    spec["volumes"].append({"name": "kserve-provision-location", "kserveModel": model["storageUri"]})
    return spec


def secret_value(objs, ns, ref, fake_secrets):
    doc = objs.get(("Secret", ns, ref["name"]))
    if doc is not None and ref["key"] in doc.get("stringData", {}):
        return str(doc["stringData"][ref["key"]])
    # made by OpenShift (a service-account-token Secret is rendered empty) or by the admin
    if (ref["name"], ref["key"]) in fake_secrets:
        return fake_secrets[(ref["name"], ref["key"])]
    raise AssertionError("Secret %s/%s key %s is neither rendered nor known" % (ns, ref["name"], ref["key"]))


def container_env(objs, ns, container, fake_secrets, service_links):
    """The container's environment as the kubelet builds it (before the image's own ENV)."""
    env = dict(service_links)
    for item in container.get("env", []):
        if "value" in item:
            value = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), str(item["value"]))
        else:
            ref = item["valueFrom"]
            if "secretKeyRef" in ref:
                value = secret_value(objs, ns, ref["secretKeyRef"], fake_secrets)
            elif "configMapKeyRef" in ref:
                value = objs[("ConfigMap", ns, ref["configMapKeyRef"]["name"])]["data"][ref["configMapKeyRef"]["key"]]
            elif "fieldRef" in ref:
                value = {"metadata.namespace": ns}[ref["fieldRef"]["fieldPath"]]
            else:
                raise AssertionError("unsupported env source %s" % ref)
        env[item["name"]] = value
    return env


def service_links(objs, ns, ips):
    """enableServiceLinks (on by default): <SVC>_SERVICE_HOST/_PORT... for every Service of the namespace."""
    env = {"KUBERNETES_SERVICE_HOST": "172.30.0.1", "KUBERNETES_SERVICE_PORT": "443",
           "KUBERNETES_PORT": "tcp://172.30.0.1:443"}
    for (kind, sns, name), doc in objs.items():
        if kind != "Service" or sns != ns or name not in ips:
            continue
        base = name.upper().replace("-", "_")
        ports = doc["spec"]["ports"]
        env[base + "_SERVICE_HOST"] = ips[name]
        env[base + "_SERVICE_PORT"] = str(ports[0]["port"])
        env[base + "_PORT"] = "tcp://%s:%s" % (ips[name], ports[0]["port"])
        for p in ports:
            pre = "%s_PORT_%s_TCP" % (base, p["port"])
            env.update({pre: "tcp://%s:%s" % (ips[name], p["port"]), pre + "_PROTO": "tcp",
                        pre + "_PORT": str(p["port"]), pre + "_ADDR": ips[name]})
            if p.get("name"):
                env["%s_SERVICE_PORT_%s" % (base, p["name"].upper().replace("-", "_"))] = str(p["port"])
    return env


def cpu_args(args):
    """vLLM CPU adaptations (no GPU here), each listed: eager mode, TP 1, no AWQ/GPU memory flags,
    the demo model's context length, and a tool-call parser that the demo model's tokenizer can
    serve: a model family's parser needs that family's tokenizer (vLLM refuses
    --tool-call-parser=mistral without Mistral's [TOOL_CALLS] token), the real model has it, the
    demo model does not; pythonic needs no special token, so --enable-auto-tool-choice stays on."""
    out = []
    for a in args:
        if a.startswith(CPU_ARG_DROPS):
            continue
        if a.startswith("--tool-call-parser="):
            a = "--tool-call-parser=pythonic"
        if a.startswith("--tensor-parallel-size="):
            a = "--tensor-parallel-size=1"
        if a.startswith("--max-model-len="):
            a = "--max-model-len=%d" % min(int(a.split("=", 1)[1]), DEMO_MAX_LEN)
        out.append(a)
    return out + ["--enforce-eager"]


def image_kind(container):
    """Which local equivalent stands for this container's image."""
    image, cmd = container["image"], " ".join(container.get("command", []) + container.get("args", []))
    if "vllm.entrypoints.openai.api_server" in cmd or "vllm" in image.rsplit("/", 1)[-1]:
        return "vllm"
    if "litellm" in image:
        return "litellm"
    if "litemaas-backend" in image:
        return "litemaas-backend"
    if "litemaas-frontend" in image:
        return "litemaas-frontend"
    if "postgresql" in image:
        return "psql-job" if container.get("command") else "postgres"
    if "modelcar" in image or container.get("name") == "modelcar":
        return "modelcar"
    raise AssertionError("no local equivalent for image %s" % image)


def probes(container):
    return {k: container[k] for k in PROBE_KINDS if k in container}
