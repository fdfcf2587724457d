// Every @upstash/vector 1.2.3 Index method against the real server, on the index kinds it is
// meant for: upsert / fetch / query (dense with each similarity, sparse with IDF, hybrid with RRF
// and DBSF), queryMany, resumable queries, range, update, delete, reset, info and namespaces,
// plus the metadata filter language (reference §7) one operator family per test.
//
// Scores are checked against the reference's formulas (§5) at f32 precision, computed here from
// the stored (f32) inputs: identical vector → exactly 1, COSINE (1+cos)/2, EUCLIDEAN 1/(1+d²),
// DOT_PRODUCT (1+a·b)/2, sparse inner product with IDF ln((N−n+0.5)/(n+0.5)+1), RRF Σ 1/(60+rank)
// and DBSF (s−(μ−3σ))/(6σ) with the sample σ. The [verified] values of the reference are also
// asserted literally.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { FusionAlgorithm, Index, QueryMode, WeightingStrategy } from "@upstash/vector";
import {
  DENSE_MODEL,
  HAS_MODEL,
  MODEL_DIM,
  assertScore,
  cosineScore,
  dbsf,
  dotScore,
  euclideanScore,
  f32vec,
  idf,
  loudSkip,
  prng,
  rejectsUpstash,
  sleep,
  sparseScore,
  useVector,
} from "./vector_harness.mjs";

const ctx = useVector();
const ix = (name, opts) => ctx.v.index(name, opts);
const sorted = (a) => [...a].sort();
const idsOf = (rows) => rows.map((r) => r.id);

