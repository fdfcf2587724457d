// Bad input to the Vector face, through @upstash/vector 1.2.3 and raw HTTP: every rejected
// request must answer with the documented status and a JSON `{"error": "...", "status": n}` body
// (the SDK surfaces `error` as an UpstashError), and must change nothing: each test compares a
// snapshot of the affected indexes (info counts + every vector of every namespace) before and after.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertClientError, assertErrorReply, HAS_MODEL, loudSkip, rejectsUpstash, sleep, useVector } from "./vector_harness.mjs";

const ctx = useVector({ setup: seed });
const ix = (name, opts) => ctx.v.index(name, opts);
const raw = (...a) => ctx.v.raw(...a);
const idsOf = (rows) => rows.map((r) => r.id);

/** Runs `fn` and asserts that the listed indexes look exactly the same afterwards. */
async function unchanged(names, fn) {
  const before = {};
  for (const n of names) before[n] = await ctx.v.snapshot(n);
  await fn();
  for (const n of names) assert.deepStrictEqual(await ctx.v.snapshot(n), before[n], `index ${n} changed`);
}

const DIM_MSG = (got, expected) => `Invalid vector dimension: ${got}, expected: ${expected}`;
const POSITION = /\b(column|col|position|pos|offset|index|char(acter)?)\b\D{0,20}\d+/i;

async function seed() {
  await ix("dense").upsert([
    { id: "a", vector: [1, 0, 0, 0], metadata: { k: 1, name: "a" }, data: "A" },
    { id: "b", vector: [0, 1, 0, 0], metadata: { k: 2, name: "b" } },
    { id: "c", vector: [0, 0, 1, 0] },
  ]);
  await ix("dense").upsert([{ id: "x", vector: [1, 1, 1, 1], metadata: { k: 3 } }], { namespace: "e" });
  await ix("sparse").upsert([{ id: "s", sparseVector: { indices: [1, 2], values: [0.5, 0.5] }, metadata: { k: 1 } }]);
  await ix("hybrid").upsert([{ id: "h", vector: [1, 0], sparseVector: { indices: [1], values: [1] }, metadata: { k: 1 } }]);
  await ix("euclid").upsert([{ id: "p", vector: [0, 0] }, { id: "q", vector: [1, 1] }], { namespace: "e" });
}

