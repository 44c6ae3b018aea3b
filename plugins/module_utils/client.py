# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The one HTTP client every gateway module uses, and the one exception type of the collection.

- base URL + bearer token, TLS verification on by default, CA file, timeout;
- retries with jittered exponential backoff on connection errors, timeouts and HTTP 429 (honouring
  Retry-After), 502, 503 and 504, for every request that is safe to repeat: reads, PUT/DELETE, and
  writes the caller marks ``safe`` (creates the flavour made safe to retry, see DESIGN.md section 5);
- errors name the object, the method, the URL and the HTTP status ("timed out" for a timeout,
  "cannot reach" for a refused connection), never the token;
- counts requests and writes, so every module result can prove what it sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

try:
    import httpx

    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = exc

RETRY_STATUS = (429, 502, 503, 504)
SAFE_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")


class MaasError(Exception):
    """The collection's one exception type: bad input, a failed gateway call, a refused change.

    ``str()`` is safe to show (never a token or a secret). ``status`` is the HTTP status of a failed
    call, ``pending`` marks a LiteMaaS user who has not logged in yet (reported, not failed)."""

    def __init__(self, message, status=None, url=None, body=None, attempts=1, pending=False):
        super(MaasError, self).__init__(message)
        self.status = status
        self.url = url
        self.body = body
        self.attempts = attempts
        self.pending = pending


class GatewayClient(object):
    def __init__(self, base_url, token=None, validate_certs=True, ca_path=None, timeout=30,
                 retries=4, backoff=0.5, headers=None, sleep=time.sleep, transport=None):
        if not HAS_HTTPX:
            raise MaasError("the Python library httpx is required on the host that runs this module: %s"
                            % HTTPX_IMPORT_ERROR)
        if not base_url:
            raise MaasError("no gateway URL: set gateway_url (or MAAS_GATEWAY_URL)")
        if not base_url.startswith(("http://", "https://")):
            raise MaasError("gateway_url must start with http:// or https://, got %r" % base_url)
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.secrets = [token] if token else []     # scrubbed from every message
        self.retries = max(0, int(retries))
        self.timeout = timeout
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

    def close(self):
        self._http.close()

    def counts(self):
        return dict(total=self.requests, writes=self.writes)

    def scrub(self, text):
        text = "" if text is None else str(text)
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "********")
        return text[:2000]

    def _delay(self, attempt, retry_after=""):
        delay = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())     # jittered
        if str(retry_after).isdigit():
            delay = max(delay, min(int(retry_after), 30))
        return delay

    def request(self, method, path, what=None, params=None, json=None, safe=None,
                ok=(200, 201, 202, 204), token=None):
        """Send one request and return the decoded JSON body (or None).

        ``what`` names the object for error messages (``"key 'canopy-cs'"``); ``safe`` says the request
        may be repeated (default: by method). Statuses outside ``ok`` raise MaasError with ``status``.
        """
        method = method.upper()
        if safe is None:
            safe = method in SAFE_METHODS
        tok = token or self._token
        headers = {"Authorization": "Bearer %s" % tok} if tok else {}
        label = "%s %s%s" % (method, self.base_url, path)
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            if method not in ("GET", "HEAD"):
                self.writes += 1
            try:
                resp = self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx.HTTPError as exc:
                if safe and attempt <= self.retries:
                    self._sleep(self._delay(attempt))
                    continue
                why = ("timed out after %s s" % self.timeout if isinstance(exc, httpx.TimeoutException)
                       else "cannot reach the gateway")
                raise MaasError("%s%s failed: %s (%s: %s) after %d attempt(s)"
                                % (_prefix(what), label, why, type(exc).__name__, self.scrub(exc), attempt),
                                url=label, attempts=attempt)
            if resp.status_code in RETRY_STATUS and safe and attempt <= self.retries:
                self._sleep(self._delay(attempt, resp.headers.get("retry-after", "")))
                continue
            if resp.status_code not in ok:
                raise MaasError("%s%s failed: HTTP %d: %s%s"
                                % (_prefix(what), label, resp.status_code, _detail(resp, self.scrub),
                                   " (after %d attempts)" % attempt if attempt > 1 else ""),
                                status=resp.status_code, url=label, body=_json(resp), attempts=attempt)
            return _json(resp)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)


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
