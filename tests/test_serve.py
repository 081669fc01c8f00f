"""tandem serve: routes, limits, auth, batching, queue-full, timeouts and shutdown, with the edge backend."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time

import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
pytest.importorskip("transformers")

from fastapi.testclient import TestClient  # noqa: E402

from tandem.edge import EdgeModel  # noqa: E402
from tandem.interop.ct2 import build_random_hf, export_ct2, train_tiny_tokenizer  # noqa: E402
from tandem.serve import EdgeBackend, GenerateParams, ServeSettings, create_app  # noqa: E402

TEXT = "wake me up at seven am"
PATIENCE_S = 60.0  # for a condition the test waits on: generous, as CI machines can be slow and loaded


def _wait_for(condition, what: str, timeout: float = PATIENCE_S) -> None:
    """Poll `condition` until it holds; fail naming `what` if it does not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    tok = train_tiny_tokenizer(root / "tok", vocab_size=256)
    hf = build_random_hf(root / "hf", arch="mbart", vocab_size=256, seed=2)
    export_ct2(hf, root / "int8", quantize="int8", tokenizer=tok / "tokenizer.model")
    return root / "int8"


@pytest.fixture(scope="module")
def edge(export_dir):
    return EdgeModel.load(export_dir)


@pytest.fixture(scope="module")
def backend(export_dir):
    return EdgeBackend(export_dir)


@pytest.fixture(scope="module")
def client(backend):
    with TestClient(create_app(backend, ServeSettings(max_input_chars=200, max_items=4))) as c:
        yield c


def _expect_ok(client, edge, auth=None):
    """The server still answers a real request correctly."""
    r = client.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8}, headers=auth or {})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["text"] == edge.generate(TEXT, max_new_tokens=8)


def test_generate_batch_matches_runtime(client, edge):
    texts = [TEXT, "play the music", "stop"]
    r = client.post("/v1/generate", json={"inputs": texts, "max_new_tokens": 10, "num_beams": 2})
    assert r.status_code == 200
    outs = r.json()["outputs"]
    assert [o["text"] for o in outs] == edge.generate(texts, max_new_tokens=10, num_beams=2)
    assert all(o["finish_reason"] in ("stop", "length") and o["output_tokens"] <= 10 for o in outs)


def test_score_parse_and_completions(client, edge):
    r = client.post("/v1/score", json={"prompt": TEXT, "choices": ["yes", "no", "seven am"]})
    assert r.status_code == 200
    want = edge.rank(TEXT, ["yes", "no", "seven am"])
    body = r.json()
    assert body["best"] == want.best and body["losses"] == pytest.approx(want.losses, abs=1e-5)
    assert body["choice"] == ["yes", "no", "seven am"][want.best]

    r = client.post("/v1/parse", json={"inputs": [TEXT]})
    assert r.status_code == 200
    p = r.json()["parses"][0]
    assert p["text"] == edge.generate(TEXT, max_new_tokens=64) and set(p) == {"intent", "slots", "text"}

    served = client.get("/v1/models").json()["data"][0]["id"]
    r = client.post("/v1/completions", json={"model": served, "prompt": TEXT, "max_tokens": 6, "user": "u1"})
    assert r.status_code == 200
    c = r.json()
    assert c["object"] == "text_completion" and c["model"] == served and c["id"].startswith("cmpl-")
    assert c["choices"][0]["text"] == edge.generate(TEXT, max_new_tokens=6)
    assert c["choices"][0]["finish_reason"] in ("stop", "length") and c["choices"][0]["index"] == 0
    u = c["usage"]
    assert (
        u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] and 1 <= u["completion_tokens"] <= 6
    )


@pytest.mark.parametrize(
    ("route", "body", "status", "words"),
    [
        ("/v1/generate", b'{"inputs": "abc"', 400, "not valid JSON"),
        ("/v1/generate", b"[1, 2", 400, "not valid JSON"),
        # json.loads' other failures were a bare "There was an error parsing the body"
        pytest.param(
            "/v1/generate",
            b'{"inputs": ' + b"[" * 30000 + b"]" * 30000 + b"}",
            400,
            "RecursionError",
            id="json-nested-too-deep",
        ),
        pytest.param(
            "/v1/generate",
            b'{"max_new_tokens": ' + b"9" * 5000 + b"}",
            400,
            "4300 digits",
            id="json-huge-int",
        ),
        # lone surrogates (valid JSON escapes) cannot be tokenised: a 500 that failed the whole batch
        ("/v1/generate", b'{"inputs": ["ok", "a\\ud800b"]}', 422, "inputs[1]: lone surrogate"),
        ("/v1/score", b'{"prompt": "a", "choices": ["\\udc00"]}', 422, "choices: lone surrogate"),
        ("/v1/completions", b'{"prompt": "\\ud83d"}', 422, "prompt: lone surrogate"),
        # a stop string no output can contain: was accepted (200), where inputs holding one are refused
        (
            "/v1/generate",
            b'{"inputs": "a", "stop": ["ok", "\\ud800"]}',
            422,
            "stop: lone surrogate '\\ud800'",
        ),
        ("/v1/completions", b'{"prompt": "a", "stop": "x\\udc00"}', 422, "stop: lone surrogate '\\udc00'"),
        # a body that is not an object: "Input should be a valid dictionary or object to extract fields from"
        ("/v1/generate", b"[1, 2]", 422, "body: expected a JSON object of fields, got an array"),
        ("/v1/score", b'"text"', 422, "body: expected a JSON object of fields, got a string"),
        ("/v1/completions", b"", 422, "body: empty; send a JSON object"),  # was "body: Field required"
        ("/v1/generate", {"inputs": 5}, 422, "inputs"),
        ("/v1/generate", {"inputs": ["a", 3]}, 422, "inputs"),
        ("/v1/generate", {"inputs": "a", "max_new_tokens": "8"}, 422, "max_new_tokens"),
        ("/v1/generate", {"inputs": "a", "max_new_tokens": 0}, 422, "max_new_tokens"),
        ("/v1/generate", {"inputs": "a", "max_new_tokens": 100000}, 422, "max_new_tokens"),
        ("/v1/generate", {"inputs": "a", "surprise": 1}, 422, "surprise"),
        ("/v1/generate", {"inputs": "a", "temperature": 0.7, "num_beams": 2}, 422, "num_beams"),
        ("/v1/generate", {}, 422, "inputs"),
        ("/v1/generate", {"inputs": ""}, 422, "empty"),
        ("/v1/generate", {"inputs": ["ok", "   "]}, 422, "inputs[1]: empty"),
        ("/v1/generate", {"inputs": []}, 422, "at least one"),
        ("/v1/generate", {"inputs": "x" * 201}, 413, "201 characters"),
        ("/v1/generate", {"inputs": ["a"] * 5}, 413, "5 items"),
        ("/v1/score", {"prompt": "a", "choices": []}, 422, "choices"),
        ("/v1/score", {"prompt": "a", "choices": ["x", ""]}, 422, "empty"),
        ("/v1/score", {"prompt": "a", "choices": ["x"], "normalize": "max"}, 422, "normalize"),
        ("/v1/parse", {"inputs": None}, 422, "inputs"),
        ("/v1/completions", {"prompt": "a", "stream": True}, 422, "stream"),
        (
            "/v1/completions",
            {"model": "gpt-4", "prompt": "a"},
            404,
            "model 'gpt-4' not found; this server serves",
        ),
        ("/v1/completions", {"prompt": "a", "n": 2}, 422, "n"),
        ("/v1/completions", {"prompt": "a", "n": 0}, 422, "n: only n=1"),  # was read as the default
        ("/v1/completions", {"prompt": "a", "best_of": 0}, 422, "best_of: only best_of=1"),
        ("/v1/completions", {"prompt": "a", "max_tokens": 0}, 422, "max_tokens must be in"),  # its own name
        ("/v1/completions", {"prompt": 7}, 422, "prompt"),
        ("/v1/completions", {"prompt": [5, 6, 7]}, 422, "prompt: token-id prompts are not supported"),
        ("/v1/completions", {"prompt": [[5, 6], [7]]}, 422, "prompt: token-id prompts are not supported"),
        # fields that would change the answer are refused, not silently ignored
        ("/v1/completions", {"prompt": "a", "logprobs": 1}, 422, "logprobs"),
        ("/v1/completions", {"prompt": "a", "logprobs": 0}, 422, "logprobs"),
        ("/v1/completions", {"prompt": "a", "suffix": "x"}, 422, "suffix"),
        ("/v1/completions", {"prompt": "a", "best_of": 3}, 422, "best_of"),
        ("/v1/completions", {"prompt": "a", "logit_bias": {"5": 100}}, 422, "logit_bias"),
        ("/v1/completions", {"prompt": "a", "presence_penalty": 0.5}, 422, "presence_penalty"),
        ("/v1/completions", {"prompt": "a", "frequency_penalty": -1}, 422, "frequency_penalty"),
        # CTranslate2 cannot seed one request's sampling: refused rather than silently unseeded
        ("/v1/completions", {"prompt": "a", "temperature": 0.7, "seed": 3}, 422, "seed"),
        ("/v1/generate", {"inputs": "a", "temperature": 0.7, "seed": 3}, 422, "seed"),
    ],
)
def test_bad_requests_get_4xx_and_server_keeps_serving(client, edge, route, body, status, words):
    kw = (
        {"content": body, "headers": {"content-type": "application/json"}}
        if isinstance(body, bytes)
        else {"json": body}
    )
    r = client.post(route, **kw)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and words in err["message"]
    _expect_ok(client, edge)


