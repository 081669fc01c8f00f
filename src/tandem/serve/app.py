"""The HTTP service: FastAPI routes over a Backend, with micro-batching, limits, auth and metrics.

Routes: POST /v1/generate, /v1/score, /v1/parse, /v1/completions (OpenAI-compatible), GET /healthz, /metrics,
/v1/models and /v1/models/{id} (OpenAI-compatible: the one served model). A trailing slash is ignored
(`/v1/generate/` is `/v1/generate`), never answered with a redirect.
Every error is JSON `{"error": {"message", "type", "code"}}` with the matching status: 400 malformed JSON or
a body not in UTF-8, 401 missing/wrong bearer token, 404 unknown route, 408 a body not received within the
per-request timeout, 413 input over a size limit, 415 a POST body not sent as `Content-Type:
application/json`, 422 wrong types or values, 503 (+ Retry-After) queue full, too many requests in flight or
shutting down, 504 past the per-request timeout. A request with more rows than the whole queue gets 413, not
503: retrying could never help.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections.abc import Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from tandem.decoding import check_token_bans
from tandem.edge.runtime import parse_output
from tandem.errors import InputTooLong, TandemError
from tandem.serve.backends import Backend, GenerateParams
from tandem.serve.batching import MicroBatcher, QueueFull
from tandem.serve.metrics import Metrics


@dataclass
class ServeSettings:
    """Server limits and options (the `tandem serve` flags)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_batch: int = 16
    max_wait_ms: float = 5.0
    queue_size: int = 256
    timeout_s: float = 30.0
    max_input_chars: int = 4096
    max_items: int = 64  # inputs per request, choices per score request
    max_new_tokens: int = 512
    max_beams: int = 8
    # Requests handled at once (reading, validating, queued or running) before 503 + Retry-After;
    # None: queue_size + 64. /healthz and /metrics are exempt, so probes answer under load.
    max_in_flight: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "max_batch",
            "queue_size",
            "max_input_chars",
            "max_items",
            "max_new_tokens",
            "max_beams",
        ):
            if int(getattr(self, name)) < 1:
                raise TandemError(f"serve setting {name} must be >= 1, got {getattr(self, name)}")
        # An empty token (`--token "$UNSET_VAR"`) turned auth off without a word; a non-ASCII one could not
        # be sent (clients encode the header as UTF-8 or refuse, the server reads it as Latin-1); a space
        # at either end was stripped from what the client sent, so it never matched.
        if self.token is not None and not (
            self.token
            and self.token.isascii()
            and self.token.isprintable()
            and self.token.strip() == self.token
        ):
            raise TandemError(
                f"serve setting token must be non-empty printable ASCII without surrounding spaces, got "
                f"{self.token!r}; leave it out to serve without auth"
            )
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise TandemError(f"serve setting max_in_flight must be >= 1, got {self.max_in_flight}")
        if not self.max_wait_ms >= 0:
            raise TandemError(f"serve setting max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if not 0 < self.timeout_s < float("inf"):
            raise TandemError(f"serve setting timeout_s must be a finite number > 0, got {self.timeout_s}")
        if not self.max_wait_ms < self.timeout_s * 1000:
            # a batch waiting that long for more rows (inf: until another request joins it) answered a lone
            # request with 504 when another client's request was refused (422) while it waited
            raise TandemError(
                f"serve setting max_wait_ms {self.max_wait_ms} must be below timeout_s ({self.timeout_s} s = "
                f"{self.timeout_s * 1000:g} ms): a request would time out waiting for its batch to fill"
            )
        if not isinstance(self.host, str) or not self.host:  # a config file's `"host": 5` failed in uvicorn
            raise TandemError(f"serve setting host must be a non-empty string, got {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise TandemError(f"serve setting port must be in [0, 65535], got {self.port}")

    @property
    def in_flight_limit(self) -> int:
        return self.max_in_flight if self.max_in_flight is not None else self.queue_size + 64

    @property
    def max_body_bytes(self) -> int:
        # Room for max_items inputs of max_input_chars (UTF-8, JSON-escaped) plus the other fields.
        return self.max_items * self.max_input_chars * 6 + 64 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers or {}


def _refuse_lone_surrogate(where: str, text: str) -> None:
    """A 422 naming `where` when `text` holds a lone surrogate (a valid JSON "\\ud800" escape, but no Unicode
    character: it cannot be tokenised, nor appear in an output)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ApiError(
            422,
            f"{where}: lone surrogate {text[e.start]!r} at character {e.start} is not a Unicode character "
            "(escape a non-BMP character as a surrogate pair, or send it as UTF-8)",
            "invalid_request",
        ) from e


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}}, status_code=status, headers=headers
    )


class _NoTrailingSlash:
    """ASGI middleware, outermost: a path with a trailing slash (`/v1/generate/`) is served as the route
    without it, before auth, limits, metrics and routing see it. Starlette's default answers it with a 307
    redirect instead, which a client that does not follow POST redirects (curl without -L, httpx, many
    SDKs) reports as a failure with an empty body."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = dict(scope, path=path.rstrip("/") or "/")
            raw = scope.get("raw_path")
            if raw:
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class _BodyLimit:
    """ASGI middleware: reads the request body before the app sees it, within `timeout_s` (else 408: a client
    that sends its body slowly, or less of it than its Content-Length says, would hold one of the
    `max_in_flight` places for as long as it liked), and a body sent without Content-Length (chunked) up to
    `limit` bytes, then 413. `guard` refuses a declared Content-Length over the limit before reading anything;
    a chunked body declares none, and without this it would be read whole into memory before any field
    check."""

    def __init__(self, app, limit: int, timeout_s: float):
        self.app, self.limit, self.timeout_s = app, limit, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunked = not any(k.lower() == b"content-length" for k, _ in scope["headers"])
        messages, size = [], 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                response = _error(
                    408,
                    f"request body not received within {self.timeout_s:g} s (sent too slowly, or shorter than "
                    "its Content-Length); send the whole body at once",
                    "timeout",
                    {"Connection": "close"},
                )
                return await response(scope, receive, send)
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if chunked and size > self.limit:
                response = _error(
                    413,
                    f"request body (sent without Content-Length) is over the limit of {self.limit} bytes",
                    "too_large",
                )
                return await response(scope, receive, send)
            if not message.get("more_body", False):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


# ------------------------------------------------------------------------------------------------- schemas
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateRequest(_Strict):
    inputs: StrictStr | list[StrictStr]
    # None (left out): the model's decoding default, as `EdgeModel.generate` / `Seq2SeqLM.generate` take it
    max_new_tokens: StrictInt | None = None
    num_beams: StrictInt | None = None
    min_new_tokens: StrictInt | None = None
    stop: StrictStr | list[StrictStr] | None = None
    clm: StrictBool = False
    temperature: StrictFloat | StrictInt = 0.0
    top_k: StrictInt | None = None  # left out: the model's (a Hugging Face model: 50), else 0 (no filter)
    top_p: StrictFloat | StrictInt = 1.0
    # left out: the model's (the torch model, as transformers: False; the edge runtime's beam search ends as
    # True does): true makes --backend edge and --backend torch decode the same beams
    early_stopping: StrictBool | None = None
    # transformers' token bans, by token id; left out: the model's, [] turns the model's off
    bad_words_ids: list[list[StrictInt]] | None = None
    suppress_tokens: list[StrictInt] | None = None
    begin_suppress_tokens: list[StrictInt] | None = None


class ScoreRequest(_Strict):
    prompt: StrictStr
    choices: list[StrictStr]
    normalize: Literal["mean", "sum"] = "mean"
    clm: StrictBool = False
    sequence: StrictBool = False  # score each choice as a whole output (alone, then EOS), not a continuation


class ParseRequest(_Strict):
    inputs: StrictStr | list[StrictStr]
    max_new_tokens: StrictInt | None = None


class CompletionRequest(BaseModel):
    # OpenAI clients send fields that do not change the answer (user, ...): accept and ignore them.
    # Fields that would change it are declared so that the route can refuse values it cannot honour.
    model_config = ConfigDict(extra="ignore")
    model: StrictStr | None = None
    # token-id prompts (OpenAI allows them) are parsed only so the route can refuse them by name
    prompt: StrictStr | list[StrictStr] | list[StrictInt] | list[list[StrictInt]]
    max_tokens: StrictInt | None = 16
    temperature: StrictFloat | StrictInt | None = 0.0
    top_p: StrictFloat | StrictInt | None = 1.0
    n: StrictInt | None = 1
    stop: StrictStr | list[StrictStr] | None = None
    stream: StrictBool | None = False
    echo: StrictBool | None = False
    logprobs: StrictInt | None = None
    suffix: StrictStr | None = None
    best_of: StrictInt | None = None
    logit_bias: dict[str, Any] | None = None
    presence_penalty: StrictFloat | StrictInt | None = None
    frequency_penalty: StrictFloat | StrictInt | None = None
    seed: StrictInt | None = None


# ------------------------------------------------------------------------------------------------- the app
def _over(value: Any, limit: int) -> bool:
    """Whether a model's decoding default is a number over the server's limit for it."""
    return isinstance(value, int) and not isinstance(value, bool) and value > limit


def create_app(backend: Backend, settings: ServeSettings | None = None) -> FastAPI:
    """A FastAPI app serving `backend`; micro-batching starts and drains with the app's lifespan."""
    s = settings or ServeSettings()
    metrics = Metrics()
    state: dict[str, Any] = {"draining": False}
    started = int(time.time())  # the "created" of /v1/models

    def run_batch(key: Hashable, payloads: list[Any]) -> list[Any]:
        kind, arg = key
        if kind == "generate":
            return backend.generate(list(payloads), arg)
        if kind == "score":
            return backend.score([p for p, _ in payloads], [t for _, t in payloads], *arg)
        raise ValueError(f"unknown batch kind {kind}")

    work = [0]  # requests on the batched routes, from the first byte to the response

    batcher = MicroBatcher(
        run_batch,
        max_batch=s.max_batch,
        max_wait_ms=s.max_wait_ms,
        queue_size=s.queue_size,
        metrics=metrics,
        # wait to fill a batch only while some request is still being received that could join it
        more_coming=lambda: work[0] > batcher.open_requests,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        try:
            yield
        finally:
            # Runs after the server stopped taking connections and open requests finished: drain the queue.
            state["draining"] = True
            await batcher.stop()

    # redirect_slashes off: no route answers 307 (see _NoTrailingSlash, which serves `/route/` as `/route`)
    app = FastAPI(
        title="tandem",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    app.state.settings, app.state.metrics, app.state.batcher = s, metrics, batcher

    # ------------------------------------------------------------------ middleware and error handlers
    # added first, so it runs inside `guard` (which counts the request in flight)
    app.add_middleware(_BodyLimit, limit=s.max_body_bytes, timeout_s=s.timeout_s)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        start = time.perf_counter()
        route = request.url.path if request.url.path in _ROUTES else "other"
        metrics.in_flight += 1
        batched = request.url.path in _BATCHED
        work[0] += batched
        try:
            if metrics.in_flight > s.in_flight_limit and request.url.path not in ("/healthz", "/metrics"):
                # tandem's own cap rather than uvicorn's limit_concurrency, whose 503 is plain text
                # without Retry-After (and also counts idle keep-alive connections)
                metrics.rejected_in_flight += 1
                response = _error(
                    503,
                    f"server busy: {metrics.in_flight - 1} requests in progress (limit {s.in_flight_limit})"
                    "; retry later",
                    "overloaded",
                    {"Retry-After": "1"},
                )
            else:
                response = await _guarded(request, call_next)
        finally:
            metrics.in_flight -= 1
            work[0] -= batched
        metrics.observe_request(route, response.status_code, time.perf_counter() - start)
        return response

    async def _guarded(request: Request, call_next):
        if s.token and request.url.path != "/healthz":
            auth = request.headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), s.token.encode()
            ):
                return _error(
                    401,
                    "missing or wrong bearer token (send `Authorization: Bearer <token>`)",
                    "unauthorized",
                    {"WWW-Authenticate": "Bearer"},
                )
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _error(400, "invalid Content-Length header", "bad_request")
            if int(length) > s.max_body_bytes:
                return _error(
                    413,
                    f"request body of {length} bytes is over the limit of {s.max_body_bytes}",
                    "too_large",
                )
        if request.method == "POST" and request.url.path in _BATCHED:  # POST elsewhere: 404/405 as usual
            # FastAPI reads only JSON content types as JSON; anything else (curl -d sends form encoding)
            # would fail validation with "Input should be a valid dictionary", which hides the cause.
            ctype = request.headers.get("content-type", "")
            media = ctype.split(";")[0].strip().lower()
            if not (
                media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
            ):
                return _error(
                    415,
                    f"send the body as JSON with `Content-Type: application/json` (got {ctype or 'no Content-Type'}"
                    "; with curl add -H 'Content-Type: application/json')",
                    "unsupported_media_type",
                )
        try:
            return await call_next(request)
        except ApiError as e:  # raised inside a route
            return _error(e.status, e.message, e.kind, e.headers)

    # added last, so it runs first: `guard` and the router see the path without its trailing slash
    app.add_middleware(_NoTrailingSlash)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError):
        return _error(e.status, e.message, e.kind, e.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception):  # a bug of ours: still JSON, still a 500
        return _error(500, f"internal error: {type(e).__name__}: {e}", "internal_error")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        errors = e.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return _error(400, "request body is not valid JSON", "bad_request")
        parts = []
        for err in errors[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
            if loc == "body" and err.get("type") == "missing":  # pydantic's "Field required"
                parts.append("body: empty; send a JSON object of fields")
            elif loc == "body" and err.get("type") == "model_attributes_type":  # "... extract fields from"
                got = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
                    type(err.get("input")), "a number"
                )
                parts.append(f"body: expected a JSON object of fields, got {got}")
            else:
                parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        return _error(422, "; ".join(parts), "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        cause = e.__cause__  # FastAPI raises its generic 400 "error parsing the body" from the decode error
        if e.status_code == 400 and isinstance(cause, UnicodeDecodeError):
            return _error(
                400,
                f"request body is not valid UTF-8 JSON: byte 0x{cause.object[cause.start]:02x} at offset "
                f"{cause.start} ({cause.encoding}: {cause.reason}); send the JSON encoded as UTF-8",
                "bad_request",
            )
        if e.status_code == 400 and cause is not None:  # json.loads failing otherwise: depth, huge numbers
            why = str(cause).split("; use sys.")[0]  # the int-digits limit's advice is for the server's code
            return _error(
                400, f"request body is not valid JSON here ({type(cause).__name__}: {why})", "bad_request"
            )
        msg = {
            404: f"no route {request.url.path}",
            405: f"method {request.method} not allowed on {request.url.path}",
        }
        # the exception's headers carry a 405's Allow (RFC 9110 requires it)
        return _error(e.status_code, msg.get(e.status_code, str(e.detail)), "http_error", e.headers)

    # ------------------------------------------------------------------------------------- helpers
    def check_texts(field: str, texts: list[str], allow_empty: bool = False) -> None:
        if not texts:
            raise ApiError(422, f"{field}: give at least one string", "invalid_request")
        if len(texts) > s.max_items:
            raise ApiError(
                413, f"{field}: {len(texts)} items is over the limit of {s.max_items}", "too_large"
            )
        for i, t in enumerate(texts):
            where = f"{field}[{i}]" if len(texts) > 1 else field
            if not allow_empty and not t.strip():
                raise ApiError(422, f"{where}: empty string", "invalid_request")
            if len(t) > s.max_input_chars:
                raise ApiError(
                    413, f"{where}: {len(t)} characters is over the limit of {s.max_input_chars}", "too_large"
                )
            # a "\ud800" escape is valid JSON but no text: the backend cannot take it and fails the batch
            _refuse_lone_surrogate(where, t)

    def gen_params(
        max_new_tokens: int | None,
        num_beams: int | None,
        min_new_tokens: int | None,
        stop,
        clm: bool,
        temperature,
        top_k,
        top_p,
        max_name: str = "max_new_tokens",  # the field as the client named it (completions: max_tokens)
        bans: dict[str, Any] | None = None,  # bad_words_ids, suppress_tokens, begin_suppress_tokens
        early_stopping: bool | None = None,
    ) -> GenerateParams:
        # a setting left out (None) is the model's default, which the backend applies; what a client asks
        # for is held to the server's limits, and a model default over them is cut to the limit
        default = getattr(backend, "default", lambda name: None)
        if max_new_tokens is None and _over(default("max_new_tokens"), s.max_new_tokens):
            max_new_tokens = s.max_new_tokens
            if min_new_tokens is None and _over(default("min_new_tokens"), max_new_tokens):
                min_new_tokens = max_new_tokens
        if num_beams is None and _over(default("num_beams"), s.max_beams):
            num_beams = s.max_beams
        if max_new_tokens is not None and not 1 <= max_new_tokens <= s.max_new_tokens:
            raise ApiError(422, f"{max_name} must be in [1, {s.max_new_tokens}]", "invalid_request")
        positions = getattr(backend, "max_positions", None)
        if max_new_tokens is not None and positions is not None and max_new_tokens > positions:
            # the backend refuses it too, but naming max_new_tokens where a completions client sent max_tokens
            raise ApiError(
                422,
                f"{max_name} {max_new_tokens} is over this model's {positions} positions; send at most {positions}",
                "invalid_request",
            )
        if num_beams is not None and not 1 <= num_beams <= s.max_beams:
            raise ApiError(422, f"num_beams must be in [1, {s.max_beams}]", "invalid_request")
        if min_new_tokens is not None and not 0 <= min_new_tokens <= (max_new_tokens or s.max_new_tokens):
            raise ApiError(422, "min_new_tokens must be in [0, max_new_tokens]", "invalid_request")
        if not 0 <= temperature <= 5:
            raise ApiError(422, "temperature must be in [0, 5]", "invalid_request")
        if temperature > 0 and (num_beams or 1) > 1:  # both backends would sample with one beam
            raise ApiError(
                422,
                "num_beams: beam search and sampling (temperature > 0) do not combine; "
                "send num_beams=1 to sample or temperature=0 for beam search",
                "invalid_request",
            )
        if (top_k is not None and top_k < 0) or not 0 < top_p <= 1:
            raise ApiError(422, "top_k must be >= 0 and top_p in (0, 1]", "invalid_request")
        given = {k: v for k, v in (bans or {}).items() if v is not None}
        try:  # ids outside the vocabulary, empty sequences: named here, before the request joins a batch
            check_token_bans(**given, vocab_size=getattr(backend, "vocab_size", None))
        except TandemError as e:
            raise ApiError(422, str(e), "invalid_request") from e
        frozen = {
            k: tuple(tuple(w) for w in v) if k == "bad_words_ids" else tuple(v) for k, v in given.items()
        }
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        if len(stops) > 8 or any(len(x) > 64 for x in stops):
            raise ApiError(422, "stop: at most 8 strings of at most 64 characters", "invalid_request")
        if any(not x for x in stops):
            raise ApiError(422, "stop: empty string", "invalid_request")
        for x in stops:  # a "\ud800" escape: valid JSON, but no text an output could ever contain
            _refuse_lone_surrogate("stop", x)
        return GenerateParams(
            max_new_tokens,
            num_beams,
            min_new_tokens,
            tuple(stops),
            clm,
            float(temperature),
            top_k,
            float(top_p),
            early_stopping,
            **frozen,
        )

    async def run_rows(request: Request, key: Hashable, payloads: list[Any]) -> list[Any]:
        if len(payloads) > s.queue_size:  # can never fit, however long the client waits: not a 503
            raise ApiError(
                413,
                f"this request's {len(payloads)} rows (inputs or choices) are over the server's queue size "
                f"of {s.queue_size} (--queue-size); send at most {s.queue_size} per request",
                "too_large",
            )
        if state["draining"]:
            raise ApiError(503, "the server is shutting down", "unavailable", {"Retry-After": "1"})
        try:
            futures = batcher.submit(key, payloads)
        except QueueFull as e:
            metrics.rejected_queue_full += 1
            raise ApiError(503, f"server busy: {e}; retry later", "overloaded", {"Retry-After": "1"}) from e
        rows = asyncio.gather(*futures)
        # a client that closes its connection (gave up, timed out on its side) no longer waits: its rows
        # leave the queue rather than run for nobody and hold slots that retries need
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            done, _ = await asyncio.wait(
                {rows, gone}, timeout=s.timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if rows in done:
                return list(rows.result())
            if gone in done:
                metrics.disconnects += 1
                # nobody reads this answer; 499 (as nginx logs it) keeps it apart in the request metrics
                raise ApiError(499, "the client closed the connection", "client_closed")
            raise TimeoutError
        except BaseException as e:
            # the request has failed as a whole: its rows still queued (or waiting for a rerun after a
            # failed batch) are not run for a client that already has its answer
            for f in futures:
                f.cancel()
            if isinstance(e, ApiError):
                raise
            if isinstance(e, TimeoutError):
                metrics.timeouts += 1
                raise ApiError(504, f"request timed out after {s.timeout_s:g} s", "timeout") from e
            if isinstance(e, InputTooLong):  # longer than the model's positions, though under max_input_chars
                raise ApiError(413, str(e), "too_large") from e
            if isinstance(e, TandemError):  # the backend refused this input
                raise ApiError(422, str(e), "invalid_request") from e
            if isinstance(e, Exception):
                raise ApiError(500, f"backend error: {type(e).__name__}: {e}", "backend_error") from e
            raise
        finally:
            gone.cancel()

    # -------------------------------------------------------------------------------------- routes
    # HEAD too, on every GET route: load balancers and uptime monitors often probe with it (HTTP says GET
    # routes serve HEAD; /v1/models answered 405)
    @app.api_route("/healthz", methods=["GET", "HEAD"])
    async def healthz():
        if state["draining"]:
            return _error(503, "shutting down", "unavailable", {"Retry-After": "1"})
        return {"status": "ok", "backend": backend.kind, "model": backend.name, "queue_depth": batcher.depth}

    @app.api_route("/metrics", methods=["GET", "HEAD"])
    async def prometheus():
        metrics.queue_depth = batcher.depth
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    def model_card() -> dict[str, Any]:
        return {"id": backend.name, "object": "model", "created": started, "owned_by": "tandem"}

    @app.api_route("/v1/models", methods=["GET", "HEAD"])
    async def models():  # OpenAI-compatible: the openai client's models.list, chat UIs
        return {"object": "list", "data": [model_card()]}

    @app.api_route("/v1/models/{model_id}", methods=["GET", "HEAD"])
    async def model(model_id: str):
        if model_id != backend.name:
            raise ApiError(
                404, f"model {model_id!r} not found; this server serves {backend.name!r}", "not_found"
            )
        return model_card()

    @app.post("/v1/generate")
    async def generate(req: GenerateRequest, request: Request):
        texts = [req.inputs] if isinstance(req.inputs, str) else req.inputs
        check_texts("inputs", texts)
        p = gen_params(
            req.max_new_tokens,
            req.num_beams,
            req.min_new_tokens,
            req.stop,
            req.clm,
            req.temperature,
            req.top_k,
            req.top_p,
            bans={
                "bad_words_ids": req.bad_words_ids,
                "suppress_tokens": req.suppress_tokens,
                "begin_suppress_tokens": req.begin_suppress_tokens,
            },
            early_stopping=req.early_stopping,
        )
        gens = await run_rows(request, ("generate", p), texts)
        return {
            "model": backend.name,
            "outputs": [
                {
                    "text": g.text,
                    "finish_reason": g.finish_reason,
                    "input_tokens": g.input_tokens,
                    "output_tokens": g.output_tokens,
                }
                for g in gens
            ],
        }

    @app.post("/v1/score")
    async def score(req: ScoreRequest, request: Request):
        check_texts("prompt", [req.prompt])
        check_texts("choices", req.choices)
        key = ("score", (req.clm, req.sequence))
        rows = await run_rows(request, key, [(req.prompt, c) for c in req.choices])
        logprobs = [float(sum(r)) for r in rows]
        losses = [-lp / (len(r) if req.normalize == "mean" else 1) for lp, r in zip(logprobs, rows)]
        best = min(range(len(rows)), key=lambda i: (losses[i], i))
        return {
            "model": backend.name,
            "best": best,
            "choice": req.choices[best],
            "losses": losses,
            "logprobs": logprobs,
            "num_tokens": [len(r) for r in rows],
        }

    @app.post("/v1/parse")
    async def parse(req: ParseRequest, request: Request):
        texts = [req.inputs] if isinstance(req.inputs, str) else req.inputs
        check_texts("inputs", texts)
        # greedy, as `EdgeModel.parse`; the length limit and the rest of the model's defaults apply
        p = gen_params(req.max_new_tokens, 1, None, None, False, 0.0, 0, 1.0)
        gens = await run_rows(request, ("generate", p), texts)
        labels = getattr(backend, "labels", None)  # tag-format SLU models name their tags in labels.json
        return {"model": backend.name, "parses": [parse_output(g.text, labels) for g in gens]}

    @app.post("/v1/completions")
    async def completions(req: CompletionRequest, request: Request):
        if req.model is not None and req.model != backend.name:  # as vLLM: a request meant for another model
            raise ApiError(
                404,
                f"model {req.model!r} not found; this server serves {backend.name!r} (GET /v1/models)",
                "not_found",
            )
        if req.stream:
            raise ApiError(422, "stream: streaming is not supported; send stream=false", "invalid_request")
        if req.n is not None and req.n != 1:  # n=0 was read as the default 1
            raise ApiError(422, "n: only n=1 is supported", "invalid_request")
        if req.echo:
            raise ApiError(422, "echo: not supported by an encoder-decoder model", "invalid_request")
        unsupported = [
            ("logprobs", req.logprobs is not None, "token log-probabilities are not returned; send null"),
            ("suffix", bool(req.suffix), "insertion is not supported"),
            ("best_of", req.best_of is not None and req.best_of != 1, "only best_of=1 is supported"),
            ("logit_bias", bool(req.logit_bias), "not supported; send {} or null"),
            ("presence_penalty", bool(req.presence_penalty), "not supported; send 0"),
            ("frequency_penalty", bool(req.frequency_penalty), "not supported; send 0"),
            # CTranslate2 4.x's translate_batch takes no seed, and its process-wide set_random_seed does
            # not reseed a running translator; greedy decoding (temperature 0) needs none
            (
                "seed",
                req.seed is not None and bool(req.temperature),
                "seeded sampling is not supported; omit seed, or send temperature=0 (greedy, deterministic)",
            ),
        ]
        for name, given, why in unsupported:
            if given:
                raise ApiError(422, f"{name}: {why}", "invalid_request")
        prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
        if not all(isinstance(x, str) for x in prompts):
            raise ApiError(
                422,
                "prompt: token-id prompts are not supported (token ids depend on the model's tokenizer); "
                "send the text, as a string or a list of strings",
                "invalid_request",
            )
        check_texts("prompt", prompts)
        if req.stop is not None and not isinstance(req.stop, str) and len(req.stop) > 4:
            raise ApiError(422, "stop: at most 4 sequences", "invalid_request")
        p = gen_params(
            req.max_tokens if req.max_tokens is not None else 16,
            1,
            0,
            req.stop,
            False,
            req.temperature or 0.0,
            0,
            req.top_p if req.top_p is not None else 1.0,
            max_name="max_tokens",
        )
        gens = await run_rows(request, ("generate", p), prompts)
        # the tokens the model reads (source EOS included), as OpenAI counts what its models process
        prompt_tokens = sum(g.input_tokens for g in gens)
        completion_tokens = sum(g.output_tokens for g in gens)
        return {
            "id": f"cmpl-{uuid.uuid4().hex[:24]}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": backend.name,
            "choices": [
                {"text": g.text, "index": i, "logprobs": None, "finish_reason": g.finish_reason}
                for i, g in enumerate(gens)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    return app


_ROUTES = {"/healthz", "/metrics", "/v1/models", "/v1/generate", "/v1/score", "/v1/parse", "/v1/completions"}
_BATCHED = {
    "/v1/generate",
    "/v1/score",
    "/v1/parse",
    "/v1/completions",
}  # routes whose rows are micro-batched


async def _disconnected(request: Request) -> None:
    """Returns once the client has closed the connection (the request's body has been read by then)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def serve(backend: Backend, settings: ServeSettings | None = None, *, log_level: str = "info") -> None:
    """Run the app under uvicorn until SIGINT/SIGTERM; in-flight requests finish before it exits."""
    import uvicorn

    s = settings or ServeSettings()
    app = create_app(backend, s)
    config = uvicorn.Config(
        app,
        host=s.host,
        port=s.port,
        log_level=log_level,
        timeout_graceful_shutdown=max(5, int(s.timeout_s) + 5),
        # no limit_concurrency: the app caps requests itself (ServeSettings.max_in_flight) and answers in
        # its JSON error format with Retry-After; uvicorn's 503 would be plain text without Retry-After
    )
    uvicorn.Server(config).run()
