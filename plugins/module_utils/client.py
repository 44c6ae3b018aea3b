# -*- coding: utf-8 -*-
# Copyright: redwood.maas engineers
# Apache License 2.0 (see LICENSE)
"""The one HTTP client every gateway module uses, and the one exception type of the collection.

- base URL + bearer token, TLS verification on by default, CA file, timeout;
- retries with jittered exponential backoff on connection errors, timeouts and HTTP 502, 503 and 504,
  for every request that is safe to repeat: reads, PUT/DELETE, and writes the caller marks ``safe``
  (creates the flavour made safe to retry, see DESIGN.md section 5);
- rate limits: a 429 is answered before the gateway does anything, so EVERY request (also a create) waits
  for its Retry-After (at most 60 s) and is sent again, up to 10 times, without using up ``retries``; when
  an answer says ``x-ratelimit-remaining: 0`` the next request first waits ``x-ratelimit-reset`` seconds
  (LiteMaaS: 100 requests a minute per client by default), so a long run is paced instead of refused;
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

RETRY_STATUS = (502, 503, 504)
RATE_LIMITED = 429
RATE_LIMIT_WAIT = 60        # the longest Retry-After / x-ratelimit-reset honoured (s)
RATE_LIMIT_RETRIES = 10     # 429 answers waited out per request, apart from ``retries``
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
        self.rate_limited = 0       # 429 answers waited out
        self.paced = 0.0            # seconds waited for a drained rate-limit window (x-ratelimit-remaining: 0)
        self._window_reset = 0.0    # time.monotonic() before which the next request waits
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

    def _delay(self, attempt):
        return self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())     # jittered

    def _rate_limit_delay(self, resp, limited):
        retry_after = resp.headers.get("retry-after", "")
        if retry_after.isdigit():
            return min(int(retry_after), RATE_LIMIT_WAIT) + random.random() * 0.5
        return min(self._delay(limited), RATE_LIMIT_WAIT)

    def _pace(self):
        """Before a request: wait out a rate-limit window an earlier answer said was drained."""
        delay = self._window_reset - time.monotonic()
        self._window_reset = 0.0
        if delay > 0:
            self.paced += delay
            self._sleep(delay)

    def _note_window(self, resp):
        remaining, reset = resp.headers.get("x-ratelimit-remaining", ""), resp.headers.get("x-ratelimit-reset", "")
        if remaining == "0" and reset.isdigit():
            self._window_reset = time.monotonic() + min(int(reset), RATE_LIMIT_WAIT)

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
        attempt = limited = 0
        while True:
            attempt += 1
            self._pace()
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
            self._note_window(resp)
            if resp.status_code == RATE_LIMITED and limited < RATE_LIMIT_RETRIES:
                limited += 1            # not processed: repeat any method, ``retries`` untouched
                attempt -= 1
                self.rate_limited += 1
                self._sleep(self._rate_limit_delay(resp, limited))
                continue
            if resp.status_code in RETRY_STATUS and safe and attempt <= self.retries:
                self._sleep(self._delay(attempt))
                continue
            if resp.status_code not in ok:
                raise MaasError("%s%s failed: HTTP %d: %s%s"
                                % (_prefix(what), label, resp.status_code, _detail(resp, self.scrub),
                                   " (after %d attempts)" % (attempt + limited) if attempt + limited > 1 else ""),
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