def test_body_not_utf8_400_names_the_byte_offset(client, edge):
    """Latin-1 text sent as JSON: say the body is not UTF-8 and where, not "error parsing the body"."""
    body = b'{"inputs": "caf\xe9 au lait"}'
    r = client.post("/v1/generate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == 400 and "not valid UTF-8 JSON" in err["message"] and "offset 15" in err["message"]
    _expect_ok(client, edge)


def test_usage_prompt_tokens_are_the_tokens_the_model_reads(client, edge):
    """One definition: the encoder's tokens (text, then the source EOS it was trained with; [CLM] first
    when added), the same as /v1/generate's input_tokens and EdgeModel.count_tokens."""
    texts = [TEXT, "stop"]
    want = [len(edge.encode(t)) for t in texts]
    assert want == [len(edge.tok.encode(t)) + 1 for t in texts] == [edge.count_tokens(t) for t in texts]
    assert edge.count_tokens(TEXT, clm=True) == len(edge.encode(TEXT, clm=True)) == want[0] + 1
    r = client.post("/v1/completions", json={"prompt": texts, "max_tokens": 4})
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] == sum(want)
    r = client.post("/v1/generate", json={"inputs": texts, "max_new_tokens": 4})
    assert [o["input_tokens"] for o in r.json()["outputs"]] == want


