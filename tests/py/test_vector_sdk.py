"""Upstash Vector through the official Python SDK (`upstash-vector` 0.8.0), sync and asyncio.

Every test takes `vclient` (parametrized over "sync" = `Index` and "async" = `AsyncIndex`
driven through `AsyncFacade`), so each SDK method is exercised in both forms with the same
assertions. Scores are compared with the formulas of vector.md §5 evaluated here from the
inputs (`vector_support`), and with the [verified] values of §5 on the scenarios that produce
them.
"""

from __future__ import annotations

import math
import time

import pytest
from upstash_vector import Vector
from upstash_vector.errors import ClientError, UpstashError
from upstash_vector.types import (
    Data,
    FusionAlgorithm,
    MetadataUpdateMode,
    QueryMode,
    SparseVector,
    WeightingStrategy,
)

from vector_support import (  # noqa: F401
    DENSE_MODEL,
    assert_score,
    dbsf,
    dense_ranking,
    f32,
    ordered,
    rrf,
    sparse_ranking,
    vclient,
    vsrv,
)

# Five dense 4-d vectors whose cosine order from Q4 is id1..id5.
Q4 = [1.0, 0.0, 0.0, 0.0]
ANGLES = [0.0, 0.3, 0.6, 0.9, 1.2]
FAN = {f"id{i + 1}": [round(math.cos(a), 6), round(math.sin(a), 6), 0.0, 0.0] for i, a in enumerate(ANGLES)}

CITIES = {
    "istanbul": {
        "city": "Istanbul", "country": "Turkey", "is_capital": False, "population": 15460000,
        "geography": {"continent": "Asia", "coordinates": {"latitude": 41.0, "longitude": 28.9}},
        "economy": {"currency": "TRY", "major_industries": ["Tourism", "Textiles", "Finance"]},
    },
    "berlin": {
        "city": "Berlin", "country": "Germany", "is_capital": True, "population": 3645000,
        "geography": {"continent": "Europe", "coordinates": {"latitude": 52.5}},
        "economy": {"currency": "EUR", "major_industries": ["Tech", "Tourism"]},
    },
    "paris": {
        "city": "Paris", "country": "France", "is_capital": True, "population": 2161000,
        "geography": {"continent": "Europe"},
        "economy": {"currency": "EUR", "major_industries": ["Tourism", "Fashion", "Finance"]},
    },
    "tokyo": {
        "city": "Tokyo", "country": "Japan", "is_capital": True, "population": 13960000,
        "geography": {"continent": "Asia", "coordinates": {"latitude": 35.7, "longitude": 139.7}},
        "economy": {"currency": "JPY", "major_industries": ["Tech", "Finance"]},
    },
    "ankara": {
        "city": "Ankara", "country": "Turkey", "is_capital": True, "population": 5663000,
        "geography": {"continent": "Asia"},
        "economy": {"currency": "TRY", "major_industries": ["Government"]},
    },
}
CITY_VEC = {
    "istanbul": [0.9, 0.1, 0.1, 0.1],
    "berlin": [0.8, 0.3, 0.1, 0.0],
    "paris": [0.7, 0.5, 0.2, 0.1],
    "tokyo": [0.5, 0.6, 0.4, 0.2],
    "ankara": [0.2, 0.4, 0.8, 0.6],
}

FILTERS = [
    ("population >= 1000000 AND geography.continent = 'Asia'", {"istanbul", "tokyo", "ankara"}),
    ("country = 'Turkey' AND population = 15460000 AND is_capital = false", {"istanbul"}),
    ("city GLOB '?[sz]*[^m-z]'", {"istanbul"}),
    ("city NOT GLOB 'A*'", {"istanbul", "berlin", "paris", "tokyo"}),
    ("country IN ('Germany', 'Turkey', 'France')", {"istanbul", "berlin", "paris", "ankara"}),
    ("economy.currency NOT IN ('USD', 'EUR')", {"istanbul", "tokyo", "ankara"}),
    ("economy.major_industries CONTAINS 'Tourism'", {"istanbul", "berlin", "paris"}),
    ("economy.major_industries NOT CONTAINS 'Finance'", {"berlin", "ankara"}),
    ("HAS NOT FIELD geography.coordinates.longitude", {"berlin", "paris", "ankara"}),
    ("HAS FIELD geography.coordinates", {"istanbul", "berlin", "tokyo"}),
    ("economy.major_industries[#-1] = 'Finance'", {"istanbul", "paris", "tokyo"}),
    ("economy.major_industries[0] = 'Tech'", {"berlin", "tokyo"}),
    ("population > 5000000 and (country = 'Japan' OR country = 'Germany')", {"tokyo"}),
    # AND binds tighter than OR.
    ("country = 'Turkey' OR country = 'Japan' AND is_capital = true", {"istanbul", "ankara", "tokyo"}),
    ("is_capital = FALSE", {"istanbul"}),
    ("population < 3000000", {"paris"}),
    ("population <= 3645000", {"berlin", "paris"}),
    ("geography.coordinates.latitude > 40.5", {"istanbul", "berlin"}),
    ("population != 3645000", {"istanbul", "paris", "tokyo", "ankara"}),
    ("no_such_field = 'x' OR no_such_field != 'x'", set()),
    ("", set(CITIES)),
]


def ids(results) -> list[str]:
    return [r.id for r in results]


def load_cities(c, namespace: str = "") -> None:
    assert c.upsert([(k, CITY_VEC[k], CITIES[k]) for k in CITIES], namespace=namespace) == "Success"


# =========================================================================== upsert


