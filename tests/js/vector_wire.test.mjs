// The wire variants other Upstash Vector clients send (reference §1–§2), checked with raw HTTP
// next to the JS SDK: every command accepts GET/POST/PUT/DELETE; no-argument commands accept an
// empty body, `null`, `[]` and `{}`; Python's explicit nulls mean "absent"; Go's raw-id and
// bare-array deletes and its missing Content-Type; default topK; the endpoints without an SDK
// method (`random`, `rename-namespace`); namespaces that need URL encoding; writes fired without
// awaiting; data size limits.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertClientError, useVector } from "./vector_harness.mjs";

const ctx = useVector();
const ix = (name, opts) => ctx.v.index(name, opts);
const raw = (...a) => ctx.v.raw(...a);
const ids = (rows) => rows.map((r) => r.id);

describe("methods and bodies", () => {
  test("GET, PUT and DELETE are accepted like POST", async () => {
    const put = await raw("euclid", "upsert/methods", { method: "PUT", body: { id: "m1", vector: [1, 0] } });
    assert.deepStrictEqual(put.json, { result: "Success" }, put.text);
    const get = await raw("euclid", "info", { method: "GET" });
    assert.equal(get.status, 200, get.text);
    assert.equal(get.json.result.namespaces.methods.vectorCount, 1);
    const list = await raw("euclid", "list-namespaces", { method: "GET" });
    assert.ok(list.json.result.includes("methods"), list.text);
    const del = await raw("euclid", "delete/methods", { method: "DELETE", body: { ids: ["m1"] } });
    assert.deepStrictEqual(del.json, { result: { deleted: 1 } }, del.text);
    const reset = await raw("euclid", "reset/methods", { method: "DELETE" });
    assert.deepStrictEqual(reset.json, { result: "Success" }, reset.text);
    const dns = await raw("euclid", "delete-namespace/methods", { method: "DELETE" });
    assert.deepStrictEqual(dns.json, { result: "Success" }, dns.text);
  });

  test("no-argument commands accept an empty body, null, [] and {}", async () => {
    for (const rawBody of [undefined, "", "null", "[]", "{}"]) {
      for (const cmd of ["info", "list-namespaces"]) {
        const r = await raw("dense", cmd, { rawBody });
        assert.equal(r.status, 200, `${cmd} with body ${JSON.stringify(rawBody)}: ${r.text}`);
        assert.ok(r.json.result !== undefined);
      }
      await ix("dense").upsert({ id: "r", vector: [1, 1, 1, 1] }, { namespace: "bodies" });
      const reset = await raw("dense", "reset/bodies", { rawBody });
      assert.deepStrictEqual(reset.json, { result: "Success" }, `reset with body ${JSON.stringify(rawBody)}: ${reset.text}`);
      assert.deepStrictEqual(await ix("dense").fetch(["r"], { namespace: "bodies" }), [null]);
    }
  });

  test("explicit nulls (Python) mean absent fields", async () => {
    const up = await raw("dense", "upsert/nulls", { body: [{ id: "p1", vector: [1, 2, 3, 4], sparseVector: null, metadata: null, data: null }] });
    assert.deepStrictEqual(up.json, { result: "Success" }, up.text);
    assert.deepStrictEqual(await ix("dense").fetch(["p1"], { includeMetadata: true, includeData: true, includeVectors: true, namespace: "nulls" }), [{ id: "p1", vector: [1, 2, 3, 4] }]);
    const q = await raw("dense", "query/nulls", { body: { vector: [1, 2, 3, 4], sparseVector: null, topK: 1, filter: "", includeMetadata: true, includeVectors: false, includeData: false } });
    assert.deepStrictEqual(q.json, { result: [{ id: "p1", score: 1 }] }, q.text);
    const sp = await raw("sparse", "upsert/nulls", { body: { id: "s1", vector: null, sparseVector: { indices: [1], values: [1] }, metadata: null } });
    assert.deepStrictEqual(sp.json, { result: "Success" }, sp.text);
  });

  test("Go's delete variants: a raw id, a bare JSON array, a JSON string; no Content-Type anywhere", async () => {
    await ix("dense").upsert(["id-0", "id-1", "id-2", "id-3", "id-4"].map((id, i) => ({ id, vector: [i + 1, 1, 1, 1] })), { namespace: "go" });
    const rawId = await raw("dense", "delete/go", { rawBody: "id-0" });
    assert.deepStrictEqual(rawId.json, { result: { deleted: 1 } }, `raw id bytes: ${rawId.text}`);
    const arr = await raw("dense", "delete/go", { rawBody: '["id-1","id-2"]' });
    assert.deepStrictEqual(arr.json, { result: { deleted: 2 } }, `bare array: ${arr.text}`);
    const str = await raw("dense", "delete/go", { rawBody: '"id-3"' });
    assert.deepStrictEqual(str.json, { result: { deleted: 1 } }, `JSON string: ${str.text}`);
    // rawBody requests carry no Content-Type header at all.
    const up = await raw("dense", "upsert/go", { rawBody: '{"id":"nct","vector":[1,1,1,1]}' });
    assert.deepStrictEqual(up.json, { result: "Success" }, up.text);
    assert.deepStrictEqual(ids((await ix("dense").range({ cursor: 0, limit: 10 }, { namespace: "go" })).vectors), ["id-4", "nct"]);
  });

  test("numbers as ids are returned as strings; topK defaults to 10", async () => {
    const body = Array.from({ length: 15 }, (_, i) => ({ id: i, vector: [1, i, 0, 0] }));
    await raw("dense", "upsert/numids", { body });
    const q = await raw("dense", "query/numids", { body: { vector: [1, 0, 0, 0] } });
    assert.equal(q.status, 200, q.text);
    assert.equal(q.json.result.length, 10, "default topK");
    for (const r of q.json.result) assert.equal(typeof r.id, "string");
    assert.equal(q.json.result[0].id, "0");
  });
});