def test_completions_accepts_openai_defaults_and_nulls(client, edge):
    body = {
        "prompt": TEXT,
        "max_tokens": 6,
        "logprobs": None,
        "suffix": None,
        "best_of": 1,
        "logit_bias": {},
        "presence_penalty": 0,
        "frequency_penalty": 0.0,
        "n": None,
        "echo": False,
        "stream": None,
        "user": "u1",
        "seed": 5,  # greedy decoding is deterministic: a seed changes nothing
    }
    r = client.post("/v1/completions", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["text"] == edge.generate(TEXT, max_new_tokens=6)


def test_models_lists_the_served_model_openai_style(backend):
    """GET /v1/models (the openai client's models.list, most UIs) and /v1/models/{id}, behind the token."""
    with TestClient(create_app(backend, ServeSettings(token="s3cret"))) as c:
        assert c.get("/v1/models").status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        r = c.get("/v1/models", headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["object"] == "list" and len(body["data"]) == 1
        m = body["data"][0]
        assert m["id"] == backend.name and m["object"] == "model"
        assert isinstance(m["created"], int) and m["created"] > 0 and isinstance(m["owned_by"], str)
        r = c.get(f"/v1/models/{backend.name}", headers=auth)
        assert r.status_code == 200 and r.json() == m
        r = c.get("/v1/models/other", headers=auth)
        assert r.status_code == 404 and backend.name in r.json()["error"]["message"]
        assert c.get(f"/v1/models/{backend.name}").status_code == 401


def test_oversized_body_413_unknown_route_404_wrong_method_405(client, edge):
    big = json.dumps({"inputs": "a" * 10_000_000}).encode()
    r = client.post("/v1/generate", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.json()["error"]["message"]
    assert client.get("/v1/nothing").status_code == 404
    assert client.post("/v2/generate", json={"inputs": "a"}).json()["error"]["code"] == 404
    r = client.get("/v1/generate")
    assert r.status_code == 405 and r.headers["allow"] == "POST"  # a 405 names the allowed methods
    r = client.request("DELETE", "/healthz")
    assert r.status_code == 405 and sorted(r.headers["allow"].split(", ")) == ["GET", "HEAD"]
    name = client.get("/v1/models").json()["data"][0]["id"]
    # probes that use HEAD get the GET answer's status, no body (/v1/models answered 405)
    for route in ("/healthz", "/metrics", "/v1/models", f"/v1/models/{name}"):
        r = client.head(route)
        assert r.status_code == 200 and r.content == b"", route
    assert client.head("/v1/models/other").status_code == 404
    _expect_ok(client, edge)


def test_a_trailing_slash_is_served_not_redirected(client, edge):
    """`POST /v1/generate/` answered 307 (Starlette's redirect_slashes), which a client that does not follow a
    POST redirect (httpx, curl without -L) reports as a failure; it is now the same route, same checks."""
    want = edge.generate(TEXT, max_new_tokens=8)
    r = client.post("/v1/generate/", json={"inputs": TEXT, "max_new_tokens": 8}, follow_redirects=False)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["text"] == want
    assert client.get("/healthz/", follow_redirects=False).status_code == 200
    assert client.get("/v1/models/", follow_redirects=False).json()["data"][0]["id"]
    # the route's own checks still apply; an unknown route is still a JSON 404, never a redirect
    r = client.post("/v1/generate/", content=b"inputs=x", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/v1/nothing/", json={"inputs": "a"}, follow_redirects=False)
    assert r.status_code == 404 and r.json()["error"]["code"] == 404
    r = client.get("/v1/generate/", follow_redirects=False)
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    metrics = client.get("/metrics").text
    assert 'route="/v1/generate"' in metrics and 'route="/v1/generate/"' not in metrics


def test_input_longer_than_the_model_413_and_too_many_new_tokens_422(backend, edge):
    """The export's 128 positions bound source, choice and decode lengths: 4xx with a message, not a 500."""
    long = "wake " * 150  # over 150 tokens, well under max_input_chars
    with TestClient(create_app(backend, ServeSettings())) as c:
        for route, body in [
            ("/v1/generate", {"inputs": [TEXT, long]}),
            ("/v1/completions", {"prompt": long}),
            ("/v1/score", {"prompt": long, "choices": ["yes"]}),
            ("/v1/score", {"prompt": TEXT, "choices": ["yes", long]}),
        ]:
            r = c.post(route, json=body)
            assert r.status_code == 413, (route, r.text)
            assert "128 positions" in r.json()["error"]["message"]
        r = c.post("/v1/completions", json={"prompt": TEXT, "max_tokens": 200})
        # named as the client sent it (was max_new_tokens, a field completions does not have)
        assert r.status_code == 422 and "max_tokens 200 is over" in r.json()["error"]["message"], r.text
        _expect_ok(c, edge)


def test_non_json_content_type_415_says_what_to_send(client, edge):
    """`curl -d` sends application/x-www-form-urlencoded: say so, rather than 'not a valid dictionary'."""
    body = json.dumps({"inputs": TEXT, "max_new_tokens": 8}).encode()
    for ctype in (None, "application/x-www-form-urlencoded", "text/plain"):
        r = client.post("/v1/generate", content=body, headers={"content-type": ctype} if ctype else {})
        assert r.status_code == 415, r.text
        msg = r.json()["error"]["message"]
        assert "Content-Type: application/json" in msg and (ctype or "no Content-Type") in msg
    for ctype in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"):
        r = client.post("/v1/generate", content=body, headers={"content-type": ctype})
        assert r.status_code == 200 and r.json()["outputs"][0]["text"] == edge.generate(
            TEXT, max_new_tokens=8
        )


def test_chunked_body_without_content_length_is_size_limited(client, edge):
    """A chunked upload has no Content-Length to check up front: it is cut off at the same byte limit."""
    limit = client.app.state.settings.max_body_bytes

    def chunks(n_spaces):  # valid JSON whose fields are all within limits: only its size is wrong
        yield b'{"inputs": "wake me up at seven am", "max_new_tokens": 8'
        for _ in range(n_spaces // 4096):
            yield b" " * 4096
        yield b"}"

    r = client.post("/v1/generate", content=chunks(2 * limit), headers={"content-type": "application/json"})
    assert r.status_code == 413 and f"over the limit of {limit}" in r.json()["error"]["message"]
    r = client.post("/v1/generate", content=chunks(8192), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["outputs"][0]["text"] == edge.generate(TEXT, max_new_tokens=8)
    _expect_ok(client, edge)


def test_healthz_and_metrics(client):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["backend"] == "edge"
    client.post("/v1/generate", json={"inputs": ""})
    text = client.get("/metrics").text
    assert 'tandem_requests_total{route="/v1/generate",code="200"}' in text
    assert 'tandem_requests_total{route="/v1/generate",code="422"}' in text
    assert "tandem_request_latency_seconds_bucket" in text and "tandem_batch_size_count" in text
    assert "tandem_queue_depth 0" in text


def test_auth_on_and_off(backend, edge):
    with TestClient(create_app(backend, ServeSettings(token="s3cret"))) as c:
        assert c.post("/v1/generate", json={"inputs": TEXT}).status_code == 401
        r = c.post("/v1/generate", json={"inputs": TEXT}, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/metrics").status_code == 401
        assert c.get("/healthz").status_code == 200  # liveness probes carry no token
        _expect_ok(c, edge, auth={"Authorization": "Bearer s3cret"})
    with TestClient(create_app(backend, ServeSettings())) as c:
        _expect_ok(c, edge, auth={"Authorization": "Bearer anything"})


class GatedBackend:
    """The edge backend, held at a gate: the test decides when a batch may run."""

    kind = "edge"
    name = "gated"

    def __init__(self, inner: EdgeBackend):
        self.inner = inner
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []

    def generate(self, texts, params: GenerateParams):
        self.entered.set()
        assert self.gate.wait(PATIENCE_S)
        self.batches.append(len(texts))
        return self.inner.generate(texts, params)

    def score(self, prompts, targets, clm):
        return self.inner.score(prompts, targets, clm)


class _Server:
    """A real uvicorn on 127.0.0.1, in a thread, on a port the OS picks when it binds (a port picked
    beforehand could be taken by another process in between)."""

    def __init__(self, backend, settings: ServeSettings):
        import uvicorn

        settings.port = 0
        cfg = uvicorn.Config(create_app(backend, settings), host="127.0.0.1", port=0, log_level="error")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        _wait_for(lambda: self.server.started or not self.thread.is_alive(), "uvicorn started")
        assert self.server.started, "uvicorn exited before it started"
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self):
        self.server.should_exit = True
        self.thread.join(PATIENCE_S)


def _post_async(url, body, results, key):
    def go():
        try:
            results[key] = httpx.post(url, json=body, timeout=PATIENCE_S)
        except Exception as e:  # pragma: no cover - surfaced by the assertion below
            results[key] = e

    t = threading.Thread(target=go)
    t.start()
    return t


def test_real_uvicorn_queue_full_then_recovers(backend, edge):
    gated = GatedBackend(backend)
    srv = _Server(gated, ServeSettings(max_batch=1, max_wait_ms=0, queue_size=2, timeout_s=20))
    try:
        results: dict = {}
        body = {"inputs": TEXT, "max_new_tokens": 8}
        threads = [_post_async(srv.url + "/v1/generate", body, results, "a")]
        assert gated.entered.wait(PATIENCE_S)  # request a is inside the backend, blocked at the gate
        threads += [_post_async(srv.url + "/v1/generate", body, results, k) for k in "bc"]
        _wait_for(  # b and c fill the queue of 2 rows
            lambda: "tandem_queue_depth 2" in httpx.get(srv.url + "/metrics", timeout=PATIENCE_S).text,
            "b and c queued",
        )
        full = httpx.post(srv.url + "/v1/generate", json=body, timeout=PATIENCE_S)
        assert full.status_code == 503 and full.headers["retry-after"] == "1"
        assert "queue full" in full.json()["error"]["message"]
        gated.gate.set()
        for t in threads:
            t.join(PATIENCE_S)
        want = edge.generate(TEXT, max_new_tokens=8)
        assert [results[k].status_code for k in "abc"] == [200, 200, 200]
        assert all(results[k].json()["outputs"][0]["text"] == want for k in "abc")
        assert gated.batches == [1, 1, 1]
        after = httpx.post(srv.url + "/v1/generate", json=body, timeout=PATIENCE_S)
        assert after.status_code == 200 and after.json()["outputs"][0]["text"] == want
    finally:
        gated.gate.set()
        srv.stop()


def test_a_client_that_disconnects_leaves_the_queue(backend, edge):
    """A client that closes its connection while its request is queued: its row is dropped, not run for
    nobody (a client retrying after its own timeout filled the queue with answers no one reads)."""
    gated = GatedBackend(backend)
    srv = _Server(gated, ServeSettings(max_batch=1, max_wait_ms=0, queue_size=4, timeout_s=PATIENCE_S))
    try:
        results: dict = {}
        body = {"inputs": TEXT, "max_new_tokens": 8}
        first = _post_async(srv.url + "/v1/generate", body, results, "first")
        assert gated.entered.wait(PATIENCE_S)  # the worker is held at the gate
        batcher = srv.server.config.app.state.batcher
        payload = json.dumps({"inputs": "play the music", "max_new_tokens": 8}).encode()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=PATIENCE_S) as sock:
            sock.sendall(
                b"POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            _wait_for(lambda: batcher.depth == 1, "the request queued")
        _wait_for(lambda: batcher.depth == 0, "the closed connection's row left the queue")
        metrics = srv.server.config.app.state.metrics
        _wait_for(lambda: metrics.disconnects == 1, "the disconnect counted")
        gated.gate.set()
        first.join(PATIENCE_S)
        want = edge.generate(TEXT, max_new_tokens=8)
        assert results["first"].status_code == 200 and results["first"].json()["outputs"][0]["text"] == want
        after = httpx.post(srv.url + "/v1/generate", json=body, timeout=PATIENCE_S)
        assert after.status_code == 200 and after.json()["outputs"][0]["text"] == want
        assert gated.batches == [1, 1]  # first and after: the disconnected row never ran
        assert metrics.in_flight == 0 and "tandem_client_disconnects_total 1" in metrics.render()
    finally:
        gated.gate.set()
        srv.stop()


def test_a_body_sent_too_slowly_gets_408_and_frees_its_place(backend, edge):
    """A client that sends less body than its Content-Length (or sends it slowly) gets 408 once the
    per-request timeout has passed, and its place under --max-in-flight is free again: a few such
    connections cannot hold the server (slowloris)."""
    srv = _Server(backend, ServeSettings(timeout_s=1.0, max_in_flight=1))
    try:
        metrics = srv.server.config.app.state.metrics
        with socket.create_connection(("127.0.0.1", srv.port), timeout=PATIENCE_S) as sock:
            sock.sendall(
                b"POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n" + b'{"inputs": "pl'
            )
            reply = b""
            while b"\r\n\r\n" not in reply:
                chunk = sock.recv(4096)
                assert chunk, "the server closed the connection without an answer"
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        _wait_for(lambda: metrics.in_flight == 0, "the slow request's place freed")
        body = {"inputs": TEXT, "max_new_tokens": 8}
        after = httpx.post(srv.url + "/v1/generate", json=body, timeout=PATIENCE_S)
        assert after.status_code == 200
        assert after.json()["outputs"][0]["text"] == edge.generate(TEXT, max_new_tokens=8)
    finally:
        srv.stop()


def test_request_larger_than_the_queue_413_not_503(backend, edge):
    """More rows than --queue-size can never fit: 413 naming the limit, not a 503 that invites retries."""
    with TestClient(create_app(backend, ServeSettings(queue_size=2, max_items=4))) as c:
        for route, body in [
            ("/v1/generate", {"inputs": [TEXT, "a", "b"]}),
            ("/v1/score", {"prompt": TEXT, "choices": ["a", "b", "c"]}),
        ]:
            r = c.post(route, json=body)
            assert r.status_code == 413, (route, r.text)
            assert "retry-after" not in r.headers
            assert "queue size of 2" in r.json()["error"]["message"]
        r = c.post("/v1/generate", json={"inputs": [TEXT, TEXT], "max_new_tokens": 8})
        assert (
            r.status_code == 200
            and [o["text"] for o in r.json()["outputs"]] == [edge.generate(TEXT, max_new_tokens=8)] * 2
        )


def test_too_many_requests_in_flight_503_json_with_retry_after(backend, edge, monkeypatch):
    """The in-flight cap answers in tandem's JSON error format with Retry-After, like a full queue, and
    `serve` leaves uvicorn's own limit_concurrency (a plain-text 503 without Retry-After) unset."""
    gated = GatedBackend(backend)
    settings = ServeSettings(max_batch=1, max_wait_ms=0, queue_size=8, max_in_flight=2)
    with TestClient(create_app(gated, settings)) as c:
        results: dict = {}

        def go(k):
            results[k] = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8})

        threads = [threading.Thread(target=go, args=(k,)) for k in "ab"]
        try:
            for t in threads:
                t.start()
            _wait_for(lambda: c.app.state.metrics.in_flight >= 2, "requests a and b in flight")
            busy = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8})
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            assert (
                busy.json()["error"]["type"] == "overloaded" and "limit 2" in busy.json()["error"]["message"]
            )
            assert c.get("/healthz").status_code == 200  # probes and metrics still answer under load
            text = c.get("/metrics").text
            assert "tandem_in_flight_requests" in text
            assert 'tandem_rejected_total{reason="in_flight"} 1' in text  # counted apart from a full queue
            assert 'tandem_rejected_total{reason="queue_full"} 0' in text
        finally:
            gated.gate.set()
        for t in threads:
            t.join(PATIENCE_S)
        assert [results[k].status_code for k in "ab"] == [200, 200]
        _expect_ok(c, edge)

    import uvicorn

    from tandem.serve import serve

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: seen.setdefault("config", self.config))
    serve(backend, ServeSettings(port=0))  # nothing binds: run is replaced
    assert seen["config"].limit_concurrency is None


def test_micro_batching_groups_concurrent_requests(backend, edge):
    """Requests that arrive while the backend is busy share the next backend call, each with its own answer."""
    gated = GatedBackend(backend)
    with TestClient(create_app(gated, ServeSettings(max_batch=8, max_wait_ms=50))) as c:
        results: dict = {}
        texts = [TEXT, "play the music", "stop", "set an alarm"]

        def go(i):
            results[i] = c.post("/v1/generate", json={"inputs": texts[i], "max_new_tokens": 6})

        threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
        try:
            threads[0].start()
            assert gated.entered.wait(PATIENCE_S)  # the first request holds the worker at the gate
            for t in threads[1:]:
                t.start()
            _wait_for(lambda: c.app.state.batcher.depth == 3, "the other three queued")
        finally:
            gated.gate.set()
        for t in threads:
            t.join(PATIENCE_S)
        assert [results[i].json()["outputs"][0]["text"] for i in range(4)] == edge.generate(
            texts, max_new_tokens=6
        )
        assert gated.batches == [1, 3]  # the three that waited shared one backend call


def test_a_bad_row_fails_only_its_own_request_when_batched(backend, edge):
    """An over-long input micro-batched with good requests gets its 413; the others get their answers."""
    gated = GatedBackend(backend)
    long = "wake " * 150
    with TestClient(create_app(gated, ServeSettings(max_batch=8, max_wait_ms=200))) as c:
        results: dict = {}
        bodies = {
            "first": {"inputs": "stop", "max_new_tokens": 6},  # holds the worker at the gate
            "good": {"inputs": TEXT, "max_new_tokens": 6},
            "bad": {"inputs": long, "max_new_tokens": 6},
        }

        def go(k):
            results[k] = c.post("/v1/generate", json=bodies[k])

        threads = [threading.Thread(target=go, args=(k,)) for k in bodies]
        try:
            threads[0].start()
            assert gated.entered.wait(PATIENCE_S)
            for t in threads[1:]:
                t.start()
            _wait_for(lambda: c.app.state.batcher.depth == 2, 'good and bad queued behind "first"')
        finally:
            gated.gate.set()
        for t in threads:
            t.join(PATIENCE_S)
        assert results["bad"].status_code == 413, results["bad"].text
        assert results["good"].status_code == 200, results["good"].text
        assert results["good"].json()["outputs"][0]["text"] == edge.generate(TEXT, max_new_tokens=6)
        assert gated.batches[:2] == [1, 2]  # good and bad did share a batch


def test_a_lone_request_does_not_wait_to_fill_a_batch(backend, edge):
    """With nobody else sending, a request runs at once, not after max_wait_ms; concurrent ones still group."""
    # the wait is far longer than a request takes even on a slow, loaded machine (milliseconds here)
    settings = ServeSettings(max_batch=8, max_wait_ms=20_000, timeout_s=60)
    with TestClient(create_app(backend, settings)) as c:
        _expect_ok(c, edge)  # warm
        t0 = time.perf_counter()
        _expect_ok(c, edge)
        assert time.perf_counter() - t0 < 10  # the 20 s wait would be paid here before


def test_timeout_gives_504_then_serves(backend, edge):
    gated = GatedBackend(backend)
    with TestClient(create_app(gated, ServeSettings(timeout_s=0.3))) as c:
        try:
            r = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8})
            assert r.status_code == 504 and "timed out" in r.json()["error"]["message"]
        finally:
            gated.gate.set()
        # the next request is answered (after the timed-out one's batch, which still runs): with the short
        # timeout kept, a slow machine would time it out too
        c.app.state.settings.timeout_s = PATIENCE_S
        _expect_ok(c, edge)
        assert "tandem_timeouts_total 1" in c.get("/metrics").text


