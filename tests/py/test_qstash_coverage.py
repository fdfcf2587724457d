"""Fails when a public method of the `qstash` SDK's sub-APIs is exercised by no QStash test.

The surface is enumerated at runtime (no server needed): the attributes of a `QStash` instance
that are API objects (`message`, `queue`, `schedule`, `url_group`, `log`, `dlq`,
`flow_control`, `signing_key`, ...) and their public callables, plus `Receiver.verify`. A
method counts as exercised when some tests/py/test_qstash_*.py file (other than this one)
contains `.<api>.<method>(` (sync or `await`ed async call alike). An SDK upgrade that adds an
API object or a method nobody tests makes this fail; so does an exclusion naming something the
SDK no longer has.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from qstash import AsyncQStash, QStash, Receiver

HERE = Path(__file__).resolve().parent

# Attributes of the client that are not APIs of the service.
NON_API_ATTRIBUTES = {"http": "the HTTP transport (request / stream); tests use it for endpoints the SDK lacks"}

# Methods deliberately not exercised, with the reason.
EXCLUDED_METHODS: dict[str, str] = {}


def _public_callables(obj) -> set[str]:
    return {n for n, v in inspect.getmembers(obj) if not n.startswith("_") and callable(v)}


def sdk_surface(cls=QStash) -> dict[str, set[str]]:
    client = cls("unused", base_url="http://127.0.0.1:1")
    apis = {}
    for name, value in vars(client).items():
        if name.startswith("_"):
            continue
        if name in NON_API_ATTRIBUTES:
            continue
        apis[name] = _public_callables(value)
    return apis


def qstash_test_sources() -> str:
    me = Path(__file__).name
    texts = [p.read_text(encoding="utf-8") for p in sorted(HERE.glob("test_qstash_*.py")) if p.name != me]
    assert texts, "no tests/py/test_qstash_*.py files"
    return "\n".join(texts)



def test_enumeration_sanity():
    apis = sdk_surface()
    assert {"message", "queue", "schedule", "url_group", "dlq", "signing_key"} <= apis.keys()
    assert {"publish", "publish_json", "enqueue", "batch", "get", "cancel", "cancel_all"} <= apis["message"]
    assert sum(len(m) for m in apis.values()) > 35
    client = QStash("unused", base_url="http://127.0.0.1:1")
    assert set(NON_API_ATTRIBUTES) <= set(vars(client)), "an exclusion names an attribute the client no longer has"


def test_every_api_method_is_exercised():
    sources = qstash_test_sources()
    missing = []
    for api, methods in sorted(sdk_surface().items()):
        for m in sorted(methods):
            key = f"{api}.{m}"
            if key in EXCLUDED_METHODS:
                continue
            if not re.search(rf"\.{re.escape(api)}\.{re.escape(m)}\(", sources):
                missing.append(key)
    assert missing == [], f"qstash SDK methods no test_qstash_*.py calls: {', '.join(missing)}"


def test_exclusions_are_current():
    apis = sdk_surface()
    stale = [k for k in EXCLUDED_METHODS if k.split(".")[1] not in apis.get(k.split(".")[0], set())]
    assert stale == [], f"exclusions for methods the SDK no longer has: {stale}"


def test_receiver_verify_is_exercised():
    assert _public_callables(Receiver) == {"verify"}, "Receiver grew methods: exercise them"
    sources = qstash_test_sources()
    assert re.search(r"\.verify\(\s*\n?\s*signature=", sources), "no test calls Receiver.verify(signature=...)"
    assert "SignatureError" in sources, "no negative Receiver.verify case"


def test_async_client_mirrors_the_sync_one_and_is_used():
    sync, asy = sdk_surface(QStash), sdk_surface(AsyncQStash)
    assert asy.keys() == sync.keys(), f"API objects differ: {sorted(asy.keys() ^ sync.keys())}"
    extra = {api: sorted(asy[api] - sync[api]) for api in asy if asy[api] - sync[api]}
    assert extra == {}, f"methods only the asyncio client has (exercise them): {extra}"
    sources = qstash_test_sources()
    assert "AsyncQStash" in sources or "async_client()" in sources
    assert len(re.findall(r"await a\.\w+\.\w+\(", sources)) >= 10, "exercise the async client for more calls"
