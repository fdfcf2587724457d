"""Vector crash safety: every acknowledged write survives `kill -9` of a durable server.

1. A mixed workload (dense + sparse + hybrid upserts with metadata and data, updates, deletes by
   id / prefix / filter, namespace reset and deletion), each acknowledged; kill -9; restart on the
   same data dir: fetch / range / info / query answers are equal before and after (twice).
2. Concurrent writers killed mid-stream: everything acknowledged before the kill is there.
3. Restart time for N dense vectors of dim 64 (printed for the bench notes, not asserted).
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from upstash_vector.types import MetadataUpdateMode

from qstash_support import wait_until
from vector_support import VectorServer, base_specs


@pytest.fixture
def durable(tmp_path):
    made: list[VectorServer] = []

    def make(specs=None, appendfsync=None) -> VectorServer:
        data = tmp_path / f"data{len(made)}"
        data.mkdir()
        s = VectorServer(data_dir=data, specs=specs, with_models=False, appendfsync=appendfsync)
        made.append(s)
        return s.start()

    yield make
    for s in made:
        s.kill()


def snapshot(s: VectorServer) -> dict:
    """Everything a client can read back, per index and namespace (index_size excluded)."""
    out = {}
    for spec in s.specs:
        c = s.index(spec.name)
        try:
            info = c.info()
            nss = sorted(c.list_namespaces())
            per_ns = {}
            for ns in nss:
                vectors, cursor = [], ""
                for _ in range(1000):
                    page = c.range(cursor=cursor, limit=97, include_vectors=True, include_metadata=True, include_data=True, namespace=ns)
                    vectors += page.vectors
                    cursor = page.next_cursor
                    if cursor == "":
                        break
                probe_ids = [v.id for v in vectors[:50]] + ["never-written"]
                fetched = c.fetch(probe_ids, include_vectors=True, include_metadata=True, include_data=True, namespace=ns)
                queries = []
                for v in vectors[:5]:
                    # One component at a time (raw scores: no fusion ties), ties ordered by id.
                    for q in ({"vector": v.vector}, {"sparse_vector": v.sparse_vector}):
                        if all(x is not None for x in q.values()):
                            res = c.query(**q, top_k=7, include_metadata=True, include_vectors=True, include_data=True, namespace=ns)
                            queries.append(sorted(res, key=lambda r: (-r.score, r.id)))
                per_ns[ns] = {"range": vectors, "fetch": fetched, "queries": queries}
            out[spec.name] = {
                "info": (
                    info.vector_count, info.pending_vector_count, info.dimension, info.similarity_function,
                    info.dense_index, info.sparse_index,
                    {k: (n.vector_count, n.pending_vector_count) for k, n in info.namespaces.items()},
                ),
                "namespaces": nss,
                "data": per_ns,
            }
        finally:
            c._client.close()
    return out


def unit(rng: random.Random, dim: int) -> list[float]:
    v = [rng.uniform(-1, 1) for _ in range(dim)]
    n = sum(x * x for x in v) ** 0.5
    return [round(x / n, 5) for x in v]


def sparse(rng: random.Random) -> tuple[list[int], list[float]]:
    idx = sorted(rng.sample(range(50), rng.randint(1, 6)))
    return idx, [round(rng.uniform(0.05, 2.0), 4) for _ in idx]


def mixed_workload(s: VectorServer, rng: random.Random, tag: str) -> None:
    d, e, sp, h = s.index("dense"), s.index("euclid"), s.index("sparse"), s.index("hybrid")
    for batch in range(4):
        assert d.upsert([
            (f"{tag}d{batch}-{i}", unit(rng, 4), {"b": batch, "i": i, "tag": tag, "kind": "odd" if i % 2 else "even"}, f"text {batch} {i}")
            for i in range(50)
        ]) == "Success"
    assert d.upsert([(f"{tag}n{i}", unit(rng, 4), {"i": i}) for i in range(30)], namespace="n1") == "Success"
    assert d.upsert([(f"{tag}r{i}", unit(rng, 4)) for i in range(10)], namespace="n2") == "Success"
    assert d.upsert([(f"{tag}x{i}", unit(rng, 4)) for i in range(10)], namespace=f"{tag}gone") == "Success"
    assert e.upsert([(f"{tag}e{i}", [rng.uniform(-5, 5), rng.uniform(-5, 5)], None, f"e{i}") for i in range(40)]) == "Success"
    assert sp.upsert([(f"{tag}s{i}", sparse(rng), {"i": i}, f"s{i}") for i in range(60)]) == "Success"
    assert h.upsert([(f"{tag}h{i}", unit(rng, 2), sparse(rng), {"i": i % 5}) for i in range(60)]) == "Success"
    assert h.upsert([(f"{tag}h{i}", unit(rng, 2), sparse(rng)) for i in range(10)], namespace="hn") == "Success"
    # Overwrites, updates, deletes: each acknowledged.
    assert d.upsert([(f"{tag}d1-{40 + i}", unit(rng, 4), {"overwritten": True}) for i in range(5)]) == "Success"
    for i in range(10):
        assert d.update(f"{tag}d1-{i}", vector=unit(rng, 4)) is True
    for i in range(10, 15):
        assert d.update(f"{tag}d1-{i}", metadata={"i": None, "patched": i}, metadata_update_mode=MetadataUpdateMode.PATCH) is True
    assert d.update(f"{tag}d1-20", metadata={"replaced": 1}) is True
    assert d.update(f"{tag}d1-21", data="new data") is True
    assert sp.update(f"{tag}s3", sparse_vector=([1, 2, 3], [0.5, 0.5, 0.5])) is True
    assert h.update(f"{tag}h4", vector=[0.6, 0.8], sparse_vector=([9], [3.0]), metadata={"u": 1}) is True
    assert d.delete([f"{tag}d2-{i}" for i in range(12)]).deleted == 12
    assert d.delete(prefix=f"{tag}d3-1").deleted == 11  # d3-1, d3-10..d3-19
    assert d.delete(filter=f"tag = '{tag}' AND kind = 'odd' AND b = 0").deleted == 25
    assert sp.delete(filter="i >= 50").deleted == 10
    assert h.delete(prefix=f"{tag}h5").deleted == 11
    assert d.reset(namespace="n2") == "Success"
    d.delete_namespace(f"{tag}gone")
    for c in (d, e, sp, h):
        c._client.close()


def test_acknowledged_writes_survive_kill9(durable):
    s = durable()
    rng = random.Random(7)
    mixed_workload(s, rng, "a")
    before = snapshot(s)
    assert before["dense"]["namespaces"] == ["", "n1", "n2"]
    assert before["dense"]["info"][0] == 200 - 12 - 11 - 25 + 30  # n2 reset, agone deleted
    assert before["sparse"]["info"][0] == 50 and before["hybrid"]["info"][0] == 60 - 11 + 10

    s.restart()
    after = snapshot(s)
    for name in before:
        assert after[name]["info"] == before[name]["info"], name
        assert after[name]["namespaces"] == before[name]["namespaces"], name
        for ns in before[name]["data"]:
            b, a = before[name]["data"][ns], after[name]["data"][ns]
            assert a["range"] == b["range"], f"{name}/{ns!r}: range differs after kill -9"
            assert a["fetch"] == b["fetch"], f"{name}/{ns!r}: fetch differs"
            assert a["queries"] == b["queries"], f"{name}/{ns!r}: query results differ"

    # More writes on the recovered state, a second kill -9, and everything again.
    mixed_workload(s, rng, "b")
    before2 = snapshot(s)
    assert before2["dense"]["info"][0] == 2 * (200 - 12 - 11 - 25) + 2 * 30
    s.restart()
    assert snapshot(s) == before2


def test_kill9_under_concurrent_writers(durable):
    s = durable(specs=[sp for sp in base_specs() if sp.name in ("dense", "hybrid")])
    rng = random.Random(11)
    acked: dict[str, dict] = {}  # "index/id" -> what was written (vector, metadata)
    deleted: set[str] = set()  # acknowledged deletes
    delete_tried: set[str] = set()
    updates: dict[str, int] = {}  # id -> last acknowledged counter
    lock = threading.Lock()
    stop = threading.Event()
    killing = threading.Event()  # set just before the kill: failures after it are expected
    errors: list[str] = []

    def writer(n: int) -> None:
        name = "dense" if n % 2 == 0 else "hybrid"
        c = s.index(name)
        r = random.Random(n)
        fails = 0
        for i in range(100000):
            if stop.is_set():
                break
            batch = []
            for j in range(5):
                vid = f"w{n}-{i}-{j}"
                vec = unit(r, 4 if name == "dense" else 2)
                if name == "dense":
                    batch.append((vid, vec, {"w": n, "i": i, "j": j}))
                else:
                    batch.append((vid, vec, sparse(r), {"w": n, "i": i, "j": j}))
            try:
                c.upsert(batch)
            except Exception as e:  # the kill: not acknowledged
                fails += 1
                if not killing.is_set():
                    errors.append(repr(e))
                if fails >= 2:
                    break
                continue
            with lock:
                for item in batch:
                    acked[f"{name}/{item[0]}"] = {"vector": item[1], "metadata": item[-1]}
        c._client.close()

    def deleter() -> None:
        c = s.index("dense")
        while not stop.is_set():
            with lock:
                cands = [k for k in acked if k.startswith("dense/") and k not in delete_tried]
            if not cands:
                time.sleep(0.01)
                continue
            pick = random.Random(len(cands)).sample(cands, min(3, len(cands)))
            with lock:
                delete_tried.update(pick)
            try:
                res = c.delete([k.split("/", 1)[1] for k in pick])
            except Exception:
                break
            if res.deleted != len(pick):
                errors.append(f"delete of {pick} deleted {res.deleted}")
            with lock:
                deleted.update(pick)
        c._client.close()

    def updater() -> None:
        c = s.index("dense")
        c.upsert([("counter", [1.0, 0.0, 0.0, 0.0], {"n": 0})])
        updates["counter"] = 0
        n = 0
        while not stop.is_set():
            try:
                ok = c.update("counter", metadata={"n": n + 1})
            except Exception:
                break
            if ok is not True:
                errors.append(f"update of counter answered {ok!r}")
            n += 1
            updates["counter"] = n
        c._client.close()

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(4)]
    threads += [threading.Thread(target=deleter, daemon=True), threading.Thread(target=updater, daemon=True)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and len(acked) < 1500:
        time.sleep(0.02)
    assert not errors, f"writes failed before the kill: {errors[:3]}"
    killing.set()
    s.kill()  # kill -9 while the writers are mid-stream
    stop.set()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a writer hung"
    with lock:
        acked_now, deleted_now, tried_now = dict(acked), set(deleted), set(delete_tried)
    last_update = updates["counter"]
    assert len(acked_now) >= 100, f"only {len(acked_now)} vectors acknowledged before the kill"

    s.start()
    missing, wrong, resurrected = [], [], []
    for name in ("dense", "hybrid"):
        c = s.index(name)
        keys = [k for k in acked_now if k.startswith(name + "/")]
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            got = c.fetch([k.split("/", 1)[1] for k in chunk], include_vectors=True, include_metadata=True)
            for k, g in zip(chunk, got):
                if k in deleted_now:
                    if g is not None:
                        resurrected.append(k)
                elif k in tried_now:
                    continue  # a delete in flight at the kill may or may not have happened
                elif g is None:
                    missing.append(k)
                elif (g.vector, g.metadata) != (acked_now[k]["vector"], acked_now[k]["metadata"]):
                    wrong.append((k, g.vector, g.metadata, acked_now[k]))
        c._client.close()
    assert missing == [], f"{len(missing)} of {len(acked_now)} acknowledged vectors lost by kill -9: {missing[:10]}"
    assert wrong == [], f"acknowledged vectors changed: {wrong[:3]}"
    assert resurrected == [], f"acknowledged deletes undone: {resurrected[:10]}"
    [counter] = s.index("dense").fetch("counter", include_metadata=True)
    assert counter.metadata["n"] in (last_update, last_update + 1), (counter.metadata, last_update)
    assert not errors, errors[:3]
    # info agrees with what range sees.
    c = s.index("dense")
    seen, cursor = [], ""
    while True:
        page = c.range(cursor=cursor, limit=1000)
        seen += [v.id for v in page.vectors]
        cursor = page.next_cursor
        if cursor == "":
            break
    assert len(seen) == len(set(seen)), "range returned an id twice"
    assert c.info().namespaces[""].vector_count == len(seen)
    c._client.close()


@pytest.mark.timeout(900)
def test_restart_time_dense_64(durable):
    n = int(os.environ.get("STASHD_VECTOR_BENCH_N", "20000"))
    dim = 64
    from vector_support import IndexSpec

    s = durable(specs=[IndexSpec("bench", "DENSE", dim, "COSINE")])
    c = s.index("bench")
    rng = random.Random(3)
    t0 = time.monotonic()
    first = None
    for start in range(0, n, 500):
        batch = [(f"v{i}", unit(rng, dim)) for i in range(start, min(n, start + 500))]
        if first is None:
            first = batch[0][1]
        assert c.upsert(batch) == "Success"
    load_s = time.monotonic() - t0
    assert c.info().vector_count == n
    c._client.close()
    took = s.restart(ready_timeout=600)
    c = s.index("bench")
    try:
        info = wait_until(lambda: c.info(), what="info after restart")
        assert info.vector_count == n
        [top] = c.query(vector=first, top_k=1)
        assert (top.id, top.score) == ("v0", 1)
    finally:
        c._client.close()
    print(
        f"\n[bench] vector restart after kill -9: {n} dense vectors dim {dim}: {took:.2f}s to serve /info "
        f"(upload took {load_s:.1f}s, {n / max(load_s, 1e-9):.0f} vectors/s)"
    )