def test_timed_out_requests_free_their_queue_slots(backend, edge):
    """Rows of a request that timed out while queued behind a long batch leave the queue at once: they do
    not make the next request a 503 "queue full" while nobody is waiting, nor show in the queue depth."""
    gated = GatedBackend(backend)
    body = {"inputs": TEXT, "max_new_tokens": 8}
    settings = ServeSettings(max_batch=1, max_wait_ms=0, queue_size=2, timeout_s=PATIENCE_S)
    with TestClient(create_app(gated, settings)) as c:
        results: dict = {}

        def go(k):
            results[k] = c.post("/v1/generate", json=body)

        first = threading.Thread(target=go, args=("first",))
        try:
            first.start()
            assert gated.entered.wait(PATIENCE_S)  # holds the worker at the gate
            c.app.state.settings.timeout_s = 0.2
            late = [threading.Thread(target=go, args=(k,)) for k in "ab"]
            for t in late:
                t.start()
            for t in late:
                t.join(PATIENCE_S)
            assert [results[k].status_code for k in "ab"] == [504, 504]
            c.app.state.settings.timeout_s = PATIENCE_S
            assert c.get("/healthz").json()["queue_depth"] == 0
            assert "tandem_queue_depth 0" in c.get("/metrics").text
            queued = threading.Thread(target=go, args=("c",))
            queued.start()  # fits: the queue holds no live row
            _wait_for(lambda: c.app.state.batcher.depth == 1 or "c" in results, "request c queued")
            assert "c" not in results, results["c"].text
        finally:
            gated.gate.set()
        first.join(PATIENCE_S)
        queued.join(PATIENCE_S)
        want = edge.generate(TEXT, max_new_tokens=8)
        for k in ("first", "c"):
            assert results[k].status_code == 200, results[k].text
            assert results[k].json()["outputs"][0]["text"] == want
        assert gated.batches == [1, 1]  # the timed-out rows were never run


