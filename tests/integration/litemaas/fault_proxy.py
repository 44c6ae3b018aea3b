# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""A fault-injecting STAND-IN in front of the real LiteMaaS: forwards every request to it, except that chosen
requests get an answer the real server does not give on demand (a 429 with Retry-After, a 500 after the real
server applied the request, ...). Tests that use it have ``standin`` in their names.

    with FaultProxy(lm.url) as proxy:                       # proxy.url instead of lm.url
        proxy.rule("POST", r"/api-keys$", status=429, headers={"Retry-After": "2"}, times=1)
        proxy.rule("GET", r"/api-keys$", status=500, times=1, after="POST /api-keys$")
        ...
        proxy.seen                                          # [(time, method, path, status)]
"""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class FaultProxy(object):
    def __init__(self, target):
        self.target = target.rstrip("/")
        self.rules = []
        self.seen = []
        self._lock = threading.Lock()

    def rule(self, method, path, status, headers=None, times=1, after=None, forward=False):
        """Answer ``status`` to the next ``times`` requests matching ``method`` and the ``path`` regex. ``after``:
        only once a request matching ``"METHOD path-regex"`` was seen. ``forward``: send the request to the real
        server first (it is applied), then answer ``status`` instead of its answer."""
        self.rules.append(dict(method=method, path=re.compile(path), status=status, headers=headers or {},
                               left=times, after=after, forward=forward))

    def _match(self, method, path):
        with self._lock:
            for rule in self.rules:
                if rule["left"] <= 0 or rule["method"] != method or not rule["path"].search(path):
                    continue
                if rule["after"]:
                    want_method, want_path = rule["after"].split(" ", 1)
                    if not any(m == want_method and re.search(want_path, p) for dummy, m, p, dummy2 in self.seen):
                        continue
                rule["left"] -= 1
                return rule
        return None

    def __enter__(self):
        proxy = self
        client = httpx.Client(base_url=self.target, timeout=120)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                rule = proxy._match(self.command, path)
                status, headers, content = None, {}, b""
                if rule is None or rule["forward"]:
                    resp = client.request(self.command, self.path, content=body or None, headers=dict(
                        (k, v) for k, v in self.headers.items() if k.lower() not in ("host", "content-length")))
                    status, content = resp.status_code, resp.content
                    headers = {"Content-Type": resp.headers.get("content-type", "application/json")}
                if rule is not None:
                    status = rule["status"]
                    headers = dict({"Content-Type": "application/json"}, **rule["headers"])
                    content = b'{"error": {"code": "INJECTED", "message": "fault injected by the test"}}'
                with proxy._lock:
                    proxy.seen.append((time.time(), self.command, path, status))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self._client = client
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
