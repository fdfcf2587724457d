"""Vector test support: a stashd serving Upstash Vector indexes, SDK clients, reference scores.

* `VectorServer` starts the real binary (through `conftest.StashdServer`) with a TOML
  `--config` that declares the indexes (see /work/vector_contract.md): `dense` (DENSE, 4,
  COSINE), `euclid` (DENSE, 2, EUCLIDEAN), `dot` (DENSE, 2, DOT_PRODUCT), `sparse` (SPARSE),
  `hybrid` (HYBRID, 2, COSINE) and, when `STASHD_EMBEDDING_MODEL_DIR` names a model
  directory, `embed` (DENSE + ALL_MINILM_L6_V2), `bm25` (SPARSE + BM25) and `hybridtext`
  (HYBRID, both models). Every index gets explicit read-write and read-only tokens.
* `client(server, name, mode)` gives an `upstash_vector.Index` (mode "sync") or a thin
  synchronous facade over an `AsyncIndex` that runs every coroutine on its own event loop
  (mode "async"), so one test body exercises both SDK forms.
* Reference implementations of the documented score formulas (vector.md §5) and f32 helpers:
  expected values are computed here from the inputs, never copied from the server.

Test modules import the fixtures: `from vector_support import vsrv, vclient  # noqa: F401`.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import pytest
from upstash_vector import AsyncIndex, Index

from conftest import StashdServer, new_token

MODEL_ENV = "STASHD_EMBEDDING_MODEL_DIR"
DENSE_MODEL = "ALL_MINILM_L6_V2"
SPARSE_MODEL = "BM25"
READY_TIMEOUT = 60.0
MODES = ("sync", "async")


# --------------------------------------------------------------------------- indexes


@dataclass
class IndexSpec:
    name: str
    type: str = "DENSE"
    dimension: Optional[int] = None
    similarity: str = "COSINE"
    dense_model: Optional[str] = None
    sparse_model: Optional[str] = None
    token: str = ""
    readonly_token: str = ""

    def __post_init__(self) -> None:
        if not self.token:
            self.token = f"vt{self.name}" + secrets.token_hex(12)
        if not self.readonly_token:
            self.readonly_token = f"vr{self.name}" + secrets.token_hex(12)

    def toml(self) -> str:
        lines = ["[[vector.indexes]]", f'name = "{self.name}"', f'type = "{self.type}"']
        if self.dimension is not None:
            lines.append(f"dimension = {self.dimension}")
        lines.append(f'similarity = "{self.similarity}"')
        if self.dense_model:
            lines.append(f'dense_model = "{self.dense_model}"')
        if self.sparse_model:
            lines.append(f'sparse_model = "{self.sparse_model}"')
        lines.append(f'token = "{self.token}"')
        lines.append(f'readonly_token = "{self.readonly_token}"')
        return "\n".join(lines) + "\n"


def base_specs() -> list[IndexSpec]:
    return [
        IndexSpec("dense", "DENSE", 4, "COSINE"),
        IndexSpec("euclid", "DENSE", 2, "EUCLIDEAN"),
        IndexSpec("dot", "DENSE", 2, "DOT_PRODUCT"),
        IndexSpec("sparse", "SPARSE"),
        IndexSpec("hybrid", "HYBRID", 2, "COSINE"),
    ]


def model_specs() -> list[IndexSpec]:
    return [
        IndexSpec("embed", "DENSE", None, "COSINE", dense_model=DENSE_MODEL),
        IndexSpec("bm25", "SPARSE", None, "COSINE", sparse_model=SPARSE_MODEL),
        IndexSpec("hybridtext", "HYBRID", None, "COSINE", dense_model=DENSE_MODEL, sparse_model=SPARSE_MODEL),
    ]


def model_dir() -> Optional[str]:
    d = os.environ.get(MODEL_ENV)
    return d if d and Path(d).is_dir() else None


def require_model() -> str:
    d = model_dir()
    if d is None:
        pytest.skip(
            f"!!! {MODEL_ENV} is not set (or not a directory): the embedding-model tests are SKIPPED. "
            "Run scripts/fetch-embedding-model.sh and export the directory it prints (CI always sets it)."
        )
    return d


# --------------------------------------------------------------------------- server


class _Stashd(StashdServer):
    """`StashdServer` whose readiness wait (RESP PONG, which stashd answers only after recovery)
    has a configurable bound, for restarts of big data dirs."""

    ready_timeout: float = 20.0

    def wait_ready(self, timeout: Optional[float] = None) -> None:
        super().wait_ready(self.ready_timeout if timeout is None else timeout)


class VectorServer:
    """A stashd with Vector indexes declared in a TOML config (restartable on the same dir)."""

    def __init__(
        self,
        *,
        data_dir: Optional[Path] = None,
        specs: Optional[list[IndexSpec]] = None,
        with_models: Optional[bool] = None,
        admin_token: Optional[str] = None,
        appendfsync: Optional[str] = None,
    ):
        self.model_dir = model_dir() if with_models in (None, True) else None
        if with_models is True and self.model_dir is None:
            require_model()
        self.specs = list(specs) if specs is not None else base_specs() + (model_specs() if self.model_dir else [])
        self.admin_token = admin_token or "vadm" + secrets.token_hex(16)
        self._cfgdir = Path(tempfile.mkdtemp(prefix="stashd-vector-cfg-"))
        self.config_path = self._cfgdir / "stashd.toml"
        self.write_config()
        self.server = _Stashd(
            token=new_token(),
            data_dir=data_dir,
            appendfsync=appendfsync,
            extra_args=["--config", str(self.config_path)],
        )
        self.tokens: dict[str, tuple[str, str]] = {s.name: (s.token, s.readonly_token) for s in self.specs}

    def write_config(self) -> None:
        head = ["[vector]", f'admin_token = "{self.admin_token}"']
        if self.model_dir:
            head.append(f'embedding_model_dir = "{self.model_dir}"')
            head.append(f'embedding_model = "{DENSE_MODEL}"')
        text = "\n".join(head) + "\n\n" + "\n".join(s.toml() for s in self.specs)
        self.config_path.write_text(text)

    # ---- lifecycle ----
    def start(self, ready_timeout: float = 20.0) -> "VectorServer":
        self.server.ready_timeout = ready_timeout
        self.server.start()
        self.wait_vector_ready(max(READY_TIMEOUT, ready_timeout))
        return self

    def wait_vector_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """The RESP port answering does not mean the vector store is loaded: poll /info."""
        deadline = time.monotonic() + timeout
        last: Any = None
        for spec in self.specs:
            while True:
                try:
                    r = httpx.post(self.url(spec.name) + "/info", headers=self.auth(spec.name), timeout=5)
                    last = (r.status_code, r.text[:300])
                    if r.status_code == 200 and "result" in r.json():
                        break
                except (httpx.HTTPError, ValueError) as e:
                    last = repr(e)
                if not self.server.alive():
                    pytest.fail(f"stashd died while loading vectors\n{self.server.stderr_text()}", pytrace=False)
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"vector index {spec.name} not serving /info within {timeout}s (last: {last})\n"
                        f"config:\n{self.config_path.read_text()}\n{self.server.stderr_text()}",
                        pytrace=False,
                    )
                time.sleep(0.05)

    def kill(self) -> None:
        self.server.kill()

    def stop(self) -> None:
        self.server.stop()

    def restart(self, ready_timeout: float = 20.0) -> float:
        """kill -9 (if running) then start on the same ports and data dir; returns the seconds
        from spawning to every index answering /info."""
        self.server.kill()
        t0 = time.monotonic()
        self.start(ready_timeout)
        return time.monotonic() - t0

    # ---- addressing ----
    @property
    def base(self) -> str:
        return self.server.url

    def url(self, name: str) -> str:
        return f"{self.server.url}/vector/{name}"

    def token(self, name: str, readonly: bool = False) -> str:
        rw, ro = self.tokens[name]
        return ro if readonly else rw

    def auth(self, name: str, readonly: bool = False) -> dict:
        return {"Authorization": f"Bearer {self.token(name, readonly)}"}

    def index(self, name: str, readonly: bool = False, **kw) -> Index:
        kw.setdefault("retries", 0)
        return Index(url=self.url(name), token=self.token(name, readonly), **kw)

    def async_index(self, name: str, readonly: bool = False, **kw) -> AsyncIndex:
        kw.setdefault("retries", 0)
        return AsyncIndex(url=self.url(name), token=self.token(name, readonly), **kw)

    def client(self, name: str, mode: str = "sync", readonly: bool = False):
        if mode == "sync":
            return self.index(name, readonly)
        if mode == "async":
            return AsyncFacade(lambda: self.async_index(name, readonly))
        raise ValueError(mode)

    # ---- raw HTTP ----
    def raw(
        self,
        name: str,
        path: str,
        body: Any = None,
        *,
        content: Optional[bytes] = None,
        token: Optional[str] = None,
        method: str = "POST",
        readonly: bool = False,
    ) -> httpx.Response:
        """`path` starts with "/" (e.g. "/upsert/ns"). `body` is sent as JSON (allow_nan) unless
        `content` is given."""
        import json as _json

        headers = {"Authorization": f"Bearer {token if token is not None else self.token(name, readonly)}"}
        if content is None and body is not None:
            content = _json.dumps(body, allow_nan=True).encode()
            headers["Content-Type"] = "application/json"
        return httpx.request(method, self.url(name) + path, content=content, headers=headers, timeout=30)

    def admin(self, method: str, path: str, body: Any = None, token: Optional[str] = "", **kw) -> httpx.Response:
        """Developer API call; token "" = the configured admin token, None = no Authorization."""
        headers = dict(kw.pop("headers", {}) or {})
        tok = self.admin_token if token == "" else token
        if tok is not None:
            headers["Authorization"] = f"Bearer {tok}"
        return httpx.request(method, self.base + path, json=body, headers=headers, timeout=30, **kw)


class AsyncFacade:
    """Runs every `AsyncIndex` method on a private event loop and returns its result, so a test
    written once drives the asyncio client too (the coroutine is really awaited: a method
    missing from AsyncIndex, or one that is not a coroutine, fails)."""

    def __init__(self, make: Callable[[], AsyncIndex]):
        self._loop = asyncio.new_event_loop()
        self._aidx = make()

    def _run(self, aw):
        assert asyncio.iscoroutine(aw), f"AsyncIndex returned a non-coroutine: {aw!r}"
        return self._loop.run_until_complete(aw)

    def __getattr__(self, name: str):
        attr = getattr(self._aidx, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*a, **kw):
            res = self._run(attr(*a, **kw))
            if name == "resumable_query":
                scores, handle = res
                return scores, AsyncHandleFacade(self, handle)
            return res

        return call

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._aidx._client.aclose())
        finally:
            self._loop.close()


class AsyncHandleFacade:
    def __init__(self, facade: AsyncFacade, handle):
        self._f = facade
        self._h = handle

    def fetch_next(self, additional_k: int):
        return self._f._run(self._h.fetch_next(additional_k))

    def stop(self) -> None:
        return self._f._run(self._h.stop())

    def __enter__(self):
        self._f._run(self._h.__aenter__())
        return self

    def __exit__(self, *exc):
        return self._f._run(self._h.__aexit__(*exc))


def close_client(c) -> None:
    if isinstance(c, AsyncFacade):
        c.close()
    else:
        c._client.close()


def clean_index(c) -> None:
    """Deletes every non-default namespace and empties the rest."""
    for ns in c.list_namespaces():
        if ns != "":
            c.delete_namespace(ns)
    c.reset(all=True)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def vsrv():
    """One in-memory server with every index (model indexes only when the model dir is set)."""
    s = VectorServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture(params=MODES)
def vclient(request, vsrv):
    """Factory: `vclient("dense")` → an emptied index's client, sync or asyncio (parametrized)."""
    made = []

    def make(name: str, readonly: bool = False, clean: bool = True):
        if name in ("embed", "bm25", "hybridtext"):
            require_model()
        c = vsrv.client(name, request.param, readonly)
        if clean and not readonly:
            clean_index(c)
        made.append(c)
        return c

    make.mode = request.param  # type: ignore[attr-defined]
    yield make
    for c in made:
        close_client(c)