describe("vectors", () => {
  test("a wrong dimension is 422 'Invalid vector dimension: N, expected: D' on upsert, query and update", async () => {
    await unchanged(["dense", "hybrid"], async () => {
      await rejectsUpstash(ix("dense").upsert({ id: "w", vector: [1, 2] }), new RegExp(`^${DIM_MSG(2, 4)}$`), "SDK upsert");
      const r = await raw("dense", "upsert", { body: { id: "w", vector: [1, 2, 3, 4, 5] } });
      assertErrorReply(r, 422, new RegExp(`^${DIM_MSG(5, 4)}$`), "raw upsert");
      const batch = await raw("dense", "upsert", { body: [{ id: "ok1", vector: [1, 2, 3, 4] }, { id: "w", vector: [1, 2, 3] }] });
      assertErrorReply(batch, 422, new RegExp(DIM_MSG(3, 4)), "a batch with one bad item is refused as a whole");
      await rejectsUpstash(ix("dense").query({ vector: [1, 2], topK: 1 }), new RegExp(DIM_MSG(2, 4)), "query");
      assertErrorReply(await raw("dense", "query", { body: { vector: [1, 2, 3], topK: 1 } }), 422, new RegExp(DIM_MSG(3, 4)), "raw query");
      await rejectsUpstash(ix("dense").update({ id: "a", vector: [1] }), new RegExp(DIM_MSG(1, 4)), "update");
      await rejectsUpstash(ix("hybrid").upsert({ id: "w", vector: [1, 2, 3], sparseVector: { indices: [1], values: [1] } }), new RegExp(DIM_MSG(3, 2)), "hybrid");
      assertErrorReply(await raw("dense", "resumable-query", { body: { vector: [1, 2], topK: 1, maxIdle: 60 } }), 422, new RegExp(DIM_MSG(2, 4)), "resumable");
    });
  });

  test("non-numeric and non-finite components are refused (JSON has no NaN)", async () => {
    await unchanged(["dense"], async () => {
      // The SDK serialises NaN and Infinity as null.
      await rejectsUpstash(ix("dense").upsert({ id: "nan", vector: [Number.NaN, 1, 1, 1] }), /./, "NaN via the SDK");
      await rejectsUpstash(ix("dense").upsert({ id: "inf", vector: [Number.POSITIVE_INFINITY, 1, 1, 1] }), /./, "Infinity via the SDK");
      for (const bad of ['{"id":"n","vector":[NaN,1,1,1]}', '{"id":"n","vector":["1",1,1,1]}', '{"id":"n","vector":[1e400,1,1,1]}', '{"id":"n","vector":[1e39,1,1,1]}', '{"id":"n","vector":[true,1,1,1]}', '{"id":"n","vector":"1,1,1,1"}']) {
        assertClientError(await raw("dense", "upsert", { rawBody: bad, headers: { "content-type": "application/json" } }), undefined, bad);
      }
      assertClientError(await raw("dense", "query", { rawBody: '{"vector":[1e39,1,1,1],"topK":1}' }), undefined, "query with a component beyond f32");
      assertClientError(await raw("dense", "update", { rawBody: '{"id":"a","vector":["x",1,1,1]}' }), undefined, "update with a string component");
    });
  });

  test("sparse vectors: mismatched arrays, more than 1000 non-zeros, or no sparse part are refused", async () => {
    await unchanged(["sparse", "hybrid"], async () => {
      await rejectsUpstash(ix("sparse").upsert({ id: "m", sparseVector: { indices: [1, 2], values: [1] } }), /./, "indices longer than values");
      assertClientError(await raw("sparse", "upsert", { body: { id: "m", sparseVector: { indices: [1], values: [1, 2] } } }), undefined, "values longer than indices");
      assertClientError(await raw("sparse", "query", { body: { sparseVector: { indices: [1, 2], values: [1] }, topK: 1 } }), undefined, "query with mismatched arrays");
      assertClientError(await raw("sparse", "upsert", { body: { id: "m", sparseVector: { indices: [1.5], values: [1] } } }), undefined, "a fractional index");
      assertClientError(await raw("sparse", "upsert", { body: { id: "m", sparseVector: { indices: [4294967296], values: [1] } } }), undefined, "an index beyond 32 bits");
      const many = Array.from({ length: 1001 }, (_, i) => i);
      assertClientError(await raw("sparse", "upsert", { body: { id: "m", sparseVector: { indices: many, values: many.map(() => 1) } } }), undefined, "1001 non-zeros");
      await rejectsUpstash(ix("sparse").upsert({ id: "m", vector: [1, 2] }), /./, "a dense vector on a sparse index");
      await rejectsUpstash(ix("hybrid").upsert({ id: "m", vector: [1, 2] }), /./, "hybrid without its sparse part");
      await rejectsUpstash(ix("hybrid").upsert({ id: "m", sparseVector: { indices: [1], values: [1] } }), /./, "hybrid without its dense part");
      await rejectsUpstash(ix("hybrid").update({ id: "h", vector: [0, 1] }), /./, "hybrid update of one component only");
      await rejectsUpstash(ix("sparse").update({ id: "s", sparseVector: { indices: [1, 2, 3], values: [1] } }), /./, "update with mismatched arrays");
    });
  });

  test("a dense index refuses sparse vectors and vector-less upserts", async () => {
    await unchanged(["dense"], async () => {
      await rejectsUpstash(ix("dense").upsert({ id: "m", sparseVector: { indices: [1], values: [1] } }), /./, "sparse on dense");
      assertClientError(await raw("dense", "upsert", { body: { id: "m", metadata: { a: 1 } } }), undefined, "no vector at all");
      assertClientError(await raw("dense", "upsert", { body: { id: "m", vector: null } }), undefined, "a null vector");
      assertClientError(await raw("dense", "query", { body: { topK: 1 } }), undefined, "a query without vector");
    });
  });
});