def test_upsert_tuples_dicts_vectors(vclient):
    c = vclient("dense")
    assert c.upsert([
        ("t1", [0.1, 0.2, 0.3, 0.4]),
        ("t2", [0.5, 0.6, 0.7, 0.8], {"a": 1, "nested": {"b": [1, "x", None, True]}}),
        ("t3", [1.5, -2.25, 3.0, 0.001], {"b": "x"}, "data three"),
    ]) == "Success"
    assert c.upsert([
        {"id": "d1", "vector": [0.9, 0.8, 0.7, 0.6], "metadata": {"k": "v"}, "data": "dict data"},
        {"id": "d2", "vector": [-0.1, -0.2, -0.3, -0.4]},
    ]) == "Success"
    assert c.upsert([
        Vector(id="v1", vector=[0.25, 0.5, 0.75, 1.0], metadata={"vec": True}, data="vector data"),
        Vector(id=33, vector=[1e-7, 2.5e10, -3.75, 0.3]),
    ]) == "Success"

    want = {
        "t1": ([0.1, 0.2, 0.3, 0.4], None, None),
        "t2": ([0.5, 0.6, 0.7, 0.8], {"a": 1, "nested": {"b": [1, "x", None, True]}}, None),
        "t3": ([1.5, -2.25, 3.0, 0.001], {"b": "x"}, "data three"),
        "d1": ([0.9, 0.8, 0.7, 0.6], {"k": "v"}, "dict data"),
        "d2": ([-0.1, -0.2, -0.3, -0.4], None, None),
        "v1": ([0.25, 0.5, 0.75, 1.0], {"vec": True}, "vector data"),
        "33": ([1e-7, 2.5e10, -3.75, 0.3], None, None),  # numeric id comes back as a string
    }
    got = c.fetch(list(want), include_vectors=True, include_metadata=True, include_data=True)
    assert [g.id for g in got] == list(want)
    for g in got:
        vec, meta, data = want[g.id]
        assert g.vector == vec, f"{g.id}: f32 values must come back in shortest round-trip form"
        assert (g.metadata, g.data, g.sparse_vector) == (meta, data, None), g.id

    bare = c.fetch(list(want))
    assert all((b.vector, b.metadata, b.data) == (None, None, None) for b in bare)
    assert c.info().vector_count == len(want)

    # Upsert on an existing id replaces the whole record.
    c.upsert([("t3", [4.0, 3.0, 2.0, 1.0])])
    [t3] = c.fetch("t3", include_vectors=True, include_metadata=True, include_data=True)
    assert (t3.vector, t3.metadata, t3.data) == ([4.0, 3.0, 2.0, 1.0], None, None)
    assert c.info().vector_count == len(want)

    # Namespaces are separate.
    c.upsert([("t1", [0.4, 0.3, 0.2, 0.1], {"ns": 1})], namespace="ns1")
    [a] = c.fetch("t1", include_vectors=True, include_metadata=True, namespace="ns1")
    [b] = c.fetch("t1", include_vectors=True, include_metadata=True)
    assert (a.vector, a.metadata) == ([0.4, 0.3, 0.2, 0.1], {"ns": 1})
    assert (b.vector, b.metadata) == ([0.1, 0.2, 0.3, 0.4], None)
    assert c.fetch("d1", namespace="ns1") == [None]


def test_upsert_sparse(vclient):
    c = vclient("sparse")
    assert c.upsert([
        ("s1", ([1, 5], [0.5, 0.25])),
        ("s2", SparseVector([2, 3], [0.1, 0.2]), {"m": 1}),
        ("s3", ([1, 2], [0.3, 0.4]), {"m": 2}, "sparse data"),
        {"id": "s4", "sparse_vector": ([7], [1.5]), "metadata": {"m": 4}},
        Vector(id="s5", sparse_vector=SparseVector([0, 2147483647], [0.5, 2.0]), data="extremes"),
    ]) == "Success"
    want = {
        "s1": ([1, 5], [0.5, 0.25], None, None),
        "s2": ([2, 3], [0.1, 0.2], {"m": 1}, None),
        "s3": ([1, 2], [0.3, 0.4], {"m": 2}, "sparse data"),
        "s4": ([7], [1.5], {"m": 4}, None),
        "s5": ([0, 2147483647], [0.5, 2.0], None, "extremes"),
    }
    got = c.fetch(list(want), include_vectors=True, include_metadata=True, include_data=True)
    for g in got:
        idx, vals, meta, data = want[g.id]
        assert g.vector is None, f"{g.id}: a sparse index has no dense vector"
        assert g.sparse_vector is not None and (g.sparse_vector.indices, g.sparse_vector.values) == (idx, vals), g.id
        assert (g.metadata, g.data) == (meta, data)
    assert c.info().vector_count == 5


def test_sparse_indices_are_signed_32_bit(vclient):
    """vector.md §5 and the SDK's SparseVector doc: "All the signed 32 bit integer range is valid
    as the dimension indices"."""
    c = vclient("sparse")
    assert c.upsert([("neg", ([-2147483648, -5, 2147483647], [0.5, 1.0, 2.0]))]) == "Success"
    [g] = c.fetch("neg", include_vectors=True)
    assert (g.sparse_vector.indices, g.sparse_vector.values) == ([-2147483648, -5, 2147483647], [0.5, 1.0, 2.0])
    res = c.query(sparse_vector=([-5], [2.0]))
    assert [(r.id, r.score) for r in res] == [("neg", 2.0)]


def test_upsert_hybrid(vclient):
    c = vclient("hybrid")
    assert c.upsert([
        ("h1", [0.1, 0.2], ([0, 1], [0.1, 0.1]), {"k": "v"}, "hybrid data"),
        ("h2", [0.3, 0.4], SparseVector([1, 2], [0.2, 0.3])),
        {"id": "h3", "vector": [0.5, 0.6], "sparse_vector": ([9], [0.9])},
        Vector(id="h4", vector=[0.7, 0.8], sparse_vector=([3, 4], [1.0, 2.0]), metadata={"v": 4}),
    ]) == "Success"
    got = c.fetch(["h1", "h2", "h3", "h4"], include_vectors=True, include_metadata=True, include_data=True)
    assert [(g.id, g.vector, g.sparse_vector.indices, g.sparse_vector.values, g.metadata, g.data) for g in got] == [
        ("h1", [0.1, 0.2], [0, 1], [0.1, 0.1], {"k": "v"}, "hybrid data"),
        ("h2", [0.3, 0.4], [1, 2], [0.2, 0.3], None, None),
        ("h3", [0.5, 0.6], [9], [0.9], None, None),
        ("h4", [0.7, 0.8], [3, 4], [1.0, 2.0], {"v": 4}, None),
    ]


def test_upsert_data_embeds(vclient):
    c = vclient("embed")
    assert c.upsert([
        ("e1", "hello world", {"k": 1}),
        ("e2", "vector databases store embeddings"),
        Data(id="e3", data="the quick brown fox", metadata={"k": 3}),
        {"id": "e4", "data": "a dictionary with data only"},
        Vector(id="e5", data="a Vector object with only data is sent to upsert-data"),
    ]) == "Success"
    got = c.fetch(["e1", "e2", "e3", "e4", "e5"], include_vectors=True, include_metadata=True, include_data=True)
    assert [(g.id, g.data, g.metadata) for g in got] == [
        ("e1", "hello world", {"k": 1}),
        ("e2", "vector databases store embeddings", None),
        ("e3", "the quick brown fox", {"k": 3}),
        ("e4", "a dictionary with data only", None),
        ("e5", "a Vector object with only data is sent to upsert-data", None),
    ]
    assert all(g.vector is not None and len(g.vector) == 384 for g in got)
    # Identical text embeds identically: score exactly 1 (vector.md §4.5).
    res = c.query(data="hello world", top_k=1, include_data=True)
    assert (ids(res), res[0].score, res[0].data) == (["e1"], 1, "hello world")
    # Querying with the stored vector gives the same document, also exactly 1.
    res = c.query(vector=got[2].vector, top_k=1)
    assert (ids(res), res[0].score) == (["e3"], 1)
    # Similar text beats unrelated text.
    res = c.query(data="hello, world!", top_k=5)
    assert res[0].id == "e1"


# =========================================================================== query


