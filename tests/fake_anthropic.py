"""A fake Anthropic Messages API server for tests (stdlib only).

Tests start it on 127.0.0.1 and point the real ``anthropic`` SDK at it::

    with FakeAnthropic(rpm=50, seed=1) as fake:
        client = anthropic.Anthropic(api_key="sk-test-fake", base_url=fake.url)
        msg = client.messages.create(model="m", max_tokens=64,
                                     messages=[{"role": "user", "content": "hi"}])

The SDK talks real HTTP/1.1 to a ``ThreadingHTTPServer`` running in a daemon
thread. What is imitated (shapes taken from anthropic SDK 2.12.0 types):

* ``POST /v1/messages`` with body validation, deterministic replies, tool use,
  ``output_config.format`` (JSON schema) structured output, stop sequences,
  ``max_tokens`` truncation and prompt-cache accounting in ``usage``.
* ``POST /v1/messages/count_tokens``.
* Rate limits over a sliding window (``window_s``, 60 s as the real API) with
  the ``anthropic-ratelimit-*`` headers on every reply and ``429`` +
  ``retry-after`` (integer seconds) when a request would exceed a limit.
* Seeded fault injection (529 / 500 / dropped connection / slow reply) and
  scripted faults per request number.
* The Message Batches API (create, retrieve, list, results JSONL, cancel, delete).

Token counts are an estimate: ``ceil(characters / 4)`` (at least 1).
Every option given to the constructor is also a plain attribute that tests may
change while the server runs (``fake.latency = 0.5``, ``fake.script[7] = 529``).
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeAnthropic", "RecordedRequest", "estimate_tokens", "example_from_schema"]

JSON = Any

#: Top-level keys the Messages API accepts (SDK 2.12.0 ``MessageCreateParams``
#: plus ``stream`` and a few beta keys that go to the same endpoint).
KNOWN_MESSAGE_KEYS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "metadata",
        "output_config",
        "output_format",
        "service_tier",
        "speed",
        "stop_sequences",
        "stream",
        "system",
        "thinking",
        "tool_choice",
        "tools",
        "user_profile_id",
        "workspace_id",
    }
)
#: Sampling parameters the current API version rejects, even at default values.
REJECTED_SAMPLING_KEYS = ("temperature", "top_p", "top_k")

_CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES = {
    "rate_limit_error": "This request would exceed your organization's rate limit. Please try again later.",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
    "timeout_error": "Request timeout",
}


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate: ceil(len/4), at least 1."""
    return max(1, math.ceil(len(text) / 4))


