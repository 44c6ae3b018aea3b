"""The owner's view of the local journey, for real: model sizing against vLLM's own figures.

Runs on the journey's deployment (the `journey` fixture, shared with test_local_journey.py; its
teardown test is moved last by conftest.py), so it starts no vLLM of its own.
"""
import json
import os
import re
import struct
import sys

for _p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
    if _p and _p not in sys.path:
        sys.path.insert(0, _p)

from ansible_collections.redwood.maas.plugins.module_utils.sizing import size_model

MODEL = "demo-smoke-test"


def safetensors_parameters(path):
    """Parameters stored in a safetensors file (its JSON header lists every tensor's shape)."""
    with open(path, "rb") as fh:
        header = json.loads(fh.read(struct.unpack("<Q", fh.read(8))[0]))
    total = 0
    for name, meta in header.items():
        if name != "__metadata__":
            n = 1
            for dim in meta["shape"]:
                n *= dim
            total += n
    return total


def test_sizing_matches_what_vllm_reports_at_start_up(journey):
    model_dir = os.path.join(journey.state_dir, "models", MODEL)
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as fh:
        config = json.load(fh)
    with open(os.path.join(journey.state_dir, "supervisor", "logs", "maas-vllm-%s.log" % MODEL),
              encoding="utf-8", errors="replace") as fh:
        log = fh.read()
    # e.g. "CPU KV cache size: 1,048,576 tokens, Maximum concurrency for 512 tokens per request: 2048.00x"
    found = re.findall(r"KV cache size: ([\d,]+) tokens, Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x", log)
    assert found, "vLLM logged no KV cache size"
    tokens, max_len, concurrency = found[-1]
    r = size_model(config, device="cpu", kv_cache_memory_gb=1, max_model_len=int(max_len.replace(",", "")))
    assert r["dtype"] == "bfloat16" and "dtype=torch.bfloat16" in log  # float32 checkpoint served as bf16
    assert r["kv_cache_tokens"] == int(tokens.replace(",", ""))
    assert r["max_concurrent_sequences"] == int(float(concurrency))
    assert r["kv_cache_bytes_per_token"] == 2 * 2 * 4 * 32 * 2  # layers x K,V x KV heads x head_dim x bf16
    # tied embeddings: the checkpoint stores the embedding once, and so does the count
    assert r["parameters"] == safetensors_parameters(os.path.join(model_dir, "model.safetensors"))
    # site.yml sized the demo model once it was built (second run), with the same figures
    with open(os.path.join(journey.state_dir, "ansible.log"), encoding="utf-8") as fh:
        played = " ".join(fh.read().split())
    assert "%s: %s parameters" % (MODEL, "{:,}".format(r["parameters"])) in played
    assert "%s tokens, %d sequences of %s" % (tokens, r["max_concurrent_sequences"], max_len.replace(",", "")) in played