@pytest.mark.parametrize(
    "name,sim,docs,q",
    [
        ("dense", "COSINE", FAN | {"neg": [-1.0, -0.5, 0.0, 0.25]}, [0.9, 0.2, 0.1, 0.0]),
        ("euclid", "EUCLIDEAN", {"a": [0.0, 0.0], "b": [1.0, 1.0], "c": [0.3, -0.2], "d": [3.0, 4.0]}, [0.25, 0.5]),
        (
            "dot",
            "DOT_PRODUCT",
            {k: [round(math.cos(t), 6), round(math.sin(t), 6)] for k, t in {"a": 0.1, "b": 0.7, "c": 1.9, "d": 3.0}.items()},
            [round(math.cos(0.2), 6), round(math.sin(0.2), 6)],
        ),
    ],
)
def test_query_dense_scores(vclient, name, sim, docs, q):
    c = vclient(name)
    c.upsert([(k, v) for k, v in docs.items()])
    want = dense_ranking(q, docs, sim)
    res = c.query(vector=q, top_k=len(docs))
    assert ids(res) == [k for k, _ in want]
    for r, (k, s) in zip(res, want):
        assert_score(r.score, s, what=f"{sim} {k}")
        assert 0 <= r.score <= 1
    # An identical vector scores exactly 1.
    k0, v0 = next(iter(docs.items()))
    top = c.query(vector=v0, top_k=1)
    assert ids(top) == [k0]
    if sim != "DOT_PRODUCT":  # the dot-product vectors are unit length only to 6 digits
        assert top[0].score == 1
    # top_k
    assert ids(c.query(vector=q, top_k=2)) == [k for k, _ in want[:2]]
    assert len(c.query(vector=q)) == len(docs)  # default 10 > N


def test_query_include_flags(vclient):
    c = vclient("dense")
    c.upsert([
        ("m", FAN["id1"], {"x": 1}, "dm"),
        ("n", FAN["id2"]),
    ])
    plain = c.query(vector=Q4, top_k=2)
    assert [(r.id, r.vector, r.metadata, r.data, r.sparse_vector) for r in plain] == [
        ("m", None, None, None, None),
        ("n", None, None, None, None),
    ]
    full = c.query(vector=Q4, top_k=2, include_vectors=True, include_metadata=True, include_data=True)
    assert [(r.id, r.vector, r.metadata, r.data) for r in full] == [
        ("m", FAN["id1"], {"x": 1}, "dm"),
        ("n", FAN["id2"], None, None),
    ]
    only_meta = c.query(vector=Q4, top_k=1, include_metadata=True)
    assert (only_meta[0].vector, only_meta[0].metadata, only_meta[0].data) == (None, {"x": 1}, None)
    only_data = c.query(vector=Q4, top_k=1, include_data=True)
    assert (only_data[0].vector, only_data[0].metadata, only_data[0].data) == (None, None, "dm")


@pytest.mark.parametrize("flt,want", FILTERS, ids=[f or "empty" for f, _ in FILTERS])
def test_query_filter(vclient, flt, want):
    c = vclient("dense")
    load_cities(c)
    q = [0.6, 0.4, 0.3, 0.2]
    res = c.query(vector=q, top_k=10, filter=flt, include_metadata=True)
    assert set(ids(res)) == want, flt
    # Still ordered by score, with the unfiltered scores.
    ranking = [k for k, _ in dense_ranking(q, CITY_VEC) if k in want]
    assert ids(res) == ranking
    for r in res:
        assert r.metadata == CITIES[r.id]
    # top_k applies after filtering.
    if len(want) >= 2:
        assert ids(c.query(vector=q, top_k=1, filter=flt)) == ranking[:1]


def test_query_sparse_scores_and_idf(vclient):
    c = vclient("sparse")
    docs = {"a": {0: 0.1, 1: 0.2}, "b": {1: 0.2, 2: 0.3}, "c": {2: 0.3, 3: 0.4}}
    c.upsert([(k, (list(d), list(d.values()))) for k, d in docs.items()])
    q = {0: 0.1, 1: 0.2}
    res = c.query(sparse_vector=(list(q), list(q.values())), top_k=5)
    want = sparse_ranking(q, docs)
    # Only vectors sharing a non-zero index come back (vector.md §4.6).
    assert ids(res) == [k for k, _ in want] == ["a", "b"]
    for r, (_, s) in zip(res, want):
        assert_score(r.score, s)
    res = c.query(sparse_vector=SparseVector(list(q), list(q.values())), top_k=5, weighting_strategy=WeightingStrategy.IDF)
    want = sparse_ranking(q, docs, idf=True)
    assert ids(res) == [k for k, _ in want] == ["a", "b"]
    for r, (_, s) in zip(res, want):
        assert_score(r.score, s)
    # [verified] vector.md §5.
    assert (f32(res[0].score), f32(res[1].score)) == (f32(0.028608438), f32(0.018800145))
    # include_vectors on a sparse index returns the sparse vector.
    [top] = c.query(sparse_vector=(list(q), list(q.values())), top_k=1, include_vectors=True)
    assert (top.vector, top.sparse_vector.indices, top.sparse_vector.values) == (None, [0, 1], [0.1, 0.2])

    # vector-go's weighting test; N and n(q) are per namespace.
    go = {"id0": {0: 0.1, 1: 0.1}, "id1": {1: 0.1, 2: 0.1}, "id2": {2: 0.1, 3: 0.1}}
    c.upsert([(k, (list(d), list(d.values()))) for k, d in go.items()], namespace="go")
    gq = {0: 0.2, 1: 0.1, 3: 0.1}
    res = c.query(sparse_vector=(list(gq), list(gq.values())), weighting_strategy=WeightingStrategy.IDF, namespace="go")
    want = sparse_ranking(gq, go, idf=True)
    assert ids(res) == [k for k, _ in want] == ["id0", "id2", "id1"]
    for r, (_, s) in zip(res, want):
        assert_score(r.score, s)


HYB = {
    "id0": ([0.8, 0.9], {0: 0.1, 1: 0.1}),
    "id1": ([0.9, 0.9], {1: 0.1, 2: 0.1}),
    "id2": ([0.3, 0.9], {2: 0.1, 3: 0.1}),
}


def load_hybrid(c, docs=HYB, namespace: str = "") -> None:
    c.upsert([(k, v, (list(s), list(s.values()))) for k, (v, s) in docs.items()], namespace=namespace)


def components(q, sq, docs=HYB, idf: bool = False):
    dense = dense_ranking(q, {k: v for k, (v, _) in docs.items()})
    sparse = sparse_ranking(sq, {k: s for k, (_, s) in docs.items()}, idf=idf)
    return dense, sparse


