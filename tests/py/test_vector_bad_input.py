"""Bad input to the Vector face, through the SDK (sync and asyncio) and raw HTTP where the SDK
cannot send it: each case asserts the error (status and message where the contract fixes them)
AND that nothing changed (namespaces, counts, every stored vector)."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from upstash_vector import Vector
from upstash_vector.errors import UpstashError
from upstash_vector.types import Data, SparseVector

from vector_support import VectorServer, base_specs, vclient, vsrv  # noqa: F401

Q4 = [1.0, 0.0, 0.0, 0.0]
SEED_DENSE = [("a", [0.1, 0.2, 0.3, 0.4], {"city": "Istanbul", "n": 1}, "da"), ("b", [0.4, 0.3, 0.2, 0.1], {"n": 2})]


def snapshot(c) -> tuple:
    nss = sorted(c.list_namespaces())
    info = c.info()
    per_ns = {}
    for ns in nss:
        page = c.range(cursor="", limit=1000, include_vectors=True, include_metadata=True, include_data=True, namespace=ns)
        per_ns[ns] = page.vectors
    return nss, info.vector_count, {k: n.vector_count for k, n in info.namespaces.items()}, per_ns


@pytest.fixture
def seeded(vclient):
    """A seeded dense index (and its snapshot) per SDK form; asserts at the end that the
    snapshot did not change unless the test said otherwise."""
    c = vclient("dense")
    c.upsert(SEED_DENSE)
    c.upsert([("a", Q4, {"ns": True})], namespace="ns1")
    before = snapshot(c)
    yield c
    assert snapshot(c) == before, "a refused request changed the index"


def refused(fn, *a, match: str = "", **kw) -> str:
    with pytest.raises(UpstashError) as e:
        fn(*a, **kw)
    msg = str(e.value)
    assert msg, "an error without a message"
    if match:
        assert match.lower() in msg.lower(), f"error {msg!r} does not mention {match!r}"
    return msg


def raw_error(r: httpx.Response, status, match: str = "") -> str:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, f"{r.request.url}: want {statuses}, got {r.status_code} {r.text[:300]}"
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert body.get("status") == r.status_code, body
    assert "result" not in body
    if match:
        assert match.lower() in body["error"].lower(), body
    return body["error"]


# =========================================================================== dimensions


def test_wrong_dimension(seeded, vsrv):
    c = seeded
    refused(c.upsert, [("c", [0.1, 0.2])], match="dimension")
    refused(c.upsert, [("c", Q4), ("d", [0.1, 0.2, 0.3, 0.4, 0.5])], match="dimension")  # the whole batch is refused
    refused(c.update, "a", vector=[0.1, 0.2], match="dimension")
    refused(c.query, vector=[0.1, 0.2, 0.3], match="dimension")
    refused(c.resumable_query, vector=[0.1], match="dimension")
    refused(c.query_many, queries=[{"vector": Q4}, {"vector": [1.0]}], match="dimension")
    r = vsrv.raw("dense", "/upsert", {"id": "c", "vector": [0.1, 0.2]})
    raw_error(r, 422, "dimension")
    assert "2" in r.json()["error"] and "4" in r.json()["error"]
    raw_error(vsrv.raw("dense", "/upsert", {"id": "c", "vector": []}), (400, 422))


# =========================================================================== NaN / inf


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e39", "-1e39"])
def test_nan_and_infinite_values(seeded, vsrv, bad):
    body = '{"id":"c","vector":[0.1,%s,0.3,0.4]}' % bad
    raw_error(vsrv.raw("dense", "/upsert", content=body.encode()), 400)
    raw_error(vsrv.raw("dense", "/query", content=('{"vector":[0.1,%s,0.3,0.4],"topK":1}' % bad).encode()), 400)
    raw_error(vsrv.raw("dense", "/update", content=('{"id":"a","vector":[0.1,%s,0.3,0.4]}' % bad).encode()), 400)
    raw_error(vsrv.raw("sparse", "/upsert", content=('{"id":"c","sparseVector":{"indices":[1],"values":[%s]}}' % bad).encode()), 400)
    # The SDK refuses to serialise NaN itself (httpx json is strict): the server never sees it.
    with pytest.raises(ValueError):
        seeded.upsert([("c", [0.1, float("nan"), 0.3, 0.4])])


# =========================================================================== sparse arrays


def test_mismatched_and_oversized_sparse_vectors(vclient, vsrv):
    c = vclient("sparse")
    c.upsert([("s", ([1, 2], [0.5, 0.5]), {"k": 1})])
    before = snapshot(c)
    refused(c.upsert, [("t", ([1, 2], [0.5]))])
    refused(c.upsert, [("t", SparseVector([1], [0.5, 0.6]))])
    refused(c.upsert, [("t", ([1, 1], [0.5, 0.6]))])  # duplicate index
    refused(c.upsert, [("t", (list(range(1001)), [0.1] * 1001))])  # more than 1000 non-zeros
    refused(c.update, "s", sparse_vector=([1, 2, 3], [0.5]))
    refused(c.query, sparse_vector=([1, 2], [0.5]))
    raw_error(vsrv.raw("sparse", "/upsert", {"id": "t", "sparseVector": {"indices": [1.5], "values": [1.0]}}), 400)
    raw_error(vsrv.raw("sparse", "/upsert", {"id": "t", "sparseVector": {"indices": [1]}}), 400)
    assert snapshot(c) == before


def test_sparse_index_beyond_signed_32_bit(vclient, vsrv):
    """Indices are signed 32-bit ints (vector.md §5; the SDK's SparseVector doc)."""
    c = vclient("sparse")
    before = snapshot(c)
    raw_error(vsrv.raw("sparse", "/upsert", {"id": "t", "sparseVector": {"indices": [2147483648], "values": [1.0]}}), 400)
    raw_error(vsrv.raw("sparse", "/upsert", {"id": "t", "sparseVector": {"indices": [-2147483649], "values": [1.0]}}), 400)
    assert snapshot(c) == before


def test_wrong_component_for_index_type(vclient, vsrv):
    d = vclient("dense")
    before_d = snapshot(d)
    refused(d.upsert, [("x", Q4, ([1], [1.0]))])  # a sparse part on a dense index
    refused(d.query, sparse_vector=([1], [1.0]))
    raw_error(vsrv.raw("dense", "/upsert", {"id": "x"}), (400, 422))  # neither vector nor sparseVector
    raw_error(vsrv.raw("dense", "/upsert", {"id": "x", "vector": None, "sparseVector": None}), (400, 422))
    assert snapshot(d) == before_d
    s = vclient("sparse")
    before_s = snapshot(s)
    refused(s.upsert, [("x", [0.1, 0.2])])
    refused(s.query, vector=[0.1, 0.2])
    assert snapshot(s) == before_s
    h = vclient("hybrid")
    h.upsert([("h", [0.6, 0.8], ([1], [1.0]))])
    before_h = snapshot(h)
    refused(h.upsert, [("x", [0.6, 0.8])])  # both parts are required
    refused(h.upsert, [("x", ([1], [1.0]))])
    refused(h.update, "h", vector=[0.8, 0.6])  # both or neither
    refused(h.update, "h", sparse_vector=([2], [1.0]))
    assert snapshot(h) == before_h


def test_data_on_an_index_without_a_model(seeded, vsrv):
    c = seeded
    refused(c.upsert, [Data(id="t", data="some text")], match="embedding")
    refused(c.upsert, [Vector(id="t", data="becomes upsert-data")], match="embedding")
    refused(c.query, data="some text", match="embedding")
    refused(c.resumable_query, data="some text")
    refused(c.query_many, queries=[{"data": "x"}, {"data": "y"}])
    raw_error(vsrv.raw("dense", "/upsert-data", {"id": "t", "data": "x"}), 422, "Embedding data for this index is not allowed")


# =========================================================================== ids, metadata, data


def test_ids_too_long_and_empty(seeded, vsrv):
    c = seeded
    refused(c.upsert, [("x" * 513, Q4)])
    refused(c.upsert, [("é" * 257, Q4)])  # 514 bytes of UTF-8
    refused(c.upsert, [("", Q4)])
    raw_error(vsrv.raw("dense", "/upsert", {"vector": Q4}), (400, 422))  # no id at all
    # 512 bytes is still fine (then removed, so the snapshot check holds).
    longest = "y" * 512
    assert c.upsert([(longest, Q4)]) == "Success"
    assert c.fetch(longest)[0].id == longest
    assert c.delete(longest).deleted == 1


def test_metadata_and_data_too_large(seeded, vsrv):
    c = seeded
    big = {"blob": "x" * (48 * 1024 + 1)}
    refused(c.upsert, [("m", Q4, big)])
    refused(c.update, "a", metadata=big)
    from upstash_vector.types import MetadataUpdateMode

    refused(c.update, "a", metadata=big, metadata_update_mode=MetadataUpdateMode.PATCH)
    refused(c.upsert, [("d", Q4, None, "z" * (1024 * 1024 + 1))])
    refused(c.update, "a", data="z" * (1024 * 1024 + 1))


@pytest.mark.parametrize("meta", [[1, 2], "text", 5, True])
def test_metadata_must_be_an_object(vclient, vsrv, meta):
    """Metadata is a JSON object in every SDK (Python `Dict`, JS `Record<string, unknown>`, Go
    `map[string]any`, which cannot even decode anything else on fetch)."""
    c = vclient("dense")
    c.upsert(SEED_DENSE)
    before = snapshot(c)
    raw_error(vsrv.raw("dense", "/upsert", {"id": "m", "vector": Q4, "metadata": meta}), 400)
    raw_error(vsrv.raw("dense", "/update", {"id": "a", "metadata": meta}), 400)
    assert snapshot(c) == before


def test_batch_too_large(seeded):
    refused(seeded.upsert, [(f"v{i}", Q4) for i in range(1001)])


# =========================================================================== filters


@pytest.mark.parametrize(
    "flt,column",
    [
        ("country = 'Turkey' AND AND x = 1", 24),
        ("city = 'Istanbul", 8),
        ("population @ 5", 12),
        ("(n = 1", 7),
        ("n >", 4),
    ],
)
def test_malformed_filters_name_the_position(seeded, flt, column):
    c = seeded
    for call in (
        lambda: c.query(vector=Q4, filter=flt),
        lambda: c.resumable_query(vector=Q4, filter=flt),
        lambda: c.delete(filter=flt),
        lambda: c.query_many(queries=[{"vector": Q4, "filter": flt}, {"vector": Q4}]),
    ):
        msg = refused(call)
        assert f"column {column}" in msg, f"{flt!r}: {msg!r} does not give the position (column {column})"


@pytest.mark.parametrize("flt", ["n > 'text'", "city GLOB 5", "city GLOB '[a-'", "HAS FIELD", "NOT n = 1", "n IN ()", "=", "x" * 70000])
def test_other_invalid_filters(seeded, flt):
    refused(seeded.query, vector=Q4, filter=flt)
    refused(seeded.delete, filter=flt)


# =========================================================================== namespaces


def test_unknown_namespaces(seeded, vsrv):
    c = seeded
    refused(c.delete_namespace, "no-such-ns")
    raw_error(vsrv.raw("dense", "/delete-namespace/no-such-ns"), 404, "no-such-ns")
    # Reads and no-op writes on an unknown namespace answer (empty / 0 / False) or 404, and
    # never create it.
    assert c.query(vector=Q4, namespace="ghost") == []
    scores, handle = c.resumable_query(vector=Q4, namespace="ghost")
    assert scores == [] and handle.fetch_next(2) == []
    handle.stop()
    for call, empty in (
        (lambda: c.fetch(["a"], namespace="ghost"), [None]),
        (lambda: c.range(cursor="", limit=5, namespace="ghost").vectors, []),
        (lambda: c.delete(["a"], namespace="ghost").deleted, 0),
        (lambda: c.update("a", metadata={"x": 1}, namespace="ghost"), False),
        (lambda: c.reset(namespace="ghost"), "Success"),
    ):
        try:
            got = call()
        except UpstashError as e:
            assert "ghost" in str(e), str(e)
        else:
            assert got == empty
        assert "ghost" not in c.list_namespaces()
    raw_error(vsrv.raw("dense", "/upsert/" + "n" * 256, {"id": "z", "vector": Q4}), 400)  # name too long


def test_default_namespace_cannot_be_deleted(seeded, vsrv):
    raw_error(vsrv.raw("dense", "/delete-namespace"), (400, 404))
    assert "" in seeded.list_namespaces()


# =========================================================================== top_k, resumable ids


@pytest.mark.parametrize("k", [-1, 1001, 10**9])
def test_top_k_out_of_range(seeded, vsrv, k):
    refused(seeded.query, vector=Q4, top_k=k)
    refused(seeded.resumable_query, vector=Q4, top_k=k)
    raw_error(vsrv.raw("dense", "/query", {"vector": Q4, "topK": k}), 400)


def test_top_k_limits_accepted(seeded):
    assert [r.id for r in seeded.query(vector=Q4, top_k=1000)] == ["b", "a"]


def test_expired_stopped_and_unknown_resumable_ids(seeded, vsrv):
    c = seeded
    scores, handle = c.resumable_query(vector=Q4, top_k=1, max_idle=1)
    assert [s.id for s in scores] == ["b"]
    time.sleep(2.5)
    refused(handle.fetch_next, 1)
    refused(handle.stop)
    scores, handle = c.resumable_query(vector=Q4, top_k=1)
    handle.stop()
    refused(handle.fetch_next, 1)
    for path, body in (
        ("/resumable-query-next", {"uuid": str(uuid.uuid4()), "additionalK": 1}),
        ("/resumable-query-end", {"uuid": str(uuid.uuid4())}),
        ("/resumable-query-next", {"uuid": "not-a-uuid", "additionalK": 1}),
        ("/resumable-query-next", {"additionalK": 1}),
    ):
        r = vsrv.raw("dense", path, body)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        raw_error(r, r.status_code)
    scores, handle = c.resumable_query(vector=Q4, top_k=1)
    refused(handle.fetch_next, -1)
    assert [s.id for s in handle.fetch_next(1)] == ["a"]  # still usable after a refused call
    handle.stop()


def test_resumable_query_ids_are_per_index():
    """Another index's resumable query id is refused (4xx), quickly, and the server goes on
    serving. Own server: a deadlock here must not take the shared one down."""
    s = VectorServer(specs=base_specs()[:2], with_models=False)
    s.start()
    try:
        d = s.index("dense")
        d.upsert(SEED_DENSE)
        scores, handle = d.resumable_query(vector=Q4, top_k=1)
        for path, body in (
            ("/resumable-query-next", {"uuid": handle._uid, "additionalK": 1}),
            ("/resumable-query-end", {"uuid": handle._uid}),
        ):
            try:
                r = httpx.post(s.url("euclid") + path, headers=s.auth("euclid"), json=body, timeout=5)
            except httpx.TimeoutException:
                pytest.fail(f"{path} on index euclid with index dense's resumable query id hung (no answer in 5 s)")
            assert 400 <= r.status_code < 500, f"another index's resumable query id was accepted: {r.status_code} {r.text}"
        try:
            r = httpx.post(s.url("dense") + "/resumable-query-next", headers=s.auth("dense"), json={"uuid": handle._uid, "additionalK": 1}, timeout=5)
        except httpx.TimeoutException:
            pytest.fail("the vector face stopped answering after a cross-index resumable-query-next")
        assert r.status_code == 200 and [x["id"] for x in r.json()["result"]] == ["a"]
        handle.stop()
        d._client.close()
    finally:
        s.kill()


# =========================================================================== tokens


def test_read_only_token_cannot_write(vsrv, vclient):
    rw = vclient("dense")
    rw.upsert(SEED_DENSE)
    rw.upsert([("a", Q4)], namespace="ns1")
    before = snapshot(rw)
    ro = vclient("dense", readonly=True)
    for call in (
        lambda: ro.upsert([("x", Q4)]),
        lambda: ro.upsert([Data(id="x", data="text")]),
        lambda: ro.update("a", metadata={"x": 1}),
        lambda: ro.delete("a"),
        lambda: ro.delete(prefix="a"),
        lambda: ro.delete(filter="n = 1"),
        lambda: ro.reset(),
        lambda: ro.reset(namespace="ns1"),
        lambda: ro.reset(all=True),
        lambda: ro.delete_namespace("ns1"),
    ):
        refused(call, match="read-only")
    for path, body in (("/upsert", {"id": "x", "vector": Q4}), ("/reset?all", None), ("/delete-namespace/ns1", None), ("/upsert-data", {"id": "x", "data": "t"})):
        raw_error(vsrv.raw("dense", path, body, readonly=True), 403, "read-only")
    # Reads work with it.
    assert [r.id for r in ro.query(vector=Q4, top_k=1)] == ["b"]
    assert ro.fetch("a")[0].id == "a"
    assert len(ro.range(cursor="", limit=10).vectors) == 2
    assert ro.info().vector_count == 3
    assert sorted(ro.list_namespaces()) == ["", "ns1"]
    scores, handle = ro.resumable_query(vector=Q4, top_k=1)
    assert [s.id for s in handle.fetch_next(1)] == ["a"]
    handle.stop()
    assert ro.query_many(queries=[{"vector": Q4, "top_k": 1}, {"vector": Q4, "top_k": 2}])[1][1].id == "a"
    assert snapshot(rw) == before


def test_bad_and_missing_tokens(vsrv):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {vsrv.token('euclid')}"}):
        r = httpx.post(vsrv.url("dense") + "/info", headers=headers)
        assert raw_error(r, 401) == "Unauthorized: Invalid auth token"
        r = httpx.post(vsrv.url("dense") + "/upsert", headers=headers, json={"id": "zz", "vector": Q4})
        raw_error(r, 401)
    c = vsrv.index("dense")
    try:
        assert c.fetch("zz") == [None]
    finally:
        c._client.close()


def test_unknown_index_and_command(vsrv):
    r = httpx.post(vsrv.base + "/vector/no-such-index/info", headers=vsrv.auth("dense"))
    raw_error(r, 404)
    r = vsrv.raw("dense", "/no-such-command", {})
    assert 400 <= r.status_code < 500 and "error" in r.json()
    # A Redis-style command at the bare base URL fails (vector.md §4.10).
    r = httpx.post(vsrv.url("dense"), headers=vsrv.auth("dense"), json=["get", "1", "2"])
    assert 400 <= r.status_code < 500 and "error" in r.json(), r.text


def test_malformed_bodies(seeded, vsrv):
    raw_error(vsrv.raw("dense", "/upsert", content=b'{"id": "x", "vector": [0.1,'), 400)
    raw_error(vsrv.raw("dense", "/upsert", content=b"not json at all"), 400)
    raw_error(vsrv.raw("dense", "/upsert", {"id": "x", "vector": "0.1,0.2,0.3,0.4"}), 400)
    raw_error(vsrv.raw("dense", "/upsert", {"id": {"nested": 1}, "vector": Q4}), 400)
    raw_error(vsrv.raw("dense", "/query", {"vector": Q4, "topK": "ten"}), 400)
    raw_error(vsrv.raw("dense", "/query", {"vector": Q4, "weightingStrategy": "BM42"}), 400)
    raw_error(vsrv.raw("hybrid", "/query", {"vector": [0.6, 0.8], "sparseVector": {"indices": [1], "values": [1.0]}, "fusionAlgorithm": "MAGIC"}), 400)
    raw_error(vsrv.raw("dense", "/update", {"id": "a", "metadata": {"x": 1}, "metadataUpdateMode": "MERGE"}), 400)
    raw_error(vsrv.raw("dense", "/fetch", {"ids": ["a"], "prefix": "a"}), 400, "Only one of ids or prefix must be provided.")
    raw_error(vsrv.raw("dense", "/delete", {"ids": ["a"], "prefix": "a"}), 400, "Only and only one of the ids, prefix, or filter must be provided.")
    raw_error(vsrv.raw("dense", "/delete", {"prefix": "a", "filter": "n = 1"}), 400, "Only and only one")
    raw_error(vsrv.raw("dense", "/range", {"cursor": "not-a-cursor", "limit": 5}), 400)
    raw_error(vsrv.raw("dense", "/range", {"cursor": "", "limit": -5}), 400)
    r = vsrv.raw("dense", "/upsert", content=json.dumps({"id": "x", "vector": Q4}).encode(), method="PATCH")
    assert r.status_code == 405, r.status_code
