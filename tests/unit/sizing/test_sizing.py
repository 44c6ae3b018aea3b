"""Model sizing (plugins/module_utils/sizing.py) against published facts.

The configs in configs/ are copies of public config.json files; configs/published.json holds the
parameter counts the model publishers give (Hugging Face safetensors totals). The figures asserted
below are derived by hand from the config numbers, so a wrong formula fails here.
"""
import json
import os

import pytest

from ansible_collections.redwood.maas.plugins.module_utils.sizing import GIB, SizingError, size_model

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
with open(os.path.join(HERE, "published.json"), encoding="utf-8") as _fh:
    PUBLISHED = {k: v for k, v in json.load(_fh).items() if not k.startswith("_")}


def config(name):
    with open(os.path.join(HERE, name + ".json"), encoding="utf-8") as fh:
        return json.load(fh)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_within_2_percent_of_the_published_one(name):
    r = size_model(config(name), gpu_type="A100-80GB", max_model_len=8192)
    published = PUBLISHED[name]
    assert abs(r["parameters"] / published["parameters"] - 1) < 0.02, (r["parameters"], published)
    if "active_parameters" in published:
        assert abs(r["active_parameters"] / published["active_parameters"] - 1) < 0.02


def test_llama_8b_by_hand():
    # GQA: 8 KV heads of 128 -> K and V are 1024 wide; 32 layers; bf16
    r = size_model(config("llama-3.1-8b-instruct"), gpu_type="A100-80GB", max_model_len=8192)
    assert r["kv_cache_bytes_per_token"] == 2 * 32 * 8 * 128 * 2 == 131072
    assert r["weights_gb"] == round(8030261248 * 2 / GIB, 2) == 14.96
    assert r["gpus"] == 1 and r["fits"]
    # 80 GiB x 0.9 - 14.96 GiB weights - 2 GiB reserve, in blocks of 16 tokens of 128 KiB
    kv = 80 * 0.9 * GIB - 8030261248 * 2 - 2 * GIB
    assert r["kv_cache_tokens"] == int(kv // (131072 * 16)) * 16
    assert r["max_concurrent_sequences"] == r["kv_cache_tokens"] // 8192
    assert r["vllm_args"] == ["--tensor-parallel-size=1", "--max-model-len=8192", "--gpu-memory-utilization=0.9"]


def test_tied_embeddings_are_counted_once():
    cfg = config("granite-3.1-8b-instruct")
    tied = size_model(cfg, gpu_type="A100-80GB")["parameters"]
    untied = size_model(dict(cfg, tie_word_embeddings=False), gpu_type="A100-80GB")["parameters"]
    assert untied - tied == 49155 * 4096


def test_70b_needs_two_80gb_gpus_and_the_kv_heads_split_across_them():
    r = size_model(config("llama-3.1-70b-instruct"), gpu_type="A100-80GB", max_model_len=8192, gpus_available=8)
    assert r["weights_gb"] == 131.42 and r["gpus"] == 2
    two = r["candidates"][1]
    assert two["gpus"] == 2 and two["kv_cache_bytes_per_token_per_gpu"] == 327680 // 2
    assert "--tensor-parallel-size=2" in r["vllm_args"]


def test_does_not_fit_with_the_numbers():
    r = size_model(config("llama-3.1-70b-instruct"), gpu_type="L40S", max_model_len=8192, gpus_available=2)
    assert not r["fits"] and r["gpus"] is None
    assert "does NOT fit" in r["message"] and "131.42 GiB" in r["message"] and "2 x 44.99 GiB" in r["message"]


def test_awq_checkpoint_fits_one_80gb_gpu_and_respects_group_divisibility():
    r = size_model(config("llama-3.1-70b-instruct-awq-int4"), gpu_type="A100-80GB", max_model_len=8192)
    assert r["quantization"] == "awq" and r["gpus"] == 1
    # 4-bit weights + fp16 scales and 4-bit zeros per 128-group; embeddings and lm_head stay 16-bit
    assert abs(r["weights_gb"] * GIB / 1e9 - PUBLISHED["llama-3.1-70b-instruct-awq-int4"]["checkpoint_gb"]) < 0.5
    assert not any(a.startswith("--quantization") for a in r["vllm_args"])  # vLLM reads it from the checkpoint
    granite_awq = dict(config("granite-3.1-8b-instruct"), quantization_config={"quant_method": "awq", "bits": 4, "group_size": 128})
    g = size_model(granite_awq, gpu_type="L4", gpus_available=8, max_model_len=4096)
    assert "8" in g["invalid_gpu_counts"] and "group size 128" in g["invalid_gpu_counts"]["8"]  # 12800 / 8 = 1600


def test_fp8_on_the_fly_halves_the_weights_and_adds_the_argument():
    bf16 = size_model(config("mistral-7b-instruct-v0.2"), gpu_type="L4", max_model_len=8192)
    fp8 = size_model(config("mistral-7b-instruct-v0.2"), gpu_type="L4", max_model_len=8192, quantization="fp8")
    assert "--quantization=fp8" in fp8["vllm_args"]
    assert 0.5 < fp8["weights_gb"] / bf16["weights_gb"] < 0.56  # embeddings and lm_head stay 16-bit
    assert fp8["kv_cache_tokens"] > bf16["kv_cache_tokens"]


def test_mixtral_moe_all_experts_in_memory_two_active():
    r = size_model(config("mixtral-8x7b-instruct-v0.1"), gpu_type="A100-80GB", max_model_len=32768)
    assert r["moe"] and r["parameters"] == 46702792704
    per_expert = 3 * 4096 * 14336 * 32
    assert r["parameters"] - r["active_parameters"] == 6 * per_expert
    assert r["gpus"] == 2


def test_requested_gpus_larger_than_needed_is_reported_and_invalid_sizes_rejected():
    r = size_model(config("llama-3.1-8b-instruct"), gpu_type="A100-80GB", max_model_len=8192, gpus=4)
    assert r["requested"]["fits"] and r["requested"]["valid"] and "gpus 4 is more than the 1 needed" in r["message"]
    bad = size_model(config("llama-3.1-8b-instruct"), gpu_type="A100-80GB", max_model_len=8192, gpus=3)
    assert not bad["requested"]["valid"] and "not divisible by 3" in bad["message"]


@pytest.mark.parametrize("kwargs, message", [
    ({"quantization": "awq"}, "needs a pre-quantized checkpoint"),
    ({"gpu_type": "B9000"}, "gpu_type 'B9000' is unknown"),
    ({"max_model_len": 10 ** 6}, "larger than the model's max_position_embeddings"),
    ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization must be in (0, 1]"),
])
def test_bad_input_names_the_problem(kwargs, message):
    args = dict(gpu_type="A100-80GB")
    args.update(kwargs)
    with pytest.raises(SizingError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        size_model(config("mistral-7b-instruct-v0.2"), **args)


def test_mla_models_are_refused_rather_than_guessed():
    with pytest.raises(SizingError, match="multi-head latent attention"):
        size_model(dict(config("llama-3.1-8b-instruct"), kv_lora_rank=512), gpu_type="H200")