def test_query_hybrid_rrf(vclient):
    c = vclient("hybrid")
    load_hybrid(c)
    # The top vector of both components: 2/60 [verified].
    q, sq = [0.8, 0.9], {0: 0.1, 1: 0.1}
    for fusion in (None, FusionAlgorithm.RRF):
        res = c.query(vector=q, sparse_vector=(list(sq), list(sq.values())), top_k=1, fusion_algorithm=fusion)
        assert ids(res) == ["id0"]
        assert f32(res[0].score) == f32(2 / 60) == f32(0.033333335)
    # Rank 0 in one component and rank 2 in the other with top_k = 1: 1/60 + 1/62 [verified]
    # (the component lists must go deeper than top_k).
    q, sq = [0.9, 0.9], {0: 0.1, 1: 0.1, 3: 100.0}
    dense, sparse = components(q, sq)
    assert [k for k, _ in dense] == ["id1", "id0", "id2"] and [k for k, _ in sparse] == ["id2", "id0", "id1"]
    res = c.query(vector=q, sparse_vector=(list(sq), list(sq.values())), top_k=1)
    assert res[0].id in ("id1", "id2")
    assert f32(res[0].score) == f32(1 / 60 + 1 / 62) == f32(0.032795697)
    res = c.query(vector=q, sparse_vector=(list(sq), list(sq.values())), top_k=3, fusion_algorithm=FusionAlgorithm.RRF)
    want = rrf(dense, sparse)
    assert set(ids(res[:2])) == {"id1", "id2"} and res[2].id == "id0"
    for r in res:
        assert_score(r.score, want[r.id], what=r.id)


def test_query_hybrid_dbsf(vclient):
    c = vclient("hybrid")
    load_hybrid(c)
    q, sq = [0.9, 0.9], {0: 0.1, 1: 0.1, 3: 100.0}
    res = c.query(
        vector=q, sparse_vector=SparseVector(list(sq), list(sq.values())), fusion_algorithm=FusionAlgorithm.DBSF,
        include_vectors=True,
    )
    want = ordered(dbsf(*components(q, sq)))
    # vector-go / vector-py expect this order.
    assert ids(res) == [k for k, _ in want] == ["id1", "id2", "id0"]
    for r, (k, s) in zip(res, want):
        assert_score(r.score, s, what=k)
        assert r.vector == HYB[k][0] and r.sparse_vector.indices == list(HYB[k][1])


def test_query_hybrid_single_component(vclient):
    c = vclient("hybrid")
    load_hybrid(c)
    # Only a dense vector: the raw dense scores, no fusion.
    q = [0.3, 0.9]
    dense, _ = components(q, {})
    res = c.query(vector=q, top_k=3)
    assert ids(res) == [k for k, _ in dense]
    assert res[0].score == 1
    for r, (_, s) in zip(res, dense):
        assert_score(r.score, s)
    # Only a sparse vector (with IDF): the raw sparse scores.
    sq = {1: 0.5, 2: 0.25}
    _, sparse = components([1, 0], sq, idf=True)
    res = c.query(sparse_vector=(list(sq), list(sq.values())), weighting_strategy=WeightingStrategy.IDF, top_k=3)
    assert ids(res) == [k for k, _ in sparse]
    for r, (_, s) in zip(res, sparse):
        assert_score(r.score, s)


def test_query_filter_on_sparse_and_hybrid(vclient):
    s = vclient("sparse")
    docs = {"a": {0: 0.1, 1: 0.2}, "b": {1: 0.3, 2: 0.3}, "c": {1: 0.9, 3: 0.4}}
    s.upsert([(k, (list(d), list(d.values())), {"keep": k != "c"}) for k, d in docs.items()])
    q = {1: 1.0}
    res = s.query(sparse_vector=([1], [1.0]), filter="keep = true", include_metadata=True)
    want = sparse_ranking(q, {k: d for k, d in docs.items() if k != "c"})
    assert ids(res) == [k for k, _ in want] == ["b", "a"]
    for r, (_, sc) in zip(res, want):
        assert_score(r.score, sc)
    h = vclient("hybrid")
    load_hybrid(h)
    h.update("id1", metadata={"skip": True})
    q, sq = [0.9, 0.9], {0: 0.1, 1: 0.1, 3: 100.0}
    kept = {k: v for k, v in HYB.items() if k != "id1"}
    for fusion, fuse in ((FusionAlgorithm.RRF, rrf), (FusionAlgorithm.DBSF, dbsf)):
        res = h.query(vector=q, sparse_vector=(list(sq), list(sq.values())), filter="HAS NOT FIELD skip", fusion_algorithm=fusion)
        want = ordered(fuse(*components(q, sq, kept)))
        assert sorted(ids(res)) == ["id0", "id2"], fusion
        for r in res:
            assert_score(r.score, dict(want)[r.id], what=f"{fusion} {r.id}")


def test_fetch_by_prefix_is_capped_at_1000(vclient):
    c = vclient("euclid")
    c.upsert([(f"p-{i}", [float(i), 0.0]) for i in range(1000)])
    c.upsert([(f"p-{i}", [float(i), 0.0]) for i in range(1000, 1005)] + [("q-1", [0.0, 1.0])])
    got = c.fetch(prefix="p-")
    assert len(got) == 1000 and all(g.id.startswith("p-") for g in got) and len({g.id for g in got}) == 1000
    assert [g.id for g in c.fetch(prefix="q-")] == ["q-1"]
    assert c.delete(prefix="p-").deleted == 1005


def test_update_data_reembeds_hybrid(vclient):
    c = vclient("hybridtext")
    c.upsert([("t", "the quick brown fox", {"m": 1}), ("u", "tomato soup with basil")])
    [old] = c.fetch("t", include_vectors=True)
    assert c.update("t", data="a recipe for tomato soup") is True
    [new] = c.fetch("t", include_vectors=True, include_data=True, include_metadata=True)
    assert new.data == "a recipe for tomato soup" and new.metadata == {"m": 1}
    assert new.vector != old.vector and new.sparse_vector != old.sparse_vector
    assert set(ids(c.query(data="recipe", query_mode=QueryMode.SPARSE))) == {"t"}
    assert c.query(data="fox", query_mode=QueryMode.SPARSE) == []


def test_namespace_names_with_spaces_and_unicode(vclient):
    c = vclient("dense")
    names = ["with space", "ünïcødé-名前", "dots.and_under-scores"]
    for i, ns in enumerate(names):
        c.upsert([("v", FAN[f"id{i + 1}"], {"ns": ns})], namespace=ns)
    assert sorted(c.list_namespaces()) == sorted(["", *names])
    for i, ns in enumerate(names):
        [g] = c.fetch("v", include_metadata=True, include_vectors=True, namespace=ns)
        assert (g.metadata, g.vector) == ({"ns": ns}, FAN[f"id{i + 1}"])
        assert c.query(vector=FAN[f"id{i + 1}"], top_k=1, namespace=ns)[0].score == 1
    assert set(c.info().namespaces) == {"", *names}
    c.delete_namespace(names[1])
    assert sorted(c.list_namespaces()) == sorted(["", names[0], names[2]])


def test_query_missing_namespace_is_empty(vclient):
    c = vclient("dense")
    c.upsert([("a", Q4)])
    assert c.query(vector=Q4, namespace="never-created") == []