def test_graceful_shutdown_finishes_in_flight(backend, edge):
    gated = GatedBackend(backend)
    srv = _Server(gated, ServeSettings())
    results: dict = {}
    t = _post_async(srv.url + "/v1/generate", {"inputs": TEXT, "max_new_tokens": 8}, results, "a")
    try:
        assert gated.entered.wait(PATIENCE_S)
        srv.server.should_exit = True  # what SIGTERM does
        # the request is released only once the server is shutting down: it no longer takes connections
        _wait_for(lambda: not srv.listening(), "uvicorn stopped listening")
        assert srv.thread.is_alive() and "a" not in results  # still waiting for the request in flight
    finally:
        gated.gate.set()
    t.join(PATIENCE_S)
    srv.thread.join(PATIENCE_S)
    assert not srv.thread.is_alive()
    assert results["a"].status_code == 200
    assert results["a"].json()["outputs"][0]["text"] == edge.generate(TEXT, max_new_tokens=8)


def test_cli_serve_defaults_to_loopback():
    from tandem.cli import build_parser

    _, subs = build_parser()
    args = subs["serve"].parse_args(["some-dir"])
    assert args.host == "127.0.0.1" and args.backend == "edge" and args.token is None
    from tandem.cli import serve as serve_cli

    posts = [line for line in serve_cli.EXAMPLES.splitlines() if "curl" in line and "/v1/" in line]
    assert posts and all("Content-Type: application/json" in line for line in posts)


def test_cli_serve_limits_reach_the_settings_and_bad_ones_are_refused(monkeypatch, capsys):
    from tandem import serve as serve_pkg
    from tandem.cli import main

    seen = {}
    monkeypatch.setattr(serve_pkg, "load_backend", lambda *a, **k: "backend")
    monkeypatch.setattr(serve_pkg, "serve", lambda backend, settings, **k: seen.setdefault("s", settings))
    flags = ["--max-new-tokens", "64", "--max-beams", "2", "--max-in-flight", "10", "--queue-size", "4"]
    assert main(["serve", "some-dir", *flags]) == 0
    s = seen["s"]
    assert (s.max_new_tokens, s.max_beams, s.in_flight_limit, s.queue_size) == (64, 2, 10, 4)
    for bad in (
        ["--max-batch", "0"],
        ["--queue-size", "-1"],
        ["--timeout-s", "0"],
        ["--max-in-flight", "0"],
        ["--token", ""],  # `--token "$UNSET"` served without auth
        ["--token", "s\u00e9cret"],  # no client could send it so that it matched
        ["--token", " s3cret"],
        # a batch that waits for more rows past the request timeout: a lone request got 504 when another
        # client's request was refused while it waited
        ["--max-wait-ms", "inf"],
        ["--max-wait-ms", "30000"],
        ["--max-wait-ms", "2000", "--timeout-s", "1.5"],
    ):
        capsys.readouterr()
        assert main(["serve", "some-dir", *bad]) == 2, bad
        err = capsys.readouterr().err
        assert bad[0][2:].replace("-", "_") in err and "must be" in err, err


def test_parse_names_slu_tags(tmp_path):
    """/v1/parse over a tag-format SLU export (labels.json) returns intent/slot names, as EdgeModel.parse."""
    from tandem.edge import trim_vocabulary
    from tandem.finetune import SLULabels

    tok = train_tiny_tokenizer(tmp_path / "tok", vocab_size=256, reserved_tags=6)
    hf = build_random_hf(tmp_path / "hf", arch="mbart", vocab_size=256, seed=6)
    SLULabels(["play_music"], ["artist", "room", "time", "device"]).save(hf)
    export_ct2(hf, tmp_path / "e", quantize="float32", tokenizer=tok / "tokenizer.model")
    # outputs restricted to the tags and a few words, so this random model writes tag-format parses
    trim_vocabulary(tmp_path / "e", ["queen", "seven am", "kitchen"], copy_source=False)
    texts = ["play the music by queen", "wake me up at seven am", "turn on the lights in kitchen"]
    edge = EdgeModel.load(tmp_path / "e")
    want = edge.parse(texts, max_new_tokens=12)
    assert any(p["intent"] == "play_music" for p in want) and any(p["slots"] for p in want)
    with TestClient(create_app(EdgeBackend(tmp_path / "e"))) as c:
        r = c.post("/v1/parse", json={"inputs": texts, "max_new_tokens": 12})
    assert r.status_code == 200, r.text
    assert r.json()["parses"] == want


@pytest.fixture(scope="module")
def torch_dir(tmp_path_factory):
    """A random tiny mBART-architecture model with tandem's tokenizer."""
    from tandem.tokenizer import Tokenizer

    root = tmp_path_factory.mktemp("torch")
    tok = train_tiny_tokenizer(root / "tok", vocab_size=256)
    hf = build_random_hf(root / "hf", arch="mbart", vocab_size=256, seed=2)
    Tokenizer.load(tok).save(hf)
    return hf


@pytest.fixture(scope="module")
def torch_backend(torch_dir):
    from tandem.serve import TorchBackend

    return TorchBackend(torch_dir, threads=1, device="cpu")


def test_torch_backend_scores_a_tandem_tokenizers_target_then_eos(torch_dir, torch_backend):
    """Pinned: with tandem's tokenizer (and no forced first token) /v1/score with `sequence` reads the target's
    tokens then EOS after the decoder start token, as transformers' loss on labels `text + [eos]` does."""
    import torch
    import transformers

    from tandem.tokenizer import Tokenizer

    tok = Tokenizer.load(torch_dir)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(torch_dir)).eval()
    choices = ["yes", "no", "seven am"]
    with TestClient(create_app(torch_backend, ServeSettings())) as c:
        req = {"prompt": TEXT, "choices": choices, "normalize": "sum", "sequence": True}
        body = c.post("/v1/score", json=req).json()
    for c, lp, n in zip(choices, body["logprobs"], body["num_tokens"]):
        labels = torch.tensor([tok.encode(c) + [tok.eos_id]])
        with torch.no_grad():
            loss = hf(input_ids=torch.tensor([tok.encode(TEXT, add_eos=True)]), labels=labels).loss.item()
        assert n == labels.shape[1] and lp == pytest.approx(-loss * n, abs=1e-4)


def test_torch_backend_counts_stop_cut_tokens_as_a_lone_request(torch_backend):
    """usage.completion_tokens of a stop-string cut is the same alone and in a batch (torch backend)."""
    b = torch_backend
    full = b.generate([TEXT], GenerateParams(max_new_tokens=16))[0].text
    p = GenerateParams(max_new_tokens=16, stop=(full[3:5],))
    alone = b.generate([TEXT], p)[0]
    batched = b.generate([TEXT, "play the music"], p)[0]
    assert alone.finish_reason == "stop" and alone.output_tokens < 16
    assert (batched.text, batched.output_tokens) == (alone.text, alone.output_tokens)


def test_torch_backend_input_longer_than_the_model_413(torch_backend):
    with TestClient(create_app(torch_backend, ServeSettings())) as c:
        r = c.post("/v1/generate", json={"inputs": "wake " * 150})
        assert r.status_code == 413 and "128 positions" in r.json()["error"]["message"]
        r = c.post("/v1/score", json={"prompt": TEXT, "choices": ["wake " * 150]})
        assert r.status_code == 413 and "128 positions" in r.json()["error"]["message"]
        r = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 129})
        assert r.status_code == 422 and "max_new_tokens 129" in r.json()["error"]["message"]
        r = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 128, "min_new_tokens": 128})
        assert r.status_code == 200 and r.json()["outputs"][0]["output_tokens"] == 128


@pytest.mark.parametrize("which", ["edge", "torch"])
def test_extreme_sampling_settings_sample_or_decode_greedily_not_500(which, backend, torch_backend):
    """Values inside the documented ranges that float32 cannot hold: a temperature of 1e-38 (overflowed to
    NaN: the edge backend sampled padding, "" with 8 tokens), a top_p of 1e-300 (rounded to 0: a 500 on both
    backends), a top_k over the vocabulary (a 500 on the edge backend)."""
    b = backend if which == "edge" else torch_backend
    greedy = b.generate([TEXT], GenerateParams(max_new_tokens=8))[0].text
    with TestClient(create_app(b, ServeSettings())) as c:
        for extra in ({"temperature": 1e-38}, {"temperature": 1.0, "top_p": 1e-300}):
            r = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8, **extra})
            assert r.status_code == 200, (extra, r.text)
            assert r.json()["outputs"][0]["text"] == greedy, extra  # only the most likely token is left
        r = c.post(
            "/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8, "temperature": 1, "top_k": 10**12}
        )
        assert r.status_code == 200, r.text