describe("ids, metadata, limits", () => {
  test("missing, empty and too long ids are refused", async () => {
    await unchanged(["dense"], async () => {
      assertClientError(await raw("dense", "upsert", { body: { vector: [1, 1, 1, 1] } }), undefined, "no id");
      assertClientError(await raw("dense", "upsert", { body: { id: "", vector: [1, 1, 1, 1] } }), undefined, "empty id");
      assertClientError(await raw("dense", "upsert", { body: { id: null, vector: [1, 1, 1, 1] } }), undefined, "null id");
      await rejectsUpstash(ix("dense").upsert({ id: "i".repeat(10_000), vector: [1, 1, 1, 1] }), /./, "a 10 000-byte id");
      assertClientError(await raw("dense", "upsert", { body: [{ id: "fine", vector: [1, 1, 1, 1] }, { id: "j".repeat(10_000), vector: [1, 1, 1, 1] }] }), undefined, "a batch with one too-long id");
    });
  });

  test("metadata over 48 KB is refused on upsert and update; just under is accepted", async () => {
    const okMeta = { s: "m".repeat(40 * 1024) };
    await ix("euclid").upsert({ id: "big-ok", vector: [1, 1], metadata: okMeta }, { namespace: "meta-ok" });
    assert.deepStrictEqual(await ix("euclid").fetch(["big-ok"], { includeMetadata: true, namespace: "meta-ok" }), [{ id: "big-ok", metadata: okMeta }]);
    await unchanged(["dense"], async () => {
      const tooBig = { s: "m".repeat(49 * 1024) };
      await rejectsUpstash(ix("dense").upsert({ id: "big", vector: [1, 1, 1, 1], metadata: tooBig }), /./, "upsert with 49 KB metadata");
      await rejectsUpstash(ix("dense").update({ id: "a", metadata: tooBig }), /./, "update with 49 KB metadata");
      await rejectsUpstash(ix("dense").update({ id: "a", metadata: tooBig, metadataUpdateMode: "PATCH" }), /./, "patch to 49 KB metadata");
      const many = Object.fromEntries(Array.from({ length: 7000 }, (_, i) => [`k${i}`, i]));
      assert.ok(JSON.stringify(many).length > 48 * 1024);
      await rejectsUpstash(ix("dense").upsert({ id: "big", vector: [1, 1, 1, 1], metadata: many }), /./, "many small keys over 48 KB");
    });
  });

  test("topK outside 1..1000 or not an integer is refused", async () => {
    await unchanged(["dense"], async () => {
      for (const topK of [1001, 100000, -1, 1.5, "ten"]) {
        const r = await raw("dense", "query", { body: { vector: [1, 1, 1, 1], topK } });
        assertClientError(r, undefined, `topK ${JSON.stringify(topK)}`);
      }
      await rejectsUpstash(ix("dense").query({ vector: [1, 1, 1, 1], topK: 1001 }), /./, "SDK topK 1001");
      await rejectsUpstash(ix("dense").resumableQuery({ vector: [1, 1, 1, 1], topK: 1001, maxIdle: 60 }), /./, "resumable topK 1001");
      const ok = await ix("dense").query({ vector: [1, 1, 1, 1], topK: 1000 });
      assert.equal(ok.length, 3, "topK 1000 is fine");
    });
  });

  test("malformed filters are refused with the position of the error", async () => {
    const bad = [
      "country = ",
      "(population > 1",
      "population >> 3",
      "city GLOB",
      "HAS FIELD",
      "name = 'unterminated",
      "AND k = 1",
      "k = 1 OR",
      "k IN ()",
      "k = 1 k = 2",
      "NOT k = 1",
      "k = 1)",
    ];
    await unchanged(["dense"], async () => {
      for (const filter of bad) {
        const r = await raw("dense", "query", { body: { vector: [1, 1, 1, 1], topK: 5, filter } });
        assertClientError(r, POSITION, `filter ${JSON.stringify(filter)}`);
      }
      await rejectsUpstash(ix("dense").query({ vector: [1, 1, 1, 1], topK: 5, filter: "k = = 1" }), POSITION, "SDK query");
      await rejectsUpstash(ix("dense").delete({ filter: "k >= " }), POSITION, "delete by a malformed filter deletes nothing");
      await rejectsUpstash(ix("dense").resumableQuery({ vector: [1, 1, 1, 1], topK: 5, filter: "(k = 1", maxIdle: 60 }), POSITION, "resumable");
    });
  });

  test("fetch and delete take exactly one selector (reference messages)", async () => {
    await unchanged(["dense"], async () => {
      const f = await raw("dense", "fetch", { body: { ids: ["a"], prefix: "a" } });
      assertClientError(f, /^Only one of ids or prefix must be provided\.$/, "fetch with ids and prefix");
      for (const body of [{ ids: ["a"], prefix: "a" }, { ids: ["a"], filter: "k = 1" }, { prefix: "a", filter: "k = 1" }]) {
        const d = await raw("dense", "delete", { body });
        assertClientError(d, /^Only and only one of the ids, prefix, or filter must be provided\.$/, `delete ${JSON.stringify(body)}`);
      }
      assertClientError(await raw("dense", "upsert", { rawBody: "{not json" }), undefined, "malformed JSON");
    });
  });

  test("upsert-data on an index without an embedding model is 422 with the reference text", async () => {
    await unchanged(["dense", "sparse"], async () => {
      const msg = /^Embedding data for this index is not allowed\. The index must be created with an embedding model to use it\.$/;
      await rejectsUpstash(ix("dense").upsert({ id: "t", data: "some text" }), msg, "SDK upsert with data only");
      assertErrorReply(await raw("dense", "upsert-data", { body: [{ id: "t", data: "x" }] }), 422, msg, "raw upsert-data");
      assertErrorReply(await raw("dense", "query-data", { body: { data: "x", topK: 1 } }), 422, msg, "query-data");
      await rejectsUpstash(ix("dense").query({ data: "x", topK: 1 }), msg, "SDK query by data");
      await rejectsUpstash(ix("sparse").upsert({ id: "t", data: "x" }), msg, "sparse index without a model");
    });
  });

  test("upsert-data items without data are refused", { skip: HAS_MODEL ? false : loudSkip("vector_errors.test.mjs upsert-data without data") }, async () => {
    await unchanged(["embed"], async () => {
      assertClientError(await raw("embed", "upsert-data", { body: [{ id: 1 }] }), undefined, "no data");
      assertClientError(await raw("embed", "upsert-data", { body: [{ id: "ok", data: "fine" }, { id: "bad" }] }), undefined, "batch with one item lacking data");
      assertClientError(await raw("embed", "upsert-data", { body: { id: "x", data: 5 } }), undefined, "non-string data");
    });
  });
});