def test_query_many(vclient):
    c = vclient("dense")
    c.upsert([(k, v, {"k": k}) for k, v in FAN.items()])
    c.upsert([(k, v) for k, v in FAN.items()], namespace="qm")
    queries = [
        {"vector": Q4, "top_k": 2, "include_metadata": True},
        {"vector": FAN["id5"], "top_k": 3, "filter": "k != 'id4'"},
        {"vector": FAN["id3"], "include_vectors": True},
    ]
    many = c.query_many(queries=queries)
    assert len(many) == 3
    singles = [
        c.query(vector=Q4, top_k=2, include_metadata=True),
        c.query(vector=FAN["id5"], top_k=3, filter="k != 'id4'"),
        c.query(vector=FAN["id3"], include_vectors=True),
    ]
    assert many == singles
    assert ids(many[0]) == ["id1", "id2"] and many[0][0].metadata == {"k": "id1"}
    assert ids(many[1]) == ["id5", "id3", "id2"]
    assert len(many[2]) == 5 and many[2][0].vector == FAN["id3"]
    # A batch of one comes back as a list of one list.
    one = c.query_many(queries=[{"vector": Q4, "top_k": 3}])
    assert len(one) == 1 and ids(one[0]) == ["id1", "id2", "id3"]
    # Namespace applies to the whole batch.
    ns = c.query_many(queries=[{"vector": Q4, "top_k": 1, "include_metadata": True}, {"vector": FAN["id2"], "top_k": 1}], namespace="qm")
    assert [ids(x) for x in ns] == [["id1"], ["id2"]] and ns[0][0].metadata is None


def test_query_many_hybrid_fusion_and_weighting(vclient):
    c = vclient("hybrid")
    load_hybrid(c)
    q, sq = [0.9, 0.9], {0: 0.1, 1: 0.1, 3: 100.0}
    many = c.query_many(queries=[
        {"vector": q, "sparse_vector": (list(sq), list(sq.values())), "fusion_algorithm": FusionAlgorithm.DBSF},
        {"sparse_vector": (list(sq), list(sq.values())), "weighting_strategy": WeightingStrategy.IDF},
    ])
    want0 = ordered(dbsf(*components(q, sq)))
    assert ids(many[0]) == [k for k, _ in want0]
    for r, (_, s) in zip(many[0], want0):
        assert_score(r.score, s)
    _, sparse = components(q, sq, idf=True)
    assert ids(many[1]) == [k for k, _ in sparse]
    for r, (_, s) in zip(many[1], sparse):
        assert_score(r.score, s)


# =========================================================================== query with data


HT_DOCS = {
    "d0": "hello world Upstash",
    "d1": "Upstash offers serverless Redis, Kafka and Vector databases",
    "d2": "the quick brown fox jumps over the lazy dog",
    "d3": "a recipe for tomato soup with basil",
}


def test_query_data_and_query_mode(vclient):
    c = vclient("hybridtext")
    assert c.upsert([(k, t, {"k": k}) for k, t in HT_DOCS.items()]) == "Success"
    stored = {f.id: f for f in c.fetch(list(HT_DOCS), include_vectors=True, include_data=True)}
    for k, f in stored.items():
        assert f.data == HT_DOCS[k] and len(f.vector) == 384 and f.sparse_vector is not None and f.sparse_vector.indices

    # DENSE: identical text scores exactly 1, and equals a query with the stored dense vector.
    dense = c.query(data=HT_DOCS["d2"], query_mode=QueryMode.DENSE, top_k=4)
    assert (dense[0].id, dense[0].score) == ("d2", 1)
    by_vec = c.query(vector=stored["d2"].vector, top_k=4)
    # (the query text is embedded again: inference may differ from the stored vector in the last bits)
    assert ids(dense) == ids(by_vec)
    for r, v in zip(dense, by_vec):
        assert abs(r.score - v.score) <= 1e-6, (r, v)
    # SPARSE: only documents sharing a term; "tomato" is only in d3.
    sparse = c.query(data="tomato", query_mode=QueryMode.SPARSE, top_k=4)
    assert ids(sparse) == ["d3"]
    sparse = c.query(data="Upstash", query_mode=QueryMode.SPARSE, top_k=4, weighting_strategy=WeightingStrategy.IDF)
    assert set(ids(sparse)) == {"d0", "d1"}
    # HYBRID (default): RRF; d2's own text is top in both components → 2/60.
    hyb = c.query(data=HT_DOCS["d2"], top_k=4, include_metadata=True, include_data=True)
    assert hyb[0].id == "d2" and f32(hyb[0].score) == f32(2 / 60)
    assert (hyb[0].metadata, hyb[0].data) == ({"k": "d2"}, HT_DOCS["d2"])
    explicit = c.query(data=HT_DOCS["d2"], top_k=4, query_mode=QueryMode.HYBRID, fusion_algorithm=FusionAlgorithm.RRF)
    assert [(r.id, r.score) for r in explicit] == [(r.id, r.score) for r in hyb]
    # vector-py expects BM25-like ranking for "hello world Upstash" on a hybrid index.
    assert c.query(data="hello world Upstash", top_k=1)[0].id == "d0"


def test_query_data_bm25_and_embed(vclient):
    b = vclient("bm25")
    b.upsert([(k, t) for k, t in HT_DOCS.items()])
    res = b.query(data="brown fox", weighting_strategy=WeightingStrategy.IDF, top_k=4)
    assert ids(res) == ["d2"]
    [f] = b.fetch("d2", include_vectors=True)
    assert f.vector is None and f.sparse_vector is not None
    e = vclient("embed")
    e.upsert([(k, t) for k, t in HT_DOCS.items()])
    res = e.query(data=HT_DOCS["d1"], top_k=2)
    assert (res[0].id, res[0].score) == ("d1", 1)
    many = e.query_many(queries=[{"data": HT_DOCS["d0"], "top_k": 1}, {"data": HT_DOCS["d3"], "top_k": 1}])
    assert [ids(m) for m in many] == [["d0"], ["d3"]] and many[1][0].score == 1
    one = e.query_many(queries=[{"data": HT_DOCS["d2"], "top_k": 1}])
    assert ids(one[0]) == ["d2"]
    scores, handle = e.resumable_query(data=HT_DOCS["d3"], top_k=1, include_data=True)
    assert (ids(scores), scores[0].data) == (["d3"], HT_DOCS["d3"])
    assert len(handle.fetch_next(2)) == 2
    handle.stop()


# =========================================================================== resumable query


def test_resumable_query_fetch_next_and_stop(vclient):
    c = vclient("dense")
    c.upsert([(k, v, {"k": k}, f"data-{k}") for k, v in FAN.items()])
    want = dense_ranking(Q4, FAN)
    scores, handle = c.resumable_query(vector=Q4, top_k=2, include_metadata=True, include_vectors=True, include_data=True)
    assert ids(scores) == ["id1", "id2"]
    got = list(scores)
    nxt = handle.fetch_next(2)
    assert ids(nxt) == ["id3", "id4"]
    got += nxt
    nxt = handle.fetch_next(1)
    assert ids(nxt) == ["id5"]
    got += nxt
    assert handle.fetch_next(1) == []
    for r, (k, s) in zip(got, want):
        assert (r.id, r.metadata, r.vector, r.data) == (k, {"k": k}, FAN[k], f"data-{k}")
        assert_score(r.score, s, what=k)
    handle.stop()
    with pytest.raises(UpstashError):
        handle.fetch_next(1)
    with pytest.raises(UpstashError):
        handle.stop()


