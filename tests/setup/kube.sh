#!/usr/bin/env bash
# Makes sure ../shared/kube-local is built (kube-apiserver 1.20 + etcd) and prints
# the kube-local directory. A no-op (well under a second) once cached.
. "$(dirname "$0")/common.sh"
KL="$SHARED_DIR/kube-local"
[ -x "$KL/build" ] || { log "kube-local not found at $KL"; exit 1; }
( flock 9; "$KL/build" >"$MAAS_CACHE/kube-build.log" 2>&1 || { tail -20 "$MAAS_CACHE/kube-build.log" >&2; exit 1; } ) 9>"$MAAS_CACHE/.kube-build.lock"
echo "$KL"
