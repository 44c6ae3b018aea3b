# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""Model sizing before deploy: does a Hugging Face model fit its GPUs under vLLM, and on how many?

Pure logic, no I/O: ``size_model(config, ...)`` takes a model's ``config.json`` (a dict) and the
serving settings and returns parameters, weight memory, KV-cache bytes per token, the KV-cache
capacity, the smallest valid tensor-parallel size that fits and the vLLM arguments it implies.

The memory model follows vLLM's own accounting (vllm/v1/kv_cache_interface.py, vllm/v1/worker):

* each GPU gives vLLM ``gpu_memory_gb x gpu_memory_utilization``; from that vLLM subtracts the
  weights it holds (``weights / tp``), the activation peak and non-torch memory (CUDA context, NCCL,
  CUDA graphs: ``reserve_gb`` here, measured by vLLM at start-up) and uses the rest for the KV cache;
* a full-attention layer stores K and V for every token: ``num_kv_heads x (head_dim + head_dim) x
  dtype bytes`` per layer; with tensor parallelism each GPU holds ``num_kv_heads / tp`` heads (at least
  one: heads are replicated when tp > num_kv_heads); the cache is allocated in blocks of
  ``block_size`` tokens (16 on GPUs, 128 on CPUs);
* vLLM refuses to start when the cache cannot hold one sequence of ``max_model_len`` tokens;
* tensor parallelism needs ``num_attention_heads % tp == 0`` and ``num_kv_heads % tp == 0`` or
  ``tp % num_kv_heads == 0``; 4-bit group-quantized checkpoints also need each GPU's share of the
  MLP width to be a whole number of groups.

Memory figures are GiB (2**30 bytes), as vLLM and nvidia-smi report them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

GIB = float(1 << 30)

# Total memory (GiB) that nvidia-smi reports for common data-centre GPUs (MiB / 1024).
GPU_MEMORY_GB = {
    "A10G": 22.49, "A100-40GB": 40.0, "A100-80GB": 80.0, "H100-80GB": 79.65, "H200": 140.4,
    "L4": 22.49, "L40S": 44.99, "T4": 15.0, "V100-32GB": 32.0,
}
DTYPE_BYTES = {"float32": 4, "float": 4, "bfloat16": 2, "float16": 2, "half": 2}
# Weight quantization methods; 4-bit ones need a pre-quantized checkpoint (config.json
# quantization_config); fp8 also quantizes a 16-bit checkpoint on the fly.
QUANTIZATIONS = ("none", "fp8", "awq", "gptq", "compressed-tensors", "bitsandbytes")
KV_CACHE_DTYPES = {"auto": None, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}
# Architectures whose MLP is not gated (two matrices instead of three).
NON_GATED = ("gpt2", "gpt_bigcode", "gpt_neox", "gptj", "opt", "falcon", "phi", "bloom", "starcoder2")


class SizingError(Exception):
    """The input cannot be sized (unsupported architecture, contradictory settings)."""


def _get(cfg, *names, **kw):
    for name in names:
        if cfg.get(name) is not None:
            return cfg[name]
    if "default" in kw:
        return kw["default"]
    raise SizingError("config.json has none of %s" % ", ".join(names))