def test_top_k_over_a_vocabulary_map_samples(export_dir, tmp_path):
    """With a vocabulary map (trim_vocabulary) CTranslate2 samples from the few tokens this batch maps to and
    refused top_k=50 over them: a 500 for a common setting."""
    import shutil

    from tandem.edge import trim_vocabulary

    shutil.copytree(export_dir, tmp_path / "e")
    trim_vocabulary(tmp_path / "e", ["queen", "seven am"], copy_source=False)
    with TestClient(create_app(EdgeBackend(tmp_path / "e"))) as c:
        body = {"inputs": "play queen", "max_new_tokens": 4, "temperature": 1.0, "top_k": 50}
        r = c.post("/v1/generate", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["outputs"][0]["output_tokens"] >= 1


def test_torch_backend_usage_prompt_tokens_same_definition(torch_backend):
    with TestClient(create_app(torch_backend, ServeSettings())) as c:
        r = c.post("/v1/completions", json={"prompt": TEXT, "max_tokens": 2})
        assert r.status_code == 200
        assert r.json()["usage"]["prompt_tokens"] == len(torch_backend.tok.encode(TEXT)) + 1


class _RefusingBackend:
    """Refuses any input containing "bad" (as a backend refuses an over-long one) and logs its calls."""

    kind, name = "edge", "stub"

    def __init__(self):
        self.calls: list[list[str]] = []

    def generate(self, texts, params):
        from tandem.edge.runtime import Generation
        from tandem.errors import TandemError

        self.calls.append(list(texts))
        if any("bad" in t for t in texts):
            raise TandemError("refused")
        return [Generation(t.upper(), "stop", 1, 1) for t in texts]

    def score(self, prompts, targets, clm):
        raise NotImplementedError


def test_a_failed_request_does_not_leave_its_other_rows_running():
    """Once one row of a request failed, its other rows are not rerun one by one for nobody."""
    stub = _RefusingBackend()
    with TestClient(create_app(stub, ServeSettings(max_batch=8))) as c:
        r = c.post("/v1/generate", json={"inputs": ["bad", "a", "b", "c"]})
        assert r.status_code == 422
        # one worker runs the batches in order: a leftover rerun would come before the next request's batch
        r = c.post("/v1/generate", json={"inputs": ["a", "b"]})
        assert r.status_code == 200 and [o["text"] for o in r.json()["outputs"]] == ["A", "B"]
        assert stub.calls == [["bad", "a", "b", "c"], ["bad"], ["a", "b"]]
        # POST to a GET route is 405, whatever the body's type
        assert c.post("/healthz", content=b"x", headers={"content-type": "text/plain"}).status_code == 405


def test_tokens_to_stop_equals_the_first_prefix_that_holds_the_stop():
    import random

    from tandem.edge.runtime import cut_at_stop, tokens_to_stop

    rng = random.Random(0)
    pieces = ["a", "b", ";", " c", "ab", "; "]
    for _ in range(300):
        toks = [rng.choice(pieces) for _ in range(rng.randint(1, 30))]
        stop = [rng.choice([";", "ab", "c;", "zz"])]
        brute = next(
            (k for k in range(1, len(toks) + 1) if cut_at_stop("".join(toks[:k]), stop)[1]), len(toks)
        )
        assert tokens_to_stop("".join, toks, stop) == brute


def test_torch_backend_an_eos_forced_at_the_limit_finishes_with_length(torch_backend):
    """A checkpoint's forced_eos_token_id writes EOS at the length limit; the row still ran to the limit,
    so its finish reason is "length" (OpenAI clients continue on it), and the EOS is counted."""
    b = torch_backend
    plain = b.generate([TEXT], GenerateParams(max_new_tokens=3, min_new_tokens=3))[0]
    assert plain.finish_reason == "length" and plain.output_tokens == 3
    saved = dict(b.model.config.generation)
    try:
        b.model.config.generation = {**saved, "forced_eos_token_id": b.eos_id}
        forced = b.generate([TEXT], GenerateParams(max_new_tokens=3, min_new_tokens=0))[0]
    finally:
        b.model.config.generation = saved
    assert forced.finish_reason == "length" and forced.output_tokens == 3


def test_an_unexpected_error_is_still_a_json_500_and_infinite_timeout_is_refused(backend, monkeypatch):
    app = create_app(backend, ServeSettings())
    monkeypatch.setattr(app.state.metrics, "render", lambda: 1 / 0)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/metrics")
        assert r.status_code == 500 and r.json()["error"]["message"].startswith(
            "internal error: ZeroDivisionError"
        )
        assert c.get("/healthz").status_code == 200
    from tandem.errors import TandemError

    with pytest.raises(TandemError, match="timeout_s must be a finite number"):
        ServeSettings(timeout_s=float("inf"))


# ------------------------------------------------------------------------ the model's decoding defaults
DEFAULTS_TEXTS = [TEXT, "play the music by queen", "stop"]


@pytest.fixture(scope="module")
def with_defaults(tmp_path_factory):
    """A model whose generation_config.json asks for 3 beams and at most 5 new tokens (a fine-tuned model
    keeps such defaults, e.g. its dev-scoring limit), as a tandem model and as its float32 edge export."""
    from tandem.model import Seq2SeqLM
    from tandem.tokenizer import Tokenizer

    root = tmp_path_factory.mktemp("defaults")
    tok = train_tiny_tokenizer(root / "tok", vocab_size=256)
    hf = build_random_hf(root / "hf", arch="mbart", vocab_size=256, seed=4)
    gen = {"num_beams": 3, "max_length": 6, "early_stopping": True, "decoder_start_token_id": 2}
    (hf / "generation_config.json").write_text(json.dumps(gen))
    Tokenizer.load(tok).save(hf)
    export_ct2(hf, root / "fp32", quantize="float32", tokenizer=tok / "tokenizer.model")
    model = Seq2SeqLM.from_pretrained(hf).eval()
    assert model.config.generation["num_beams"] == 3 and model.config.generation["max_new_tokens"] == 5
    return {"hf": hf, "export": root / "fp32", "model": model, "tok": Tokenizer.load(tok)}


def _seq2seq_texts(m, texts, **kw) -> list[str]:
    """Seq2SeqLM.generate (the model's defaults unless overridden), one input at a time."""
    import torch

    out = []
    for t in texts:
        with torch.no_grad():
            ids = m["model"].generate(torch.tensor([m["tok"].encode(t, add_eos=True)]), **kw)
        out.append(m["tok"].decode(ids[0].tolist()))
    return out


@pytest.mark.parametrize("which", ["edge", "torch"])
def test_a_request_without_options_decodes_with_the_model_defaults(which, with_defaults):
    """A request that sets no decoding option decodes as the model's defaults say, as `EdgeModel.generate`
    and `Seq2SeqLM.generate` do (README: "`EdgeModel.generate` and `tandem serve` use them unless a call sets
    the option"). The server sent max_new_tokens 64, num_beams 1 and min_new_tokens 0 itself, so both
    backends decoded greedily up to 64 tokens."""
    from tandem.serve import TorchBackend

    m = with_defaults
    b = EdgeBackend(m["export"]) if which == "edge" else TorchBackend(m["hf"], threads=1, device="cpu")
    want = _seq2seq_texts(m, DEFAULTS_TEXTS)
    assert want != _seq2seq_texts(m, DEFAULTS_TEXTS, num_beams=1, max_new_tokens=64)  # the defaults matter
    with TestClient(create_app(b, ServeSettings())) as c:
        r = c.post("/v1/generate", json={"inputs": DEFAULTS_TEXTS})
        assert r.status_code == 200, r.text
        outs = r.json()["outputs"]
        assert [o["text"] for o in outs] == want
        assert all(o["output_tokens"] <= 5 for o in outs)
        # what the client sets still wins over the model's defaults
        r = c.post("/v1/generate", json={"inputs": DEFAULTS_TEXTS, "num_beams": 1, "max_new_tokens": 9})
        assert [o["text"] for o in r.json()["outputs"]] == _seq2seq_texts(
            m, DEFAULTS_TEXTS, num_beams=1, max_new_tokens=9
        )
        # /v1/parse decodes greedily (as EdgeModel.parse) within the model's length limit
        r = c.post("/v1/parse", json={"inputs": DEFAULTS_TEXTS})
        greedy = _seq2seq_texts(m, DEFAULTS_TEXTS, num_beams=1)
        assert [p["text"] for p in r.json()["parses"]] == greedy
    if which == "edge":
        assert [p["text"] for p in b.model.parse(DEFAULTS_TEXTS)] == greedy


@pytest.mark.parametrize("which", ["edge", "torch"])
def test_model_defaults_over_the_servers_limits_are_cut_to_them(which, with_defaults):
    """--max-beams 2 --max-new-tokens 3 held only what a request asked for: a request that left the options
    out decoded with the model's 3 beams and 5 tokens, past the operator's limits. They are cut to them."""
    from tandem.serve import TorchBackend

    m = with_defaults
    b = EdgeBackend(m["export"]) if which == "edge" else TorchBackend(m["hf"], threads=1, device="cpu")
    want = _seq2seq_texts(m, DEFAULTS_TEXTS, num_beams=2, max_new_tokens=3)
    assert want != _seq2seq_texts(m, DEFAULTS_TEXTS)  # the model's own defaults decode otherwise
    with TestClient(create_app(b, ServeSettings(max_new_tokens=3, max_beams=2))) as c:
        r = c.post("/v1/generate", json={"inputs": DEFAULTS_TEXTS})
        assert r.status_code == 200, r.text
        assert [o["text"] for o in r.json()["outputs"]] == want
        assert all(o["output_tokens"] <= 3 for o in r.json()["outputs"])
        r = c.post("/v1/generate", json={"inputs": DEFAULTS_TEXTS, "num_beams": 3})
        assert r.status_code == 422 and "num_beams must be in [1, 2]" in r.text


@pytest.mark.parametrize("which", ["edge", "torch"])
def test_the_default_length_gives_way_to_fewer_positions(which, tmp_path):
    """On a model with 40 learned positions a request without max_new_tokens was refused with "max_new_tokens
    64 is over this model's 40 positions", a limit the client never sent (EdgeModel.generate and .parse
    the same); tandem's default of 64 gives way to the positions, as in `tandem generate`."""
    from tandem.serve import TorchBackend
    from tandem.tokenizer import Tokenizer

    tok = train_tiny_tokenizer(tmp_path / "tok", vocab_size=256)
    hf = build_random_hf(tmp_path / "hf", arch="mbart", vocab_size=256, seed=2, max_positions=40)
    Tokenizer.load(tok).save(hf)
    export_ct2(hf, tmp_path / "e", quantize="float32", tokenizer=tok / "tokenizer.model")
    edge = EdgeModel.load(tmp_path / "e")
    want = edge.generate(DEFAULTS_TEXTS, max_new_tokens=40)
    assert edge.generate(DEFAULTS_TEXTS) == want
    assert [p["text"] for p in edge.parse(DEFAULTS_TEXTS)] == want
    b = EdgeBackend(tmp_path / "e") if which == "edge" else TorchBackend(hf, threads=1, device="cpu")
    with TestClient(create_app(b, ServeSettings())) as c:
        r = c.post("/v1/generate", json={"inputs": DEFAULTS_TEXTS})
        assert r.status_code == 200, r.text
        assert [o["text"] for o in r.json()["outputs"]] == want
        r = c.post("/v1/parse", json={"inputs": DEFAULTS_TEXTS})
        assert r.status_code == 200, r.text
        r = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 41})  # asked for: still refused
        assert r.status_code == 422 and "max_new_tokens 41" in r.json()["error"]["message"]