def canonical_json(obj: JSON) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(math.ceil(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short_id(prefix: str, *parts: object) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(24):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return prefix + "".join(chars)


class _ApiError(Exception):
    """Raised inside request handling to produce an Anthropic-style error reply."""

    def __init__(self, status: int, message: str, err_type: str | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.err_type = err_type or _ERROR_TYPES.get(status, "api_error")
        self.headers = dict(headers or {})


# --------------------------------------------------------------------------- JSON schema examples


def example_from_schema(schema: JSON, *, all_properties: bool = False, _root: JSON = None, _name: str = "value", _depth: int = 0) -> JSON:
    """Build a plausible value for a JSON schema.

    Objects get their ``required`` properties (all properties when
    ``all_properties`` is true or when nothing is marked required and
    ``all_properties`` is requested). Honours ``$ref``/``$defs``, ``const``,
    ``enum``, ``examples``, ``default``, ``anyOf``/``oneOf``/``allOf``, string
    formats and numeric/length bounds.
    """
    root = schema if _root is None else _root
    if not isinstance(schema, dict) or _depth > 12:
        return f"example {_name}"
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: JSON = root
        for piece in ref[2:].split("/"):
            target = target.get(piece, {}) if isinstance(target, dict) else {}
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return example_from_schema(merged, all_properties=all_properties, _root=root, _name=_name, _depth=_depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_from_schema((non_null or options)[0], all_properties=all_properties, _root=root, _name=_name, _depth=_depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict = {}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                merged.update(part)
        return example_from_schema(merged, all_properties=all_properties, _root=root, _name=_name, _depth=_depth + 1)

    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ is None:
        typ = "object" if "properties" in schema else ("array" if "items" in schema else "string")

    if typ == "object":
        props = schema.get("properties") or {}
        required = schema.get("required")
        names = list(props) if all_properties else [r for r in (required or []) if isinstance(r, str)]
        out: dict = {}
        for name in names:
            out[name] = example_from_schema(props.get(name, {}), all_properties=all_properties, _root=root, _name=name, _depth=_depth + 1)
        return out
    if typ == "array":
        lo = int(schema.get("minItems", 1) or 0)
        hi = schema.get("maxItems")
        count = max(lo, 1)
        if isinstance(hi, int):
            count = min(count, hi)
        item_schema = schema.get("items", {})
        if isinstance(schema.get("prefixItems"), list):
            return [
                example_from_schema(s, all_properties=all_properties, _root=root, _name=_name, _depth=_depth + 1)
                for s in schema["prefixItems"]
            ]
        return [
            example_from_schema(item_schema, all_properties=all_properties, _root=root, _name=_name, _depth=_depth + 1)
            for _ in range(count)
        ]
    if typ == "integer" or typ == "number":
        lo = schema.get("minimum")
        if lo is None and schema.get("exclusiveMinimum") is not None:
            lo = schema["exclusiveMinimum"] + 1
        hi = schema.get("maximum")
        if hi is None and schema.get("exclusiveMaximum") is not None:
            hi = schema["exclusiveMaximum"] - 1
        value = 1 if lo is None else lo
        if hi is not None and value > hi:
            value = hi
        if typ == "integer":
            return int(math.ceil(value))
        return float(value)
    if typ == "boolean":
        return True
    if typ == "null":
        return None
    # string
    fmt = schema.get("format")
    value = {
        "date": "2024-01-01",
        "date-time": "2024-01-01T00:00:00Z",
        "time": "12:00:00",
        "email": "user@example.com",
        "uri": "https://example.com",
        "url": "https://example.com",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "hostname": "example.com",
        "ipv4": "192.0.2.1",
    }.get(fmt, f"example {_name}")
    lo = schema.get("minLength")
    hi = schema.get("maxLength")
    if isinstance(lo, int) and len(value) < lo:
        value = value + "x" * (lo - len(value))
    if isinstance(hi, int) and len(value) > hi:
        value = value[:hi]
    return value


# --------------------------------------------------------------------------- request helpers


def _block_text(block: JSON) -> str:
    """Text used for token estimates of one content block."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return canonical_json(block)
    if block.get("type") == "text" and isinstance(block.get("text"), str):
        return block["text"]
    if block.get("type") == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(_block_text(b) for b in content)
        return ""
    stripped = {k: v for k, v in block.items() if k != "cache_control"}
    return canonical_json(stripped)


def _last_user_text(body: Mapping[str, Any]) -> str:
    for msg in reversed(body.get("messages") or []):
        if not isinstance(msg, dict) or msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = []
            for block in content:
                if isinstance(block, dict) and block.get("type") in ("text", "tool_result"):
                    texts.append(_block_text(block))
            return " ".join(t for t in texts if t)
    return ""


def default_reply(body: Mapping[str, Any]) -> str:
    """Default ``reply_fn``: ``"reply to: <last user text, truncated to 60 chars>"``."""
    text = " ".join(_last_user_text(body).split())
    if len(text) > 60:
        text = text[:57] + "..."
    return f"reply to: {text}"


def default_tool_input(body: Mapping[str, Any], tool: Mapping[str, Any]) -> dict:
    """Default ``tool_fn``: required properties of the tool's input_schema with typed values."""
    schema = tool.get("input_schema") or {"type": "object"}
    value = example_from_schema(schema)
    return value if isinstance(value, dict) else {}


def default_json_output(body: Mapping[str, Any], schema: Mapping[str, Any]) -> JSON:
    """Default ``json_fn``: every property of the output schema with typed values."""
    return example_from_schema(schema, all_properties=True)


@dataclass
class RecordedRequest:
    """One HTTP request as received by the fake."""

    index: int  # position among all HTTP requests
    method: str
    path: str  # path including the query string
    headers: dict  # lower-cased header names
    raw_body: str  # decoded request body ("" if none)
    body: JSON = None  # parsed JSON body, or None
    message_index: int | None = None  # position among POST /v1/messages requests
    status: int | None = None  # reply status, or None for a dropped connection
    received_at: float = field(default_factory=time.time)

    @property
    def api_key(self) -> str | None:
        """The credential the request carried (``x-api-key`` or ``Authorization: Bearer``)."""
        key = self.headers.get("x-api-key")
        auth = self.headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        return key or None


@dataclass
class _Batch:
    id: str
    requests: list
    created_at: float  # wall clock
    ends_at_mono: float
    cancel_initiated_at: float | None = None
    ended_at: float | None = None
    results: list | None = None
    counts: dict | None = None
    deleted: bool = False


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, handler, fake: "FakeAnthropic"):
        self.fake = fake
        self._conns: set = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        # Peers that hang up (dropped/aborted requests, shutdown) are normal here.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)

    def close_all_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAnthropic/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # no 40 ms Nagle/delayed-ACK stalls on keep-alive connections
    wbufsize = -1  # buffer the reply so headers and body leave in one write

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self.server.fake._handle(self, "GET")  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        self.server.fake._handle(self, "POST")  # type: ignore[attr-defined]

    def do_DELETE(self) -> None:
        self.server.fake._handle(self, "DELETE")  # type: ignore[attr-defined]

    def do_PUT(self) -> None:
        self.server.fake._handle(self, "PUT")  # type: ignore[attr-defined]

    def do_PATCH(self) -> None:
        self.server.fake._handle(self, "PATCH")  # type: ignore[attr-defined]


class _Drop(Exception):
    """Close the connection without sending any response."""


# --------------------------------------------------------------------------- the fake


class _BucketEntry(list):
    """An admitted request in bucket mode: settling its tokens gives the unused reservation back."""

    def __init__(self, fake, vals):
        super().__init__(vals)
        self.fake = fake

    def __setitem__(self, i, v):
        old = self[i]
        super().__setitem__(i, v)
        if i in (1, 2):
            self.fake._bucket_give(i, old - v)


class FakeAnthropic:
    """Fake Anthropic API server; see the module docstring.

    Options (all keyword-only, all also live-editable attributes):

    reply_fn(body) -> str
        Text of the assistant reply (default: ``"reply to: <last user text>"``).
    tool_fn(body) -> dict, or tool_fn(body, tool) -> dict
        Input of a forced tool call (default: required properties of the tool's
        ``input_schema`` with plausible typed values).
    json_fn(body) -> object|str, or json_fn(body, schema)
        Value for ``output_config.format`` / ``output_format`` JSON-schema
        requests (default: every schema property with typed values).
    api_key
        If set, requests must carry exactly this ``x-api-key`` (or bearer token)
        or get 401. If None any non-empty key is accepted (a missing one is 401).
    models
        If set, an iterable of accepted model names; others get 404 not_found_error.
    rpm, input_tpm, output_tpm, window_s
        Per-minute rate limits, enforced over a sliding window of ``window_s``
        seconds as ``limit * window_s / 60`` (default 60: the whole minute's
        allowance at once; 1: the real API's short-interval enforcement, where
        60 RPM may be enforced as 1 request per second).
        Input tokens counted are the uncached ones (``input_tokens`` +
        ``cache_creation_input_tokens``); output tokens are reserved as
        ``max_tokens`` (capped at ``output_tpm``) on admission and settled to
        the real count when the reply is sent. ``None`` disables a limit
        (headers then show a very large limit).
    seed, p_529, p_500, p_drop, p_slow, slow_s
        Random faults, drawn per request number from ``Random(f"{seed}:{n}")``
        so the same request number always gets the same fate.
    latency
        Seconds every /v1/messages reply that reaches the "model" (200, 5xx,
        drop) waits; requests wait concurrently.
    script
        ``{n: action}`` for the n-th (0-based) ``POST /v1/messages`` request,
        applied instead of everything else: an int status (``429``, ``500``,
        ``529``, ``400``, ...), ``"drop"``, ``"slow"``, ``"ok"`` (no random
        fault), or a dict ``{"status": int, "message": str, "type": str,
        "retry_after": int, "headers": {...}}``.
    retry_after_s
        ``retry-after`` of a scripted 429 (default 1).
    bucket
        Enforce the limits as the real API does, with token buckets that hold
        ``limit * window_s / 60`` and refill at ``limit / 60`` per second
        (headers then report each bucket's level as ``remaining``), instead of
        the sliding window.
    batch_delay
        Seconds a batch stays ``in_progress`` before it ends.
    batch_errors, batch_expired
        custom_ids whose batch result is ``errored`` (api_error) / ``expired``.
        ``batch_errors`` may also be a dict custom_id -> error type.
    batch_shuffle
        Return batch results in a seeded shuffled order (the real API does not
        promise request order). Default True.
    require_version
        Reply 400 when the ``anthropic-version`` header is missing (default True).
    strict_params
        Reply 400 for unknown top-level keys in a Messages body (default True).
    """

    def __init__(
        self,
        *,
        reply_fn: Callable[[dict], str] | None = None,
        tool_fn: Callable[..., dict] | None = None,
        json_fn: Callable[..., JSON] | None = None,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        rpm: int | None = 4000,
        input_tpm: int | None = 2_000_000,
        output_tpm: int | None = 400_000,
        window_s: float = 60.0,
        seed: int = 0,
        p_529: float = 0.0,
        p_500: float = 0.0,
        p_drop: float = 0.0,
        p_slow: float = 0.0,
        slow_s: float = 1.0,
        latency: float = 0.0,
        script: Mapping[int, Any] | None = None,
        retry_after_s: int = 1,
        bucket: bool = False,
        batch_delay: float = 0.0,
        batch_errors: Iterable[str] | Mapping[str, str] | None = None,
        batch_expired: Iterable[str] | None = None,
        batch_shuffle: bool = True,
        require_version: bool = True,
        strict_params: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.reply_fn = reply_fn
        self.tool_fn = tool_fn
        self.json_fn = json_fn
        self.api_key = api_key
        self.models = set(models) if models is not None else None
        self.rpm = rpm
        self.input_tpm = input_tpm
        self.output_tpm = output_tpm
        self.window_s = float(window_s)
        self.seed = seed
        self.p_529 = p_529
        self.p_500 = p_500
        self.p_drop = p_drop
        self.p_slow = p_slow
        self.slow_s = slow_s
        self.latency = latency
        self.script: dict = dict(script or {})
        self.retry_after_s = retry_after_s
        self.bucket = bucket
        self.batch_delay = batch_delay
        self.batch_errors = dict(batch_errors) if isinstance(batch_errors, Mapping) else {c: "api_error" for c in (batch_errors or ())}
        self.batch_expired = set(batch_expired or ())
        self.batch_shuffle = batch_shuffle
        self.require_version = require_version
        self.strict_params = strict_params
        self.host = host

        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        self._reset_state()

    # ------------------------------------------------------------------ lifecycle

    def _reset_state(self) -> None:
        with self._lock:
            self._requests: list[RecordedRequest] = []
            self._message_requests = 0
            self._replies: Counter = Counter()
            self._dropped = 0
            self._successes: Counter = Counter()
            self._in_flight = 0
            self._max_in_flight = 0
            self._window: list[list[float]] = []  # [t_mono, input_tokens, output_tokens]
            self._levels: dict[int, list[float]] = {}  # bucket mode: index -> [level, t_mono]
            self._cache: dict[str, float] = {}  # prefix hash -> expiry (monotonic)
            self._batches: dict[str, _Batch] = {}
            self._id_counter = 0

    def start(self) -> "FakeAnthropic":
        if self._server is not None:
            return self
        self._server = _Server((self.host, 0), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"FakeAnthropic:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()  # stops serve_forever
        server.close_all_connections()  # unblocks handler threads on keep-alive sockets
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FakeAnthropic":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ accounting (thread-safe snapshots)

    @staticmethod
    def body_hash(body: JSON) -> str:
        """Canonical hash of a request body (sorted keys, compact JSON, sha256)."""
        return hashlib.sha256(canonical_json(body).encode()).hexdigest()

    @property
    def request_count(self) -> int:
        """All HTTP requests received (every endpoint, including dropped ones)."""
        with self._lock:
            return len(self._requests)

    @property
    def message_request_count(self) -> int:
        """``POST /v1/messages`` requests received."""
        with self._lock:
            return self._message_requests

    @property
    def replies_by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._replies)

    @property
    def dropped(self) -> int:
        """Connections closed without a response."""
        with self._lock:
            return self._dropped

    @property
    def successes_by_body(self) -> dict[str, int]:
        """body_hash(body) -> number of paid successes (200 replies of /v1/messages
        plus succeeded batch results, hashed on the request's ``params``)."""
        with self._lock:
            return dict(self._successes)

    def duplicate_successes(self) -> dict[str, int]:
        """Bodies that were paid more than once."""
        with self._lock:
            return {h: n for h, n in self._successes.items() if n > 1}

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every received request, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def bodies(self) -> list[JSON]:
        """Parsed JSON bodies of all ``POST /v1/messages`` requests, in arrival order."""
        with self._lock:
            return [r.body for r in self._requests if r.message_index is not None]

    @property
    def headers(self) -> list[dict]:
        """Header dicts (lower-cased names) of every request, in arrival order."""
        with self._lock:
            return [dict(r.headers) for r in self._requests]

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Most ``/v1/messages`` requests handled at the same time."""
        with self._lock:
            return self._max_in_flight

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": len(self._requests),
                "message_requests": self._message_requests,
                "replies_by_status": dict(self._replies),
                "dropped": self._dropped,
                "successes": sum(self._successes.values()),
                "duplicate_successes": sum(1 for n in self._successes.values() if n > 1),
                "max_in_flight": self._max_in_flight,
            }

    def reset(self) -> None:
        """Forget counters, recorded requests, the rate window, cache and batches."""
        self._reset_state()

    def rate_limit_state(self) -> dict:
        """Current usage of the sliding window."""
        with self._lock:
            now = time.monotonic()
            self._purge_window(now)
            return {
                "requests": len(self._window),
                "input_tokens": sum(e[1] for e in self._window),
                "output_tokens": sum(e[2] for e in self._window),
            }

    # ------------------------------------------------------------------ request entry point

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._id_counter += 1
            n = self._id_counter
        return _short_id(prefix, self.seed, n)

    def _handle(self, h: _Handler, method: str) -> None:
        request_id = self._next_id("req_")
        headers = {k.lower(): v for k, v in h.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""
        raw_text = raw.decode("utf-8", errors="replace")
        body: JSON = None
        body_error: str | None = None
        if raw:
            try:
                body = json.loads(raw_text)
            except ValueError as exc:
                body_error = f"Invalid JSON body: {exc}"
        split = urlsplit(h.path)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query)

        is_message = method == "POST" and path == "/v1/messages"
        with self._lock:
            rec = RecordedRequest(
                index=len(self._requests), method=method, path=h.path, headers=headers, raw_body=raw_text, body=body
            )
            if is_message:
                rec.message_index = self._message_requests
                self._message_requests += 1
            self._requests.append(rec)

        extra_headers: dict[str, str] = {}
        try:
            self._check_common(headers)
            if body_error is not None:
                raise _ApiError(400, body_error)
            if is_message:
                status, payload, extra_headers = self._messages(rec, body, headers)
            else:
                status, payload = self._route(method, path, query, body)
        except _Drop:
            rec.status = None
            with self._lock:
                self._dropped += 1
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except _ApiError as err:
            status = err.status
            payload = {
                "type": "error",
                "error": {"type": err.err_type, "message": err.message},
                "request_id": request_id,
            }
            extra_headers = {**self._ratelimit_headers(), **err.headers}

        if not extra_headers:
            extra_headers = self._ratelimit_headers()
        rec.status = status
        with self._lock:
            self._replies[status] += 1
        if isinstance(payload, bytes):
            data, ctype = payload, "application/x-jsonl"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json"
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.send_header("request-id", request_id)
            for k, v in extra_headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    def _check_common(self, headers: Mapping[str, str]) -> None:
        key = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            raise _ApiError(401, "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            raise _ApiError(401, "invalid x-api-key")
        if self.require_version and not headers.get("anthropic-version"):
            raise _ApiError(400, "anthropic-version: header is required")

    # ------------------------------------------------------------------ /v1/messages

    def _messages(self, rec: RecordedRequest, body: JSON, headers: Mapping[str, str]) -> tuple[int, JSON, dict]:
        n = rec.message_index
        assert n is not None
        action = self.script.get(n)
        rng = random.Random(f"{self.seed}:{n}")
        u_fault, u_slow = rng.random(), rng.random()
        slow = u_slow < self.p_slow
        forced_ok = False

        if action is not None:
            if action == "drop":
                self._model_wait(slow=False)
                raise _Drop()
            if action == "slow":
                slow = True
            elif action == "ok":
                forced_ok = True
            else:
                spec = action if isinstance(action, dict) else {"status": int(action)}
                status = int(spec.get("status", 500))
                err_type = spec.get("type") or _ERROR_TYPES.get(status, "api_error")
                message = spec.get("message") or _ERROR_MESSAGES.get(err_type, "scripted error")
                extra = dict(spec.get("headers") or {})
                if status == 429 and "retry-after" not in {k.lower() for k in extra}:
                    extra["retry-after"] = str(int(spec.get("retry_after", self.retry_after_s)))
                if status >= 500:
                    self._model_wait(slow=False)
                raise _ApiError(status, message, err_type, extra)

        if body is None or not isinstance(body, dict):
            raise _ApiError(400, "Request body must be a JSON object")
        self._validate_message_body(body)
        if body.get("stream"):
            raise _ApiError(400, "stream: streaming is not supported by FakeAnthropic")
        model = body["model"]
        if self.models is not None and model not in self.models:
            raise _ApiError(404, f"model: {model}")

        # Admission against the rate limits (under the lock, so concurrent requests see each other).
        with self._lock:
            usage_est = self._cache_usage(body, commit=False)
            in_need = usage_est["input_tokens"] + usage_est["cache_creation_input_tokens"]
            out_need = int(body["max_tokens"])
            entry = self._admit(in_need, out_need)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

        try:
            if not forced_ok:
                fault = None
                p = u_fault
                if p < self.p_drop:
                    fault = "drop"
                elif p < self.p_drop + self.p_500:
                    fault = 500
                elif p < self.p_drop + self.p_500 + self.p_529:
                    fault = 529
                if fault is not None:
                    with self._lock:
                        entry[1] = entry[2] = 0  # nothing was processed: release the tokens
                    self._model_wait(slow=slow)
                    if fault == "drop":
                        raise _Drop()
                    raise _ApiError(fault, _ERROR_MESSAGES[_ERROR_TYPES[fault]])

            self._model_wait(slow=slow)
            with self._lock:
                usage = self._cache_usage(body, commit=True)
            message = self._build_message(body, usage)
            with self._lock:
                entry[1] = usage["input_tokens"] + usage["cache_creation_input_tokens"]
                entry[2] = message["usage"]["output_tokens"]
                self._successes[self.body_hash(body)] += 1
            return 200, message, self._ratelimit_headers()
        finally:
            with self._lock:
                self._in_flight -= 1

    def _model_wait(self, *, slow: bool) -> None:
        delay = float(self.latency or 0) + (float(self.slow_s) if slow else 0.0)
        if delay > 0:
            time.sleep(delay)

    # ------------------------------------------------------------------ validation

    def _validate_message_body(self, body: dict, prefix: str = "") -> None:
        def bad(msg: str) -> _ApiError:
            return _ApiError(400, prefix + msg)

        for key in REJECTED_SAMPLING_KEYS:
            if key in body:
                raise bad(f"{key}: sampling parameters are not supported by this API version; remove `{key}`")
        if self.strict_params:
            for key in body:
                if key not in KNOWN_MESSAGE_KEYS:
                    raise bad(f"{key}: Extra inputs are not permitted")
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                raise bad(f"{key}: Field required")
        if not isinstance(body["model"], str) or not body["model"]:
            raise bad("model: Input should be a non-empty string")
        mt = body["max_tokens"]
        if isinstance(mt, bool) or not isinstance(mt, int):
            raise bad("max_tokens: Input should be a valid integer")
        if mt < 1:
            raise bad("max_tokens: Input should be greater than or equal to 1")
        msgs = body["messages"]
        if not isinstance(msgs, list):
            raise bad("messages: Input should be a valid list")
        if not msgs:
            raise bad("messages: at least one message is required")
        breakpoints = 0
        for i, msg in enumerate(msgs):
            where = f"messages.{i}"
            if not isinstance(msg, dict):
                raise bad(f"{where}: Input should be a valid dictionary")
            for key in msg:
                if key not in ("role", "content"):
                    raise bad(f"{where}.{key}: Extra inputs are not permitted")
            if msg.get("role") not in ("user", "assistant"):
                raise bad(f"{where}.role: Input should be 'user' or 'assistant'")
            if "content" not in msg:
                raise bad(f"{where}.content: Field required")
            content = msg["content"]
            if isinstance(content, str):
                continue
            if not isinstance(content, list):
                raise bad(f"{where}.content: Input should be a valid string or list of content blocks")
            for j, block in enumerate(content):
                bwhere = f"{where}.content.{j}"
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    raise bad(f"{bwhere}: content blocks must be objects with a `type`")
                if block["type"] == "text":
                    if not isinstance(block.get("text"), str):
                        raise bad(f"{bwhere}.text: Field required")
                    if not block["text"]:
                        raise bad(f"{bwhere}: text content blocks must be non-empty")
                elif block["type"] == "tool_use":
                    for key in ("id", "name", "input"):
                        if key not in block:
                            raise bad(f"{bwhere}.{key}: Field required")
                elif block["type"] == "tool_result" and "tool_use_id" not in block:
                    raise bad(f"{bwhere}.tool_use_id: Field required")
                if "cache_control" in block:
                    self._validate_cache_control(block["cache_control"], bwhere, prefix)
                    breakpoints += 1
        system = body.get("system")
        if system is not None:
            if isinstance(system, list):
                for j, block in enumerate(system):
                    if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                        raise bad(f"system.{j}: system blocks must be text blocks")
                    if "cache_control" in block:
                        self._validate_cache_control(block["cache_control"], f"system.{j}", prefix)
                        breakpoints += 1
            elif not isinstance(system, str):
                raise bad("system: Input should be a valid string or list of text blocks")
        stops = body.get("stop_sequences")
        if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
            raise bad("stop_sequences: Input should be a valid list of strings")
        tools = body.get("tools")
        names: list[str] = []
        if tools is not None:
            if not isinstance(tools, list):
                raise bad("tools: Input should be a valid list")
            for j, tool in enumerate(tools):
                if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                    raise bad(f"tools.{j}.name: Field required")
                if tool.get("type") in (None, "custom") and "input_schema" not in tool:
                    raise bad(f"tools.{j}.input_schema: Field required")
                if "cache_control" in tool:
                    self._validate_cache_control(tool["cache_control"], f"tools.{j}", prefix)
                    breakpoints += 1
                names.append(tool["name"])
            if len(set(names)) != len(names):
                raise bad("tools: Tool names must be unique")
        choice = body.get("tool_choice")
        if choice is not None:
            if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
                raise bad("tool_choice: Input tag should be 'auto', 'any', 'tool' or 'none'")
            if choice["type"] in ("any", "tool") and not names:
                raise bad("tool_choice: tool_choice requires `tools` to be provided")
            if choice["type"] == "tool" and choice.get("name") not in names:
                raise bad(f"tool_choice.name: Tool '{choice.get('name')}' not found in provided tools")
        if "cache_control" in body and body["cache_control"] is not None:
            self._validate_cache_control(body["cache_control"], "cache_control", prefix)
        if breakpoints > 4:
            raise bad(f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}.")
        fmt = self._output_schema_spec(body)
        if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict)):
            raise bad("output_config.format: expected {'type': 'json_schema', 'schema': {...}}")

    @staticmethod
    def _validate_cache_control(cc: JSON, where: str, prefix: str) -> None:
        if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
            raise _ApiError(400, f"{prefix}{where}.cache_control.type: Input should be 'ephemeral'")
        if "ttl" in cc and cc["ttl"] not in _TTL_SECONDS:
            raise _ApiError(400, f"{prefix}{where}.cache_control.ttl: Input should be '5m' or '1h'")

    @staticmethod
    def _output_schema_spec(body: Mapping[str, Any]) -> JSON:
        oc = body.get("output_config")
        if isinstance(oc, dict) and oc.get("format") is not None:
            return oc["format"]
        if body.get("output_format") is not None:
            return body["output_format"]
        return None

    # ------------------------------------------------------------------ prompt cache

    def _prompt_parts(self, body: Mapping[str, Any]) -> list[tuple[str, int, str | None]]:
        """(canonical part, tokens, cache ttl or None) in cache-prefix order: tools, system, messages."""
        parts: list[tuple[str, int, str | None]] = []

        def ttl_of(obj: JSON) -> str | None:
            cc = obj.get("cache_control") if isinstance(obj, dict) else None
            return (cc.get("ttl") or "5m") if isinstance(cc, dict) else None

        for tool in body.get("tools") or []:
            stripped = {k: v for k, v in tool.items() if k != "cache_control"}
            text = canonical_json(stripped)
            parts.append(("tool:" + text, estimate_tokens(text), ttl_of(tool)))
        system = body.get("system")
        if isinstance(system, str) and system:
            parts.append(("system:" + system, estimate_tokens(system), None))
        elif isinstance(system, list):
            for block in system:
                text = _block_text(block)
                parts.append(("system:" + text, estimate_tokens(text), ttl_of(block)))
        for i, msg in enumerate(body.get("messages") or []):
            role = msg.get("role")
            content = msg.get("content")
            if isinstance(content, str):
                parts.append((f"msg{i}:{role}:{content}", estimate_tokens(content), None))
            else:
                for block in content or []:
                    stripped = {k: v for k, v in block.items() if k != "cache_control"}
                    parts.append((f"msg{i}:{role}:" + canonical_json(stripped), estimate_tokens(_block_text(block)), ttl_of(block)))
        top = body.get("cache_control")
        if isinstance(top, dict) and parts:
            text, tokens, ttl = parts[-1]
            parts[-1] = (text, tokens, ttl or top.get("ttl") or "5m")
        return parts

    def _cache_usage(self, body: Mapping[str, Any], *, commit: bool) -> dict:
        """Input-side usage; with ``commit`` the cache is written/refreshed. Call under the lock."""
        parts = self._prompt_parts(body)
        now = time.monotonic()
        h = hashlib.sha256(("model:" + str(body.get("model"))).encode())
        prefix_hashes: list[str] = []
        cum: list[int] = []
        total = 0
        for text, tokens, _ttl in parts:
            h.update(b"\x00" + text.encode())
            prefix_hashes.append(h.hexdigest())
            total += tokens
            cum.append(total)
        breakpoints = [i for i, p in enumerate(parts) if p[2] is not None]
        read_idx = -1
        if breakpoints:
            for i in range(breakpoints[-1], -1, -1):
                exp = self._cache.get(prefix_hashes[i])
                if exp is not None and exp > now:
                    read_idx = i
                    break
        cache_read = cum[read_idx] if read_idx >= 0 else 0
        created = {"5m": 0, "1h": 0}
        prev = read_idx
        for bp in breakpoints:
            if bp <= read_idx:
                continue
            seg = cum[bp] - (cum[prev] if prev >= 0 else 0)
            created[parts[bp][2] or "5m"] += seg
            prev = bp
        creation = created["5m"] + created["1h"]
        if commit:
            if read_idx >= 0:
                self._cache[prefix_hashes[read_idx]] = max(self._cache[prefix_hashes[read_idx]], now + 300.0)
            for bp in breakpoints:
                ttl = _TTL_SECONDS[parts[bp][2] or "5m"]
                self._cache[prefix_hashes[bp]] = max(self._cache.get(prefix_hashes[bp], 0.0), now + ttl)
        return {
            "input_tokens": max(1, total - cache_read - creation) if total else 1,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": created["5m"], "ephemeral_1h_input_tokens": created["1h"]},
        }

    def count_input_tokens(self, body: Mapping[str, Any]) -> int:
        """Total input-token estimate of a Messages body (what count_tokens returns)."""
        return max(1, sum(p[1] for p in self._prompt_parts(body)))

    # ------------------------------------------------------------------ rate limits

    def _purge_window(self, now: float) -> None:
        cutoff = now - self.window_s
        w = self._window
        k = 0
        while k < len(w) and w[k][0] <= cutoff:
            k += 1
        if k:
            del w[:k]

    def _bucket_limits(self) -> dict[int, float]:
        return {i: lim for i, lim in ((0, self.rpm), (1, self.input_tpm), (2, self.output_tpm)) if lim is not None}

    def _bucket_level(self, i: int, lim: float, now: float) -> list[float]:
        cap = max(1.0, lim * self.window_s / 60.0)
        b = self._levels.setdefault(i, [cap, now])
        b[0], b[1] = min(cap, b[0] + (now - b[1]) * lim / 60.0), now
        return b

    def _bucket_give(self, i: int, n: float) -> None:
        lim = self._bucket_limits().get(i)
        if lim is not None and n:
            b = self._bucket_level(i, lim, time.monotonic())
            b[0] = min(max(1.0, lim * self.window_s / 60.0), b[0] + n)

    def _admit_bucket(self, in_need: int, out_need: int) -> list[float]:
        """Token-bucket admission (the real API's algorithm): capacity limit*window_s/60, refilled at limit/60 per second."""
        now = time.monotonic()
        need = {0: 1.0, 1: float(in_need), 2: float(out_need)}
        waits = {}
        for i, lim in self._bucket_limits().items():
            b = self._bucket_level(i, lim, now)
            n = min(need[i], max(1.0, lim * self.window_s / 60.0))
            if b[0] < n: waits[i] = (n - b[0]) * 60.0 / lim
        if waits:
            which = {0: "requests", 1: "input tokens", 2: "output tokens"}[max(waits, key=waits.get)]
            raise _ApiError(429, f"This request would exceed your organization's rate limit of {which} per minute. Please try again later.",
                            "rate_limit_error", {**self._ratelimit_headers(), "retry-after": str(max(1, math.ceil(max(waits.values()))))})
        for i, lim in self._bucket_limits().items(): self._levels[i][0] -= need[i]
        return _BucketEntry(self, [now, float(in_need), float(out_need)])

    def _admit(self, in_need: int, out_need: int) -> list[float]:
        """Admit a request into the window or raise 429. Call under the lock."""
        if self.bucket:
            return self._admit_bucket(in_need, out_need)
        now = time.monotonic()
        self._purge_window(now)
        rpm, itpm, otpm = self.rpm, self.input_tpm, self.output_tpm
        in_need_c = min(in_need, itpm) if itpm is not None else in_need
        out_need_c = min(out_need, otpm) if otpm is not None else out_need

        f = self.window_s / 60.0   # a per-minute limit is enforced as limit * window_s / 60 over any window_s seconds
        r_cap = rpm * f if rpm is not None else None
        i_cap = max(itpm * f, in_need_c) if itpm is not None else None
        o_cap = max(otpm * f, out_need_c) if otpm is not None else None

        def fits(entries: list[list[float]]) -> bool:
            if r_cap is not None and len(entries) + 1 > r_cap:
                return False
            if i_cap is not None and sum(e[1] for e in entries) + in_need_c > i_cap:
                return False
            if o_cap is not None and sum(e[2] for e in entries) + out_need_c > o_cap:
                return False
            return True

        w = self._window
        if not fits(w):
            wait = self.window_s
            for k in range(1, len(w) + 1):
                if fits(w[k:]):
                    wait = w[k - 1][0] + self.window_s - now
                    break
            which = "requests"
            if r_cap is not None and len(w) + 1 > r_cap:
                which = "requests"
            elif i_cap is not None and sum(e[1] for e in w) + in_need_c > i_cap:
                which = "input tokens"
            else:
                which = "output tokens"
            retry_after = max(1, math.ceil(wait))
            raise _ApiError(
                429,
                f"This request would exceed your organization's rate limit of {which} per minute. "
                "Please try again later.",
                "rate_limit_error",
                {**self._ratelimit_headers(), "retry-after": str(retry_after)},
            )
        entry = [now, float(in_need_c), float(out_need_c)]
        w.append(entry)
        return entry

    def _ratelimit_headers(self) -> dict[str, str]:
        big = 10**9
        if self.bucket:
            now, out = time.monotonic(), {}
            for i, name in ((0, "requests"), (1, "input-tokens"), (2, "output-tokens")):
                lim = self._bucket_limits().get(i)
                with self._lock:
                    rem = int(self._bucket_level(i, lim, now)[0]) if lim is not None else big
                out[f"anthropic-ratelimit-{name}-limit"] = str(lim if lim is not None else big)
                out[f"anthropic-ratelimit-{name}-remaining"] = str(max(0, rem))
                out[f"anthropic-ratelimit-{name}-reset"] = _rfc3339(time.time())
            return out
        with self._lock:
            now_m = time.monotonic()
            now_w = time.time()
            self._purge_window(now_m)
            w = list(self._window)
        reset_all = _rfc3339(now_w + (w[-1][0] + self.window_s - now_m) if w else now_w)

        def reset_for(idx: int) -> str:
            last = [e for e in w if idx < 0 or e[idx] > 0]
            if not last:
                return _rfc3339(now_w)
            return _rfc3339(now_w + last[-1][0] + self.window_s - now_m)

        r_lim = self.rpm if self.rpm is not None else big
        i_lim = self.input_tpm if self.input_tpm is not None else big
        o_lim = self.output_tpm if self.output_tpm is not None else big
        scale = 60.0 / self.window_s   # what remains of the per-minute rate, at the window's pace
        r_rem = max(0, int(r_lim - len(w) * scale))
        i_rem = max(0, int(i_lim - sum(e[1] for e in w) * scale))
        o_rem = max(0, int(o_lim - sum(e[2] for e in w) * scale))
        i_reset, o_reset = reset_for(1), reset_for(2)
        # tokens-*: the most restrictive of the token limits right now.
        if o_rem / max(1, o_lim) < i_rem / max(1, i_lim):
            t_lim, t_rem, t_reset = o_lim, o_rem, o_reset
        else:
            t_lim, t_rem, t_reset = i_lim, i_rem, i_reset
        return {
            "anthropic-ratelimit-requests-limit": str(r_lim),
            "anthropic-ratelimit-requests-remaining": str(r_rem),
            "anthropic-ratelimit-requests-reset": reset_all,
            "anthropic-ratelimit-input-tokens-limit": str(i_lim),
            "anthropic-ratelimit-input-tokens-remaining": str(i_rem),
            "anthropic-ratelimit-input-tokens-reset": i_reset,
            "anthropic-ratelimit-output-tokens-limit": str(o_lim),
            "anthropic-ratelimit-output-tokens-remaining": str(o_rem),
            "anthropic-ratelimit-output-tokens-reset": o_reset,
            "anthropic-ratelimit-tokens-limit": str(t_lim),
            "anthropic-ratelimit-tokens-remaining": str(t_rem),
            "anthropic-ratelimit-tokens-reset": t_reset,
        }

    # ------------------------------------------------------------------ reply construction

    @staticmethod
    def _call_user_fn(fn: Callable[..., Any], body: dict, extra: Any) -> Any:
        """Call ``fn(body, extra)`` if it takes two positional arguments, else ``fn(body)``."""
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return fn(copy.deepcopy(body))
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params):
            return fn(copy.deepcopy(body), extra)
        return fn(copy.deepcopy(body))

    def _build_message(self, body: dict, usage: dict, *, service_tier: str = "standard") -> dict:
        model = body["model"]
        max_tokens = int(body["max_tokens"])
        choice = body.get("tool_choice") or {}
        tools = body.get("tools") or []
        stop_reason = "end_turn"
        stop_sequence = None
        content: list[dict]

        tool = None
        if choice.get("type") == "tool":
            tool = next(t for t in tools if t.get("name") == choice.get("name"))
        elif choice.get("type") == "any" and tools:
            tool = tools[0]

        schema_spec = self._output_schema_spec(body)
        if tool is not None:
            if self.tool_fn is not None:
                tool_input = self._call_user_fn(self.tool_fn, body, tool)
            else:
                tool_input = default_tool_input(body, tool)
            content = [{"type": "tool_use", "id": self._next_id("toolu_"), "name": tool["name"], "input": tool_input}]
            stop_reason = "tool_use"
            output_tokens = estimate_tokens(canonical_json(tool_input))
        else:
            if schema_spec is not None:
                if self.json_fn is not None:
                    value = self._call_user_fn(self.json_fn, body, schema_spec["schema"])
                else:
                    value = default_json_output(body, schema_spec["schema"])
                text = value if isinstance(value, str) else json.dumps(value)
            else:
                text = str((self.reply_fn or default_reply)(copy.deepcopy(body)))
            stops = [s for s in body.get("stop_sequences") or [] if s]
            hits = [(text.find(s), s) for s in stops if s in text]
            if hits:
                pos, seq = min(hits)
                text, stop_reason, stop_sequence = text[:pos], "stop_sequence", seq
            if estimate_tokens(text) > max_tokens:
                text, stop_reason, stop_sequence = text[: max_tokens * 4], "max_tokens", None
            content = [{"type": "text", "text": text}]
            output_tokens = estimate_tokens(text)
        return {
            "id": self._next_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "stop_details": None,
            "container": None,
            "usage": {
                "input_tokens": usage["input_tokens"],
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
                "cache_read_input_tokens": usage["cache_read_input_tokens"],
                "cache_creation": usage["cache_creation"],
                "server_tool_use": None,
                "service_tier": service_tier,
            },
        }

    # ------------------------------------------------------------------ other endpoints

    def _route(self, method: str, path: str, query: Mapping[str, list[str]], body: JSON) -> tuple[int, JSON]:
        if path == "/v1/messages/count_tokens":
            if method != "POST":
                raise _ApiError(405, f"Method {method} not allowed for {path}")
            if not isinstance(body, dict):
                raise _ApiError(400, "Request body must be a JSON object")
            probe = {"max_tokens": 1, **body}
            self._validate_message_body(probe)
            return 200, {"input_tokens": self.count_input_tokens(body)}
        if path == "/v1/messages/batches":
            if method == "POST":
                return self._batch_create(body)
            if method == "GET":
                return self._batch_list(query)
            raise _ApiError(405, f"Method {method} not allowed for {path}")
        m = re.fullmatch(r"/v1/messages/batches/([^/]+)(?:/(results|cancel))?", path)
        if m:
            batch_id, sub = m.group(1), m.group(2)
            if sub is None and method == "GET":
                return 200, self._batch_json(self._get_batch(batch_id))
            if sub is None and method == "DELETE":
                return self._batch_delete(batch_id)
            if sub == "results" and method == "GET":
                return self._batch_results(batch_id)
            if sub == "cancel" and method == "POST":
                return self._batch_cancel(batch_id)
            raise _ApiError(405, f"Method {method} not allowed for {path}")
        raise _ApiError(404, f"Not found: {method} {path}")

    # ------------------------------------------------------------------ batches

    def _batch_create(self, body: JSON) -> tuple[int, JSON]:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise _ApiError(400, "requests: Field required")
        reqs = body["requests"]
        if not reqs:
            raise _ApiError(400, "requests: List should have at least 1 item")
        if len(reqs) > 100_000:
            raise _ApiError(400, "requests: List should have at most 100000 items")
        seen: set[str] = set()
        for i, r in enumerate(reqs):
            if not isinstance(r, dict):
                raise _ApiError(400, f"requests.{i}: Input should be a valid dictionary")
            cid = r.get("custom_id")
            if not isinstance(cid, str) or not _CUSTOM_ID_RE.match(cid):
                raise _ApiError(400, f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$")
            if cid in seen:
                raise _ApiError(400, f"requests.{i}.custom_id: Duplicate custom_id '{cid}'")
            seen.add(cid)
            if not isinstance(r.get("params"), dict):
                raise _ApiError(400, f"requests.{i}.params: Field required")
        batch = _Batch(
            id=self._next_id("msgbatch_"),
            requests=copy.deepcopy(reqs),
            created_at=time.time(),
            ends_at_mono=time.monotonic() + float(self.batch_delay),
        )
        with self._lock:
            self._batches[batch.id] = batch
        return 200, self._batch_json(batch, refresh=False)

    def _get_batch(self, batch_id: str) -> _Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None or batch.deleted:
            raise _ApiError(404, f"message_batch_id: batch '{batch_id}' not found")
        return batch

    def _process_batch(self, batch: _Batch, *, canceled: bool) -> None:
        """Compute results once, when the batch ends. Call under the lock."""
        results = []
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for r in batch.requests:
            cid, params = r["custom_id"], r["params"]
            if canceled:
                result: dict = {"type": "canceled"}
            elif cid in self.batch_expired:
                result = {"type": "expired"}
            elif cid in self.batch_errors:
                err_type = self.batch_errors[cid] or "api_error"
                result = {
                    "type": "errored",
                    "error": {"type": "error", "error": {"type": err_type, "message": _ERROR_MESSAGES.get(err_type, "error")}},
                }
            else:
                try:
                    self._validate_message_body(params)
                    if params.get("stream"):
                        raise _ApiError(400, "stream: streaming is not supported in batches")
                    usage = self._cache_usage(params, commit=True)
                    result = {"type": "succeeded", "message": self._build_message(params, usage, service_tier="batch")}
                    self._successes[self.body_hash(params)] += 1
                except _ApiError as err:
                    result = {
                        "type": "errored",
                        "error": {"type": "error", "error": {"type": err.err_type, "message": err.message}},
                    }
            counts[result["type"]] += 1
            results.append({"custom_id": cid, "result": result})
        if self.batch_shuffle:
            random.Random(f"{self.seed}:{batch.id}").shuffle(results)
        batch.results = results
        batch.counts = counts
        batch.ended_at = time.time()

    def _refresh_batch(self, batch: _Batch) -> None:
        with self._lock:
            if batch.ended_at is not None:
                return
            if batch.cancel_initiated_at is not None:
                self._process_batch(batch, canceled=True)
            elif time.monotonic() >= batch.ends_at_mono:
                self._process_batch(batch, canceled=False)

    def _batch_json(self, batch: _Batch, *, refresh: bool = True) -> dict:
        if refresh:
            self._refresh_batch(batch)
        ended = batch.ended_at is not None
        if ended:
            status = "ended"
        elif batch.cancel_initiated_at is not None:
            status = "canceling"
        else:
            status = "in_progress"
        counts = batch.counts if ended else {
            "processing": len(batch.requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0
        }
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": dict(counts or {}),
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + 24 * 3600),
            "ended_at": _rfc3339(batch.ended_at) if ended else None,
            "cancel_initiated_at": _rfc3339(batch.cancel_initiated_at) if batch.cancel_initiated_at else None,
            "archived_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _batch_list(self, query: Mapping[str, list[str]]) -> tuple[int, JSON]:
        limit = int((query.get("limit") or ["20"])[0])
        after = (query.get("after_id") or [None])[0]
        before = (query.get("before_id") or [None])[0]
        with self._lock:
            batches = [b for b in self._batches.values() if not b.deleted][::-1]  # newest first
        ids = [b.id for b in batches]
        if after in ids:
            batches = batches[ids.index(after) + 1 :]
        elif before in ids:
            batches = batches[: ids.index(before)]
        page = batches[:limit]
        data = [self._batch_json(b) for b in page]
        return 200, {
            "data": data,
            "has_more": len(batches) > limit,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    def _batch_results(self, batch_id: str) -> tuple[int, JSON]:
        batch = self._get_batch(batch_id)
        self._refresh_batch(batch)
        if batch.ended_at is None or batch.results is None:
            raise _ApiError(404, f"Results for batch '{batch_id}' are not available until processing has ended")
        lines = [json.dumps(r) for r in batch.results]
        return 200, ("\n".join(lines) + "\n").encode()

    def _batch_cancel(self, batch_id: str) -> tuple[int, JSON]:
        batch = self._get_batch(batch_id)
        self._refresh_batch(batch)
        with self._lock:
            if batch.ended_at is None and batch.cancel_initiated_at is None:
                batch.cancel_initiated_at = time.time()
        # The cancel reply shows "canceling"; the batch ends at the next look.
        return 200, self._batch_json(batch, refresh=False)

    def _batch_delete(self, batch_id: str) -> tuple[int, JSON]:
        batch = self._get_batch(batch_id)
        self._refresh_batch(batch)
        if batch.ended_at is None:
            raise _ApiError(400, f"Batch '{batch_id}' must finish processing (or be canceled) before it can be deleted")
        with self._lock:
            batch.deleted = True
        return 200, {"id": batch_id, "type": "message_batch_deleted"}