describe("namespaces and resumable queries", () => {
  test("deleting an unknown namespace is 404; the default namespace cannot be deleted", async () => {
    await unchanged(["dense"], async () => {
      await rejectsUpstash(ix("dense").deleteNamespace("nope"), /nope/, "SDK");
      const r = await raw("dense", "delete-namespace/nope");
      assertErrorReply(r, 404, /^Namespace nope for the index .+ does not exist$/, "raw");
      const d = await raw("dense", "delete-namespace/");
      assert.ok(d.status >= 400 && d.status < 500, `deleting the default namespace: ${d.status} ${d.text}`);
      assert.deepStrictEqual((await ix("dense").listNamespaces()).sort(), ["", "e"]);
    });
  });

  test("an expired, stopped or unknown resumable query uuid is an error", async () => {
    await unchanged(["euclid"], async () => {
      const start = await raw("euclid", "resumable-query/e", { body: { vector: [0, 0], topK: 1, maxIdle: 1 } });
      assert.equal(start.status, 200, start.text);
      const { uuid } = start.json.result;
      await sleep(2500);
      assertClientError(await raw("euclid", "resumable-query-next", { body: { uuid, additionalK: 1 } }), undefined, "expired uuid");
      assertClientError(await raw("euclid", "resumable-query-end", { body: { uuid } }), undefined, "ending an expired query");
      assertClientError(await raw("euclid", "resumable-query-next", { body: { uuid: "00000000-0000-0000-0000-000000000000", additionalK: 1 } }), undefined, "unknown uuid");
      assertClientError(await raw("euclid", "resumable-query-end", { body: { uuid: "no-such-query" } }), undefined, "ending an unknown query");
      // The SDK surfaces it as an UpstashError.
      const { fetchNext } = await ix("euclid").resumableQuery({ vector: [0, 0], topK: 1, maxIdle: 1 }, { namespace: "e" });
      await sleep(2500);
      await rejectsUpstash(fetchNext(1), /./, "SDK fetchNext after expiry");
    });
  });
});

