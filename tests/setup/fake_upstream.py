"""An OpenAI-compatible upstream for tests, like ../shared/litellm-offline/lib/fake_openai.py (every chat
completion answers the same text with 10 prompt + 20 completion tokens), with two differences that matter:

- every completion has its own ``id``: LiteLLM uses it as the spend log's primary key, so an upstream that
  repeats one id (as fake_openai.py does) keeps only ONE spend log row of all its successful calls;
- ``/secured/v1/...`` answers only with ``Authorization: Bearer <SECRET>`` (401 otherwise), to prove that the
  gateway sends a model's upstream API key; ``/v1/...`` needs none (as vLLM without ``--api-key``).

Usage: python fake_upstream.py PORT [SECRET]
"""
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = "Hello from the fake upstream"
SECRET = sys.argv[2] if len(sys.argv) > 2 else None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refused(self):
        if self.path.startswith("/secured/") and self.headers.get("Authorization") != "Bearer %s" % SECRET:
            self._send(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return True
        return False

    def do_GET(self):
        if self._refused():
            return
        if self.path.rstrip("/").endswith("/models"):
            return self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "test"}]})
        self._send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        if self._refused():
            return
        if self.path.rstrip("/").endswith("/chat/completions"):
            return self._send(200, {
                "id": "chatcmpl-%s" % uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()),
                "model": req.get("model", "fake-model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            })
        self._send(404, {"error": {"message": "not found"}})


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