describe("server", () => {
  test("the banner announces every index with its URL and tokens; Index.fromEnv works with them", async () => {
    const out = ctx.v.stdout();
    for (const { name } of ctx.v.indexes) {
      const block = new RegExp(
        `# vector index ${name}(?:[ \\t][^\\n]*)?\\r?\\nUPSTASH_VECTOR_REST_URL=(\\S+)\\r?\\nUPSTASH_VECTOR_REST_TOKEN=(\\S+)\\r?\\nUPSTASH_VECTOR_REST_READONLY_TOKEN=(\\S+)`,
      );
      const m = out.match(block);
      assert.ok(m, `banner block for ${name} in:\n${out}`);
      assert.equal(m[1], ctx.v.url(name));
      assert.equal(m[2], ctx.v.token(name));
      assert.equal(m[3], ctx.v.readonlyToken(name));
    }
    assert.match(out, /UPSTASH_VECTOR_ADMIN_TOKEN=\S+/, "dev prints the admin token once");

    const saved = { url: process.env.UPSTASH_VECTOR_REST_URL, token: process.env.UPSTASH_VECTOR_REST_TOKEN };
    process.env.UPSTASH_VECTOR_REST_URL = ctx.v.url("euclid");
    process.env.UPSTASH_VECTOR_REST_TOKEN = ctx.v.token("euclid");
    try {
      const fromEnv = Index.fromEnv(undefined, { retry: false, enableTelemetry: false });
      const info = await fromEnv.info();
      assert.equal(info.dimension, 2);
      assert.equal(info.similarityFunction, "EUCLIDEAN");
    } finally {
      for (const [k, v] of [["UPSTASH_VECTOR_REST_URL", saved.url], ["UPSTASH_VECTOR_REST_TOKEN", saved.token]]) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe("upsert and fetch", () => {
  test("dense upsert of one and of many; fetch by ids aligns results and gives null for missing ids", async () => {
    const index = ix("dense");
    const namespace = "upfetch";
    assert.equal(await index.upsert({ id: 33, vector: [0.1, 0.2, 0.3, 0.4], metadata: { hello: "world", n: 1.5 } }, { namespace }), "Success");
    assert.equal(
      await index.upsert(
        [
          { id: "a", vector: [1, 0, 0, 0] },
          { id: "b", vector: [0, 1, 0, 0], metadata: { tags: ["x", "y"], nested: { deep: { v: true } } } },
          { id: "c", vector: [0, 0, 1, 0], metadata: { c: null } },
        ],
        { namespace },
      ),
      "Success",
    );
    const full = await index.fetch(["33", "a", "missing", "b", "c"], { includeVectors: true, includeMetadata: true, namespace });
    assert.deepStrictEqual(full, [
      { id: "33", vector: [0.1, 0.2, 0.3, 0.4], metadata: { hello: "world", n: 1.5 } },
      { id: "a", vector: [1, 0, 0, 0] },
      null,
      { id: "b", vector: [0, 1, 0, 0], metadata: { tags: ["x", "y"], nested: { deep: { v: true } } } },
      { id: "c", vector: [0, 0, 1, 0], metadata: { c: null } },
    ]);
    // Nothing requested → ids only, no null placeholders for the absent fields.
    const bare = await index.fetch([33, "a"], { namespace });
    assert.deepStrictEqual(bare, [{ id: "33" }, { id: "a" }]);
    // Upsert replaces: same id, new vector and no metadata.
    await index.upsert({ id: "a", vector: [0.5, 0.5, 0, 0] }, { namespace });
    assert.deepStrictEqual(await index.fetch(["a"], { includeVectors: true, includeMetadata: true, namespace }), [{ id: "a", vector: [0.5, 0.5, 0, 0] }]);
    // The default namespace did not receive any of this.
    assert.deepStrictEqual(await index.fetch(["33", "a", "b"]), [null, null, null]);
  });

  test("upsert with vector and data stores the data without embedding; includeData returns it", async () => {
    const index = ix("dense");
    const namespace = "withdata";
    await index.upsert([
      { id: "d1", vector: [1, 2, 3, 4], data: "Shakuhachi" },
      { id: "d2", vector: [4, 3, 2, 1], data: "ünïcødé ✓ text", metadata: { m: 1 } },
    ], { namespace });
    assert.deepStrictEqual(await index.fetch(["d1", "d2"], { includeData: true, namespace }), [
      { id: "d1", data: "Shakuhachi" },
      { id: "d2", data: "ünïcødé ✓ text" },
    ]);
    assert.deepStrictEqual(await index.fetch(["d1"], { includeData: false, includeMetadata: true, namespace }), [{ id: "d1" }]);
    const q = await index.query({ vector: [1, 2, 3, 4], topK: 1, includeData: true }, { namespace });
    assert.deepStrictEqual(q, [{ id: "d1", score: 1, data: "Shakuhachi" }]);
    const noData = await index.query({ vector: [1, 2, 3, 4], topK: 1, includeData: false }, { namespace });
    assert.deepStrictEqual(noData, [{ id: "d1", score: 1 }]);
    // `data` is not metadata: filters never see it.
    assert.deepStrictEqual(await index.query({ vector: [1, 2, 3, 4], topK: 5, filter: "data = 'Shakuhachi'" }, { namespace }), []);
    assert.deepStrictEqual(idsOf(await index.query({ vector: [1, 2, 3, 4], topK: 5, filter: "HAS NOT FIELD data" }, { namespace })).sort(), ["d1", "d2"]);
  });

  test("sparse upsert of one and of many; fetch returns sparseVector, data and metadata", async () => {
    const index = ix("sparse");
    const namespace = "upfetch";
    await index.upsert({ id: "s0", sparseVector: { indices: [0, 1], values: [0.1, 0.2] } }, { namespace });
    await index.upsert(
      [
        { id: "s1", sparseVector: { indices: [0, 1], values: [0.2, 0.3] }, metadata: { key: "value" } },
        { id: "s2", sparseVector: { indices: [0, 1], values: [0.3, 0.4] }, metadata: { key: "value" }, data: "data" },
      ],
      { namespace },
    );
    const got = await index.fetch(["s0", "s1", "s2", "s3"], { includeVectors: true, includeMetadata: true, includeData: true, namespace });
    assert.equal(got.length, 4);
    assert.deepStrictEqual(got[0], { id: "s0", sparseVector: { indices: [0, 1], values: [0.1, 0.2] } });
    assert.deepStrictEqual(got[1], { id: "s1", sparseVector: { indices: [0, 1], values: [0.2, 0.3] }, metadata: { key: "value" } });
    assert.deepStrictEqual(got[2], { id: "s2", sparseVector: { indices: [0, 1], values: [0.3, 0.4] }, metadata: { key: "value" }, data: "data" });
    assert.equal(got[0].vector, undefined, "a sparse index has no dense vector");
    assert.equal(got[3], null);
  });

  test("sparse indices are signed 32-bit integers (reference §5)", async () => {
    const index = ix("sparse");
    const namespace = "signed";
    await index.upsert({ id: "neg", sparseVector: { indices: [-5, 7, 2147483647, -2147483648], values: [1.5, -2, 0.25, 3] } }, { namespace });
    const [got] = await index.fetch(["neg"], { includeVectors: true, namespace });
    // Compare (index, value) pairs independent of their order.
    const pairs = (sv) => sv.indices.map((i, k) => [i, sv.values[k]]).sort((a, b) => a[0] - b[0]);
    assert.deepStrictEqual(pairs(got.sparseVector), [[-2147483648, 3], [-5, 1.5], [7, -2], [2147483647, 0.25]]);
    const q = await index.query({ sparseVector: { indices: [-5], values: [2] }, topK: 1 }, { namespace });
    assert.deepStrictEqual(q, [{ id: "neg", score: 3 }]);
  });

  test("hybrid upsert stores both components; fetch returns both", async () => {
    const index = ix("hybrid");
    const namespace = "upfetch";
    await index.upsert(
      [
        { id: "id0", vector: [0.1, 0.2], sparseVector: { indices: [0, 1], values: [0.1, 0.2] } },
        { id: "id1", vector: [0.2, 0.3], sparseVector: { indices: [0, 1], values: [0.2, 0.3] }, metadata: { key: "value" } },
        { id: "id2", vector: [0.3, 0.4], sparseVector: { indices: [0, 1], values: [0.3, 0.4] }, metadata: { key: "value" }, data: "data" },
      ],
      { namespace },
    );
    const got = await index.fetch(["id0", "id1", "id2", "id3"], { includeVectors: true, includeMetadata: true, includeData: true, namespace });
    assert.deepStrictEqual(got, [
      { id: "id0", vector: [0.1, 0.2], sparseVector: { indices: [0, 1], values: [0.1, 0.2] } },
      { id: "id1", vector: [0.2, 0.3], sparseVector: { indices: [0, 1], values: [0.2, 0.3] }, metadata: { key: "value" } },
      { id: "id2", vector: [0.3, 0.4], sparseVector: { indices: [0, 1], values: [0.3, 0.4] }, metadata: { key: "value" }, data: "data" },
      null,
    ]);
  });

  test("fetch by id prefix returns exactly the vectors whose id starts with it", async () => {
    const index = ix("dense");
    const namespace = "prefix";
    await index.upsert(
      ["user:1", "user:2", "user:10", "users", "admin:1", "USER:3"].map((id, i) => ({ id, vector: [i + 1, 1, 1, 1], metadata: { i } })),
      { namespace },
    );
    const got = await index.fetch({ prefix: "user:" }, { includeMetadata: true, namespace });
    assert.deepStrictEqual(sorted(idsOf(got)), ["user:1", "user:10", "user:2"]);
    for (const v of got) assert.equal(typeof v.metadata.i, "number");
    assert.deepStrictEqual(await index.fetch({ prefix: "nobody" }, { namespace }), []);
  });
});

describe("query", () => {
  test("dense COSINE: identical vector scores exactly 1, others (1+cos)/2; topK and include flags", async () => {
    const index = ix("dense");
    const namespace = "cosine";
    const vectors = {
      same: [0.1, 0.2, 0.3, 0.4],
      near: [0.1, 0.2, 0.3, 0.5],
      ortho: [0.4, -0.3, 0.2, -0.05],
      opposite: [-0.1, -0.2, -0.3, -0.4],
      far: [3, -1, 0.5, 2],
    };
    await index.upsert(Object.entries(vectors).map(([id, vector]) => ({ id, vector, metadata: { id } })), { namespace });
    const q = [0.1, 0.2, 0.3, 0.4];
    const res = await index.query({ vector: q, topK: 5, includeVectors: true, includeMetadata: true }, { namespace });
    const expected = Object.entries(vectors)
      .map(([id, v]) => ({ id, score: cosineScore(f32vec(q), f32vec(v)) }))
      .sort((a, b) => b.score - a.score);
    assert.deepStrictEqual(idsOf(res), idsOf(expected));
    assert.strictEqual(res[0].score, 1, "identical vector → exactly 1");
    for (let i = 0; i < res.length; i++) {
      assertScore(res[i].score, expected[i].score, `score of ${res[i].id}`);
      assert.deepStrictEqual(res[i].vector, vectors[res[i].id]);
      assert.deepStrictEqual(res[i].metadata, { id: res[i].id });
    }
    assertScore(res.at(-1).score, 0, "opposite vector → 0");
    // Descending order.
    for (let i = 1; i < res.length; i++) assert.ok(res[i - 1].score >= res[i].score);

    const top2 = await index.query({ vector: q, topK: 2 }, { namespace });
    assert.deepStrictEqual(top2.map((r) => Object.keys(r).sort()), [["id", "score"], ["id", "score"]], "no vector/metadata/data keys unless asked");
    assert.deepStrictEqual(idsOf(top2), idsOf(expected).slice(0, 2));
    // A scaled copy of the query direction scores 1 as well (cosine ignores length).
    const scaled = await index.query({ vector: [1, 2, 3, 4], topK: 1 }, { namespace });
    assert.equal(scaled[0].id, "same");
    assertScore(scaled[0].score, 1, "scaled query");
    const big = await index.query({ vector: q, topK: 100 }, { namespace });
    assert.equal(big.length, 5, "topK beyond the namespace size returns everything");
  });

  test("dense EUCLIDEAN scores 1/(1+d²)", async () => {
    const index = ix("euclid");
    const namespace = "scores";
    const vectors = { p0: [0, 0], p1: [1, 0], p2: [1, 1], p3: [-2, 0.5], p4: [0.3, 0.4] };
    await index.upsert(Object.entries(vectors).map(([id, vector]) => ({ id, vector })), { namespace });
    const q = [0.3, 0.4];
    const res = await index.query({ vector: q, topK: 5 }, { namespace });
    const expected = Object.entries(vectors).map(([id, v]) => ({ id, score: euclideanScore(f32vec(q), f32vec(v)) })).sort((a, b) => b.score - a.score);
    assert.deepStrictEqual(idsOf(res), idsOf(expected));
    assert.strictEqual(res[0].score, 1, "identical vector → exactly 1");
    res.forEach((r, i) => assertScore(r.score, expected[i].score, `euclidean score of ${r.id}`));
    // Spot-check one value by hand: d²((0.3,0.4),(0,0)) = 0.25 → 0.8.
    assertScore(res.find((r) => r.id === "p0").score, 0.8, "1/(1+0.25)");
  });

  test("dense DOT_PRODUCT scores (1+a·b)/2", async () => {
    const index = ix("dot");
    const namespace = "dotscore";
    const s = Math.SQRT1_2;
    const vectors = { x: [1, 0], y: [0, 1], diag: [s, s], neg: [-1, 0], half: [0.6, 0.8] };
    await index.upsert(Object.entries(vectors).map(([id, vector]) => ({ id, vector })), { namespace });
    const q = [0.6, 0.8];
    const res = await index.query({ vector: q, topK: 5 }, { namespace });
    const expected = Object.entries(vectors).map(([id, v]) => ({ id, score: dotScore(f32vec(q), f32vec(v)) })).sort((a, b) => b.score - a.score);
    assert.deepStrictEqual(idsOf(res), idsOf(expected));
    res.forEach((r, i) => assertScore(r.score, expected[i].score, `dot score of ${r.id}`));
    assertScore(res.find((r) => r.id === "half").score, 1, "unit vector with itself");
    assertScore(res.find((r) => r.id === "neg").score, 0.2, "(1 - 0.6)/2");
  });

  test("a metadata filter narrows the results (upstream examples)", async () => {
    const index = ix("dense");
    const namespace = "upstream-filter";
    const v = [1, 2, 3, 4];
    await index.upsert(
      [
        { id: 34, vector: v, metadata: { city: "Istanbul", population: 1546000, geography: { continent: "Asia" } } },
        { id: "1-x", vector: v, metadata: { animal: "elephant", tags: ["mammal"], diet: "herbivore" } },
        { id: "2-x", vector: v, metadata: { animal: "tiger", tags: ["mammal"], diet: "carnivore" } },
      ],
      { namespace },
    );
    const a = await index.query({ vector: v, topK: 1, filter: "population > 1000000 AND geography.continent = 'Asia'", includeVectors: true, includeMetadata: true }, { namespace });
    assert.deepStrictEqual(a, [{ id: "34", score: 1, vector: v, metadata: { city: "Istanbul", population: 1546000, geography: { continent: "Asia" } } }]);
    const b = await index.query({ vector: v, topK: 1, filter: "tags[0] = 'mammal' AND diet = 'carnivore'", includeVectors: true, includeMetadata: true }, { namespace });
    assert.deepStrictEqual(b, [{ id: "2-x", score: 1, vector: v, metadata: { animal: "tiger", tags: ["mammal"], diet: "carnivore" } }]);
    assert.deepStrictEqual(await index.query({ vector: v, topK: 5, filter: "" }, { namespace }).then((r) => r.length), 3, "empty filter = no filter");
  });

  test("queryMany: one result list per query; a single-element batch is flat on the wire and nested by the SDK", async () => {
    const index = ix("euclid");
    const namespace = "many";
    await index.upsert(
      [
        { id: "a", vector: [0, 0], metadata: { kind: "cat", age: 3 } },
        { id: "b", vector: [1, 0], metadata: { kind: "dog", age: 5 } },
        { id: "c", vector: [0, 1], metadata: { kind: "cat", age: 9 } },
      ],
      { namespace },
    );
    const two = await index.queryMany(
      [
        { vector: [0, 0], topK: 1 },
        { vector: [0.1, 0.9], topK: 2, includeMetadata: true, filter: "kind = 'cat'" },
      ],
      { namespace },
    );
    assert.equal(two.length, 2);
    assert.deepStrictEqual(two[0], [{ id: "a", score: 1 }]);
    assert.deepStrictEqual(idsOf(two[1]), ["c", "a"]);
    assert.deepStrictEqual(two[1][0].metadata, { kind: "cat", age: 9 });
    assertScore(two[1][0].score, euclideanScore(f32vec([0.1, 0.9]), [0, 1]), "c");

    const one = await index.queryMany([{ vector: [1, 0], topK: 2 }], { namespace });
    assert.equal(one.length, 1, "the SDK nests a single-element batch");
    assert.deepStrictEqual(idsOf(one[0]), ["b", "a"]);
    assert.strictEqual(one[0][0].score, 1);

    // On the wire: a batch of one is a flat [Score] (reference §2), a batch of two is [[Score],[Score]].
    const rawOne = await ctx.v.raw("euclid", `query/${namespace}`, { body: [{ vector: [1, 0], topK: 2 }] });
    assert.equal(rawOne.status, 200, rawOne.text);
    assert.ok(Array.isArray(rawOne.json.result) && rawOne.json.result.length === 2, rawOne.text);
    assert.equal(rawOne.json.result[0].id, "b", `flat list of scores expected: ${rawOne.text}`);
    const rawTwo = await ctx.v.raw("euclid", `query/${namespace}`, { body: [{ vector: [1, 0], topK: 1 }, { vector: [0, 1], topK: 1 }] });
    assert.deepStrictEqual(rawTwo.json.result.map((r) => r.map((s) => s.id)), [["b"], ["c"]]);
    // Without the namespace option the default namespace is queried, which holds none of these.
    assert.deepStrictEqual(await index.query({ vector: [1, 0], topK: 2, filter: "kind = 'dog'" }), []);
  });

  test("sparse: only vectors sharing an index match; inner product; IDF weighting [verified]", async () => {
    const index = ix("sparse");
    const namespace = "idf";
    const A = { indices: [0, 1], values: [0.1, 0.2] };
    const B = { indices: [1, 2], values: [0.2, 0.3] };
    const C = { indices: [2, 3], values: [0.3, 0.4] };
    await index.upsert([{ id: "A", sparseVector: A }, { id: "B", sparseVector: B }, { id: "C", sparseVector: C }], { namespace });
    const q = { indices: [0, 1], values: [0.1, 0.2] };
    const plain = await index.query({ sparseVector: q, topK: 5, includeVectors: true }, { namespace });
    assert.deepStrictEqual(idsOf(plain), ["A", "B"], "C shares no index with the query");
    assertScore(plain[0].score, sparseScore(q, A), "A inner product (0.05)");
    assertScore(plain[1].score, sparseScore(q, B), "B inner product (0.04)");
    assert.deepStrictEqual(plain[0].sparseVector, A);
    assert.equal(plain[0].vector, undefined);

    const weighted = await index.query({ sparseVector: q, topK: 5, weightingStrategy: WeightingStrategy.IDF }, { namespace });
    assert.deepStrictEqual(idsOf(weighted), ["A", "B"]);
    const N = 3;
    const w = (i) => idf(N, [A, B, C].filter((v) => v.indices.includes(i)).length);
    assertScore(weighted[0].score, sparseScore(q, A, w), "A with IDF");
    assertScore(weighted[1].score, sparseScore(q, B, w), "B with IDF");
    // The reference's verified values for this scenario.
    assertScore(weighted[0].score, 0.028608438, "[verified] 0.028608438");
    assertScore(weighted[1].score, 0.018800145, "[verified] 0.018800145");
    // topK 5 over 3 vectors of which 3 share an index returns 3.
    const all = await index.query({ sparseVector: { indices: [1, 2], values: [1, 1] }, topK: 5 }, { namespace });
    assert.deepStrictEqual(sorted(idsOf(all)), ["A", "B", "C"]);
    assert.deepStrictEqual(await index.query({ sparseVector: { indices: [99], values: [1] }, topK: 5 }, { namespace }), []);
  });

  test("hybrid RRF: 1/(60+rank) summed over components, ranks 0-based, candidate lists deeper than topK [verified]", async () => {
    const index = ix("hybrid");
    // Rank 0 in both components → 2/60.
    await index.upsert(
      [
        { id: "A", vector: [1, 0], sparseVector: { indices: [1], values: [1] } },
        { id: "B", vector: [0, 1], sparseVector: { indices: [2], values: [1] } },
      ],
      { namespace: "rrf1" },
    );
    const both = await index.query({ vector: [1, 0], sparseVector: { indices: [1], values: [1] }, topK: 1 }, { namespace: "rrf1" });
    assert.deepStrictEqual(idsOf(both), ["A"]);
    assertScore(both[0].score, 2 / 60, "2/60", 1);
    assertScore(both[0].score, 0.033333335, "[verified] 0.033333335", 1);

    // A: dense rank 2, sparse rank 0; B: dense rank 0; C: dense rank 1.
    await index.upsert(
      [
        { id: "A", vector: [0, 1], sparseVector: { indices: [5], values: [1] } },
        { id: "B", vector: [1, 0], sparseVector: { indices: [6], values: [1] } },
        { id: "C", vector: [1, 0.5], sparseVector: { indices: [7], values: [1] } },
      ],
      { namespace: "rrf2" },
    );
    const query = { vector: [1, 0], sparseVector: { indices: [5], values: [1] } };
    const top1 = await index.query({ ...query, topK: 1 }, { namespace: "rrf2" });
    assert.deepStrictEqual(idsOf(top1), ["A"], "the dense list must go deeper than topK = 1");
    assertScore(top1[0].score, 1 / 60 + 1 / 62, "1/60 + 1/62", 1);
    assertScore(top1[0].score, 0.032795697, "[verified] 0.032795697", 1);
    const top3 = await index.query({ ...query, topK: 3, fusionAlgorithm: FusionAlgorithm.RRF }, { namespace: "rrf2" });
    assert.deepStrictEqual(idsOf(top3), ["A", "B", "C"]);
    assertScore(top3[1].score, 1 / 60, "B: dense rank 0 only", 1);
    assertScore(top3[2].score, 1 / 61, "C: dense rank 1 only", 1);
  });

  test("hybrid DBSF with full candidate lists: (s−(μ−3σ))/(6σ), sample σ, summed", async () => {
    const index = ix("hybrid");
    const namespace = "dbsf";
    const docs = {
      A: { vector: [1, 0], sparseVector: { indices: [1, 2], values: [0.5, 0.2] } },
      B: { vector: [0.6, 0.8], sparseVector: { indices: [1], values: [0.3] } },
      C: { vector: [0, 1], sparseVector: { indices: [1, 2], values: [0.1, 0.9] } },
    };
    await index.upsert(Object.entries(docs).map(([id, d]) => ({ id, ...d })), { namespace });
    const q = { vector: [1, 0.2], sparseVector: { indices: [1, 2], values: [1, 0.5] } };
    const ids = Object.keys(docs);
    const dense = ids.map((id) => Math.fround(cosineScore(f32vec(q.vector), f32vec(docs[id].vector))));
    const f32sparse = (sv) => ({ indices: sv.indices, values: f32vec(sv.values) });
    const sparse = ids.map((id) => Math.fround(sparseScore(f32sparse(q.sparseVector), f32sparse(docs[id].sparseVector))));
    const nd = dbsf(dense);
    const ns = dbsf(sparse);
    const expected = ids.map((id, i) => ({ id, score: nd[i] + ns[i] })).sort((a, b) => b.score - a.score);
    const res = await index.query({ ...q, topK: 3, fusionAlgorithm: FusionAlgorithm.DBSF }, { namespace });
    assert.deepStrictEqual(idsOf(res), idsOf(expected));
    res.forEach((r, i) => assertScore(r.score, expected[i].score, `DBSF score of ${r.id}`, 16));
    // RRF (the default) orders the same data differently: check it is not DBSF in disguise.
    const rrf = await index.query({ ...q, topK: 3 }, { namespace });
    const rank = (scores) => {
      const order = ids.map((id, i) => [id, scores[i]]).sort((a, b) => b[1] - a[1]).map(([id]) => id);
      return Object.fromEntries(order.map((id, r) => [id, r]));
    };
    const rd = rank(dense);
    const rs = rank(sparse);
    const expectedRrf = ids.map((id) => ({ id, score: 1 / (60 + rd[id]) + 1 / (60 + rs[id]) })).sort((a, b) => b.score - a.score);
    assert.deepStrictEqual(idsOf(rrf), idsOf(expectedRrf));
    rrf.forEach((r, i) => assertScore(r.score, expectedRrf[i].score, `RRF score of ${r.id}`, 2));
  });

  test("hybrid with one component only returns that component's raw score (sparse IDF, dense cosine)", async () => {
    const index = ix("hybrid");
    const namespace = "onecomponent";
    const A = { indices: [0, 1], values: [0.1, 0.2] };
    const B = { indices: [1, 2], values: [0.2, 0.3] };
    const C = { indices: [2, 3], values: [0.3, 0.4] };
    await index.upsert(
      [
        { id: "A", vector: [1, 0], sparseVector: A },
        { id: "B", vector: [0, 1], sparseVector: B },
        { id: "C", vector: [1, 1], sparseVector: C },
      ],
      { namespace },
    );
    const q = { indices: [0, 1], values: [0.1, 0.2] };
    const sparseOnly = await index.query({ sparseVector: q, topK: 5, weightingStrategy: WeightingStrategy.IDF }, { namespace });
    assert.deepStrictEqual(idsOf(sparseOnly), ["A", "B"], "a sparse-only query matches only shared indices");
    assertScore(sparseOnly[0].score, 0.028608438, "IDF, no fusion");
    assertScore(sparseOnly[1].score, 0.018800145, "IDF, no fusion");
    const denseOnly = await index.query({ vector: [1, 0], topK: 3 }, { namespace });
    assert.deepStrictEqual(idsOf(denseOnly), ["A", "C", "B"]);
    assert.strictEqual(denseOnly[0].score, 1);
    assertScore(denseOnly[1].score, cosineScore([1, 0], [1, 1]), "cosine, no fusion");
    assertScore(denseOnly[2].score, 0.5, "orthogonal");
  });

  test("a query on a namespace that does not exist returns []", async () => {
    assert.deepStrictEqual(await ix("dense").query({ vector: [1, 1, 1, 1], topK: 3 }, { namespace: "never-created" }), []);
    assert.deepStrictEqual(await ix("sparse").query({ sparseVector: { indices: [1], values: [1] }, topK: 3 }, { namespace: "never-created" }), []);
  });

  test("the wire format prints f32 shortest round-trip and omits absent fields", async () => {
    await ix("dense").upsert({ id: "f", vector: [0.1, 0.2, 0.3, 1e-7], metadata: { x: 0.1 } }, { namespace: "wire" });
    const r = await ctx.v.raw("dense", "query/wire", { body: { vector: [0.1, 0.2, 0.3, 1e-7], topK: 1, includeVectors: true } });
    assert.equal(r.status, 200);
    assert.ok(r.text.includes("[0.1,0.2,0.3,1e-7]") || r.text.includes("[0.1,0.2,0.3,1.0e-7]") || r.text.includes("[0.1,0.2,0.3,0.0000001]"), `f32 shortest round-trip: ${r.text}`);
    assert.ok(!r.text.includes("0.10000000149"), r.text);
    assert.ok(!/null/.test(r.text), `absent fields are omitted, not null: ${r.text}`);
    assert.deepStrictEqual(r.json, { result: [{ id: "f", score: 1, vector: [0.1, 0.2, 0.3, 1e-7] }] });
    const rrf = await ix("hybrid").query({ vector: [1, 0], sparseVector: { indices: [1], values: [1] }, topK: 1 }, { namespace: "rrf1" });
    assert.ok(rrf.length === 1);
    const raw = await ctx.v.raw("hybrid", "query/rrf1", { body: { vector: [1, 0], sparseVector: { indices: [1], values: [1] }, topK: 1 } });
    assert.match(raw.text, /"score":0\.033333335[,}]/, `f32 score printed shortest: ${raw.text}`);
  });
});

describe("resumable query", () => {
  const five = [
    ["id1", [0.1, 0.2]],
    ["id2", [0.3, 0.4]],
    ["id3", [0.5, 0.6]],
    ["id4", [0.7, 0.8]],
    ["id5", [0.9, 1.0]],
  ];
  before(async () => {
    await ix("euclid").upsert(five.map(([id, vector], i) => ({ id, vector, metadata: { field: `value${i + 1}` } })), { namespace: "resume" });
  });

  test("start returns the first topK; fetchNext continues in score order; exhausted → []; stop → Success", async () => {
    const q = [0.1, 0.2];
    const { result, fetchNext, stop } = await ix("euclid").resumableQuery(
      { vector: q, topK: 2, includeMetadata: true, includeVectors: true, maxIdle: 3600 },
      { namespace: "resume" },
    );
    assert.deepStrictEqual(idsOf(result), ["id1", "id2"]);
    assert.strictEqual(result[0].score, 1);
    assertScore(result[1].score, euclideanScore(f32vec(q), f32vec([0.3, 0.4])), "id2");
    assert.deepStrictEqual(result[0].metadata, { field: "value1" });
    assert.deepStrictEqual(result[0].vector, [0.1, 0.2]);
    const next2 = await fetchNext(2);
    assert.deepStrictEqual(idsOf(next2), ["id3", "id4"]);
    next2.forEach((r) => assertScore(r.score, euclideanScore(f32vec(q), f32vec(five.find(([id]) => id === r.id)[1])), r.id));
    assert.deepStrictEqual(next2[0].metadata, { field: "value3" }, "include flags apply to later batches too");
    const next1 = await fetchNext(1);
    assert.deepStrictEqual(idsOf(next1), ["id5"]);
    assert.deepStrictEqual(await fetchNext(1), []);
    assert.equal(await stop(), "Success");
  });

  test("a stopped query is gone on the server: resumable-query-next and -end fail", async () => {
    const start = await ctx.v.raw("euclid", "resumable-query/resume", { body: { vector: [0.1, 0.2], topK: 1, maxIdle: 3600 } });
    assert.equal(start.status, 200, start.text);
    const { uuid, scores } = start.json.result;
    assert.equal(typeof uuid, "string");
    assert.deepStrictEqual(idsOf(scores), ["id1"]);
    const next = await ctx.v.raw("euclid", "resumable-query-next", { body: { uuid, additionalK: 1 } });
    assert.deepStrictEqual(idsOf(next.json.result), ["id2"]);
    const end = await ctx.v.raw("euclid", "resumable-query-end", { body: { uuid } });
    assert.deepStrictEqual(end.json, { result: "Success" });
    const after = await ctx.v.raw("euclid", "resumable-query-next", { body: { uuid, additionalK: 1 } });
    assert.ok(after.status >= 400 && typeof after.json?.error === "string", `next after end: ${after.status} ${after.text}`);
    const again = await ctx.v.raw("euclid", "resumable-query-end", { body: { uuid } });
    assert.ok(again.status >= 400 && typeof again.json?.error === "string", `end twice: ${again.status} ${again.text}`);
  });

  test("a query idle longer than maxIdle expires", async () => {
    const { result, fetchNext } = await ix("euclid").resumableQuery({ vector: [0.1, 0.2], topK: 1, maxIdle: 1 }, { namespace: "resume" });
    assert.deepStrictEqual(idsOf(result), ["id1"]);
    await sleep(2500);
    await rejectsUpstash(fetchNext(1), /./, "fetchNext after maxIdle");
  });

  test("activity keeps a query alive past maxIdle", async () => {
    const { fetchNext, stop } = await ix("euclid").resumableQuery({ vector: [0.1, 0.2], topK: 1, maxIdle: 2 }, { namespace: "resume" });
    for (const id of ["id2", "id3", "id4"]) {
      await sleep(1200);
      assert.deepStrictEqual(idsOf(await fetchNext(1)), [id]);
    }
    assert.equal(await stop(), "Success");
  });

  test("resumable sparse query with IDF [verified]", async () => {
    const { result, fetchNext, stop } = await ix("sparse").resumableQuery(
      { sparseVector: { indices: [0, 1], values: [0.1, 0.2] }, topK: 2, weightingStrategy: WeightingStrategy.IDF, maxIdle: 60 },
      { namespace: "idf" },
    );
    assert.deepStrictEqual(idsOf(result), ["A", "B"]);
    assertScore(result[0].score, 0.028608438, "[verified] 0.028608438");
    assertScore(result[1].score, 0.018800145, "[verified] 0.018800145");
    assert.deepStrictEqual(await fetchNext(1), [], "C shares no index");
    await stop();
  });

  test("resumable hybrid DBSF uses per-batch candidate lists of size topK [verified 0.617851, 0.5, then 0.5]", async () => {
    const index = ix("hybrid");
    const namespace = "dbsf-resume";
    // Dense ranking for [1,0]: A > B > C; the sparse query matches only C.
    await index.upsert(
      [
        { id: "A", vector: [1, 0.1], sparseVector: { indices: [1], values: [1] } },
        { id: "B", vector: [1, 1], sparseVector: { indices: [2], values: [1] } },
        { id: "C", vector: [0, 1], sparseVector: { indices: [3], values: [1] } },
      ],
      { namespace },
    );
    const { result, fetchNext, stop } = await index.resumableQuery(
      { vector: [1, 0], sparseVector: { indices: [3], values: [1] }, topK: 2, fusionAlgorithm: FusionAlgorithm.DBSF, maxIdle: 60 },
      { namespace },
    );
    assert.deepStrictEqual(idsOf(result), ["A", "C"]);
    assertScore(result[0].score, 0.5 + Math.SQRT2 / 12, "two dense candidates: the top one", 8);
    assertScore(result[0].score, 0.617851, "[verified] 0.617851", 8);
    assertScore(result[1].score, 0.5, "a single sparse candidate → 0.5", 2);
    const next = await fetchNext(1);
    assert.deepStrictEqual(idsOf(next), ["B"]);
    assertScore(next[0].score, 0.5, "[verified] next batch 0.5", 2);
    await stop();
  });

  test("resumable query with a filter, and on a namespace that does not exist", async () => {
    const { result, fetchNext, stop } = await ix("euclid").resumableQuery(
      { vector: [0.1, 0.2], topK: 1, filter: "field IN ('value2', 'value4')", includeMetadata: true, maxIdle: 60 },
      { namespace: "resume" },
    );
    assert.deepStrictEqual(idsOf(result), ["id2"]);
    assert.deepStrictEqual(idsOf(await fetchNext(5)), ["id4"]);
    await stop();
    const none = await ix("euclid").resumableQuery({ vector: [0.1, 0.2], topK: 2, maxIdle: 60 }, { namespace: "no-such-ns" });
    assert.deepStrictEqual(none.result, []);
    assert.deepStrictEqual(await none.fetchNext(2), []);
    await none.stop();
  });
});

describe("range", () => {
  test("cursor paging over 16 vectors returns them in insertion order; prefix paging too", async () => {
    const index = ix("dense");
    const namespace = "range";
    const first = Array.from({ length: 7 }, (_, i) => `id-${i}`);
    const second = Array.from({ length: 7 }, (_, i) => `id-${i + 7}`);
    await index.upsert(first.map((id, i) => ({ id, vector: [i + 1, 0, 0, 1], metadata: { i } })), { namespace });
    await index.upsert(second.map((id, i) => ({ id, vector: [i + 8, 0, 0, 1], metadata: { i: i + 7 } })), { namespace });
    await index.upsert({ id: "zz-late", vector: [1, 1, 1, 1] }, { namespace });
    await index.upsert({ id: "aa-last", vector: [1, 1, 1, 2], data: "d" }, { namespace });
    const all = [...first, ...second, "zz-late", "aa-last"];

    const page1 = await index.range({ cursor: 0, limit: 5 }, { namespace });
    assert.deepStrictEqual(idsOf(page1.vectors), ["id-0", "id-1", "id-2", "id-3", "id-4"], "insertion order, not lexicographic");
    assert.equal(page1.nextCursor, "5", "a stringified offset");
    assert.deepStrictEqual(Object.keys(page1.vectors[0]), ["id"], "nothing included unless asked");

    const seen = [];
    let cursor = 0;
    for (let guard = 0; guard < 20; guard++) {
      const page = await index.range({ cursor, limit: 5, includeVectors: true, includeMetadata: true, includeData: true }, { namespace });
      assert.ok(page.vectors.length <= 5);
      seen.push(...page.vectors);
      assert.equal(typeof page.nextCursor, "string");
      if (page.nextCursor === "") break;
      cursor = page.nextCursor;
    }
    assert.deepStrictEqual(idsOf(seen), all);
    assert.deepStrictEqual(seen[3], { id: "id-3", vector: [4, 0, 0, 1], metadata: { i: 3 } });
    assert.deepStrictEqual(seen.at(-1), { id: "aa-last", vector: [1, 1, 1, 2], data: "d" });

    // Python's start cursor is "" and the string "0" works as well.
    for (const start of ["", "0"]) {
      const p = await ctx.v.raw("dense", `range/${namespace}`, { body: { cursor: start, limit: 3 } });
      assert.deepStrictEqual(p.json.result.vectors.map((v) => v.id), ["id-0", "id-1", "id-2"], `cursor ${JSON.stringify(start)}`);
    }

    const byPrefix = [];
    cursor = 0;
    for (let guard = 0; guard < 20; guard++) {
      const page = await index.range({ cursor, limit: 2, prefix: "id-1" }, { namespace });
      byPrefix.push(...idsOf(page.vectors));
      if (page.nextCursor === "") break;
      cursor = page.nextCursor;
    }
    assert.deepStrictEqual(byPrefix, ["id-1", "id-10", "id-11", "id-12", "id-13"]);
    const big = await index.range({ cursor: 0, limit: 100 }, { namespace });
    assert.equal(big.vectors.length, 16);
    assert.equal(big.nextCursor, "", "nothing left → empty cursor");
    const empty = await index.range({ cursor: 0, limit: 10 }, { namespace: "no-such-ns" });
    assert.deepStrictEqual(empty, { nextCursor: "", vectors: [] });
  });

  test("range reflects deletes and keeps the order of the rest", async () => {
    const index = ix("dense");
    const namespace = "range-del";
    const ids = ["c", "a", "e", "b", "d"];
    await index.upsert(ids.map((id, i) => ({ id, vector: [i + 1, 1, 0, 0] })), { namespace });
    await index.delete(["a", "b"], { namespace });
    const r = await index.range({ cursor: 0, limit: 10 }, { namespace });
    assert.deepStrictEqual(idsOf(r.vectors), ["c", "e", "d"]);
  });
});

describe("update", () => {
  test("update the vector, metadata (OVERWRITE and PATCH); a missing id updates nothing", async () => {
    const index = ix("dense");
    const namespace = "update";
    await index.upsert({ id: "u1", vector: [1, 0, 0, 0], metadata: { a: 1, nested: { x: 1, y: 2 }, keep: "k" }, data: "d1" }, { namespace });
    const get = async () => (await index.fetch(["u1"], { includeVectors: true, includeMetadata: true, includeData: true, namespace }))[0];

    assert.deepStrictEqual(await index.update({ id: "u1", vector: [0, 1, 0, 0] }, { namespace }), { updated: 1 });
    assert.deepStrictEqual(await get(), { id: "u1", vector: [0, 1, 0, 0], metadata: { a: 1, nested: { x: 1, y: 2 }, keep: "k" }, data: "d1" });
    const q = await index.query({ vector: [0, 1, 0, 0], topK: 1 }, { namespace });
    assert.deepStrictEqual(q, [{ id: "u1", score: 1 }], "queries see the new vector");

    assert.deepStrictEqual(await index.update({ id: "u1", metadata: { b: 2 } }, { namespace }), { updated: 1 });
    assert.deepStrictEqual((await get()).metadata, { b: 2 }, "OVERWRITE is the default");
    await index.update({ id: "u1", metadata: { a: 1, nested: { x: 1, y: 2 }, keep: "k" }, metadataUpdateMode: "OVERWRITE" }, { namespace });
    assert.deepStrictEqual((await get()).metadata, { a: 1, nested: { x: 1, y: 2 }, keep: "k" });

    assert.deepStrictEqual(await index.update({ id: "u1", metadata: { nested: { y: null, z: 3 }, keep: null, b: "new" }, metadataUpdateMode: "PATCH" }, { namespace }), { updated: 1 });
    const patched = await get();
    assert.deepStrictEqual(patched.metadata, { a: 1, nested: { x: 1, z: 3 }, b: "new" }, "RFC 7396 merge patch: null deletes");
    assert.deepStrictEqual(patched.vector, [0, 1, 0, 0], "metadata updates keep the vector");
    assert.equal(patched.data, "d1", "and the data");
    const f = await index.query({ vector: [0, 1, 0, 0], topK: 5, filter: "nested.z = 3 AND HAS NOT FIELD keep" }, { namespace });
    assert.deepStrictEqual(idsOf(f), ["u1"], "filters see the patched metadata");

    assert.deepStrictEqual(await index.update({ id: "nope", vector: [1, 1, 1, 1] }, { namespace }), { updated: 0 });
    assert.deepStrictEqual(await index.fetch(["nope"], { namespace }), [null], "update does not create");
  });

  test("update a sparse vector, and both components of a hybrid vector", async () => {
    await ix("sparse").upsert({ id: "su", sparseVector: { indices: [1], values: [1] } }, { namespace: "update" });
    assert.deepStrictEqual(await ix("sparse").update({ id: "su", sparseVector: { indices: [4, 5], values: [0.5, 0.25] } }, { namespace: "update" }), { updated: 1 });
    const s = await ix("sparse").fetch(["su"], { includeVectors: true, namespace: "update" });
    assert.deepStrictEqual(s, [{ id: "su", sparseVector: { indices: [4, 5], values: [0.5, 0.25] } }]);
    assert.deepStrictEqual(await ix("sparse").query({ sparseVector: { indices: [1], values: [1] }, topK: 5 }, { namespace: "update" }), [], "the old index no longer matches");

    await ix("hybrid").upsert({ id: "hu", vector: [1, 0], sparseVector: { indices: [1], values: [1] }, metadata: { m: 1 } }, { namespace: "update" });
    assert.deepStrictEqual(await ix("hybrid").update({ id: "hu", vector: [0, 1], sparseVector: { indices: [2], values: [2] } }, { namespace: "update" }), { updated: 1 });
    const h = await ix("hybrid").fetch(["hu"], { includeVectors: true, includeMetadata: true, namespace: "update" });
    assert.deepStrictEqual(h, [{ id: "hu", vector: [0, 1], sparseVector: { indices: [2], values: [2] }, metadata: { m: 1 } }]);
  });
});

describe("delete", () => {
  test("delete by id, ids, prefix and filter reports the number deleted", async () => {
    const index = ix("dense");
    const namespace = "delete";
    await index.upsert(Array.from({ length: 8 }, (_, i) => ({ id: `d-${i}`, vector: [i + 1, 1, 1, 1], metadata: { k: i } })), { namespace });
    await index.upsert({ id: "keep", vector: [1, 1, 1, 1], metadata: { k: 100 } }, { namespace });
    assert.deepStrictEqual(await index.delete("d-0", { namespace }), { deleted: 1 });
    assert.deepStrictEqual(await index.delete(["d-1", "d-2", "no-such-id"], { namespace }), { deleted: 2 });
    assert.deepStrictEqual(await index.delete({ ids: ["d-3"] }, { namespace }), { deleted: 1 });
    assert.deepStrictEqual(await index.delete({ prefix: "d-4" }, { namespace }), { deleted: 1 });
    assert.deepStrictEqual(await index.delete({ filter: "k >= 5 AND k < 7" }, { namespace }), { deleted: 2 });
    assert.deepStrictEqual(await index.delete("d-0", { namespace }), { deleted: 0 }, "already gone");
    assert.deepStrictEqual(await index.delete({ filter: "k = 12345" }, { namespace }), { deleted: 0 });
    const left = await index.range({ cursor: 0, limit: 100 }, { namespace });
    assert.deepStrictEqual(idsOf(left.vectors), ["d-7", "keep"]);
    const q = await index.query({ vector: [1, 1, 1, 1], topK: 10 }, { namespace });
    assert.deepStrictEqual(sorted(idsOf(q)), ["d-7", "keep"], "deleted vectors are not found by queries");
    // A delete in another namespace does not touch this one.
    assert.deepStrictEqual(await index.delete(["d-7", "keep"]), { deleted: 0 });
    assert.deepStrictEqual(idsOf(await index.fetch(["d-7", "keep"], { namespace })), ["d-7", "keep"]);
  });
});

describe("namespaces, reset and info", () => {
  test("namespace(...) scopes every operation to its namespace", async () => {
    const index = ix("euclid");
    const ns = index.namespace("scoped");
    const other = index.namespace("scoped-other");
    assert.equal(await ns.upsert([{ id: "n1", vector: [0, 0], metadata: { t: 1 } }, { id: "n2", vector: [1, 1], metadata: { t: 2 } }]), "Success");
    assert.equal(await other.upsert({ id: "n1", vector: [5, 5] }), "Success");
    assert.deepStrictEqual(await ns.fetch(["n1", "n2"], { includeVectors: true }), [
      { id: "n1", vector: [0, 0] },
      { id: "n2", vector: [1, 1] },
    ]);
    assert.deepStrictEqual(await other.fetch(["n1", "n2"], { includeVectors: true }), [{ id: "n1", vector: [5, 5] }, null]);
    assert.deepStrictEqual(await index.fetch(["n1"]), [null], "the default namespace is untouched");
    assert.deepStrictEqual(idsOf(await ns.fetch({ prefix: "n" })).sort(), ["n1", "n2"]);

    const q = await ns.query({ vector: [0, 0], topK: 5, includeMetadata: true, filter: "t >= 1" });
    assert.deepStrictEqual(idsOf(q), ["n1", "n2"]);
    assert.strictEqual(q[0].score, 1);
    assertScore(q[1].score, 1 / 3, "1/(1+2)");

    const { result, fetchNext, stop } = await ns.resumableQuery({ vector: [1, 1], topK: 1, maxIdle: 60 });
    assert.deepStrictEqual(idsOf(result), ["n2"]);
    assert.deepStrictEqual(idsOf(await fetchNext(5)), ["n1"]);
    assert.equal(await stop(), "Success");

    assert.deepStrictEqual(await ns.update({ id: "n1", metadata: { t: 9 } }), { updated: 1 });
    assert.deepStrictEqual(await ns.fetch(["n1"], { includeMetadata: true }), [{ id: "n1", metadata: { t: 9 } }]);
    assert.deepStrictEqual(await other.fetch(["n1"], { includeMetadata: true }), [{ id: "n1" }]);

    const page = await ns.range({ cursor: 0, limit: 1 });
    assert.deepStrictEqual(idsOf(page.vectors), ["n1"]);
    assert.notEqual(page.nextCursor, "");

    assert.deepStrictEqual(await ns.delete("n2"), { deleted: 1 });
    assert.deepStrictEqual(await other.fetch(["n1"]), [{ id: "n1" }]);
    assert.equal(await ns.reset(), "Success");
    assert.deepStrictEqual(await ns.fetch(["n1", "n2"]), [null, null]);
    assert.deepStrictEqual(await other.fetch(["n1"]), [{ id: "n1" }], "reset of one namespace leaves the others");
    assert.ok((await index.listNamespaces()).includes("scoped"), "reset keeps the namespace");
  });

  test("listNamespaces, deleteNamespace, reset (default, one namespace, all) and info counts", async () => {
    const index = ix("dot");
    for (const ns of await index.listNamespaces()) {
      if (ns !== "") assert.equal(await index.deleteNamespace(ns), "Success");
    }
    assert.equal(await index.reset(), "Success");
    assert.deepStrictEqual(await index.listNamespaces(), [""], "the default namespace always exists");
    const s = Math.SQRT1_2;
    await index.upsert([{ id: "a", vector: [1, 0] }, { id: "b", vector: [0, 1] }, { id: "c", vector: [s, s] }]);
    await index.upsert([{ id: "a", vector: [1, 0] }, { id: "b", vector: [0, 1] }], { namespace: "ns-a" });
    await index.upsert({ id: "z", vector: [-1, 0] }, { namespace: "ns-b" });

    const info = await waitIndexed(index);
    assert.equal(info.vectorCount, 6);
    assert.equal(info.pendingVectorCount, 0);
    assert.equal(info.dimension, 2);
    assert.equal(info.similarityFunction, "DOT_PRODUCT");
    assert.equal(typeof info.indexSize, "number");
    assert.deepStrictEqual(info.namespaces, {
      "": { vectorCount: 3, pendingVectorCount: 0 },
      "ns-a": { vectorCount: 2, pendingVectorCount: 0 },
      "ns-b": { vectorCount: 1, pendingVectorCount: 0 },
    });
    assert.deepStrictEqual(sorted(await index.listNamespaces()), ["", "ns-a", "ns-b"]);

    assert.equal(await index.reset({ namespace: "ns-a" }), "Success");
    let i2 = await index.info();
    assert.deepStrictEqual(i2.namespaces["ns-a"], { vectorCount: 0, pendingVectorCount: 0 }, "emptied, still listed");
    assert.equal(i2.vectorCount, 4);
    assert.deepStrictEqual(sorted(await index.listNamespaces()), ["", "ns-a", "ns-b"]);

    assert.equal(await index.reset(), "Success");
    i2 = await index.info();
    assert.equal(i2.namespaces[""].vectorCount, 0, "reset() empties the default namespace");
    assert.equal(i2.namespaces["ns-b"].vectorCount, 1, "and only that one");

    await index.upsert({ id: "again", vector: [1, 0] });
    await index.upsert({ id: "again", vector: [1, 0] }, { namespace: "ns-a" });
    assert.equal(await index.reset({ all: true }), "Success");
    i2 = await index.info();
    assert.equal(i2.vectorCount, 0);
    assert.deepStrictEqual(i2.namespaces, {
      "": { vectorCount: 0, pendingVectorCount: 0 },
      "ns-a": { vectorCount: 0, pendingVectorCount: 0 },
      "ns-b": { vectorCount: 0, pendingVectorCount: 0 },
    });

    assert.equal(await index.deleteNamespace("ns-b"), "Success");
    assert.deepStrictEqual(sorted(await index.listNamespaces()), ["", "ns-a"]);
    assert.equal((await index.info()).namespaces["ns-b"], undefined);
    await rejectsUpstash(index.deleteNamespace("ns-b"), /ns-b/, "deleting it twice");
    await index.upsert({ id: "back", vector: [0, 1] }, { namespace: "ns-b" });
    assert.deepStrictEqual(sorted(await index.listNamespaces()), ["", "ns-a", "ns-b"], "an upsert creates a namespace");
    assert.deepStrictEqual(await index.fetch(["z"], { namespace: "ns-b" }), [null], "a deleted namespace comes back empty");
  });

  test("info of each index kind: dimension, similarity, type, denseIndex/sparseIndex", async () => {
    const expectations = {
      dense: { dimension: 4, similarityFunction: "COSINE", indexType: "DENSE", dense: true, sparse: false },
      euclid: { dimension: 2, similarityFunction: "EUCLIDEAN", indexType: "DENSE", dense: true, sparse: false },
      dot: { dimension: 2, similarityFunction: "DOT_PRODUCT", indexType: "DENSE", dense: true, sparse: false },
      sparse: { indexType: "SPARSE", dense: false, sparse: true },
      hybrid: { dimension: 2, similarityFunction: "COSINE", indexType: "HYBRID", dense: true, sparse: true },
    };
    for (const [name, e] of Object.entries(expectations)) {
      const info = await ix(name).info();
      for (const k of ["vectorCount", "pendingVectorCount", "indexSize", "dimension"]) assert.equal(typeof info[k], "number", `${name}.${k}`);
      assert.equal(typeof info.similarityFunction, "string", `${name}.similarityFunction`);
      assert.equal(typeof info.namespaces, "object", `${name}.namespaces`);
      assert.ok("" in info.namespaces, `${name}: the default namespace is listed`);
      const sum = Object.values(info.namespaces).reduce((s, n) => s + n.vectorCount, 0);
      assert.equal(info.vectorCount, sum, `${name}: vectorCount is the sum over namespaces`);
      if (e.dimension !== undefined) assert.equal(info.dimension, e.dimension, `${name}.dimension`);
      if (e.similarityFunction) assert.equal(info.similarityFunction, e.similarityFunction, `${name}.similarityFunction`);
      if (info.indexType !== undefined) assert.equal(info.indexType, e.indexType, `${name}.indexType`);
      if (info.denseIndex !== undefined) {
        assert.ok(e.dense, `${name} has no dense part but reports denseIndex`);
        assert.equal(info.denseIndex.embeddingModel, "", `${name}.denseIndex.embeddingModel (none)`);
        assert.equal(info.denseIndex.dimension, e.dimension);
        assert.equal(info.denseIndex.similarityFunction, e.similarityFunction);
      }
      if (info.sparseIndex !== undefined) {
        assert.ok(e.sparse, `${name} has no sparse part but reports sparseIndex`);
        assert.equal(info.sparseIndex.embeddingModel, "", `${name}.sparseIndex.embeddingModel (none)`);
      }
    }
  });
});

async function waitIndexed(index) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await index.info();
    if (info.pendingVectorCount === 0 || Date.now() > deadline) return info;
    await sleep(100);
  }
}

describe("metadata filters (reference §7)", () => {
  const namespace = "cities";
  const V = [1, 1, 1, 1];
  const cities = {
    istanbul: { city: "Istanbul", country: "Turkey", is_capital: false, population: 15460000, geography: { continent: "Asia", coordinates: { latitude: 41.0082, longitude: 28.9784 } }, economy: { currency: "TRY", major_industries: ["Tourism", "Textiles", "Finance"] } },
    ankara: { city: "Ankara", country: "Turkey", is_capital: true, population: 5663000, geography: { continent: "Asia", coordinates: { latitude: 39.93 } }, economy: { currency: "TRY", major_industries: ["Government", "Education", "Defense"] } },
    berlin: { city: "Berlin", country: "Germany", is_capital: true, population: 3645000, geography: { continent: "Europe", coordinates: { latitude: 52.52, longitude: 13.405 } }, economy: { currency: "EUR", major_industries: ["Technology", "Tourism", "Finance"] } },
    hamburg: { city: "Hamburg", country: "Germany", is_capital: false, population: 1841000, geography: { continent: "Europe", coordinates: { latitude: 53.55, longitude: 9.99 } }, economy: { currency: "EUR", major_industries: ["Shipping", "Media"] } },
    paris: { city: "Paris", country: "France", is_capital: true, population: 2161000, geography: { continent: "Europe", coordinates: { latitude: 48.85, longitude: 2.35 } }, economy: { currency: "EUR", major_industries: ["Tourism", "Fashion", "Finance"] } },
    osaka: { city: "Osaka", country: "Japan", is_capital: false, population: 2691000, geography: { continent: "Asia", coordinates: { latitude: 34.69, longitude: 135.5 } }, economy: { currency: "JPY", major_industries: ["Manufacturing", "Finance"] } },
    montevideo: { city: "Montevideo", country: "Uruguay", is_capital: true, population: 1319000, geography: { continent: "South America", coordinates: { latitude: -34.9, longitude: -56.16 } }, economy: { currency: "UYU", major_industries: ["Services", "Agriculture"] } },
    zug: { city: "Zug", country: "Switzerland", is_capital: false, population: 30934, geography: { continent: "Europe", coordinates: { latitude: 47.17, longitude: 8.52 } }, economy: { currency: "CHF", major_industries: ["Finance"] } },
  };
  before(async () => {
    const index = ix("dense");
    await index.upsert([...Object.entries(cities).map(([id, metadata]) => ({ id, vector: V, metadata })), { id: "nometa", vector: V }], { namespace });
  });
  const match = async (filter) => sorted(idsOf(await ix("dense").query({ vector: V, topK: 50, filter }, { namespace })));
  const check = async (filter, expected, why = "") => assert.deepStrictEqual(await match(filter), sorted(expected), `filter: ${filter} ${why}`);

  test("= and != on strings, numbers and booleans", async () => {
    await check("country = 'Germany'", ["berlin", "hamburg"]);
    await check('country = "France"', ["paris"]);
    await check("country != 'Germany'", ["istanbul", "ankara", "paris", "osaka", "montevideo", "zug"]);
    await check("population = 3645000", ["berlin"]);
    await check("population != 3645000", ["istanbul", "ankara", "hamburg", "paris", "osaka", "montevideo", "zug"]);
    await check("geography.coordinates.latitude = 52.52", ["berlin"]);
    await check("is_capital = false", ["istanbul", "hamburg", "osaka", "zug"]);
    await check("is_capital = true", ["ankara", "berlin", "paris", "montevideo"]);
    await check("is_capital != true", ["istanbul", "hamburg", "osaka", "zug"]);
    await check("country = 'Turkey' AND population = 15460000 AND is_capital = false", ["istanbul"]);
    await check("country = 'germany'", [], "string comparison is case-sensitive");
  });

  test("< <= > >= on numbers (integers, decimals, negatives, exponents)", async () => {
    await check("population >= 2161000", ["istanbul", "ankara", "berlin", "paris", "osaka"]);
    await check("population > 2161000", ["istanbul", "ankara", "berlin", "osaka"]);
    await check("population < 1319000", ["zug"]);
    await check("population <= 1319000", ["montevideo", "zug"]);
    await check("geography.coordinates.latitude < -10.5", ["montevideo"]);
    await check("geography.coordinates.longitude > 1e2", ["osaka"]);
    await check("population > 2.5e6 AND population < 4000000", ["berlin", "osaka"]);
    await check("geography.coordinates.latitude >= 53.55", ["hamburg"]);
    await check("population >= 1000000 AND geography.continent = 'Asia'", ["istanbul", "ankara", "osaka"]);
  });

  test("GLOB and NOT GLOB (case-sensitive UNIX glob)", async () => {
    await check("city GLOB '?[sz]*[^m-z]'", ["istanbul", "osaka"]);
    await check("city GLOB 'A*'", ["ankara"]);
    await check("city GLOB 'a*'", []);
    await check("city GLOB '[A-H]*'", ["ankara", "berlin", "hamburg"]);
    await check("city GLOB '*a*'", ["istanbul", "ankara", "hamburg", "paris", "osaka"]);
    await check("city NOT GLOB '*a*'", ["berlin", "montevideo", "zug"]);
    await check("city NOT GLOB 'A*'", ["istanbul", "berlin", "hamburg", "paris", "osaka", "montevideo", "zug"]);
    await check("city GLOB 'Z?g'", ["zug"]);
  });

  test("IN and NOT IN", async () => {
    await check("country IN ('Germany', 'Turkey', 'France')", ["istanbul", "ankara", "berlin", "hamburg", "paris"]);
    await check("economy.currency NOT IN ('USD', 'EUR')", ["istanbul", "ankara", "osaka", "montevideo", "zug"]);
    await check("population IN (30934, 1841000)", ["zug", "hamburg"]);
    await check("country IN ('Atlantis')", []);
  });

  test("CONTAINS and NOT CONTAINS on arrays", async () => {
    await check("economy.major_industries CONTAINS 'Tourism'", ["istanbul", "berlin", "paris"]);
    await check("economy.major_industries NOT CONTAINS 'Finance'", ["ankara", "hamburg", "montevideo"]);
    await check("economy.major_industries CONTAINS 'tourism'", []);
  });

  test("HAS FIELD and HAS NOT FIELD on nested paths", async () => {
    await check("HAS FIELD geography.coordinates.longitude", ["istanbul", "berlin", "hamburg", "paris", "osaka", "montevideo", "zug"]);
    await check("HAS NOT FIELD geography.coordinates.longitude", ["ankara", "nometa"]);
    await check("HAS FIELD economy", Object.keys(cities));
    await check("HAS FIELD geography.coordinates", Object.keys(cities), "objects count as fields");
    await check("HAS NOT FIELD economy", ["nometa"]);
  });

  test("nested paths and array indexes [n] and [#-n]", async () => {
    await check("geography.continent = 'South America'", ["montevideo"]);
    await check("economy.major_industries[0] = 'Tourism'", ["istanbul", "paris"]);
    await check("economy.major_industries[1] = 'Media'", ["hamburg"]);
    await check("economy.major_industries[#-1] = 'Finance'", ["istanbul", "berlin", "paris", "osaka", "zug"]);
    await check("economy.major_industries[#-2] = 'Tourism'", ["berlin"]);
    await check("economy.major_industries[5] = 'Finance'", [], "out of range is no match");
  });

  test("AND binds tighter than OR; parentheses override", async () => {
    await check("country = 'Turkey' OR country = 'Germany' AND is_capital = false", ["istanbul", "ankara", "hamburg"]);
    await check("(country = 'Turkey' OR country = 'Germany') AND is_capital = false", ["istanbul", "hamburg"]);
    await check("is_capital = false AND country = 'Germany' OR country = 'Turkey'", ["istanbul", "ankara", "hamburg"]);
    await check("is_capital = false AND (country = 'Germany' OR country = 'Turkey')", ["istanbul", "hamburg"]);
    await check("country = 'Japan' OR (geography.continent = 'Europe' AND population > 2000000 AND is_capital = true) OR city = 'Zug'", ["osaka", "berlin", "paris", "zug"]);
    await check("((country = 'Turkey'))", ["istanbul", "ankara"]);
    await check("(population < 2000000 AND (country = 'Germany' OR (country = 'Uruguay' AND is_capital = true)))", ["hamburg", "montevideo"]);
  });

  test("keywords and boolean literals are case-insensitive", async () => {
    await check("country in ('Germany') and has field economy.currency or city glob 'Z*'", ["berlin", "hamburg", "zug"]);
    await check("city Not Glob 'A*' AnD country = 'Turkey'", ["istanbul"]);
    await check("is_capital = TRUE", ["ankara", "berlin", "paris", "montevideo"]);
    await check("is_capital = False and economy.major_industries not contains 'Finance'", ["hamburg"]);
    await check("has not field geography.coordinates.longitude", ["ankara", "nometa"]);
    await check("country NOT in ('Turkey', 'Germany', 'France', 'Japan') Or population > 1.5E7", ["istanbul", "montevideo", "zug"]);
  });

  test("query results carry the stored metadata unchanged", async () => {
    const res = await ix("dense").query({ vector: V, topK: 1, filter: "city = 'Osaka'", includeMetadata: true }, { namespace });
    assert.deepStrictEqual(res, [{ id: "osaka", score: 1, metadata: cities.osaka }]);
  });

  test("a selective filter still returns topK matches among many closer non-matching vectors", async () => {
    const index = ix("dense");
    const ns = "selective";
    const rand = prng(20261207);
    const r = () => rand() * 2 - 1;
    const q = [0.3, -0.7, 0.5, 0.2];
    const items = [];
    for (let i = 0; i < 400; i++) {
      items.push({ id: `v${i}`, vector: [r(), r(), r(), r()], metadata: { group: i % 16 === 3 ? "rare" : "common", i } });
    }
    // 200 near-duplicates of the query that do not match the filter crowd the neighbourhood.
    for (let i = 0; i < 200; i++) {
      items.push({ id: `decoy${i}`, vector: q.map((x) => x + (rand() - 0.5) * 0.01), metadata: { group: "common", i: 1000 + i } });
    }
    await index.upsert(items.slice(0, 300), { namespace: ns });
    await index.upsert(items.slice(300), { namespace: ns });
    const rare = items.filter((it) => it.metadata.group === "rare");
    assert.equal(rare.length, 25);
    const expected = rare.map((it) => ({ id: it.id, score: cosineScore(f32vec(q), f32vec(it.vector)) })).sort((a, b) => b.score - a.score).slice(0, 10);
    const res = await index.query({ vector: q, topK: 10, filter: "group = 'rare'", includeMetadata: true }, { namespace: ns });
    assert.equal(res.length, 10, "topK matches although the 200 nearest vectors do not match");
    assert.deepStrictEqual(idsOf(res), idsOf(expected));
    res.forEach((x, i) => assertScore(x.score, expected[i].score, x.id));
    for (const x of res) assert.equal(x.metadata.group, "rare");
    // Fewer matches than topK → all of them.
    const three = await index.query({ vector: q, topK: 10, filter: "i IN (5, 77, 391)" }, { namespace: ns });
    assert.deepStrictEqual(sorted(idsOf(three)), ["v391", "v5", "v77"]);
    // Unfiltered, the decoys win.
    const plain = await index.query({ vector: q, topK: 10 }, { namespace: ns });
    assert.ok(plain.every((x) => x.id.startsWith("decoy")), `unfiltered top 10 are decoys: ${idsOf(plain)}`);
  });

  test("a large namespace (6000 vectors): selective filters, exact matches and deletes stay correct", async () => {
    // Large enough that an index switches from an exact scan to an approximate graph.
    const index = ix("dense");
    const ns = "large";
    const rand = prng(4242);
    const r = () => rand() * 2 - 1;
    const items = Array.from({ length: 6000 }, (_, i) => ({ id: `L${i}`, vector: [r(), r(), r(), r()], metadata: { rare: i % 200 === 17, i } }));
    for (let k = 0; k < items.length; k += 1000) await index.upsert(items.slice(k, k + 1000), { namespace: ns });
    assert.equal((await index.info()).namespaces[ns].vectorCount, 6000);
    const brute = (q, pool, k) => pool.map((it) => ({ id: it.id, score: cosineScore(f32vec(q), f32vec(it.vector)) })).sort((a, b) => b.score - a.score).slice(0, k);

    // A stored vector queried exactly comes first with score 1.
    for (const probe of [items[0], items[2999], items[5999]]) {
      const res = await index.query({ vector: probe.vector, topK: 1 }, { namespace: ns });
      assert.deepStrictEqual(idsOf(res), [probe.id]);
      assert.strictEqual(res[0].score, 1);
    }
    // Filtered: the 30 rare vectors; topK 10 must be the exact top 10 among them.
    const rare = items.filter((it) => it.metadata.rare);
    assert.equal(rare.length, 30);
    let recallHits = 0;
    for (let t = 0; t < 10; t++) {
      const q = [r(), r(), r(), r()];
      const res = await index.query({ vector: q, topK: 10, filter: "rare = true" }, { namespace: ns });
      assert.deepStrictEqual(idsOf(res), idsOf(brute(q, rare, 10)), `filtered query ${t}`);
      const plain = await index.query({ vector: q, topK: 10 }, { namespace: ns });
      assert.equal(plain.length, 10);
      const truth = new Set(idsOf(brute(q, items, 10)));
      recallHits += plain.filter((x) => truth.has(x.id)).length;
    }
    assert.ok(recallHits >= 90, `unfiltered recall@10 over 10 queries: ${recallHits}/100`);

    // Delete two thirds; nothing deleted is ever returned, and the rest is still found.
    const doomed = items.filter((it) => it.metadata.i % 3 !== 0);
    for (let k = 0; k < doomed.length; k += 1000) {
      const d = await index.delete(doomed.slice(k, k + 1000).map((it) => it.id), { namespace: ns });
      assert.equal(d.deleted, Math.min(1000, doomed.length - k));
    }
    const alive = items.filter((it) => it.metadata.i % 3 === 0);
    assert.equal((await index.info()).namespaces[ns].vectorCount, alive.length);
    for (let t = 0; t < 5; t++) {
      const q = [r(), r(), r(), r()];
      const res = await index.query({ vector: q, topK: 20 }, { namespace: ns });
      assert.equal(res.length, 20);
      for (const x of res) assert.equal(Number(x.id.slice(1)) % 3, 0, `deleted vector ${x.id} returned`);
      const fr = await index.query({ vector: q, topK: 10, filter: "rare = true" }, { namespace: ns });
      assert.deepStrictEqual(idsOf(fr), idsOf(brute(q, alive.filter((it) => it.metadata.rare), 10)), `filtered query after deletes ${t}`);
    }
    const survivor = alive[alive.length - 1];
    assert.deepStrictEqual(idsOf(await index.query({ vector: survivor.vector, topK: 1 }, { namespace: ns })), [survivor.id]);
  });
});

describe("embedding models", { skip: HAS_MODEL ? false : loudSkip("vector_sdk.test.mjs embedding-model tests") }, () => {
  test("upsert with data embeds it; identical text scores exactly 1; similar text beats random vectors", async () => {
    const index = ix("embed");
    const namespace = "plain";
    const rand = prng(7);
    const randomInts = Array.from({ length: 5 }, (_, k) => ({ id: `rand-${k}`, vector: Array.from({ length: MODEL_DIM }, () => Math.floor(rand() * 10)) }));
    await index.upsert(randomInts, { namespace });
    assert.equal(await index.upsert({ id: "hello-world", data: "testing-plan-text", metadata: { upstash: "test" } }, { namespace }), "Success");
    await index.upsert(
      [
        { id: "bulk-1", data: "testing-bulk-data-original", metadata: { upstash: "Cookie" } },
        { id: "bulk-2", data: "testing-bulk-data-secondary", metadata: { upstash: "Monster" } },
      ],
      { namespace },
    );
    const [fetched] = await index.fetch(["hello-world"], { includeVectors: true, includeData: true, includeMetadata: true, namespace });
    assert.equal(fetched.data, "testing-plan-text", "upsert-data stores the text");
    assert.deepStrictEqual(fetched.metadata, { upstash: "test" });
    assert.equal(fetched.vector.length, MODEL_DIM);

    const same = await index.query({ data: "testing-plan-text", topK: 1 }, { namespace });
    assert.deepStrictEqual(idsOf(same), ["hello-world"]);
    assert.strictEqual(same[0].score, 1, "identical text → exactly 1");
    const similar = await index.query({ data: "testing-plain-text", topK: 1, includeMetadata: true }, { namespace });
    assert.deepStrictEqual(similar[0].metadata, { upstash: "test" });
    const bulk = await index.query({ data: "testing-bulk-data-original", topK: 1, includeMetadata: true, includeData: true }, { namespace });
    assert.deepStrictEqual(bulk, [{ id: "bulk-1", score: 1, metadata: { upstash: "Cookie" }, data: "testing-bulk-data-original" }]);
    // The query embedding is the stored one: querying by that vector gives the same score.
    const byVector = await index.query({ vector: fetched.vector, topK: 1 }, { namespace });
    assert.equal(byVector[0].id, "hello-world");
    assertScore(byVector[0].score, 1, "query by the stored embedding", 8);

    const many = await index.queryMany([{ data: "testing-plan-text", topK: 1 }, { data: "testing-bulk-data-secondary", topK: 1 }], { namespace });
    assert.deepStrictEqual(many.map(idsOf), [["hello-world"], ["bulk-2"]]);
  });

  test("update with data re-embeds and keeps the metadata; resumable query by data", async () => {
    const index = ix("embed");
    const namespace = "reembed";
    await index.upsert([
      { id: "r1", data: "The cat sleeps on the warm windowsill.", metadata: { keep: true } },
      { id: "r2", data: "Stock markets fell sharply after the announcement." },
      { id: "r3", data: "A recipe for sourdough bread with a crispy crust." },
    ], { namespace });
    const before1 = (await index.fetch(["r1"], { includeVectors: true, namespace }))[0].vector;
    assert.deepStrictEqual(await index.update({ id: "r1", data: "Quantum computers use qubits in superposition." }, { namespace }), { updated: 1 });
    const [after1] = await index.fetch(["r1"], { includeVectors: true, includeMetadata: true, includeData: true, namespace });
    assert.notDeepStrictEqual(after1.vector, before1, "the vector changed");
    assert.deepStrictEqual(after1.metadata, { keep: true });
    assert.equal(after1.data, "Quantum computers use qubits in superposition.");
    const q = await index.query({ data: "Quantum computers use qubits in superposition.", topK: 1 }, { namespace });
    assert.deepStrictEqual(q, [{ id: "r1", score: 1 }]);

    const { result, fetchNext, stop } = await index.resumableQuery({ data: "bread baking recipe", topK: 1, maxIdle: 60, includeData: true }, { namespace });
    assert.deepStrictEqual(idsOf(result), ["r3"]);
    assert.equal(result[0].data, "A recipe for sourdough bread with a crispy crust.");
    const rest = await fetchNext(5);
    assert.deepStrictEqual(sorted(idsOf(rest)), ["r1", "r2"]);
    await stop();
  });

  test("BM25 sparse index: data upsert and query, only shared terms match; info names the models", async () => {
    const index = ix("bm25");
    const namespace = "bm25";
    await index.upsert(
      [
        { id: "h1", data: "hello" },
        { id: "h2", data: "hello world" },
        { id: "h3", data: "hello world upstash" },
        { id: "run", data: "The athletes were running quickly around the track" },
      ],
      { namespace },
    );
    const up = await index.query({ data: "upstash", topK: 5 }, { namespace });
    assert.deepStrictEqual(idsOf(up), ["h3"]);
    const hello = await index.query({ data: "hello", topK: 5, weightingStrategy: WeightingStrategy.IDF }, { namespace });
    assert.deepStrictEqual(sorted(idsOf(hello)), ["h1", "h2", "h3"]);
    assert.equal(hello[0].id, "h1", "the shortest document with the term ranks first (BM25 length normalisation)");
    const stem = await index.query({ data: "runs", topK: 5 }, { namespace });
    assert.deepStrictEqual(idsOf(stem), ["run"], "stemming: runs ~ running");
    assert.deepStrictEqual(await index.query({ data: "the", topK: 5 }, { namespace }), [], "stop words are dropped");

    const infos = { embed: await ix("embed").info(), bm25: await index.info(), hybridtext: await ix("hybridtext").info() };
    assert.equal(infos.embed.dimension, MODEL_DIM);
    assert.equal(infos.embed.denseIndex?.embeddingModel, DENSE_MODEL);
    assert.equal(infos.embed.denseIndex?.dimension, MODEL_DIM);
    assert.equal(infos.bm25.sparseIndex?.embeddingModel, "BM25");
    assert.equal(infos.hybridtext.dimension, MODEL_DIM);
    assert.equal(infos.hybridtext.denseIndex?.embeddingModel, DENSE_MODEL);
    assert.equal(infos.hybridtext.sparseIndex?.embeddingModel, "BM25");
    for (const [name, info] of Object.entries(infos)) {
      if (info.indexType !== undefined) assert.equal(info.indexType, { embed: "DENSE", bm25: "SPARSE", hybridtext: "HYBRID" }[name]);
    }
  });

  test("hybrid with both models: queryMode DENSE, SPARSE and HYBRID", async () => {
    const index = ix("hybridtext");
    const namespace = "modes";
    await index.upsert(
      [
        { id: "h1", data: "hello" },
        { id: "h2", data: "hello world" },
        { id: "h3", data: "hello world upstash" },
        { id: "cat", data: "a cat sat on the mat" },
      ],
      { namespace },
    );
    const sparse = await index.query({ data: "upstash", topK: 5, queryMode: QueryMode.SPARSE }, { namespace });
    assert.deepStrictEqual(idsOf(sparse), ["h3"], "SPARSE: only documents with the term");
    const dense = await index.query({ data: "hello world upstash", topK: 5, queryMode: QueryMode.DENSE, includeData: true }, { namespace });
    assert.equal(dense.length, 4, "DENSE: every document is a candidate");
    assert.equal(dense[0].id, "h3");
    assert.strictEqual(dense[0].score, 1, "DENSE: identical text → exactly 1");
    assert.equal(dense[0].data, "hello world upstash");
    const hybrid = await index.query({ data: "hello world upstash", topK: 5, queryMode: QueryMode.HYBRID }, { namespace });
    assert.equal(hybrid[0].id, "h3");
    assertScore(hybrid[0].score, 2 / 60, "rank 0 in both components (RRF)", 1);
    const byDefault = await index.query({ data: "hello world upstash", topK: 5 }, { namespace });
    assert.deepStrictEqual(byDefault, hybrid, "HYBRID is the default queryMode");
    const dbsfRes = await index.query({ data: "upstash", topK: 5, fusionAlgorithm: FusionAlgorithm.DBSF }, { namespace });
    assert.equal(dbsfRes[0].id, "h3");
    // queryMode applies to resumable data queries as well.
    const { result, fetchNext, stop } = await index.resumableQuery({ data: "upstash", topK: 1, queryMode: QueryMode.SPARSE, maxIdle: 60 }, { namespace });
    assert.deepStrictEqual(idsOf(result), ["h3"]);
    assert.deepStrictEqual(await fetchNext(3), [], "SPARSE: nothing else shares a term");
    await stop();
  });

  test("text longer than the model's sequence length is truncated, not refused", async () => {
    const index = ix("embed");
    const long = Array.from({ length: 3000 }, (_, i) => `word${i % 97} lorem ipsum`).join(" ");
    await index.upsert({ id: "long", data: long }, { namespace: "long" });
    const res = await index.query({ data: long, topK: 1, includeData: true }, { namespace: "long" });
    assert.equal(res[0].id, "long");
    assert.strictEqual(res[0].score, 1);
    assert.equal(res[0].data, long, "the full text is stored");
  });
});
