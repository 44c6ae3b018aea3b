# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The one HTTP client every gateway module uses.

- base URL + bearer token (option or environment), TLS verification on by default, CA file,
  timeout;
- retries with exponential backoff on connection errors and on HTTP 429/502/503/504, for
  idempotent requests only (GET/PUT/DELETE/HEAD, or a call the caller marks idempotent);
- errors name the object, the method, the URL and the HTTP status, never the token;
- counts requests and writes, so benchmarks and tests can prove a no-op run writes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

try:
    import httpx

    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = exc

RETRY_STATUS = (429, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")

# Connection options shared by every module (see doc_fragments/gateway.py).
GATEWAY_ARGUMENT_SPEC = dict(
    gateway_url=dict(type="str", fallback=(lambda: os.environ.get("MAAS_GATEWAY_URL"),)),
    token=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=30),
    retries=dict(type="int", default=4),
)


class GatewayError(Exception):
    """A failed gateway call. ``str()`` is safe to show: it never contains the token."""

    def __init__(self, message, status=None, url=None, body=None):
        super(GatewayError, self).__init__(message)
        self.status = status
        self.url = url
        self.body = body


def gateway_params(params):
    """The connection keyword arguments of GatewayClient from a module's params."""
    token = params.get("token") or os.environ.get("MAAS_GATEWAY_TOKEN")
    return dict(
        base_url=params.get("gateway_url") or os.environ.get("MAAS_GATEWAY_URL"),
        token=token,
        validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"),
        timeout=params.get("timeout", 30),
        retries=params.get("retries", 4),
    )


class GatewayClient(object):
    def __init__(self, base_url, token=None, validate_certs=True, ca_path=None, timeout=30,
                 retries=4, backoff=0.5, headers=None, sleep=time.sleep, transport=None):
        if not HAS_HTTPX:
            raise GatewayError("the Python library httpx is required on the host that runs this module: %s"
                               % HTTPX_IMPORT_ERROR)
        if not base_url:
            raise GatewayError("no gateway URL: set gateway_url (or MAAS_GATEWAY_URL)")
        if not base_url.startswith(("http://", "https://")):
            raise GatewayError("gateway_url must start with http:// or https://, got %r" % base_url)
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self._sleep = sleep
        self.requests = 0
        self.writes = 0
        verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        hdrs = {"Accept": "application/json", "User-Agent": "redwood.maas"}
        hdrs.update(headers or {})
        kwargs = dict(base_url=self.base_url, headers=hdrs, timeout=timeout, verify=verify)
        if transport is not None:
            kwargs["transport"] = transport
        self._http = httpx.Client(**kwargs)

    def set_token(self, token):
        self._token = token

    def close(self):
        self._http.close()

    def _scrub(self, text):
        text = "" if text is None else str(text)
        if self._token:
            text = text.replace(self._token, "********")
        return text[:2000]

    def request(self, method, path, what=None, params=None, json=None, idempotent=None,
                ok=(200, 201, 202, 204), token=None):
        """Send one request and return the decoded JSON body (or None).

        ``what`` names the object for error messages (``"key 'canopy-cs'"``). Statuses outside
        ``ok`` raise GatewayError carrying ``status`` so callers can branch (e.g. 404 = absent).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        tok = token or self._token
        headers = {"Authorization": "Bearer %s" % tok} if tok else {}
        url = self.base_url + path
        label = "%s %s" % (method, url)
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            if method not in ("GET", "HEAD"):
                self.writes += 1
            try:
                resp = self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx.HTTPError as exc:
                if idempotent and attempt <= self.retries:
                    self._sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                raise GatewayError("%s%s failed: cannot reach the gateway (%s: %s) after %d attempt(s)"
                                   % (_prefix(what), label, type(exc).__name__, self._scrub(exc), attempt),
                                   url=url)
            if resp.status_code in RETRY_STATUS and idempotent and attempt <= self.retries:
                delay = self.backoff * (2 ** (attempt - 1))
                retry_after = resp.headers.get("retry-after", "")
                if retry_after.isdigit():
                    delay = max(delay, min(int(retry_after), 30))
                self._sleep(delay)
                continue
            if resp.status_code not in ok:
                raise GatewayError("%s%s failed: HTTP %d: %s%s"
                                   % (_prefix(what), label, resp.status_code, _detail(resp, self._scrub),
                                      " (after %d attempts)" % attempt if attempt > 1 else ""),
                                   status=resp.status_code, url=url, body=_json(resp))
            return _json(resp)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def _prefix(what):
    return "%s: " % what if what else ""


def _json(resp):
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _detail(resp, scrub):
    body = _json(resp)
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message", body)))
        if isinstance(err, dict):
            err = err.get("message", err.get("detail", err))
        return scrub(err)
    return scrub(resp.text) or resp.reason_phrase