def test_cli_serve_refuses_bad_threads_and_host_naming_them(export_dir, tmp_path, monkeypatch, capsys):
    """`--threads -1` failed in CTranslate2 with a pybind11 TypeError traceback, and a config file's
    `"host": 5` with a TypeError from uvicorn; both are errors naming the setting."""
    from tandem import serve as serve_pkg
    from tandem.cli import main

    monkeypatch.setattr(serve_pkg, "serve", lambda *a, **k: None)
    cpus = os.cpu_count() or 1
    for threads in (-1, cpus + 1, 99999):  # 99999 crashed the process (segmentation fault in CTranslate2)
        assert main(["serve", str(export_dir), "--threads", str(threads)]) == 2
        assert f"threads must be an integer in [0, {cpus}]" in capsys.readouterr().err
    cfg = tmp_path / "serve.json"
    cfg.write_text(json.dumps({"host": 5}))
    assert main(["serve", str(export_dir), "--config", str(cfg)]) == 2
    assert "host must be a non-empty string, got 5" in capsys.readouterr().err
    assert main(["serve", str(export_dir), "--threads", "0"]) == 0  # 0: CTranslate2's own choice


def test_a_model_served_as_dot_is_named_after_its_folder(export_dir, monkeypatch):
    """`tandem serve .` named the model "" in /healthz, /v1/models and every response."""
    monkeypatch.chdir(export_dir)
    b = EdgeBackend(".")
    assert b.name == export_dir.name
    with TestClient(create_app(b)) as c:
        assert c.get("/v1/models").json()["data"][0]["id"] == export_dir.name
        assert c.get("/healthz").json()["model"] == export_dir.name


def test_a_model_served_through_a_symlink_is_named_after_the_link(export_dir, tmp_path):
    """`tandem serve models/student` (a link to runs/x/final) named the model after the link's target."""
    link = tmp_path / "student"
    link.symlink_to(export_dir, target_is_directory=True)
    b = EdgeBackend(link)
    assert b.name == "student" != export_dir.name
    with TestClient(create_app(b)) as c:
        assert c.get("/v1/models").json()["data"][0]["id"] == "student"


@pytest.mark.parametrize("which", ["edge", "torch"])
def test_token_bans_in_requests_apply_and_bad_ones_get_422_naming_the_field(which, backend, torch_backend):
    b = backend if which == "edge" else torch_backend
    plain = b.generate([TEXT], GenerateParams(max_new_tokens=8))[0]
    with TestClient(create_app(b, ServeSettings())) as c:
        r = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8})
        assert r.json()["outputs"][0]["text"] == plain.text
        first = (plain.token_ids or [None])[0] if which == "edge" else None
        if first is None:  # the torch backend does not report ids: ask the model
            ids = b.model.generate(b._encode([TEXT], False)[0], max_new_tokens=1)[0, 1:].tolist()
            first = ids[0]
        for extra in (
            {"suppress_tokens": [first]},
            {"bad_words_ids": [[first]]},
            {"bad_words_ids": [[first, 7], [first]], "suppress_tokens": []},
        ):
            r = c.post("/v1/generate", json={"inputs": TEXT, "max_new_tokens": 8, **extra})
            assert r.status_code == 200, r.text
            params = GenerateParams(max_new_tokens=8, **{k: _frozen(v) for k, v in extra.items()})
            want = b.generate([TEXT], params)[0].text
            assert r.json()["outputs"][0]["text"] == want != plain.text, extra
        for extra, status, words in (
            (
                {"suppress_tokens": [256]},
                422,
                r"suppress_tokens must be None or a list of token ids in \[0, 256\)",
            ),
            ({"bad_words_ids": [[]]}, 422, "bad_words_ids must be None or a list of non-empty lists"),
            ({"bad_words_ids": [5]}, 422, "bad_words_ids.0: Input should be a valid list"),
            (
                {"begin_suppress_tokens": [-1]},
                422,
                "begin_suppress_tokens must be None or a list of token ids",
            ),
        ):
            r = c.post("/v1/generate", json={"inputs": TEXT, **extra})
            assert r.status_code == status and re.search(words, r.json()["error"]["message"]), (extra, r.text)
        if which == "edge":  # what CTranslate2 cannot apply exactly is refused, not approximated
            for extra, words in (
                (
                    {"begin_suppress_tokens": [first]},
                    "begin_suppress_tokens: the edge runtime cannot apply it",
                ),
                ({"suppress_tokens": [first], "num_beams": 2}, "suppress_tokens: .* in beam search"),
            ):
                r = c.post("/v1/generate", json={"inputs": TEXT, **extra})
                assert r.status_code == 422 and re.search(words, r.json()["error"]["message"]), r.text


