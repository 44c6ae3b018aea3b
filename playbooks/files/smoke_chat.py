"""The consumer's side of the smoke play: chat completions through the OpenAI Python SDK.

Reads a delivered key file (OPENAI_API_KEY=... / OPENAI_BASE_URL=... lines), never prints the key.
  smoke_chat.py chat KEYFILE MODEL            one call; prints {"ok", "base_url", "usage", "reply"}
  smoke_chat.py until-refused KEYFILE MODEL N  calls until the gateway refuses (at most N calls);
                                              prints {"refused", "calls_ok", "status", "error"}
With --record FILE, the JSON result is also appended to FILE (one line per run).
"""
import json
import sys

import openai


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                env[k] = v
    return env


def chat(client, model):
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello to Models as a Service."}], max_tokens=16)


def main(argv):
    record = None
    if "--record" in argv:
        i = argv.index("--record")
        record = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    mode, keyfile, model = argv[:3]
    env = read_env(keyfile)
    client = openai.OpenAI(api_key=env["OPENAI_API_KEY"], base_url=env["OPENAI_BASE_URL"], max_retries=0, timeout=120)
    if mode == "chat":
        resp = chat(client, model)
        result = {"mode": mode, "ok": True, "base_url": env["OPENAI_BASE_URL"], "model": resp.model,
                  "usage": resp.usage.model_dump() if resp.usage else None,
                  "reply": (resp.choices[0].message.content or "")[:80]}
    else:
        result = {"mode": mode, "refused": False, "calls_ok": 0, "status": None, "error": None}
        for _attempt in range(int(argv[3])):
            try:
                chat(client, model)
                result["calls_ok"] += 1
            except openai.APIStatusError as exc:
                result.update(refused=True, status=exc.status_code, error=str(exc)[:300])
                break
    print(json.dumps(result))
    if record:
        with open(record, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