# --------------------------------------------------------------------------- reference scores


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_ulps(a: float, b: float) -> int:
    """Distance in f32 ulps between the f32 roundings of a and b."""

    def key(v: float) -> int:
        i = struct.unpack("<i", struct.pack("<f", v))[0]
        return i if i >= 0 else -(i & 0x7FFFFFFF)

    return abs(key(a) - key(b))


F32_EPS = 2.0**-23


def assert_score(got: float, want: float, ulps: int = 4, what: str = "") -> None:
    """The server computes in f32 in its own order of operations: within a few f32 ulps of the
    formula evaluated in f64, or within f32's epsilon in absolute terms (a cosine computed in
    f32 carries that much error, which (1 + cos) / 2 keeps for scores near 0), is "the same
    score"."""
    assert f32_ulps(got, want) <= ulps or abs(got - want) <= F32_EPS, (
        f"{what} score {got!r} != expected {want!r} (f32 {f32(want)!r})"
    )


def cosine_score(a, b) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    cos = max(-1.0, min(1.0, dot / (na * nb)))
    return (1 + cos) / 2


def euclidean_score(a, b) -> float:
    return 1 / (1 + sum((x - y) ** 2 for x, y in zip(a, b)))


def dot_score(a, b) -> float:
    return (1 + sum(x * y for x, y in zip(a, b))) / 2


