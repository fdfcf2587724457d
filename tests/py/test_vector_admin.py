"""The Upstash Developer API for Vector indexes (`/v2/vector/index...`) on the admin token.

Creates DENSE / SPARSE / HYBRID indexes at run time, lists, gets, renames (the SDK URL follows
the name, the old one 404s), resets passwords (old tokens 401, new ones work), deletes (then
404); auth failures are 401, bad bodies 400, a taken name 409. An index created at run time is
usable by the SDK at once and survives a kill -9 of a durable server.
"""

from __future__ import annotations

import base64

import httpx
import pytest
from upstash_vector import Index
from upstash_vector.errors import UpstashError

from vector_support import VectorServer, base_specs

PATH = "/v2/vector/index"


@pytest.fixture
def admin_srv():
    s = VectorServer(specs=base_specs()[:2], with_models=False)
    s.start()
    yield s
    s.kill()


def ok(r: httpx.Response) -> None:
    assert r.status_code == 200, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    assert r.json() == "OK", r.text


def create(s: VectorServer, **body) -> dict:
    body.setdefault("region", "us-east-1")
    body.setdefault("similarity_function", "COSINE")
    r = s.admin("POST", PATH, body)
    assert r.status_code == 200, f"create {body}: {r.status_code} {r.text}"
    return r.json()


def sdk(s: VectorServer, name: str, token: str) -> Index:
    return Index(url=s.url(name), token=token, retries=0)


