"""The consumer's side of the smoke play: POST /v1/chat/completions, as any OpenAI client sends it.

The standard library only, as the printed curl command: the controller needs no SDK, and the
smoke call does not wait ~1.6 s for the OpenAI SDK to import (most of a no-op run's smoke step).
The SDK itself is exercised against the real gateway by the test suite.

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
import urllib.error
import urllib.request


class Refused(Exception):
    def __init__(self, status, body):
        super().__init__("Error code: %d - %s" % (status, body))
        self.status_code = status


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                env[k] = v
    return env


def chat(env, model):
    """One chat completion; the parsed response, or Refused with the gateway's status and error body."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello to Models as a Service."}], "max_tokens": 16}
    req = urllib.request.Request(env["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + env["OPENAI_API_KEY"],
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        raise Refused(exc.code, exc.read().decode("utf-8", "replace")) from None


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


def one_chat(keyfile, model):
    env = read_env(keyfile)
    resp = chat(env, model)
    return {"mode": "chat", "ok": True, "base_url": env["OPENAI_BASE_URL"], "model": resp["model"],
            "usage": resp.get("usage"), "reply": (resp["choices"][0]["message"].get("content") or "")[:80]}


def until_refused(keyfile, model, attempts):
    env = read_env(keyfile)
    result = {"mode": "until-refused", "refused": False, "calls_ok": 0, "status": None, "error": None}
    for _attempt in range(attempts):
        try:
            chat(env, model)
            result["calls_ok"] += 1
        except Refused as exc:
            result.update(refused=True, status=exc.status_code, error=str(exc)[:300])
            break
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