DENSE_SCORE = {"COSINE": cosine_score, "EUCLIDEAN": euclidean_score, "DOT_PRODUCT": dot_score}


def f32v(v) -> list[float]:
    return [f32(x) for x in v]


def sparse_dot(q: dict, d: dict, idf: Optional[dict] = None) -> float:
    s = 0.0
    for i, qv in q.items():
        if i in d:
            w = idf[i] if idf else 1.0
            s += f32(qv) * f32(d[i]) * w
    return s


def idf_weights(q: dict, docs: list[dict]) -> dict:
    n = len(docs)
    out = {}
    for i in q:
        nq = sum(1 for d in docs if d.get(i, 0) != 0)
        out[i] = math.log(((n - nq + 0.5) / (nq + 0.5)) + 1)
    return out


def sparse_ranking(q: dict, docs: dict[str, dict], idf: bool = False) -> list[tuple[str, float]]:
    w = idf_weights(q, list(docs.values())) if idf else None
    scored = [(k, sparse_dot(q, d, w)) for k, d in docs.items() if any(i in d and d[i] != 0 for i in q)]
    return sorted(scored, key=lambda kv: -kv[1])


def dense_ranking(q, docs: dict[str, list], sim: str = "COSINE") -> list[tuple[str, float]]:
    fn = DENSE_SCORE[sim]
    return sorted(((k, fn(f32v(q), f32v(v))) for k, v in docs.items()), key=lambda kv: -kv[1])


def rrf(*rankings: list[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for ranking in rankings:
        for rank, (k, _) in enumerate(ranking):
            out[k] = out.get(k, 0.0) + 1 / (rank + 60)
    return out


def dbsf_normalise(ranking: list[tuple[str, float]]) -> dict[str, float]:
    scores = [s for _, s in ranking]
    if len(scores) == 0:
        return {}
    if len(scores) == 1:
        return {ranking[0][0]: 0.5}
    mean = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
    if sd == 0:
        return {k: 0.5 for k, _ in ranking}
    lo = mean - 3 * sd
    return {k: (s - lo) / (6 * sd) for k, s in ranking}


def dbsf(*rankings: list[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for ranking in rankings:
        for k, v in dbsf_normalise(ranking).items():
            out[k] = out.get(k, 0.0) + v
    return out


def ordered(scores: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: -kv[1])


