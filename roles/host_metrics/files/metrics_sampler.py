"""Sample each vLLM server's /metrics (and the host's NVIDIA GPUs) every INTERVAL seconds.

    python metrics_sampler.py OUT_DIR INTERVAL NAME=URL [NAME=URL ...]

Appends one JSON line per model and sample to OUT_DIR/NAME/YYYY-MM-DD.jsonl (UTC days):
  {"t": unix time, "up": true|false, "start": process start, "prompt": ..., "generation": ...,
   "requests": ..., "inference_s": ..., "running": ..., "gpu_util": [percent per GPU] (when nvidia-smi answers)}
Counters are vLLM's cumulative ones; the economics report turns them into increases per period.
Standard library only, so any Python 3 runs it.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

WANTED = {
    "vllm:prompt_tokens_total": "prompt",
    "vllm:generation_tokens_total": "generation",
    "vllm:request_success_total": "requests",
    "vllm:request_inference_time_seconds_sum": "inference_s",
    "vllm:num_requests_running": "running",
    "process_start_time_seconds": "start",
}


def parse(text):
    """Sum each wanted metric over its label sets (Prometheus text format)."""
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        field = WANTED.get(name)
        if field:
            try:
                value = float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
            out[field] = value if field == "start" else out.get(field, 0.0) + value
    return out


def gpu_util():
    if not shutil.which("nvidia-smi"):
        return None
    try:
        res = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=False)
        return [float(v) for v in res.stdout.split()] if res.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def sample(out_dir, models):
    now = time.time()
    util = gpu_util()
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    for name, url in models:
        row = {"t": round(now, 3), "up": False}
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                row.update(parse(resp.read().decode("utf-8", "replace")), up=True)
        except OSError:
            pass
        if util is not None:
            row["gpu_util"] = util
        os.makedirs(os.path.join(out_dir, name), exist_ok=True)
        with open(os.path.join(out_dir, name, day + ".jsonl"), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, separators=(",", ":")) + "\n")


def main():
    out_dir, interval = sys.argv[1], float(sys.argv[2])
    models = [arg.split("=", 1) for arg in sys.argv[3:]]
    while True:
        started = time.time()
        sample(out_dir, models)
        time.sleep(max(1.0, interval - (time.time() - started)))


if __name__ == "__main__":
    main()
