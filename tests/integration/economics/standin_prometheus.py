"""A STAND-IN for the Prometheus HTTP API (OpenShift's Thanos querier), which cannot run here.

Serves GET /api/v1/query_range from recorded samples (prometheus-samples.json, the API's own matrix
format): the query must be one instant-vector selector ``metric{label="value", ...}`` (equality
matchers only, which is all the economics report sends), start/end/step must be numbers, and only the
points on the step grid between start and end are returned. Anything else is answered 400 with
Prometheus's error body; a missing or wrong bearer token 401/403, as the Thanos querier's oauth proxy does.
Records every query it answered.
"""
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SELECTOR = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:\s*[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"\s*,?)*)\}$')
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')


class StandinPrometheus(object):
    def __init__(self, samples_path, token=None):
        with open(samples_path, encoding="utf-8") as fh:
            self.series = json.load(fh)["series"]
        self.token = token
        self.queries = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                if standin.token is not None:
                    auth = self.headers.get("Authorization") or ""
                    if not auth:
                        return self.reply(401, {"status": "error", "errorType": "unauthorized", "error": "no token"})
                    if auth != "Bearer " + standin.token:
                        return self.reply(403, {"status": "error", "errorType": "forbidden", "error": "bad token"})
                if url.path != "/api/v1/query_range":
                    return self.reply(404, {"status": "error", "errorType": "not_found", "error": url.path})
                q = dict(urllib.parse.parse_qsl(url.query))
                try:
                    start, end, step = float(q["start"]), float(q["end"]), float(q["step"])
                    assert step > 0 and end >= start
                except (KeyError, ValueError, AssertionError):
                    return self.reply(400, {"status": "error", "errorType": "bad_data", "error": "bad start/end/step"})
                m = SELECTOR.match((q.get("query") or "").strip())
                if not m:
                    return self.reply(400, {"status": "error", "errorType": "bad_data",
                                            "error": "stand-in understands only metric{label=\"value\",...}"})
                standin.queries.append(q["query"])
                name, matchers = m.group(1), dict(MATCHER.findall(m.group(2)))
                result = []
                for s in standin.series:
                    labels = s["metric"]
                    if labels.get("__name__") != name or any(labels.get(k) != v for k, v in matchers.items()):
                        continue
                    values = [[t, v] for t, v in s["values"]
                              if start <= t <= end and abs(((t - start) / step) - round((t - start) / step)) < 1e-9]
                    if values:
                        result.append({"metric": labels, "values": values})
                return self.reply(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
