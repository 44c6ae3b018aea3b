# Copyright: redwood.maas contributors. Apache License 2.0.
"""Run a rendered container the way OpenShift runs it, on this machine (needs root).

OpenShift's restricted-v2 SCC runs every container with an arbitrary UID from the namespace's
range (here 1000680000), group 0, the namespace's fsGroup as supplementary group, no passwd
entry (so HOME=/ unless the manifest sets it), in the pod's own network namespace. This module
reproduces that with Linux primitives, no container engine:

- ``Cluster``: a private network namespace holding a bridge; every pod gets its own network
  namespace with a veth on that bridge and its own address. Service names
  (``<svc>.<ns>.svc[.cluster.local]``) resolve through the container's /etc/hosts to the pod
  that backs them (headless-service semantics; the tests check that each rendered Service's port
  equals its targetPort, so a ClusterIP would behave the same). Probes and test calls are made
  from the cluster namespace, as the kubelet and other pods would.
- ``Container``: a private mount namespace whose root is an empty tmpfs, made read-only; the
  "image" is the locally installed equivalent, bind-mounted read-only where the image has it;
  only the manifest's volumes are writable (emptyDir -> tmpfs, PVC -> a directory owned by the
  fsGroup, configMap/secret -> read-only files), plus ``/tmp``, which every base image leaves
  world-writable (and which a container's copy-on-write layer keeps writable on OpenShift).
  The process then drops to UID 1000680000, GID 0, no capabilities, no new privileges.
"""
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

UID = 1000680000
FS_GROUP = 1000680000


def tmpfs_size(quantity):
    """A Kubernetes quantity (2Gi, 512Mi) as a tmpfs size option."""
    for suffix, unit in (("Gi", "g"), ("Mi", "m"), ("Ki", "k"), ("G", "000m"), ("M", "000k")):
        if str(quantity).endswith(suffix):
            return str(quantity)[:-len(suffix)] + unit
    return str(quantity)


