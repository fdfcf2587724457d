"""Fails when a public `upstash_redis.Redis` command method is exercised by no test.

The SDK surface is enumerated at runtime (no server needed): the public callables of
`upstash_redis.Redis`, and the public callables of the namespaces its properties return
(`json`, `search`). A method counts as exercised when some tests/py file that uses the SDK
(imports `upstash_redis`), other than this one, contains `.name(`; a `json` method when it
contains `json.name(` or `j.name(` (the suites alias the namespace as `j = u.json`). An SDK
upgrade that adds a method, a namespace or a property nobody tests makes this fail; so does an
exclusion naming something the SDK no longer has.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from upstash_redis import Redis
from upstash_redis.asyncio import Redis as AsyncRedis

HERE = Path(__file__).resolve().parent

# Client-side helpers that send no command of their own.
NON_COMMAND_HELPERS = {
    "close": "closes the HTTP session",
    "from_env": "constructor reading UPSTASH_REDIS_REST_URL/TOKEN",
    "pipeline": "builds a Pipeline; its commands are the Redis methods",
    "multi": "builds a MULTI/EXEC Pipeline; its commands are the Redis methods",
}

# Namespaces (properties) whose methods must each be exercised, with the accepted call prefixes.
COVERED_NAMESPACES = {"json": (r"json\.", r"\bj\.")}

# Namespaces stashd does not serve: not checked, listed so that a new namespace still fails.
EXCLUDED_NAMESPACES = {"search": "Upstash Search (SEARCH.*): not implemented by stashd"}

# Attributes of a namespace object that are not commands.
NAMESPACE_NON_COMMANDS = {"client"}


def _public_callables(obj) -> set[str]:
    return {name for name, value in inspect.getmembers(obj) if not name.startswith("_") and callable(value)}


def sdk_surface() -> tuple[set[str], dict[str, set[str]]]:
    methods: set[str] = set()
    namespaces: dict[str, set[str]] = {}
    for name in dir(Redis):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(Redis, name)
        if isinstance(attr, property):
            namespaces[name] = set()
        elif callable(getattr(Redis, name)):
            methods.add(name)
        else:
            raise AssertionError(f"unclassified public attribute Redis.{name} ({type(attr).__name__})")
    client = Redis(url="http://127.0.0.1:1", token="unused", allow_telemetry=False)
    try:
        for ns in namespaces:
            namespaces[ns] = _public_callables(getattr(client, ns)) - NAMESPACE_NON_COMMANDS
    finally:
        client.close()
    return methods, namespaces


def sdk_test_sources() -> str:
    me = Path(__file__).name
    texts = []
    for path in sorted(HERE.glob("*.py")):
        if path.name == me:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(from|import) upstash_redis\b", text, re.M):
            texts.append(text)
    assert texts, "no tests/py file imports upstash_redis"
    return "\n".join(texts)


def test_enumeration_sanity():
    methods, namespaces = sdk_surface()
    for name in ("get", "set", "zadd", "xadd", "eval", "scan", "hgetall", "bitfield", "execute"):
        assert name in methods, f"{name} not among {len(methods)} methods"
    assert len(methods) > 150
    assert {"get", "set", "arrappend"} <= namespaces["json"]


def test_every_command_method_is_exercised():
    methods, _ = sdk_surface()
    sources = sdk_test_sources()
    missing = sorted(
        name
        for name in methods - NON_COMMAND_HELPERS.keys()
        if not re.search(rf"\.{re.escape(name)}\(", sources)
    )
    assert missing == [], f"upstash_redis.Redis methods no test calls as .name(: {', '.join(missing)}"


def test_every_covered_namespace_method_is_exercised():
    _, namespaces = sdk_surface()
    sources = sdk_test_sources()
    missing = []
    for ns, prefixes in COVERED_NAMESPACES.items():
        assert ns in namespaces, f"the SDK has no {ns} namespace any more"
        for name in sorted(namespaces[ns]):
            if not any(re.search(rf"{prefix}{re.escape(name)}\(", sources) for prefix in prefixes):
                missing.append(f"{ns}.{name}")
    assert missing == [], f"namespaced methods no test calls: {', '.join(missing)}"


def test_every_namespace_is_classified_and_exclusions_are_current():
    methods, namespaces = sdk_surface()
    unknown = sorted(set(namespaces) - COVERED_NAMESPACES.keys() - EXCLUDED_NAMESPACES.keys())
    assert unknown == [], f"unclassified SDK namespaces (test them or exclude them): {unknown}"
    stale = sorted((NON_COMMAND_HELPERS.keys() - methods) | (EXCLUDED_NAMESPACES.keys() - namespaces.keys()))
    assert stale == [], f"exclusions for things the SDK no longer has: {stale}"


def test_async_client_has_no_method_the_sync_client_lacks():
    """The asyncio client is not exercised separately: it must not offer anything beyond the sync one."""
    sync = {n for n in dir(Redis) if not n.startswith("_")}
    extra = sorted(n for n in dir(AsyncRedis) if not n.startswith("_") and n not in sync)
    assert extra == [], f"methods only the asyncio client has (exercise them): {extra}"