def _frozen(v):
    return tuple(tuple(w) if isinstance(w, list) else w for w in v)


def test_score_rank_and_evaluate_score_a_choice_in_its_prompts_context(torch_dir, torch_backend, tmp_path):
    """tandem's whitespace-keeping SentencePiece: " yes" alone is `▁` `▁yes`, after "Answer:" it is `▁yes`.
    /v1/score (torch and edge backends), `EdgeModel.rank` and `tandem evaluate`'s scorer all score the choice's
    in-context ids without EOS, read after [CLM] + prompt, as transformers' forward pass gives them. Was: the
    serving paths scored `▁` `▁yes` then EOS, evaluate `▁yes`: one (prompt, choice) pair, two log-probs."""
    import torch
    import transformers

    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import rank_choices
    from tandem.tokenizer import Tokenizer

    tok = Tokenizer.load(torch_dir)
    assert tok.clm_id is not None
    prompt, choices = "wake me up at seven? Answer:", [" yes", " no", " seven am"]
    ctx = tok.encode(prompt)
    conts = [tok.encode(prompt + c)[len(ctx) :] for c in choices]
    assert all(tok.encode(prompt + c)[: len(ctx)] == ctx for c in choices)
    assert tok.encode(" yes") != conts[0]  # the leading space alone is a token of its own
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(torch_dir)).eval()
    assert hf.generation_config.forced_bos_token_id is None
    src = torch.tensor([[tok.clm_id, *ctx, tok.eos_id]])
    want = []
    for cont in conts:
        dec = torch.tensor([[hf.config.decoder_start_token_id, *cont[:-1]]])
        with torch.no_grad():
            lp = torch.log_softmax(hf(input_ids=src, decoder_input_ids=dec).logits[0].double(), -1)
        want.append(sum(lp[i, t].item() for i, t in enumerate(cont)))
    export_ct2(torch_dir, tmp_path / "f32", quantize="float32", tokenizer=torch_dir / "tokenizer.model")
    edge_b = EdgeBackend(tmp_path / "f32")
    for b in (torch_backend, edge_b):
        with TestClient(create_app(b, ServeSettings())) as c:
            req = {"prompt": prompt, "choices": choices, "normalize": "sum", "clm": True}
            body = c.post("/v1/score", json=req).json()
        assert body["logprobs"] == pytest.approx(want, abs=1e-4), b.kind
        assert body["num_tokens"] == [len(x) for x in conts]
    ranked = edge_b.model.rank(prompt, choices, normalize="sum", clm=True)
    assert ranked.logprobs == pytest.approx(want, abs=1e-4)
    lm = EncoderDecoder(Seq2SeqLM.from_pretrained(torch_dir), tok)
    (res,) = rank_choices(lm, ["[CLM] " + prompt], [choices])  # as `tandem evaluate` prompts
    assert res.scores == pytest.approx(want, abs=1e-4)


def test_score_position_limit_is_the_same_on_both_backends_and_a_full_target_is_scored(tmp_path):
    """A continuation of T tokens needs T decoder positions (the start token, then all but its last token are
    read), a sequence T+1 (its EOS is scored after the last). On a 16-position model the edge backend refused
    a 16-token continuation the torch backend scored (CTranslate2 reads the last token to score an EOS that is
    dropped); both now take it, with the log-prob transformers' forward pass gives, and refuse 17 alike."""
    import torch
    import transformers

    from tandem.serve import TorchBackend
    from tandem.tokenizer import Tokenizer

    tok_dir = train_tiny_tokenizer(tmp_path / "tok", vocab_size=256)
    hf_dir = build_random_hf(tmp_path / "hf", arch="mbart", vocab_size=256, seed=3, max_positions=16)
    Tokenizer.load(tok_dir).save(hf_dir)
    export_ct2(hf_dir, tmp_path / "e", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    tok = Tokenizer.load(hf_dir)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(hf_dir)).eval()
    prompt = "wake me up"
    ctx = tok.encode(prompt)
    by_len: dict[tuple[str, int], str] = {}
    for k in range(4, 12):
        for lead in ("", " b", " bb"):
            choice = lead + " a" * k
            by_len.setdefault(("cont", len(tok.encode(prompt + choice)) - len(ctx)), choice)
            by_len.setdefault(("seq", len(tok.encode(choice)) + 1), choice)  # with EOS
    src = torch.tensor([tok.encode(prompt, add_eos=True)])

    def reference(ids: list[int]) -> float:
        dec = torch.tensor([[hf.config.decoder_start_token_id, *ids[:-1]]])
        assert dec.shape[1] <= 16  # what the decoder reads fits the positions
        with torch.no_grad():
            lp = torch.log_softmax(hf(input_ids=src, decoder_input_ids=dec).logits[0].double(), -1)
        return sum(lp[i, t].item() for i, t in enumerate(ids))

    fits = [by_len[("cont", 15)], by_len[("cont", 16)]]
    want = [reference(tok.encode(prompt + c)[len(ctx) :]) for c in fits]
    seq = by_len[("seq", 16)]
    want_seq = reference(tok.encode(seq) + [tok.eos_id])
    for b in (EdgeBackend(tmp_path / "e"), TorchBackend(hf_dir, threads=1, device="cpu")):
        with TestClient(create_app(b, ServeSettings())) as c:
            r = c.post("/v1/score", json={"prompt": prompt, "choices": fits, "normalize": "sum"})
            assert r.status_code == 200, (b.kind, r.text)
            assert r.json()["num_tokens"] == [15, 16] and r.json()["logprobs"] == pytest.approx(
                want, abs=1e-4
            )
            r = c.post(
                "/v1/score", json={"prompt": prompt, "choices": [seq], "normalize": "sum", "sequence": True}
            )
            assert r.status_code == 200, (b.kind, r.text)
            assert r.json()["logprobs"] == pytest.approx([want_seq], abs=1e-4)
            for body, words in [
                ({"choices": [by_len[("cont", 17)]]}, "a target of 17 tokens"),
                ({"choices": [by_len[("seq", 17)]], "sequence": True}, "a target (with EOS) of 17 tokens"),
            ]:
                r = c.post("/v1/score", json={"prompt": prompt, **body})
                assert r.status_code == 413, (b.kind, r.text)
                assert (
                    r.json()["error"]["message"] == f"{words} is over this model's 16 positions; shorten it"
                )


def test_early_stopping_makes_edge_and_torch_backends_decode_the_same_beams(
    torch_dir, torch_backend, tmp_path, monkeypatch
):
    """A beam search on the edge runtime ends as early_stopping=True does (CTranslate2), the torch model's
    as False unless told: a request could not make the two backends agree. `early_stopping: true` does."""
    texts = [TEXT, "play the music", "stop", "wake me up at seven"]
    req = {"inputs": texts, "max_new_tokens": 12, "num_beams": 4, "early_stopping": True}
    export_ct2(torch_dir, tmp_path / "fp32", quantize="float32")  # the same weights as the torch backend's
    edge_backend = EdgeBackend(tmp_path / "fp32")
    seen = []  # the setting each backend's model was called with

    def spy(fn):
        def call(*a, **kw):
            seen.append(kw.get("early_stopping", "left out"))
            return fn(*a, **kw)

        return call

    monkeypatch.setattr(torch_backend.model, "generate", spy(torch_backend.model.generate))
    monkeypatch.setattr(edge_backend.model, "generate_batch", spy(edge_backend.model.generate_batch))
    outs = {}
    for name, b in (("edge", edge_backend), ("torch", torch_backend)):
        with TestClient(create_app(b, ServeSettings(max_items=8))) as c:
            r = c.post("/v1/generate", json=req)
            assert r.status_code == 200, r.text
            outs[name] = [o["text"] for o in r.json()["outputs"]]
            bad = c.post("/v1/generate", json={**req, "early_stopping": "yes"})
            assert bad.status_code == 422 and "early_stopping" in bad.text
            plain = c.post("/v1/generate", json={k: v for k, v in req.items() if k != "early_stopping"})
            assert plain.status_code == 200, plain.text
    assert outs["edge"] == outs["torch"]
    # asked for: passed on; left out: the model's default (the torch model is not told False)
    assert seen == [True, None, True, "left out"]