def _sh(*argv, check=True, **kw):
    return subprocess.run(list(argv), check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


class Cluster:
    """A private pod network: one namespace with a bridge, one namespace per pod."""

    def __init__(self, workdir):
        self.id = uuid.uuid4().hex[:6]
        self.ns = "maasct-%s" % self.id
        self.subnet = "10.213.%d" % (int(self.id[:4], 16) % 250 + 1)
        self.workdir = Path(workdir)
        self.pods = {}
        self.names = {}  # DNS name -> IP
        _sh("ip", "netns", "add", self.ns)
        self.exec_ns("ip", "link", "add", "br0", "type", "bridge")
        self.exec_ns("ip", "link", "set", "br0", "up")
        self.exec_ns("ip", "link", "set", "lo", "up")
        self.exec_ns("ip", "addr", "add", "%s.1/24" % self.subnet, "dev", "br0")

    def exec_ns(self, *argv, check=True, timeout=60):
        return _sh("ip", "netns", "exec", self.ns, *argv, check=check, timeout=timeout)

    def add_pod(self, name, dns_names=()):
        """A network namespace for pod ``name``; returns its IP. ``dns_names`` resolve to it."""
        index = len(self.pods) + 2
        ip = "%s.%d" % (self.subnet, index)
        pod_ns = "%s-%d" % (self.ns, index)
        _sh("ip", "netns", "add", pod_ns)
        _sh("ip", "link", "add", "v%s%d" % (self.id, index), "netns", self.ns, "type", "veth",
            "peer", "name", "eth0", "netns", pod_ns)
        self.exec_ns("ip", "link", "set", "v%s%d" % (self.id, index), "master", "br0", "up")
        for argv in (("ip", "link", "set", "lo", "up"), ("ip", "addr", "add", ip + "/24", "dev", "eth0"),
                     ("ip", "link", "set", "eth0", "up")):
            _sh("ip", "netns", "exec", pod_ns, *argv)
        self.pods[name] = (pod_ns, ip)
        for dns in dns_names:
            self.names[dns] = ip
        return ip

    def hosts_file(self, pod_name):
        """/etc/hosts of a pod: itself, then every service name known so far."""
        path = self.workdir / ("hosts-%s" % pod_name)
        lines = ["127.0.0.1 localhost", "%s %s" % (self.pods[pod_name][1], pod_name)]
        lines += ["%s %s %s.cluster.local" % (ip, name, name) for name, ip in sorted(self.names.items())]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o644)
        return path

    def http(self, url, method="GET", headers=None, data=None, timeout=30):
        """(status, body) of an HTTP call made from the pod network (like another pod would)."""
        argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "--max-time", str(timeout)]
        for k, v in (headers or {}).items():
            argv += ["-H", "%s: %s" % (k, v)]
        if data is not None:
            argv += ["--data-binary", data]
        out = self.exec_ns(*argv, url, check=False, timeout=timeout + 10).stdout
        body, _nl, code = out.rpartition("\n")
        return int(code or 0), body

    def tcp_open(self, ip, port, timeout=3):
        return self.exec_ns("timeout", str(timeout), "bash", "-c", "exec 3<>/dev/tcp/%s/%d" % (ip, port),
                            check=False).returncode == 0

    def close(self):
        for pod_ns, _ip in self.pods.values():
            for pid in _sh("ip", "netns", "pids", pod_ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _sh("ip", "netns", "del", pod_ns, check=False)
        _sh("ip", "netns", "del", self.ns, check=False)


LAUNCHER = r"""
set -eu
CONTAINER_PATH=$PATH; PATH=/usr/sbin:/usr/bin:/sbin:/bin
R=$1; shift
mount --make-rprivate /
mount -t tmpfs -o mode=755 rootfs "$R"
cd "$R"
mkdir -p usr etc proc sys dev tmp run var/run
ln -s usr/bin bin; ln -s usr/lib lib; ln -s usr/lib64 lib64; ln -s usr/sbin sbin
ro() {  # ro SRC DST: bind SRC read-only at DST inside the container
  if [ -d "$1" ]; then mkdir -p "$R$2"; else mkdir -p "$(dirname "$R$2")"; : > "$R$2"; fi
  mount --rbind "$1" "$R$2"; mount -o remount,bind,ro "$R$2"
}
layer() {  # layer DIR: DIR read-only, with the image's own files (if any) over it
  if [ -d "$MAAS_SANDBOX_LAYER$1" ]; then
    mkdir -p "$R$1"; mount -t overlay overlay -o "lowerdir=$MAAS_SANDBOX_LAYER$1:$1" "$R$1"
  else ro "$1" "$1"; fi
}
layer /usr
layer /etc
mount -t proc proc "$R/proc" 2>/dev/null || mount --rbind /proc "$R/proc"
ro /sys /sys
mount -t tmpfs -o mode=755,size=1m dev "$R/dev"
for n in null zero full random urandom tty; do : > "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done
ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mkdir -p "$R/dev/shm" "$R/dev/pts"; mount -t tmpfs -o mode=1777,size=64m shm "$R/dev/shm"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
. "$MAAS_SANDBOX_MOUNTS"
mount -o remount,ro,bind "$R"
cd /
PATH=$CONTAINER_PATH exec /usr/sbin/chroot "$R" /usr/bin/setpriv --reuid="$MAAS_SANDBOX_UID" --regid=0 --groups="$MAAS_SANDBOX_GROUPS" \
  --inh-caps=-all --bounding-set=-all --no-new-privs -- /bin/sh -c 'cd "$0" && exec "$@"' "$@"
"""


class Container:
    """One container of a pod, started in its pod's network namespace.

    ``image``: list of (host path, container path) bound read-only (the image's content);
    ``files``: {container path: text} read-only files of the image (e.g. a config the image ships);
    ``tmp_files``: {name: text} put into /tmp as the image has them there;
    ``volumes``: list of dicts {kind: emptyDir|pvc|ro, mountPath, source?, subPath?, medium?}.
    """

    def __init__(self, cluster, pod, name, argv, env, workdir="/", image=(), files=None, tmp_files=None,
                 writable=(), volumes=(), uid=UID, groups=(FS_GROUP,)):
        self.cluster, self.pod, self.name = cluster, pod, name
        self.argv, self.env, self.workdir = list(argv), dict(env), workdir
        self.image, self.files, self.tmp_files = list(image), dict(files or {}), dict(tmp_files or {})
        self.writable, self.volumes, self.uid, self.groups = list(writable), list(volumes), uid, list(groups)
        self.dir = Path(tempfile.mkdtemp(prefix="ct-%s-" % name, dir=cluster.workdir))
        self.dir.chmod(0o711)
        self.log_path = self.dir / "log"
        self.proc = None
        self._log = None

    # -- mounts -----------------------------------------------------------------------------
    def _mount_script(self):
        """The mounts of this container (sourced by LAUNCHER while the new root is writable)."""
        layer = self.dir / "layer"
        files = dict(self.files)
        files["/etc/hosts"] = self.cluster.hosts_file(self.pod).read_text()
        files["/etc/resolv.conf"] = ""  # no DNS server: service names come from /etc/hosts
        lines, other = [], self.dir / "files"
        other.mkdir(mode=0o755)
        for i, (path, text) in enumerate(sorted(files.items())):
            mode = 0o755 if text.startswith("#!") else 0o644
            if path.startswith(("/usr/", "/etc/")):  # over the read-only /usr, /etc (overlay layer)
                dst = layer / path.lstrip("/")
                dst.parent.mkdir(parents=True, exist_ok=True)
                for d in [dst.parent, *dst.parent.parents]:
                    if d == layer:
                        break
                    d.chmod(0o755)
                dst.write_text(text)
                dst.chmod(mode)
            else:
                src = other / ("f%d" % i)
                src.write_text(text)
                src.chmod(mode)
                lines.append("ro %s %s" % (src, shlex.quote(path)))
        for vol in self.volumes:  # mount points inside the read-only /usr, /etc: in the layer
            if vol["mountPath"].startswith(("/usr/", "/etc/")):
                (layer / vol["mountPath"].lstrip("/")).mkdir(parents=True, exist_ok=True)
        layer.mkdir(exist_ok=True)
        for d in [layer, *layer.rglob("*")]:
            if d.is_dir():
                d.chmod(0o755)
        for host, path in self.image:
            lines.append("ro %s %s" % (shlex.quote(str(host)), shlex.quote(path)))
        for path in self.writable:  # what the image itself leaves writable to group 0
            lines.append('mkdir -p "$R"%s; mount -t tmpfs -o mode=1777 image-rw "$R"%s' % ((shlex.quote(path),) * 2))
        for i, (fname, text) in enumerate(sorted(self.tmp_files.items())):
            src = other / ("t%d" % i)
            src.write_text(text)
            src.chmod(0o644)
            lines.append('cp %s "$R/tmp/%s"' % (src, fname))
        for vol in self.volumes:
            mp = shlex.quote(vol["mountPath"])
            if not vol["mountPath"].startswith(("/usr/", "/etc/")):
                lines.append('mkdir -p "$R"%s' % mp)
            if vol["kind"] == "emptyDir":
                size = ",size=%s" % tmpfs_size(vol["sizeLimit"]) if vol.get("sizeLimit") else ""
                lines.append('mount -t tmpfs -o mode=1777%s emptydir "$R"%s' % (size, mp))
            elif vol["kind"] == "pvc":  # a directory owned by the fsGroup, setgid (fsGroup handling)
                root = Path(vol["source"])
                root.mkdir(parents=True, exist_ok=True)
                os.chown(root, 0, FS_GROUP)
                os.chmod(root, 0o2775)
                src = root / vol.get("subPath", "")
                src.mkdir(parents=True, exist_ok=True)
                lines.append('mount --bind %s "$R"%s' % (shlex.quote(str(src)), mp))
                if vol.get("readOnly"):
                    lines.append('mount -o remount,bind,ro "$R"%s' % mp)
            elif vol["kind"] == "ro":  # configMap / secret / service account / model files
                lines.append('mount --rbind %s "$R"%s' % (shlex.quote(str(vol["source"])), mp))
                lines.append('mount -o remount,bind,ro "$R"%s' % mp)
            else:
                raise ValueError(vol)
        path = self.dir / "mounts.sh"
        path.write_text("\n".join(lines) + "\n")
        return path, layer

    def _launch_argv(self, argv):
        pod_ns = self.cluster.pods[self.pod][0]
        root = self.dir / "root"
        root.mkdir()
        return ["/usr/sbin/ip", "netns", "exec", pod_ns, "/usr/bin/unshare", "-m", "--propagation", "private",
                "/bin/sh", "-c", LAUNCHER, "launcher", str(root), self.workdir, *argv]

    def start(self):
        mounts, layer = self._mount_script()
        env = dict(self.env, MAAS_SANDBOX_MOUNTS=str(mounts), MAAS_SANDBOX_LAYER=str(layer),
                   MAAS_SANDBOX_UID=str(self.uid),
                   MAAS_SANDBOX_GROUPS=",".join(map(str, self.groups)) or "0")
        # The launcher's own variables are dropped before the container's process starts.
        argv = ["/usr/bin/env", "-u", "MAAS_SANDBOX_MOUNTS", "-u", "MAAS_SANDBOX_UID",
                "-u", "MAAS_SANDBOX_GROUPS", "-u", "MAAS_SANDBOX_LAYER", "-u", "PWD", "-u", "OLDPWD", "-u", "SHLVL", *self.argv]
        self._log = open(self.log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(self._launch_argv(argv), env=env, stdout=self._log,  # pylint: disable=consider-using-with
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def run(self, timeout=120):
        """Start and wait (a Job's container): (exit code, log)."""
        self.start()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            rc = None
        return rc, self.log()

    def exec(self, argv, timeout=30):
        """An exec probe: ``argv`` inside the running container, same UID, root and namespaces."""
        pid = self.main_pid()
        out = subprocess.run(["/usr/bin/nsenter", "-t", str(pid), "-m", "-n", "-r", "-w",
                              "/usr/bin/setpriv", "--reuid=%d" % self.uid, "--regid=0",
                              "--groups=%s" % (",".join(map(str, self.groups)) or "0"),
                              "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--", *argv],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                             check=False, env=self.env)
        return out.returncode, out.stdout

    def main_pid(self):
        """PID of the container's process: every launcher step execs, so it is the one started."""
        if not self.running():
            raise AssertionError("container %s is not running:\n%s" % (self.name, self.log()[-3000:]))
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, grace=10):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(fn, timeout, what, interval=1.0, alive=None):
    """Poll ``fn`` until it returns a true value; fail early when ``alive()`` turns false."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        if alive is not None and not alive():
            raise AssertionError("%s: the process exited" % what)
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