class Architecture(object):
    """The numbers of a decoder-only transformer that memory depends on."""

    def __init__(self, config):
        if not isinstance(config, dict):
            raise SizingError("config must be a mapping (the model's config.json), got %r" % type(config).__name__)
        cfg = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
        if cfg.get("kv_lora_rank") is not None:
            raise SizingError("multi-head latent attention (kv_lora_rank, DeepSeek V2/V3) is not supported by this estimate")
        self.model_type = str(cfg.get("model_type") or config.get("model_type") or "")
        self.hidden = int(_get(cfg, "hidden_size", "n_embd", "d_model"))
        self.layers = int(_get(cfg, "num_hidden_layers", "n_layer", "num_layers"))
        self.heads = int(_get(cfg, "num_attention_heads", "n_head", "num_heads"))
        self.kv_heads = int(_get(cfg, "num_key_value_heads", "num_kv_heads", default=self.heads))
        self.head_dim = int(_get(cfg, "head_dim", default=self.hidden // self.heads))
        self.vocab = int(_get(cfg, "vocab_size"))
        self.intermediate = int(_get(cfg, "intermediate_size", "n_inner", "ffn_dim", default=4 * self.hidden))
        self.tied = bool(config.get("tie_word_embeddings", cfg.get("tie_word_embeddings", False)))
        self.gated = self.model_type not in NON_GATED
        self.attention_bias = bool(cfg.get("attention_bias", False)) or self.model_type in ("qwen2", "qwen2_moe")
        self.experts = int(_get(cfg, "num_local_experts", "num_experts", "n_routed_experts", default=0) or 0)
        self.experts_per_token = int(_get(cfg, "num_experts_per_tok", default=0) or 0)
        self.expert_intermediate = int(_get(cfg, "moe_intermediate_size", default=self.intermediate))
        self.shared_intermediate = int(cfg.get("shared_expert_intermediate_size")
                                       or (cfg.get("n_shared_experts") or 0) * self.expert_intermediate)
        self.max_position = int(_get(cfg, "max_position_embeddings", "n_positions", "max_seq_len", default=0) or 0)
        self.torch_dtype = str(config.get("torch_dtype") or cfg.get("torch_dtype") or config.get("dtype") or "bfloat16")
        self.quant_config = config.get("quantization_config") or cfg.get("quantization_config") or {}
        for name in ("hidden", "layers", "heads", "kv_heads", "head_dim", "vocab"):
            if getattr(self, name) <= 0:
                raise SizingError("config.json: %s must be positive" % name)
        if self.heads % self.kv_heads:
            raise SizingError("config.json: num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)"
                              % (self.heads, self.kv_heads))

    @property
    def moe(self):
        return self.experts > 1

    def mlp_width(self):
        """Width of the MLP matrices that tensor parallelism splits (per expert for MoE)."""
        return self.expert_intermediate if self.moe else self.intermediate

    def counts(self):
        """Parameter counts: total, active per token, and the part held by quantizable linear layers."""
        h, d = self.hidden, self.head_dim
        attn = h * self.heads * d + 2 * h * self.kv_heads * d + self.heads * d * h
        attn_bias = (self.heads + 2 * self.kv_heads) * d if self.attention_bias else 0
        per_mlp = (3 if self.gated else 2)
        if self.moe:
            expert = per_mlp * h * self.expert_intermediate
            shared = per_mlp * h * self.shared_intermediate
            mlp_all = self.experts * expert + shared
            mlp_active = self.experts_per_token * expert + shared
            router = h * self.experts + (h if self.shared_intermediate else 0)
        else:
            mlp_all = mlp_active = per_mlp * h * self.intermediate
            router = 0
        norms = 2 * h
        embed = self.vocab * h
        head = 0 if self.tied else self.vocab * h
        linear = self.layers * (attn + mlp_all)
        other = self.layers * (attn_bias + router + norms) + h + embed + head
        active = self.layers * (attn + attn_bias + mlp_active + router + norms) + h + embed + head
        return {"total": linear + other, "active": active, "linear": linear, "other": other}

    def kv_bytes_per_token(self, kv_dtype_bytes, tp=1):
        """KV-cache bytes one token takes on one GPU (tp=1: the whole model's figure)."""
        heads = max(1, self.kv_heads // tp) if tp <= self.kv_heads else 1
        return self.layers * heads * 2 * self.head_dim * kv_dtype_bytes


def resolve_dtype(arch, dtype):
    """vLLM's --dtype auto: the checkpoint's dtype, float32 checkpoints served in bfloat16."""
    if dtype in (None, "", "auto"):
        dtype = arch.torch_dtype
        if dtype in ("float32", "float"):
            dtype = "bfloat16"
    if dtype not in DTYPE_BYTES:
        raise SizingError("dtype %r is not one of auto, %s" % (dtype, ", ".join(sorted(DTYPE_BYTES))))
    return dtype


def resolve_quantization(arch, quantization):
    """(method, weight bits, group size, needs --quantization) for the checkpoint and the request."""
    qc = arch.quant_config if isinstance(arch.quant_config, dict) else {}
    declared = str(qc.get("quant_method") or "").lower() or None
    wanted = (quantization or "").lower() or None
    if wanted in ("none", "auto"):
        wanted = None if wanted == "auto" else "none"
    if wanted not in (None, "none") and wanted not in QUANTIZATIONS:
        raise SizingError("quantization %r is not one of %s" % (quantization, ", ".join(QUANTIZATIONS)))
    if declared and wanted == "none":
        raise SizingError("the checkpoint is quantized (%s); quantization none cannot serve it" % declared)
    if declared and wanted and wanted != declared:
        raise SizingError("the checkpoint is quantized with %s, not %s" % (declared, wanted))
    method = declared or (None if wanted in (None, "none") else wanted)
    if method is None:
        return None, 16, 0, False
    if method in ("awq", "gptq", "bitsandbytes") and not declared:
        raise SizingError("%s needs a pre-quantized checkpoint (config.json quantization_config); "
                          "choose a %s build of the model, or fp8 to quantize a 16-bit checkpoint on the fly"
                          % (method, method.upper()))
    if method == "fp8":
        return "fp8", 8, 0, not declared
    if method == "compressed-tensors":
        bits = 8
        for group in (qc.get("config_groups") or {}).values():
            bits = int(((group or {}).get("weights") or {}).get("num_bits") or bits)
            break
        return method, bits, 128 if bits < 8 else 0, False
    bits = int(qc.get("bits") or qc.get("w_bit") or 4)
    group = int(qc.get("group_size") or qc.get("q_group_size") or 128)
    return method, bits, (group if group > 0 else 0), False


def valid_tp(arch, tp, group_size=0):
    """Why tensor-parallel size ``tp`` is invalid for this model, or None."""
    if arch.heads % tp:
        return "num_attention_heads %d is not divisible by %d" % (arch.heads, tp)
    if arch.kv_heads % tp and tp % arch.kv_heads:
        return "num_key_value_heads %d and %d do not divide one another" % (arch.kv_heads, tp)
    if group_size and (arch.mlp_width() % tp or (arch.mlp_width() // tp) % group_size):
        return "the MLP width %d split %d ways is not a multiple of the quantization group size %d" % (
            arch.mlp_width(), tp, group_size)
    return None


def evaluate(arch, tp, weights_bytes, kv_token_bytes_1, budget):
    """Memory on one GPU at tensor-parallel size ``tp``."""
    per_gpu_kv_token = arch.kv_bytes_per_token(kv_token_bytes_1, tp)
    weights_gpu = weights_bytes / tp
    if budget["kv_cache_memory_gb"] is not None:
        kv_bytes = budget["kv_cache_memory_gb"] * GIB
        short = (weights_gpu + kv_bytes + budget["reserve_gb"] * GIB) > budget["usable_gb"] * GIB \
            if budget["usable_gb"] is not None else False
    else:
        kv_bytes = budget["usable_gb"] * GIB - weights_gpu - budget["reserve_gb"] * GIB
        short = kv_bytes <= 0
    block = budget["block_size"]
    tokens = 0 if kv_bytes <= 0 else int(kv_bytes // (per_gpu_kv_token * block)) * block
    seqs = tokens // budget["max_model_len"] if budget["max_model_len"] else 0
    return {
        "gpus": tp,
        "weights_gb_per_gpu": round(weights_gpu / GIB, 2),
        "kv_cache_gb_per_gpu": round(max(kv_bytes, 0) / GIB, 2),
        "kv_cache_bytes_per_token_per_gpu": per_gpu_kv_token,
        "kv_cache_tokens": tokens,
        "max_concurrent_sequences": seqs,
        "fits": (not short) and seqs >= budget["concurrent_sequences"],
    }


def size_model(config, dtype="auto", quantization=None, kv_cache_dtype="auto", max_model_len=None,
               concurrent_sequences=1, gpu_memory_gb=None, gpu_type=None, gpus_available=8,
               gpu_memory_utilization=0.9, reserve_gb=2.0, kv_cache_memory_gb=None, device="gpu", gpus=None):
    """Size one model; see the module documentation (plugins/modules/model_sizing.py) for the fields."""
    arch = Architecture(config)
    dtype = resolve_dtype(arch, dtype)
    method, bits, group, online = resolve_quantization(arch, quantization)
    if kv_cache_dtype not in KV_CACHE_DTYPES:
        raise SizingError("kv_cache_dtype %r is not one of %s" % (kv_cache_dtype, ", ".join(KV_CACHE_DTYPES)))
    if device not in ("gpu", "cpu"):
        raise SizingError("device must be gpu or cpu, got %r" % (device,))
    if gpu_memory_gb is None and gpu_type:
        if gpu_type not in GPU_MEMORY_GB:
            raise SizingError("gpu_type %r is unknown (known: %s); give gpu_memory_gb"
                              % (gpu_type, ", ".join(sorted(GPU_MEMORY_GB))))
        gpu_memory_gb = GPU_MEMORY_GB[gpu_type]
    if device == "gpu" and gpu_memory_gb is None and kv_cache_memory_gb is None:
        raise SizingError("give gpu_memory_gb or a known gpu_type (or kv_cache_memory_gb)")
    if device == "cpu":
        if kv_cache_memory_gb is None:
            raise SizingError("on a CPU give kv_cache_memory_gb (vLLM's VLLM_CPU_KVCACHE_SPACE)")
        gpus_available = 1
    if not 0 < gpu_memory_utilization <= 1:
        raise SizingError("gpu_memory_utilization must be in (0, 1], got %r" % (gpu_memory_utilization,))
    if max_model_len is None:
        max_model_len = arch.max_position
    if not max_model_len or max_model_len < 1:
        raise SizingError("max_model_len is unknown: config.json has no max_position_embeddings; give max_model_len")
    if arch.max_position and max_model_len > arch.max_position and not (config.get("rope_scaling") or {}):
        raise SizingError("max_model_len %d is larger than the model's max_position_embeddings %d"
                          % (max_model_len, arch.max_position))
    if gpus is not None and (gpus < 1 or (device == "cpu" and gpus != 1)):
        raise SizingError("gpus must be at least 1 (exactly 1 on a CPU), got %r" % (gpus,))

    counts = arch.counts()
    dtype_bytes = DTYPE_BYTES[dtype]
    if method is None:
        linear_bytes = dtype_bytes
    else:
        linear_bytes = bits / 8.0 + ((2 + bits / 8.0) / group if group else 0)
    weights = counts["linear"] * linear_bytes + counts["other"] * dtype_bytes
    kv_elem = KV_CACHE_DTYPES[kv_cache_dtype] or dtype_bytes
    budget = {
        "usable_gb": gpu_memory_gb * gpu_memory_utilization if gpu_memory_gb is not None else None,
        "reserve_gb": reserve_gb if device == "gpu" else 0.0,
        "kv_cache_memory_gb": kv_cache_memory_gb,
        "block_size": 16 if device == "gpu" else 128,
        "max_model_len": max_model_len,
        "concurrent_sequences": concurrent_sequences,
    }
    candidates, invalid = [], {}
    for tp in range(1, gpus_available + 1):
        why = valid_tp(arch, tp, group)
        if why:
            invalid[tp] = why
        else:
            candidates.append(evaluate(arch, tp, weights, kv_elem, budget))
    best = next((c for c in candidates if c["fits"]), None)
    chosen = best or (candidates[-1] if candidates else None)
    result = {
        "architecture": arch.model_type or "unknown",
        "moe": arch.moe,
        "parameters": counts["total"],
        "active_parameters": counts["active"],
        "dtype": dtype,
        "quantization": method or "none",
        "weights_gb": round(weights / GIB, 2),
        "kv_cache_bytes_per_token": arch.kv_bytes_per_token(kv_elem, 1),
        "max_model_len": max_model_len,
        "gpu_memory_gb": gpu_memory_gb,
        "gpu_memory_utilization": gpu_memory_utilization,
        "fits": best is not None,
        "gpus": best["gpus"] if best else None,
        "candidates": candidates,
        "invalid_gpu_counts": dict((str(k), v) for k, v in invalid.items()),
    }
    if chosen:
        for field in ("weights_gb_per_gpu", "kv_cache_gb_per_gpu", "kv_cache_tokens", "max_concurrent_sequences"):
            result[field] = chosen[field]
    args = []
    if device == "gpu":
        args.append("--tensor-parallel-size=%d" % (best["gpus"] if best else (gpus or 1)))
    args.append("--max-model-len=%d" % max_model_len)
    if device == "gpu":
        args.append("--gpu-memory-utilization=%s" % gpu_memory_utilization)
    if online:
        args.append("--quantization=%s" % method)
    if kv_cache_dtype != "auto":
        args.append("--kv-cache-dtype=%s" % kv_cache_dtype)
    result["vllm_args"] = args
    if gpus is not None:
        why = invalid.get(gpus) if gpus <= gpus_available else "only %d GPUs per node" % gpus_available
        req = next((c for c in candidates if c["gpus"] == gpus), None) if not why else None
        if req is None and not why:
            req = evaluate(arch, gpus, weights, kv_elem, budget)
        result["requested"] = dict(req or {"gpus": gpus, "fits": False}, valid=why is None, reason=why)
    result["message"] = explain(result, concurrent_sequences, gpus_available)
    return result


def explain(r, concurrent_sequences, gpus_available):
    """One sentence with the numbers, for the play's pass/fail/warn message."""
    head = "%s parameters (%.2f B), %s, weights %.2f GiB, KV cache %d bytes/token" % (
        "{:,}".format(r["parameters"]), r["parameters"] / 1e9, r["quantization"] if r["quantization"] != "none"
        else r["dtype"], r["weights_gb"], r["kv_cache_bytes_per_token"])
    req = r.get("requested")
    if req is not None and not req.get("valid"):
        return "%s: gpus %d is not a valid tensor-parallel size (%s)" % (head, req["gpus"], req["reason"])
    if not r["fits"]:
        tail = ("%d x %s GiB GPUs at utilisation %s leave room for %s tokens of KV cache per replica; "
                "max_model_len %d x %d sequence(s) needs %d" % (
                    gpus_available, r["gpu_memory_gb"], r["gpu_memory_utilization"],
                    "{:,}".format(r.get("kv_cache_tokens", 0)), r["max_model_len"], concurrent_sequences,
                    r["max_model_len"] * concurrent_sequences))
        return "%s: does NOT fit: %s" % (head, tail)
    msg = "%s: fits on %d GPU(s): %.2f GiB weights + %.2f GiB KV cache per GPU = %s tokens, %d sequences of %d" % (
        head, r["gpus"], r["weights_gb_per_gpu"], r["kv_cache_gb_per_gpu"], "{:,}".format(r["kv_cache_tokens"]),
        r["max_concurrent_sequences"], r["max_model_len"])
    if req is not None and not req.get("fits"):
        msg += "; but gpus %d does NOT fit (%s tokens of KV cache)" % (req["gpus"], "{:,}".format(req.get("kv_cache_tokens", 0)))
    elif req is not None and req["gpus"] > r["gpus"]:
        msg += "; gpus %d is more than the %d needed" % (req["gpus"], r["gpus"])
    return msg