def test_resumable_query_context_manager_and_filter(vclient):
    c = vclient("dense")
    c.upsert([(k, v, {"n": i}) for i, (k, v) in enumerate(FAN.items())])
    scores, handle = c.resumable_query(vector=Q4, top_k=1, filter="n >= 2")
    with handle:
        assert ids(scores) == ["id3"]
        assert ids(handle.fetch_next(5)) == ["id4", "id5"]
    with pytest.raises(UpstashError):
        handle.fetch_next(1)


def test_resumable_query_namespace_missing_and_present(vclient):
    c = vclient("dense")
    c.upsert([(k, v) for k, v in FAN.items()], namespace="rq")
    scores, handle = c.resumable_query(vector=Q4, top_k=2, namespace="nothing-here")
    assert scores == []
    assert handle.fetch_next(3) == []
    handle.stop()
    scores, handle = c.resumable_query(vector=FAN["id5"], top_k=1, namespace="rq")
    assert ids(scores) == ["id5"] and scores[0].score == 1
    assert ids(handle.fetch_next(1)) == ["id4"]
    handle.stop()


def test_resumable_query_expires_after_max_idle(vclient):
    c = vclient("dense")
    c.upsert([(k, v) for k, v in FAN.items()])
    # Kept alive while used more often than max_idle ...
    scores, live = c.resumable_query(vector=Q4, top_k=1, max_idle=2)
    for want in ("id2", "id3", "id4"):
        time.sleep(0.9)
        assert ids(live.fetch_next(1)) == [want]
    live.stop()
    # ... and gone once idle for longer.
    scores, idle = c.resumable_query(vector=Q4, top_k=1, max_idle=1)
    assert ids(scores) == ["id1"]
    time.sleep(2.6)
    with pytest.raises(UpstashError):
        idle.fetch_next(1)
    with pytest.raises(UpstashError):
        idle.stop()


def test_resumable_query_sparse_idf_verified(vclient):
    c = vclient("sparse")
    docs = {"a": {0: 0.1, 1: 0.2}, "b": {1: 0.2, 2: 0.3}, "c": {2: 0.3, 3: 0.4}}
    c.upsert([(k, (list(d), list(d.values()))) for k, d in docs.items()])
    scores, handle = c.resumable_query(
        sparse_vector=([0, 1], [0.1, 0.2]), top_k=1, weighting_strategy=WeightingStrategy.IDF, include_vectors=True
    )
    nxt = handle.fetch_next(5)
    handle.stop()
    assert ids(scores) == ["a"] and ids(nxt) == ["b"]
    # [verified] vector.md §5.
    assert (f32(scores[0].score), f32(nxt[0].score)) == (f32(0.028608438), f32(0.018800145))
    assert scores[0].sparse_vector.indices == [0, 1]


def test_resumable_query_hybrid_dbsf_verified(vclient):
    """vector.md §5 [verified]: resumable hybrid DBSF with top_k 2 → 0.617851, 0.5, then 0.5
    (per-batch candidate lists of size top_k; sample σ; a one-score list maps to 0.5).

    Dense top 2 from Q are X (1.0) and Y (0.9): (s − (μ − 3σ)) / 6σ gives X 0.5 + √2/12 and Y
    0.5 − √2/12. Only Z shares the sparse query's index: a one-score list → 0.5. The first
    batch is X, Z; the next batch of 1 is the best remaining dense candidate Y, alone → 0.5."""
    c = vclient("hybrid")
    docs = {
        "X": ([1.0, 0.0], {10: 1.0}),
        "Y": ([0.8, 0.6], {11: 1.0}),
        "W": ([0.0, 1.0], {12: 1.0}),
        "Z": ([-1.0, 0.0], {20: 1.0}),
    }
    load_hybrid(c, docs, namespace="dbsf")
    scores, handle = c.resumable_query(
        vector=[1.0, 0.0], sparse_vector=([20], [1.0]), top_k=2, fusion_algorithm=FusionAlgorithm.DBSF, namespace="dbsf"
    )
    nxt = handle.fetch_next(1)
    handle.stop()
    assert ids(scores) == ["X", "Z"]
    assert_score(scores[0].score, 0.5 + math.sqrt(2) / 12)
    assert abs(scores[0].score - 0.617851) < 1e-6
    assert scores[1].score == 0.5
    assert ids(nxt) == ["Y"] and nxt[0].score == 0.5
    # A plain query fuses full candidate lists instead.
    plain = c.query(vector=[1.0, 0.0], sparse_vector=([20], [1.0]), top_k=4, fusion_algorithm=FusionAlgorithm.DBSF, namespace="dbsf")
    want = ordered(dbsf(*components([1.0, 0.0], {20: 1.0}, docs)))
    assert ids(plain) == [k for k, _ in want]
    for r, (_, s) in zip(plain, want):
        assert_score(r.score, s)


# =========================================================================== fetch / range


def test_fetch_ids_missing_and_prefix(vclient):
    c = vclient("dense")
    c.upsert([("pre-1", FAN["id1"], {"p": 1}), ("other", FAN["id2"]), ("pre-2", FAN["id3"], None, "d"), ("pre-3", FAN["id4"])])
    got = c.fetch(["pre-1", "missing", "other", "also-missing"], include_metadata=True)
    assert [g.id if g else None for g in got] == ["pre-1", None, "other", None]
    assert got[0].metadata == {"p": 1}
    [one] = c.fetch("pre-2", include_data=True, include_vectors=True)
    assert (one.id, one.data, one.vector) == ("pre-2", "d", FAN["id3"])
    by_prefix = c.fetch(prefix="pre-", include_vectors=True)
    assert sorted(g.id for g in by_prefix) == ["pre-1", "pre-2", "pre-3"]
    assert {g.id: g.vector for g in by_prefix} == {"pre-1": FAN["id1"], "pre-2": FAN["id3"], "pre-3": FAN["id4"]}
    assert c.fetch(prefix="zzz") == []
    c.upsert([("x", FAN["id5"])], namespace="elsewhere")
    assert c.fetch(["pre-1", "x"], namespace="elsewhere")[0] is None
    with pytest.raises(UpstashError):
        c.fetch(ids=["pre-1"], prefix="pre-")