def error_of(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: want {status}, got {r.status_code} {r.text}"
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


def test_admin_auth(admin_srv):
    s = admin_srv
    error_of(s.admin("GET", PATH, token=None), 401)
    error_of(s.admin("GET", PATH, token="not-the-admin-token"), 401)
    error_of(s.admin("GET", PATH, token=s.token("dense")), 401)  # an index token is not the admin token
    error_of(s.admin("POST", PATH, {"name": "x", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2}, token=None), 401)
    assert s.admin("GET", PATH).status_code == 200
    basic = base64.b64encode(f"someone@example.com:{s.admin_token}".encode()).decode()
    r = httpx.get(s.base + PATH, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    wrong = base64.b64encode(b"someone@example.com:nope").decode()
    assert httpx.get(s.base + PATH, headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    # Nothing was created by the refused POST.
    assert "x" not in [i["name"] for i in s.admin("GET", PATH).json()]


def test_create_list_get_use_delete(admin_srv):
    s = admin_srv
    d = create(s, name="rt-dense", similarity_function="EUCLIDEAN", dimension_count=3)
    assert d["name"] == "rt-dense" and d["id"]
    assert (d["similarity_function"], d["dimension_count"], d["index_type"]) == ("EUCLIDEAN", 3, "DENSE")
    assert isinstance(d["region"], str) and d["region"] and d["type"] == "payg"
    assert d["endpoint"].endswith("/vector/rt-dense") and "://" not in d["endpoint"]
    assert d["token"] and d["read_only_token"] and d["token"] != d["read_only_token"]
    assert isinstance(d["creation_time"], int) and d["creation_time"] > 0
    assert d.get("embedding_model", "") in ("", None) and d.get("sparse_embedding_model", "") in ("", None)

    sp = create(s, name="rt_sparse", index_type="SPARSE")
    assert sp["index_type"] == "SPARSE"
    hy = create(s, name="RT-Hybrid-2", similarity_function="DOT_PRODUCT", dimension_count=2, index_type="HYBRID")
    assert (hy["index_type"], hy["dimension_count"], hy["similarity_function"]) == ("HYBRID", 2, "DOT_PRODUCT")
    assert len({d["id"], sp["id"], hy["id"]}) == 3

    listed = s.admin("GET", PATH)
    assert listed.status_code == 200
    by_name = {i["name"]: i for i in listed.json()}
    assert {"rt-dense", "rt_sparse", "RT-Hybrid-2", "dense", "euclid"} <= set(by_name), sorted(by_name)
    assert by_name["rt-dense"] == d
    got = s.admin("GET", f"{PATH}/{d['id']}")
    assert got.status_code == 200 and got.json() == d

    # The SDK works on the new indexes at once, with their own tokens.
    di = sdk(s, "rt-dense", d["token"])
    di.upsert([("a", [0.0, 0.0, 0.0]), ("b", [1.0, 2.0, 2.0])])
    res = di.query(vector=[1.0, 2.0, 2.0], top_k=2)
    assert [(r.id, r.score) for r in res] == [("b", 1), ("a", 0.1)]  # EUCLIDEAN: 1 / (1 + 9)
    info = di.info()
    assert (info.dimension, info.similarity_function, info.vector_count) == (3, "EUCLIDEAN", 2)
    ro = sdk(s, "rt-dense", d["read_only_token"])
    assert [r.id for r in ro.query(vector=[0.0, 0.0, 0.1], top_k=1)] == ["a"]
    with pytest.raises(UpstashError, match="read-only"):
        ro.upsert([("c", [1.0, 1.0, 1.0])])
    with pytest.raises(UpstashError, match="Unauthorized"):
        sdk(s, "rt-dense", hy["token"]).info()  # another index's token
    si = sdk(s, "rt_sparse", sp["token"])
    si.upsert([("s", ([1, 2], [0.5, 0.5]))])
    assert [r.id for r in si.query(sparse_vector=([2], [1.0]))] == ["s"]
    hi = sdk(s, "RT-Hybrid-2", hy["token"])
    hi.upsert([("h", [0.6, 0.8], ([7], [1.0]))])
    [h] = hi.query(vector=[0.6, 0.8], sparse_vector=([7], [1.0]), top_k=1)
    assert h.id == "h" and abs(h.score - 2 / 60) < 1e-7
    # The config-declared indexes are untouched.
    assert s.index("dense").info().vector_count == 0

    # Delete: gone from the API and from the data plane.
    ok(s.admin("DELETE", f"{PATH}/{d['id']}"))
    error_of(s.admin("GET", f"{PATH}/{d['id']}"), 404)
    error_of(s.admin("DELETE", f"{PATH}/{d['id']}"), 404)
    assert "rt-dense" not in [i["name"] for i in s.admin("GET", PATH).json()]
    r = httpx.post(s.url("rt-dense") + "/info", headers={"Authorization": f"Bearer {d['token']}"})
    error_of(r, 404)
    with pytest.raises(UpstashError):
        di.info()
    # The name is free again, and a new index under it starts empty with new tokens.
    again = create(s, name="rt-dense", dimension_count=3)
    assert again["id"] != d["id"] and again["token"] != d["token"]
    assert sdk(s, "rt-dense", again["token"]).info().vector_count == 0
    error_of(s.admin("GET", f"{PATH}/no-such-id"), 404)


def test_rename(admin_srv):
    s = admin_srv
    d = create(s, name="before", dimension_count=2)
    sdk(s, "before", d["token"]).upsert([("v", [0.6, 0.8], {"k": 1})])
    ok(s.admin("POST", f"{PATH}/{d['id']}/rename", {"name": "after"}))
    got = s.admin("GET", f"{PATH}/{d['id']}").json()
    assert got["name"] == "after" and got["endpoint"].endswith("/vector/after") and got["token"] == d["token"]
    [v] = sdk(s, "after", d["token"]).fetch("v", include_metadata=True, include_vectors=True)
    assert (v.id, v.vector, v.metadata) == ("v", [0.6, 0.8], {"k": 1})
    r = httpx.post(s.url("before") + "/info", headers={"Authorization": f"Bearer {d['token']}"})
    error_of(r, 404)
    # Renaming onto a taken name (a runtime or a config-declared index) is a conflict.
    create(s, name="taken", dimension_count=2)
    error_of(s.admin("POST", f"{PATH}/{d['id']}/rename", {"name": "taken"}), 409)
    error_of(s.admin("POST", f"{PATH}/{d['id']}/rename", {"name": "dense"}), 409)
    error_of(s.admin("POST", f"{PATH}/{d['id']}/rename", {"name": "bad name!"}), 400)
    error_of(s.admin("POST", f"{PATH}/{d['id']}/rename", {}), 400)
    error_of(s.admin("POST", f"{PATH}/missing-id/rename", {"name": "whatever"}), 404)
    assert s.admin("GET", f"{PATH}/{d['id']}").json()["name"] == "after"
    assert sdk(s, "after", d["token"]).info().vector_count == 1


def test_reset_password(admin_srv):
    s = admin_srv
    d = create(s, name="pw", dimension_count=2)
    old_rw, old_ro = d["token"], d["read_only_token"]
    sdk(s, "pw", old_rw).upsert([("v", [0.6, 0.8])])
    ok(s.admin("POST", f"{PATH}/{d['id']}/reset-password"))
    got = s.admin("GET", f"{PATH}/{d['id']}").json()
    new_rw, new_ro = got["token"], got["read_only_token"]
    assert new_rw not in (old_rw, old_ro) and new_ro not in (old_rw, old_ro) and new_rw != new_ro
    for tok in (old_rw, old_ro):
        r = httpx.post(s.url("pw") + "/info", headers={"Authorization": f"Bearer {tok}"})
        assert error_of(r, 401) == "Unauthorized: Invalid auth token"
        with pytest.raises(UpstashError, match="Unauthorized"):
            sdk(s, "pw", tok).fetch("v")
    assert sdk(s, "pw", new_rw).fetch("v")[0].id == "v"  # data kept
    assert sdk(s, "pw", new_ro).info().vector_count == 1
    with pytest.raises(UpstashError, match="read-only"):
        sdk(s, "pw", new_ro).delete("v")
    error_of(s.admin("POST", f"{PATH}/missing-id/reset-password"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2},  # no name
        {"name": "", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2},
        {"name": "bad name!", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2},
        {"name": "x" * 65, "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2},
        {"name": "okname", "region": "us-east-1", "similarity_function": "MANHATTAN", "dimension_count": 2},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 0},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": -3},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": "two"},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 100000},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2, "index_type": "WEIRD"},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2, "embedding_model": "NO_SUCH_MODEL"},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 2, "index_type": "SPARSE", "sparse_embedding_model": "SPLADE_9000"},
        {"name": "okname", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 0, "index_type": "HYBRID"},
        ["okname"],
        "okname",
    ],
    ids=lambda b: str(b)[:60],
)
def test_bad_create_bodies_are_400(admin_srv, body):
    s = admin_srv
    before = s.admin("GET", PATH).json()
    error_of(s.admin("POST", PATH, body), 400)
    assert s.admin("GET", PATH).json() == before


