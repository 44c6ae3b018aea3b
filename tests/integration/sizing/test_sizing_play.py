"""site.yml sizes every model whose config.json is known before anything is applied.

Real playbook runs (no stand-in): the host target with a file:// model too large for the CPU KV
cache, and the OpenShift target in render mode (no cluster needed) with inventory-provided configs.
Each failing run must stop in the validate play, having written nothing.
"""
import json
import os
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIGS = os.path.join(REPO, "tests", "unit", "sizing", "configs")


def cfg(name):
    with open(os.path.join(CONFIGS, name + ".json"), encoding="utf-8") as fh:
        return json.load(fh)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def play(tmp_path, inventory, extra, *args):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(["ansible-playbook", "playbooks/site.yml", "-i", inventory, "-e", "@%s" % vars_file, *args],
                          cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          timeout=900)
    return proc, " ".join(proc.stdout.split())


def test_host_model_too_large_for_the_kv_cache_fails_before_any_change(tmp_path):
    model = tmp_path / "llama-70b"
    model.mkdir()
    shutil.copy(os.path.join(CONFIGS, "llama-3.1-70b-instruct.json"), model / "config.json")
    state = tmp_path / "state"
    extra = {"maas_host_state_dir": str(state), "maas_host_postgres_port": free_port(),
             "maas_host_vllm_base_port": free_port(), "maas_host_litellm_port": free_port(),
             "maas_host_vllm_flavour": "cpu",
             "maas_models": [{"name": "llama-70b", "source": "file://%s" % model, "max_model_len": 8192}]}
    proc, out = play(tmp_path, "inventories/local", extra)
    assert proc.returncode != 0
    # 1 GiB of CPU KV cache / 327,680 bytes per token (80 layers x 8 KV heads x 128 x 2 x 2 bytes) = 3,276 tokens,
    # in blocks of 128 -> 3,200 < 8,192
    assert "llama-70b: 70,553,706,496 parameters (70.55 B), bfloat16, weights 131.42 GiB, KV cache 327680 bytes/token" in out
    assert "does NOT fit" in out and "3,200 tokens" in out and "Nothing was changed" in out
    assert not state.exists(), "the failed validation must not have written anything"


@pytest.fixture
def openshift_models(tmp_path):
    render = tmp_path / "rendered"
    base = {"maas_delivery": "render", "maas_render_dir": str(render), "maas_gpu_type": "L40S", "maas_gpus_per_node": 4,
            "model_serving_overrides": {}}
    return render, base


def test_openshift_70b_on_one_l40s_fails_before_rendering_anything(tmp_path, openshift_models):
    render, extra = openshift_models
    extra.update(maas_models=[{"name": "llama-70b", "source": "pvc://models/llama-70b", "gpus": 1, "max_model_len": 8192}],
                 maas_model_sizing={"llama-70b": {"config": cfg("llama-3.1-70b-instruct")}})
    proc, out = play(tmp_path, "inventories/dev", extra, "--tags", "serving")
    assert proc.returncode != 0
    assert "llama-70b: 70,553,706,496 parameters" in out and "fits on 4 GPU(s)" in out
    assert "but gpus 1 does NOT fit" in out and "Nothing was changed" in out
    assert not render.exists()


def test_openshift_gpus_larger_than_needed_warns_and_passes(tmp_path, openshift_models):
    render, extra = openshift_models
    extra.update(maas_models=[{"name": "llama-8b", "source": "oci://registry.example/llama-8b:1", "gpus": 2,
                               "max_model_len": 8192}],
                 maas_model_sizing={"llama-8b": {"config": cfg("llama-3.1-8b-instruct"), "concurrent_sequences": 4}})
    # only the always-tagged plays run (validate, render index): no layer carries this tag
    render.mkdir()
    proc, out = play(tmp_path, "inventories/dev", extra, "--tags", "validate-only")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "[WARNING]: llama-8b: 8,030,261,248 parameters" in out and "gpus 2 is more than the 1 needed" in out
    assert "192,784 tokens, 23 sequences of 8192" in out


@pytest.fixture
def hub_standin():
    """A STAND-IN for the Hugging Face Hub (no internet here): serves /<repo>/resolve/<revision>/config.json
    of the fixtures; the gated repo answers 401 without its bearer token, unknown repos 404."""
    repos = {"meta-llama/Llama-3.1-70B-Instruct": ("llama-3.1-70b-instruct", "hf_gated_token"),
             "mistralai/Mistral-7B-Instruct-v0.2": ("mistral-7b-instruct-v0.2", None)}
    seen = []

    class Hub(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization")))
            repo, _sep, rest = self.path.lstrip("/").partition("/resolve/")
            found = repos.get(repo)
            status, body = 404, b"Entry not found"
            if found and rest == "main/config.json":
                if found[1] and self.headers.get("Authorization") != "Bearer " + found[1]:
                    status, body = 401, b"Access to model is restricted"
                else:
                    status, body = 200, json.dumps(cfg(found[0])).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_openshift_hf_models_sized_from_the_hub_standin_before_rendering_anything(tmp_path, openshift_models, hub_standin):
    render, extra = openshift_models
    hub_url, seen = hub_standin
    extra.update(maas_model_sizing_hub_url=hub_url, maas_model_sizing_hf_token="hf_gated_token", maas_models=[
        {"name": "llama-70b", "source": "hf://meta-llama/Llama-3.1-70B-Instruct", "gpus": 1, "max_model_len": 8192},
        {"name": "mistral-7b", "source": "hf://mistralai/Mistral-7B-Instruct-v0.2", "gpus": 1, "max_model_len": 8192},
        {"name": "missing", "source": "hf://nobody/missing", "gpus": 1}])
    proc, out = play(tmp_path, "inventories/dev", extra, "--tags", "serving")
    assert proc.returncode != 0
    assert "llama-70b: 70,553,706,496 parameters" in out and "but gpus 1 does NOT fit" in out
    assert "mistral-7b: 7,241,732,096 parameters" in out and "fits on 1 GPU(s)" in out
    assert "missing: not sized: hf://nobody/missing: no config.json from %s" % hub_url in out and "404" in out
    assert "Nothing was changed" in out and not render.exists()
    assert ("/meta-llama/Llama-3.1-70B-Instruct/resolve/main/config.json", "Bearer hf_gated_token") in seen
    assert "hf_gated_token" not in out