def test_range_paging_insertion_order_and_prefix(vclient):
    c = vclient("dense")
    c.upsert([(f"id-{i}", [float(i + 1), 1.0, 0.0, 0.0], {"i": i}) for i in range(20)])
    c.upsert([("x-b", Q4), ("x-a", Q4, None, "xa"), ("x-c", Q4)])
    first = c.range(cursor="", limit=5, include_metadata=True)
    assert [v.id for v in first.vectors] == ["id-0", "id-1", "id-2", "id-3", "id-4"]  # insertion, not lexicographic
    assert first.next_cursor == "5"
    assert [v.metadata for v in first.vectors] == [{"i": i} for i in range(5)]
    seen, cursor, pages = [], "", 0
    while True:
        page = c.range(cursor=cursor, limit=7)
        seen += [v.id for v in page.vectors]
        pages += 1
        cursor = page.next_cursor
        if cursor == "":
            break
        assert pages < 10
    assert seen == [f"id-{i}" for i in range(20)] + ["x-b", "x-a", "x-c"]
    pre = c.range(cursor="", limit=2, prefix="x-", include_data=True, include_vectors=True)
    assert [v.id for v in pre.vectors] == ["x-b", "x-a"] and pre.vectors[1].data == "xa" and pre.vectors[0].vector == Q4
    rest = c.range(cursor=pre.next_cursor, limit=2, prefix="x-")
    assert ([v.id for v in rest.vectors], rest.next_cursor) == (["x-c"], "")
    everything = c.range(cursor="", limit=1000)
    assert everything.next_cursor == "" and len(everything.vectors) == 23
    # Deleted vectors leave the range.
    c.delete(["id-1", "x-a"])
    assert [v.id for v in c.range(cursor="", limit=3).vectors] == ["id-0", "id-2", "id-3"]
    c.upsert([("gone", Q4)], namespace="empty-ns")
    c.delete("gone", namespace="empty-ns")
    empty = c.range(cursor="", limit=5, namespace="empty-ns")
    assert (empty.vectors, empty.next_cursor) == ([], "")
    with pytest.raises(ClientError):
        c.range(cursor="", limit=0)


# =========================================================================== update


def test_update_dense(vclient):
    c = vclient("dense")
    c.upsert([("u", [0.1, 0.2, 0.3, 0.4], {"field": "value", "field2": "value2", "obj": {"a": 1, "b": 2}}, "data")])
    assert c.update("u", vector=[0.4, 0.3, 0.2, 0.1]) is True
    [u] = c.fetch("u", include_vectors=True, include_metadata=True, include_data=True)
    assert (u.vector, u.metadata, u.data) == ([0.4, 0.3, 0.2, 0.1], {"field": "value", "field2": "value2", "obj": {"a": 1, "b": 2}}, "data")
    assert c.query(vector=[0.4, 0.3, 0.2, 0.1], top_k=1)[0].score == 1

    assert c.update(
        "u", metadata={"new_field": "new_value", "field2": None, "obj": {"a": None, "c": 3}},
        metadata_update_mode=MetadataUpdateMode.PATCH,
    ) is True
    [u] = c.fetch("u", include_metadata=True)
    assert u.metadata == {"field": "value", "new_field": "new_value", "obj": {"b": 2, "c": 3}}  # RFC 7396

    assert c.update("u", metadata={"only": "this"}) is True  # OVERWRITE is the default
    [u] = c.fetch("u", include_metadata=True)
    assert u.metadata == {"only": "this"}
    assert c.update("u", metadata={"explicit": 1}, metadata_update_mode=MetadataUpdateMode.OVERWRITE) is True
    assert c.fetch("u", include_metadata=True)[0].metadata == {"explicit": 1}

    assert c.update("u", data="new-data") is True
    [u] = c.fetch("u", include_data=True, include_vectors=True, include_metadata=True)
    assert (u.data, u.vector, u.metadata) == ("new-data", [0.4, 0.3, 0.2, 0.1], {"explicit": 1})

    assert c.update("missing", vector=[0.1, 0.1, 0.1, 0.1]) is False
    assert c.fetch("missing") == [None]
    c.upsert([("u", Q4)], namespace="un")
    assert c.update("u", metadata={"ns": True}, namespace="un") is True
    assert c.fetch("u", include_metadata=True, namespace="un")[0].metadata == {"ns": True}
    assert c.fetch("u", include_metadata=True)[0].metadata == {"explicit": 1}


def test_update_sparse_and_hybrid(vclient):
    s = vclient("sparse")
    s.upsert([("s", ([1, 2], [0.5, 0.5]), {"m": 1})])
    assert s.update("s", sparse_vector=([3, 4], [0.25, 0.75])) is True
    [g] = s.fetch("s", include_vectors=True, include_metadata=True)
    assert (g.sparse_vector.indices, g.sparse_vector.values, g.metadata) == ([3, 4], [0.25, 0.75], {"m": 1})
    assert s.query(sparse_vector=([1, 2], [1.0, 1.0])) == []
    h = vclient("hybrid")
    h.upsert([("h", [0.1, 0.2], ([1], [1.0]))])
    assert h.update("h", vector=[0.3, 0.4], sparse_vector=SparseVector([5], [2.0]), metadata={"x": 1}) is True
    [g] = h.fetch("h", include_vectors=True, include_metadata=True)
    assert (g.vector, g.sparse_vector.indices, g.sparse_vector.values, g.metadata) == ([0.3, 0.4], [5], [2.0], {"x": 1})
    assert h.update("h", metadata={"y": 2}, metadata_update_mode=MetadataUpdateMode.PATCH) is True
    assert h.fetch("h", include_metadata=True)[0].metadata == {"x": 1, "y": 2}


def test_update_data_reembeds(vclient):
    c = vclient("embed")
    c.upsert([("e", "hello", {"keep": True})])
    [old] = c.fetch("e", include_vectors=True, include_data=True)
    assert c.update("e", data="goodbye and farewell") is True
    [new] = c.fetch("e", include_vectors=True, include_data=True, include_metadata=True)
    assert new.data == "goodbye and farewell" and new.vector != old.vector and new.metadata == {"keep": True}
    res = c.query(data="goodbye and farewell", top_k=1)
    assert (res[0].id, res[0].score) == ("e", 1)


# =========================================================================== delete / reset


def test_delete_ids_prefix_filter(vclient):
    c = vclient("dense")
    load_cities(c)
    c.upsert([("tmp-1", Q4), ("tmp-2", Q4), ("keep", Q4)])
    c.upsert([("tmp-1", Q4)], namespace="dn")
    assert c.delete("keep").deleted == 1
    assert c.delete(["tmp-1", "nope", "tmp-1"]).deleted == 1
    assert c.delete(["nope"]).deleted == 0
    assert c.delete(prefix="tmp-").deleted == 1
    assert c.fetch(["tmp-1", "tmp-2", "keep"]) == [None, None, None]
    assert c.fetch("tmp-1", namespace="dn")[0].id == "tmp-1"  # other namespaces untouched
    assert c.delete(filter="geography.continent = 'Asia'").deleted == 3
    assert sorted(v.id for v in c.range(cursor="", limit=100).vectors) == ["berlin", "paris"]
    assert c.delete(filter="geography.continent = 'Asia'").deleted == 0
    assert c.delete(prefix="tmp-", namespace="dn").deleted == 1
    assert c.info().vector_count == 2