def test_not_json_is_400(admin_srv):
    s = admin_srv
    r = httpx.post(s.base + PATH, content=b"{not json", headers={"Authorization": f"Bearer {s.admin_token}", "Content-Type": "application/json"})
    error_of(r, 400)


def test_duplicate_name_is_409(admin_srv):
    s = admin_srv
    first = create(s, name="dup", dimension_count=2)
    before = s.admin("GET", PATH).json()
    error_of(s.admin("POST", PATH, {"name": "dup", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 4}), 409)
    error_of(s.admin("POST", PATH, {"name": "dense", "region": "us-east-1", "similarity_function": "COSINE", "dimension_count": 4}), 409)
    assert s.admin("GET", PATH).json() == before
    assert s.admin("GET", f"{PATH}/{first['id']}").json()["dimension_count"] == 2


def test_runtime_index_survives_kill9(tmp_path):
    s = VectorServer(data_dir=tmp_path / "data", specs=base_specs()[:1], with_models=False)
    (tmp_path / "data").mkdir()
    s.start()
    try:
        d = create(s, name="durable-rt", similarity_function="DOT_PRODUCT", dimension_count=2)
        h = create(s, name="durable-hy", dimension_count=2, index_type="HYBRID")
        gone = create(s, name="durable-gone", dimension_count=2)
        idx = sdk(s, "durable-rt", d["token"])
        idx.upsert([("a", [0.6, 0.8], {"m": 1}, "da"), ("b", [0.8, 0.6])], namespace="ns")
        sdk(s, "durable-hy", h["token"]).upsert([("h", [0.6, 0.8], ([3], [1.0]))])
        ok(s.admin("POST", f"{PATH}/{d['id']}/reset-password"))
        ok(s.admin("POST", f"{PATH}/{h['id']}/rename", {"name": "durable-hy2"}))
        ok(s.admin("DELETE", f"{PATH}/{gone['id']}"))
        listing = sorted(s.admin("GET", PATH).json(), key=lambda i: i["id"])

        s.restart()  # kill -9, then start on the same data dir

        assert sorted(s.admin("GET", PATH).json(), key=lambda i: i["id"]) == listing
        dd = s.admin("GET", f"{PATH}/{d['id']}").json()
        assert dd["token"] != d["token"]
        with pytest.raises(UpstashError, match="Unauthorized"):
            sdk(s, "durable-rt", d["token"]).info()
        got = sdk(s, "durable-rt", dd["token"]).fetch(["a", "b"], include_vectors=True, include_metadata=True, include_data=True, namespace="ns")
        assert [(g.id, g.vector, g.metadata, g.data) for g in got] == [("a", [0.6, 0.8], {"m": 1}, "da"), ("b", [0.8, 0.6], None, None)]
        info = sdk(s, "durable-rt", dd["token"]).info()
        assert (info.dimension, info.similarity_function, info.vector_count) == (2, "DOT_PRODUCT", 2)
        [hh] = sdk(s, "durable-hy2", h["token"]).fetch("h", include_vectors=True)
        assert (hh.vector, hh.sparse_vector.indices) == ([0.6, 0.8], [3])
        error_of(httpx.post(s.url("durable-hy") + "/info", headers={"Authorization": f"Bearer {h['token']}"}), 404)
        error_of(s.admin("GET", f"{PATH}/{gone['id']}"), 404)
        # Still usable after the restart.
        sdk(s, "durable-rt", dd["token"]).upsert([("c", [1.0, 0.0])], namespace="ns")
        assert sdk(s, "durable-rt", dd["token"]).info().vector_count == 3
    finally:
        s.kill()