describe("endpoints without an SDK method", () => {
  test("random returns one vector of the namespace, or null when it is empty", async () => {
    await ix("euclid").upsert([{ id: "r1", vector: [1, 2] }, { id: "r2", vector: [3, 4] }], { namespace: "random" });
    const r = await raw("euclid", "random/random");
    assert.equal(r.status, 200, r.text);
    assert.ok(["r1", "r2"].includes(r.json.result?.id), r.text);
    await ix("euclid").upsert({ id: "gone", vector: [1, 1] }, { namespace: "random-empty" });
    await ix("euclid").reset({ namespace: "random-empty" });
    const empty = await raw("euclid", "random/random-empty");
    assert.deepStrictEqual(empty.json, { result: null }, empty.text);
  });

  test("rename-namespace moves the vectors; deleteExisting guards an existing target", async () => {
    await ix("euclid").upsert({ id: "a", vector: [1, 0] }, { namespace: "old" });
    await ix("euclid").upsert({ id: "b", vector: [0, 1] }, { namespace: "taken" });
    const r = await raw("euclid", "rename-namespace", { body: { namespace: "old", newNamespace: "new" } });
    assert.deepStrictEqual(r.json, { result: { renamed: true } }, r.text);
    assert.deepStrictEqual(await ix("euclid").fetch(["a"], { namespace: "new" }), [{ id: "a" }]);
    const names = await ix("euclid").listNamespaces();
    assert.ok(names.includes("new") && !names.includes("old"), JSON.stringify(names));
    const clash = await raw("euclid", "rename-namespace", { body: { namespace: "new", newNamespace: "taken" } });
    assertClientError(clash, undefined, "renaming onto an existing namespace without deleteExisting");
    assert.deepStrictEqual(await ix("euclid").fetch(["b"], { namespace: "taken" }), [{ id: "b" }]);
    const forced = await raw("euclid", "rename-namespace", { body: { namespace: "new", newNamespace: "taken", deleteExisting: true } });
    assert.deepStrictEqual(forced.json, { result: { renamed: true } }, forced.text);
    assert.deepStrictEqual(await ix("euclid").fetch(["a", "b"], { namespace: "taken" }), [{ id: "a" }, null]);
  });
});

describe("namespaces, concurrency, limits", () => {
  test("namespace names that need URL encoding work through the SDK", async () => {
    for (const name of ["café", "with space", "a:b"]) {
      const ns = ix("euclid").namespace(name);
      assert.equal(await ns.upsert({ id: "x", vector: [1, 1] }), "Success", name);
      assert.deepStrictEqual(await ns.fetch(["x"]), [{ id: "x" }], name);
      assert.ok((await ix("euclid").listNamespaces()).includes(name), `${name} listed as itself`);
      assert.equal(await ix("euclid").deleteNamespace(name), "Success");
    }
  });

  test("writes fired without awaiting are all visible to the next read (read-your-writes)", async () => {
    const index = ix("dense");
    const pending = Array.from({ length: 50 }, (_, i) => index.upsert({ id: `c${i}`, vector: [i + 1, 1, 1, 1] }, { namespace: "conc" }));
    await Promise.all(pending);
    const got = await index.fetch(Array.from({ length: 50 }, (_, i) => `c${i}`), { namespace: "conc" });
    assert.ok(got.every((v) => v !== null), "every upsert is visible");
    const del = Array.from({ length: 50 }, (_, i) => index.delete(`c${i}`, { namespace: "conc" }));
    const counts = await Promise.all(del);
    assert.equal(counts.reduce((s, c) => s + c.deleted, 0), 50);
    assert.equal((await index.info()).namespaces.conc.vectorCount, 0);
  });

  test("a batch of 1000 vectors is accepted; data up to 1 MB is kept and beyond it refused", async () => {
    const index = ix("euclid");
    const batch = Array.from({ length: 1000 }, (_, i) => ({ id: `b${i}`, vector: [i, 1000 - i] }));
    assert.equal(await index.upsert(batch, { namespace: "big" }), "Success");
    assert.equal((await index.info()).namespaces.big.vectorCount, 1000);
    const okData = "d".repeat(1000 * 1000);
    await index.upsert({ id: "data-ok", vector: [1, 1], data: okData }, { namespace: "big" });
    assert.equal((await index.fetch(["data-ok"], { includeData: true, namespace: "big" }))[0].data.length, okData.length);
    const tooBig = await raw("euclid", "upsert/big", { body: { id: "data-big", vector: [1, 1], data: "d".repeat(1024 * 1024 + 1) } });
    assertClientError(tooBig, undefined, "data over 1 MB");
    assert.deepStrictEqual(await index.fetch(["data-big"], { namespace: "big" }), [null]);
  });
});
