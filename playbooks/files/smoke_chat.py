"""The consumer's side of the smoke play: chat completions through the OpenAI Python SDK.

Reads a delivered key file (OPENAI_API_KEY=... / OPENAI_BASE_URL=... lines), never prints the key.
  smoke_chat.py chat KEYFILE MODEL            one call; prints {"ok", "base_url", "usage", "reply"}
  smoke_chat.py until-refused KEYFILE MODEL N  calls until the gateway refuses (at most N calls);
                                              prints {"refused", "calls_ok", "status", "error"}
  smoke_chat.py smoke KEYFILE MODEL [CAPPED_KEYFILE N]  both in one process (the smoke play):
                                              prints {"chat": {...}, "capped": {...} or null}
With --record FILE, each JSON result (chat, until-refused) is also appended to FILE (one line each).
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
    if mode == "chat":
        results = [one_chat(keyfile, model)]
    elif mode == "until-refused":
        results = [until_refused(keyfile, model, int(argv[3]))]
    else:
        results = [one_chat(keyfile, model)] + ([until_refused(argv[3], model, int(argv[4]))] if len(argv) > 4 else [])
    if mode == "smoke":
        print(json.dumps({"chat": results[0], "capped": results[1] if len(results) > 1 else None}))
    else:
        print(json.dumps(results[0]))
    if record:
        with open(record, "a", encoding="utf-8") as fh:
            for result in results:
                fh.write(json.dumps(result) + "\n")
    return 0


def client_for(keyfile):
    env = read_env(keyfile)
    return env, openai.OpenAI(api_key=env["OPENAI_API_KEY"], base_url=env["OPENAI_BASE_URL"], max_retries=0, timeout=120)


def one_chat(keyfile, model):
    env, client = client_for(keyfile)
    resp = chat(client, model)
    return {"mode": "chat", "ok": True, "base_url": env["OPENAI_BASE_URL"], "model": resp.model,
            "usage": resp.usage.model_dump() if resp.usage else None,
            "reply": (resp.choices[0].message.content or "")[:80]}


def until_refused(keyfile, model, attempts):
    _env, client = client_for(keyfile)
    result = {"mode": "until-refused", "refused": False, "calls_ok": 0, "status": None, "error": None}
    for _attempt in range(attempts):
        try:
            chat(client, model)
            result["calls_ok"] += 1
        except openai.APIStatusError as exc:
            result.update(refused=True, status=exc.status_code, error=str(exc)[:300])
            break
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