def test_reset_namespace_and_all(vclient):
    c = vclient("dense")
    c.upsert([("a", Q4), ("b", Q4)])
    c.upsert([("a", Q4)], namespace="r1")
    c.upsert([("a", Q4)], namespace="r2")
    assert c.reset(namespace="r1") == "Success"
    assert c.fetch("a", namespace="r1") == [None]
    assert c.fetch("a", namespace="r2")[0] is not None and c.fetch("a")[0] is not None
    assert sorted(c.list_namespaces()) == ["", "r1", "r2"]  # emptied, kept
    assert c.reset() == "Success"
    assert c.fetch(["a", "b"]) == [None, None]
    assert c.fetch("a", namespace="r2")[0] is not None
    c.upsert([("z", Q4)])
    assert c.reset(all=True) == "Success"
    info = c.info()
    assert info.vector_count == 0
    assert {ns: n.vector_count for ns, n in info.namespaces.items()} == {"": 0, "r1": 0, "r2": 0}
    assert sorted(c.list_namespaces()) == ["", "r1", "r2"]


# =========================================================================== info / namespaces


INFO_WANT = {
    # name: (dimension, similarity, dense model or None (no dense part), sparse model or None)
    "dense": (4, "COSINE", "", None),
    "euclid": (2, "EUCLIDEAN", "", None),
    "dot": (2, "DOT_PRODUCT", "", None),
    "sparse": (None, None, None, ""),
    "hybrid": (2, "COSINE", "", ""),
    "embed": (384, "COSINE", DENSE_MODEL, None),
    "bm25": (None, None, None, "BM25"),
    "hybridtext": (384, "COSINE", DENSE_MODEL, "BM25"),
}


@pytest.mark.parametrize("name", list(INFO_WANT))
def test_info_fields(vclient, name):
    c = vclient(name)
    dim, sim, dense_model, sparse_model = INFO_WANT[name]
    info = c.info()
    assert (info.vector_count, info.pending_vector_count) == (0, 0)
    assert info.namespaces == {"": info.namespaces[""]} and info.namespaces[""].vector_count == 0
    assert isinstance(info.index_size, int) and info.index_size >= 0
    if dim is not None:
        assert (info.dimension, info.similarity_function) == (dim, sim)
        assert info.dense_index is not None
        assert (info.dense_index.dimension, info.dense_index.similarity_function, info.dense_index.embedding_model) == (
            dim, sim, dense_model,
        )
    else:
        assert info.dense_index is None
    if sparse_model is not None:
        assert info.sparse_index is not None and info.sparse_index.embedding_model == sparse_model
    else:
        assert info.sparse_index is None

    # Counts per namespace after writes.
    if name in ("dense", "euclid", "dot"):
        v = [0.6, 0.8] if dim == 2 else Q4
        c.upsert([("a", v), ("b", v), ("c", v)])
        c.upsert([("a", v), ("b", v)], namespace="ns")
    elif name == "sparse":
        c.upsert([("a", ([1], [1.0])), ("b", ([1], [1.0])), ("c", ([2], [1.0]))])
        c.upsert([("a", ([1], [1.0])), ("b", ([1], [1.0]))], namespace="ns")
    elif name == "hybrid":
        c.upsert([(k, [0.6, 0.8], ([1], [1.0])) for k in "abc"])
        c.upsert([(k, [0.6, 0.8], ([1], [1.0])) for k in "ab"], namespace="ns")
    else:
        c.upsert([(k, f"text {k}") for k in "abc"])
        c.upsert([(k, f"text {k}") for k in "ab"], namespace="ns")
    info = c.info()
    assert (info.vector_count, info.pending_vector_count) == (5, 0)
    assert {ns: (n.vector_count, n.pending_vector_count) for ns, n in info.namespaces.items()} == {"": (3, 0), "ns": (2, 0)}
    c.delete("a", namespace="ns")
    assert c.info().namespaces["ns"].vector_count == 1


def test_list_and_delete_namespaces(vclient):
    c = vclient("dense")
    assert c.list_namespaces() == [""]
    c.upsert([("a", Q4)], namespace="alpha")
    c.upsert([("a", Q4)], namespace="beta")
    c.upsert([("a", Q4)])
    assert sorted(c.list_namespaces()) == ["", "alpha", "beta"]
    assert c.delete_namespace("alpha") is None
    assert sorted(c.list_namespaces()) == ["", "beta"]
    assert "alpha" not in c.info().namespaces
    assert c.query(vector=Q4, namespace="alpha") == []
    assert c.fetch("a", namespace="beta")[0].id == "a"  # the others are untouched
    with pytest.raises(UpstashError):
        c.delete_namespace("alpha")  # no longer exists
    with pytest.raises(UpstashError):
        c.delete_namespace("never-was")
    # Re-created by a write.
    c.upsert([("b", Q4)], namespace="alpha")
    assert c.fetch(["a", "b"], namespace="alpha")[0] is None
    assert sorted(c.list_namespaces()) == ["", "alpha", "beta"]


# =========================================================================== from_env


def test_from_env_sync_and_async(vsrv, monkeypatch):
    import asyncio

    from upstash_vector import AsyncIndex, Index

    monkeypatch.setenv("UPSTASH_VECTOR_REST_URL", vsrv.url("euclid"))
    monkeypatch.setenv("UPSTASH_VECTOR_REST_TOKEN", vsrv.token("euclid"))
    idx = Index.from_env(retries=0)
    try:
        info = idx.info()
        assert (info.dimension, info.similarity_function) == (2, "EUCLIDEAN")
    finally:
        idx._client.close()

    async def run():
        a = AsyncIndex.from_env(retries=0)
        try:
            return await a.info()
        finally:
            await a._client.aclose()

    info = asyncio.run(run())
    assert (info.dimension, info.similarity_function) == (2, "EUCLIDEAN")
    # A wrong token from the environment is refused.
    monkeypatch.setenv("UPSTASH_VECTOR_REST_TOKEN", "wrong-token")
    idx = Index.from_env(retries=0)
    try:
        with pytest.raises(UpstashError, match="Unauthorized"):
            idx.info()
    finally:
        idx._client.close()


def test_native_async_concurrent_writes(vsrv):
    """Plain `await` use of AsyncIndex: concurrent upserts from one client all land."""
    import asyncio

    from upstash_vector import AsyncIndex

    async def run():
        a = vsrv.async_index("euclid")
        try:
            await a.reset(all=True)
            await asyncio.gather(*(a.upsert([(f"c{i}", [float(i), 1.0], {"i": i})]) for i in range(40)))
            info = await a.info()
            got = await a.fetch([f"c{i}" for i in range(40)], include_metadata=True)
            top = await a.query(vector=[7.0, 1.0], top_k=1)
            await a.reset(all=True)
            return info, got, top
        finally:
            await a._client.aclose()

    info, got, top = asyncio.run(run())
    assert info.vector_count == 40
    assert [g.metadata for g in got] == [{"i": i} for i in range(40)]
    assert (top[0].id, top[0].score) == ("c7", 1)
    assert isinstance(AsyncIndex, type)