describe("authentication and routing", () => {
  test("a read-only token is refused on every write with 403 and changes nothing; reads work", async () => {
    const names = ["dense", "sparse", "hybrid"];
    await unchanged(names, async () => {
      const ro = ix("dense", { readonly: true });
      await rejectsUpstash(ro.upsert({ id: "ro", vector: [1, 1, 1, 1] }), /read-only/i, "upsert");
      await rejectsUpstash(ro.upsert({ id: "ro", data: "text" }), /read-only/i, "upsert-data");
      await rejectsUpstash(ro.update({ id: "a", metadata: { k: 100 } }), /read-only/i, "update");
      await rejectsUpstash(ro.delete("a"), /read-only/i, "delete id");
      await rejectsUpstash(ro.delete({ prefix: "a" }), /read-only/i, "delete prefix");
      await rejectsUpstash(ro.delete({ filter: "k >= 0" }), /read-only/i, "delete filter");
      await rejectsUpstash(ro.reset(), /read-only/i, "reset");
      await rejectsUpstash(ro.reset({ namespace: "e" }), /read-only/i, "reset namespace");
      await rejectsUpstash(ro.reset({ all: true }), /read-only/i, "reset all");
      await rejectsUpstash(ro.deleteNamespace("e"), /read-only/i, "delete-namespace");
      const ns = ro.namespace("e");
      await rejectsUpstash(ns.upsert({ id: "ro", vector: [1, 1, 1, 1] }), /read-only/i, "namespaced upsert");
      await rejectsUpstash(ns.delete("x"), /read-only/i, "namespaced delete");
      await rejectsUpstash(ns.update({ id: "x", vector: [0, 0, 0, 1] }), /read-only/i, "namespaced update");
      await rejectsUpstash(ns.reset(), /read-only/i, "namespaced reset");
      await rejectsUpstash(ix("sparse", { readonly: true }).upsert({ id: "ro", sparseVector: { indices: [1], values: [1] } }), /read-only/i, "sparse upsert");
      await rejectsUpstash(ix("hybrid", { readonly: true }).update({ id: "h", vector: [0, 1], sparseVector: { indices: [2], values: [1] } }), /read-only/i, "hybrid update");

      const t = ctx.v.readonlyToken("dense");
      for (const [cmd, body] of [
        ["upsert", { id: "ro", vector: [1, 1, 1, 1] }],
        ["upsert-data", { id: "ro", data: "x" }],
        ["update", { id: "a", vector: [0, 0, 0, 1] }],
        ["delete", { ids: ["a"] }],
        ["reset", undefined],
        ["reset?all", undefined],
        ["delete-namespace/e", undefined],
        ["rename-namespace", { namespace: "e", newNamespace: "f" }],
      ]) {
        for (const method of ["POST", "DELETE"]) {
          const r = await raw("dense", cmd, { body, token: t, method });
          assertErrorReply(r, 403, /read-only/i, `${method} ${cmd} with the read-only token`);
        }
      }

      // Reads with the read-only token.
      assert.deepStrictEqual(idsOf(await ro.fetch(["a", "b"])), ["a", "b"]);
      assert.equal((await ro.query({ vector: [1, 0, 0, 0], topK: 1 }))[0].id, "a");
      assert.equal((await ro.range({ cursor: 0, limit: 10 })).vectors.length, 3);
      assert.equal((await ro.info()).vectorCount, 4);
      assert.deepStrictEqual((await ro.listNamespaces()).sort(), ["", "e"]);
      const rq = await ro.resumableQuery({ vector: [1, 0, 0, 0], topK: 1, maxIdle: 60 });
      assert.equal(rq.result[0].id, "a");
      assert.equal((await rq.fetchNext(1)).length, 1);
      assert.equal(await rq.stop(), "Success");
      assert.deepStrictEqual(idsOf(await ns.fetch(["x"])), ["x"]);
    });
  });

  test("a wrong, missing or other index's token is 401 with the reference body", async () => {
    await unchanged(["dense"], async () => {
      const body401 = { error: "Unauthorized: Invalid auth token", status: 401 };
      const wrong = await raw("dense", "info", { body: [], token: "not-the-token" });
      assert.equal(wrong.status, 401);
      assert.deepStrictEqual(wrong.json, body401);
      const none = await raw("dense", "upsert", { body: { id: "z", vector: [1, 1, 1, 1] }, token: null });
      assert.equal(none.status, 401);
      assert.deepStrictEqual(none.json, body401);
      for (const token of [ctx.v.token("sparse"), ctx.v.readonlyToken("sparse")]) {
        const other = await raw("dense", "upsert", { body: { id: "z", vector: [1, 1, 1, 1] }, token });
        assert.equal(other.status, 401, `another index's token: ${other.text}`);
      }
      const basic = await raw("dense", "info", { body: [], token: null, headers: { authorization: `Basic ${Buffer.from("x:nope").toString("base64")}` } });
      assert.equal(basic.status, 401);
      await rejectsUpstash(ix("dense", { token: "nope" }).upsert({ id: "z", vector: [1, 1, 1, 1] }), /^Unauthorized: Invalid auth token$/, "SDK");
      await rejectsUpstash(ix("dense", { token: "nope" }).query({ vector: [1, 1, 1, 1], topK: 1 }), /^Unauthorized: Invalid auth token$/, "SDK read");
    });
  });

  test("an unknown index is 404, an unknown command or the bare base URL fails with a JSON error", async () => {
    await unchanged(["dense"], async () => {
      const r = await ctx.v.raw("no-such-index", "info", { body: [], token: ctx.v.token("dense") });
      assertErrorReply(r, 404, undefined, "unknown index");
      const q = await ctx.v.raw("no-such-index", "upsert", { body: { id: "z", vector: [1, 1, 1, 1] }, token: ctx.v.token("dense") });
      assertErrorReply(q, 404, undefined, "unknown index, write");
      const cmd = await raw("dense", "no-such-command", { body: {} });
      assertClientError(cmd, undefined, "unknown command");
      const bare = await raw("dense", "", { body: ["get", "1", "2"] });
      assertClientError(bare, undefined, "POST of a Redis command to the base URL");
      const patch = await raw("dense", "info", { method: "PATCH", body: [] });
      assertErrorReply(patch, 405, undefined, "PATCH is not an accepted method");
    });
  });
});

// Last in the file: when this fails by hanging the server, the other tests have already run.
describe("isolation between indexes", () => {
  test("a resumable query uuid of one index is unknown to another (and the server keeps answering)", async () => {
    await unchanged(["dense", "euclid"], async () => {
      const other = await raw("euclid", "resumable-query/e", { body: { vector: [0, 0], topK: 1, maxIdle: 60 } });
      assert.equal(other.status, 200, other.text);
      const { uuid } = other.json.result;
      const stranger = await raw("dense", "resumable-query-next", { body: { uuid, additionalK: 1 } });
      assertClientError(stranger, undefined, "resumable-query-next on dense with euclid's uuid");
      const strangerEnd = await raw("dense", "resumable-query-end", { body: { uuid } });
      assertClientError(strangerEnd, undefined, "resumable-query-end on dense with euclid's uuid");
      const own = await raw("euclid", "resumable-query-next", { body: { uuid, additionalK: 1 } });
      assert.equal(own.status, 200, `the owner can still use it: ${own.text}`);
      assert.deepStrictEqual((await raw("euclid", "resumable-query-end", { body: { uuid } })).json, { result: "Success" });
    });
  });
});
