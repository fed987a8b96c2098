"""The HTTP server: auth, the account-wide rate limit, fault switches, stats, inspection."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from activecampaign_sandbox.api import Api, Request, is_valid_email
from activecampaign_sandbox.behaviour import AccountBehaviour, refusal
from activecampaign_sandbox.bulk import BulkImporter
from activecampaign_sandbox.envelopes import Answer
from activecampaign_sandbox.limits import SlidingWindow, retry_after_header
from activecampaign_sandbox.seed import seed_store
from activecampaign_sandbox.store import Store

DEFAULT_API_KEY = "sandbox-demo-key"
API_PREFIX = "/api/3"


@dataclass
class Faults:
    """Fault switches; rates are fractions of /api/3 requests, drawn from a seeded RNG."""

    error_rate: float = 0.0
    latency_ms: float = 0.0
    truncate_rate: float = 0.0
    forbidden_rate: float = 0.0
    drop_rate: float = 0.0
    throttle_next: int = 0
    throttle_retry_after: bool = True
    seed: int = 0


FAULT_KEYS = {f.name for f in fields(Faults)}


@dataclass
class Verdict:
    """What the gate decided for one request before the route runs."""

    action: str = "serve"  # serve | drop | throttle | error | forbidden
    status: int = 200
    retry_after: str | None = None
    truncate: bool = False
    latency: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not block stop()
    allow_reuse_address = True
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else ~50 ms per keep-alive request
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet, and never a header in a log

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        sandbox = self.server.sandbox
        params = parse_qs(parts.query, keep_blank_values=True)
        path = unquote(parts.path)
        if path.startswith("/_sandbox"):
            status, body = sandbox.inspect(method, path, raw)
            self._send(status, json.dumps(body, ensure_ascii=False).encode())
            return
        if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
            self._send(404, b'{"message":"Not Found"}')
            return
        outcome = sandbox.serve(method, path[len(API_PREFIX):] or "/", params, raw,
                                self.headers.get("Api-Token"))
        if outcome is None:
            self.close_connection = True  # drop fault: no answer at all
            return
        status, payload, headers = outcome
        self._send(status, payload, headers)

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


class Sandbox:
    """A local ActiveCampaign API v3 account on 127.0.0.1 (a free port unless ``port``)."""

    def __init__(self, seed: str = "demo", contacts: int = 200, rate_limit: float | None = 5,
                 api_key: str = DEFAULT_API_KEY, *, host: str = "127.0.0.1", port: int = 0,
                 import_delay: float = 0.2,
                 bulk_limits: tuple[int, int] | None = (20, 100),
                 behaviour: AccountBehaviour | None = None) -> None:
        self.api_key = api_key
        self.behaviour = behaviour or AccountBehaviour()
        self.host = host
        self.port = port
        self.rate_limit = rate_limit
        self.store = seed_store(Store(), seed, contacts)
        self.api = Api(self.store, self.behaviour)
        self.bulk = BulkImporter(self.store, is_valid_email, import_delay, bulk_limits,
                                 behaviour=self.behaviour)
        self.api.add("POST", "/import/bulk_import",
                     lambda req: self.bulk.submit(req.body, req.raw_body_size))
        self.api.add("GET", "/import/bulk_import", lambda req: self.bulk.overview())
        self.api.add("GET", "/import/info", lambda req: self.bulk.info(req.params))
        self._gate_lock = threading.Lock()
        self.limiter = SlidingWindow(int(rate_limit) if rate_limit else None, 1.0)
        self.faults = Faults()
        self._rng = random.Random(0)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset_stats()

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> Sandbox:
        server = _Server((self.host, self.port), _Handler)
        server.sandbox = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={
            "poll_interval": 0.05}, name="activecampaign-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.bulk.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- stats and faults -----------------------------------------------------------------
    def reset_stats(self) -> None:
        with getattr(self, "_gate_lock", threading.Lock()):
            self._routes: dict[str, int] = {}
            self._statuses: dict[str, int] = {}
            self._total = 0
            self._throttled = 0
            self._faulted = 0
            self.limiter.reset_peak() if hasattr(self, "limiter") else None
            self.bulk.requests = 0
            self.bulk.contacts = 0

    def stats(self) -> dict[str, Any]:
        with self._gate_lock:
            return {"total_requests": self._total, "routes": dict(self._routes),
                    "statuses": dict(self._statuses), "throttled_429": self._throttled,
                    "peak_rate": self.limiter.peak, "rate_limit": self.rate_limit,
                    "faults_served": self._faulted,
                    "bulk_imports": {"requests": self.bulk.requests,
                                     "contacts": self.bulk.contacts}}

    def set_faults(self, **switches: Any) -> dict[str, Any]:
        unknown = set(switches) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault switches: {', '.join(sorted(unknown))}")
        with self._gate_lock:
            for key, value in switches.items():
                kind = type(getattr(Faults(), key))
                setattr(self.faults, key, kind(value))
            self._rng = random.Random(self.faults.seed)
            return asdict(self.faults)

    def clear_faults(self) -> None:
        with self._gate_lock:
            self.faults = Faults()
            self._rng = random.Random(0)

    # ---- request pipeline ------------------------------------------------------------------
    def _gate(self, route: str) -> Verdict:
        """Count the request, then apply the fault switches and the rate limit in order."""
        with self._gate_lock:
            self._total += 1
            self._routes[route] = self._routes.get(route, 0) + 1
            f = self.faults
            draw = self._rng.random
            if f.drop_rate and draw() < f.drop_rate:
                self._faulted += 1
                return Verdict("drop")
            if f.throttle_next > 0:
                f.throttle_next -= 1
                self._throttled += 1
                return Verdict("throttle", 429, "1" if f.throttle_retry_after else None)
            wait = self.limiter.try_accept(time.monotonic())
            if wait is not None:
                self._throttled += 1
                return Verdict("throttle", 429, retry_after_header(wait))
            verdict = Verdict(latency=f.latency_ms / 1000.0)
            if f.error_rate and draw() < f.error_rate:
                self._faulted += 1
                verdict.action = "error"
                verdict.status = self._rng.choice((500, 502, 503))
            elif f.forbidden_rate and draw() < f.forbidden_rate:
                self._faulted += 1
                verdict.action = "forbidden"
            if f.truncate_rate and draw() < f.truncate_rate:
                verdict.truncate = True
            return verdict

    def serve(self, method: str, sub: str, params: dict[str, list[str]], raw: bytes,
              token: str | None) -> tuple[int, bytes, dict[str, str]] | None:
        match = self.api.match(method, sub)
        template = match[0] if match else "/<unknown>"
        route = f"{method} {API_PREFIX}{template if template != '/' else '/'}"
        verdict = self._gate(route)
        if verdict.action == "drop":
            return None
        if verdict.action == "throttle":
            headers = {"RateLimit-Limit": str(int(self.rate_limit or 5)),
                       "RateLimit-Remaining": "0"}
            if verdict.retry_after is not None:
                headers["Retry-After"] = verdict.retry_after
            return self._done(429, {"message": "Too Many Requests"}, headers)
        if verdict.latency:
            time.sleep(verdict.latency)
        if verdict.action == "error":
            return self._done(verdict.status, {"message": "Service Unavailable"
                                               if verdict.status == 503 else "Server Error"})
        if token != self.api_key or verdict.action == "forbidden":
            return self._done(403, {"message": "Forbidden"})
        if match is None:
            return self._done(404, {"message": "Not Found"})
        denied = refusal(self.behaviour, method, template)
        if denied is not None:  # the user's role lacks this object type (spec §11)
            return self._done(403, denied)
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            if template != "/import/bulk_import":
                return self._done(400, {})
            body = None
        _, handler, args = match
        request = Request(method, sub, params, body, self.base_url, len(raw))
        with self.store.lock:
            status, answer = handler(request, *args)
            payload = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        if verdict.truncate and status == 200:
            payload = payload[: len(payload) // 2]
        return self._done(status, payload)

    def _done(self, status: int, body: Any,
              headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        with self._gate_lock:
            self._statuses[str(status)] = self._statuses.get(str(status), 0) + 1
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        return status, payload, headers or {}

    # ---- inspection -------------------------------------------------------------------------
    def inspect(self, method: str, path: str, raw: bytes) -> Answer:
        parts = [p for p in path.split("/") if p][1:]
        if method == "GET" and parts == ["stats"]:
            return 200, self.stats()
        if method == "POST" and parts == ["reset-stats"]:
            self.reset_stats()
            return 200, self.stats()
        if parts == ["faults"] and method == "GET":
            return 200, asdict(self.faults)
        if parts == ["faults"] and method == "POST":
            try:
                body = json.loads(raw) if raw.strip() else {}
                if body.pop("clear", False):
                    self.clear_faults()
                return 200, self.set_faults(**body)
            except (ValueError, TypeError, AttributeError) as exc:
                return 400, {"message": str(exc)}
        if method == "GET" and parts == ["objects"]:
            with self.store.lock:
                return 200, {name: len(t) for name, t in self.store.tables.items()}
        if method == "GET" and len(parts) == 2 and parts[0] == "objects":
            name = parts[1]
            if name not in self.store.tables:
                return 404, {"message": f"No such object type {name!r}"}
            with self.store.lock:
                objects = self.store.objects(name)
                return 200, {name: objects, "total": len(objects)}
        return 404, {"message": "Not Found"}
