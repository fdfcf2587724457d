// A small retrieval-augmented-generation flow with the real embedding model: four short
// documents on unrelated topics are cut into two-sentence chunks, upserted as `data` with
// metadata {doc, chunk}, and retrieved by questions — with metadata filters restricting the
// document — through the dense model index (`embed`) and the hybrid index with both models
// (`hybridtext`, queryMode DENSE / SPARSE / HYBRID). Needs STASHD_EMBEDDING_MODEL_DIR; without it
// the whole file is skipped with a loud message.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { FusionAlgorithm, QueryMode, WeightingStrategy } from "@upstash/vector";
import { HAS_MODEL, assertScore, loudSkip, useVector } from "./vector_harness.mjs";

const DOCS = {
  volcanoes:
    "Volcanoes form where molten rock called magma rises from deep inside the Earth. Most of them sit along the boundaries of tectonic plates. " +
    "Large explosive eruptions inject sulfur dioxide high into the stratosphere. The resulting aerosols reflect sunlight and can cool the global climate for a year or two. " +
    "Lava flows usually move slowly enough for people to walk away from them. Falling ash, however, can collapse roofs and ground aircraft far from the vent.",
  bread:
    "Sourdough bread is leavened by a culture of wild yeast and lactic acid bacteria. The starter must be fed with flour and water every day. " +
    "Kneading develops gluten, the elastic protein network that traps gas. Well-kneaded dough stretches thin without tearing. " +
    "Baking in a very hot oven with steam gives the loaf a crisp crust. The loaf should cool completely before it is sliced.",
  chess:
    "In chess, the opening is about developing the pieces and controlling the center of the board. Castling early keeps the king safe. " +
    "An endgame with a single pawn is often decided by the opposition of the two kings. The side whose king reaches the key squares wins.",
  python:
    "Python lists are mutable sequences that can grow and shrink. Tuples are immutable and can therefore be used as dictionary keys. " +
    "A virtual environment isolates the installed packages of one project from another. Create it with python -m venv and activate it before running pip install.",
};

/** Sentences, two per chunk. */
function chunk(text, perChunk = 2) {
  const sentences = text.split(/(?<=[.!?])\s+/).filter(Boolean);
  const chunks = [];
  for (let i = 0; i < sentences.length; i += perChunk) chunks.push(sentences.slice(i, i + perChunk).join(" "));
  return chunks;
}

const CHUNKS = Object.entries(DOCS).flatMap(([doc, text]) => chunk(text).map((data, i) => ({ id: `${doc}#${i}`, data, metadata: { doc, chunk: i } })));

const skip = HAS_MODEL ? false : loudSkip("vector_rag.test.mjs (RAG with the embedding model)");

describe("RAG over chunked documents", { skip }, () => {
  const ctx = HAS_MODEL ? useVector() : undefined;
  const namespace = "rag";
  before(async () => {
    if (!HAS_MODEL) return;
    assert.equal(CHUNKS.length, 10, `chunking: ${CHUNKS.map((c) => c.id)}`);
    await ctx.v.index("embed").upsert(CHUNKS, { namespace });
    await ctx.v.index("hybridtext").upsert(CHUNKS, { namespace });
  });

  test("chunks are stored with their text and metadata", async () => {
    const index = ctx.v.index("embed");
    const got = await index.fetch(CHUNKS.map((c) => c.id), { includeData: true, includeMetadata: true, namespace });
    assert.deepStrictEqual(got, CHUNKS.map(({ id, data, metadata }) => ({ id, data, metadata })));
    const info = await index.info();
    assert.equal(info.namespaces[namespace].vectorCount, CHUNKS.length);
  });

  test("a question with a document filter retrieves the right chunk first", async () => {
    const index = ctx.v.index("embed");
    const cases = [
      ["How do volcanic eruptions change the Earth's temperature?", "volcanoes", "volcanoes#1"],
      ["Where do volcanoes come from?", "volcanoes", "volcanoes#0"],
      ["What feeds the yeast culture used to leaven bread?", "bread", "bread#0"],
      ["Why is dough kneaded?", "bread", "bread#1"],
      ["How do I keep my king safe in the opening?", "chess", "chess#0"],
      ["How do I isolate the dependencies of a Python project?", "python", "python#1"],
    ];
    for (const [question, doc, expected] of cases) {
      const res = await index.query({ data: question, topK: 3, filter: `doc = '${doc}'`, includeMetadata: true, includeData: true }, { namespace });
      assert.equal(res[0]?.id, expected, `${question} → ${res.map((r) => `${r.id}:${r.score}`).join(", ")}`);
      for (const r of res) assert.equal(r.metadata.doc, doc, "the filter holds");
      assert.equal(res[0].data, CHUNKS.find((c) => c.id === expected).data);
      for (let i = 1; i < res.length; i++) assert.ok(res[i - 1].score >= res[i].score, "descending scores");
    }
  });

  test("without a filter the topic still wins; a filter on another document returns only that document", async () => {
    const index = ctx.v.index("embed");
    const open = await index.query({ data: "gluten and kneading the dough", topK: 3 }, { namespace });
    assert.equal(open[0].id, "bread#1", open.map((r) => r.id).join(", "));
    const other = await index.query({ data: "volcanic ash falling on roofs", topK: 10, filter: "doc = 'bread'", includeMetadata: true }, { namespace });
    assert.deepStrictEqual(other.map((r) => r.id).sort(), ["bread#0", "bread#1", "bread#2"]);
    const later = await index.query({ data: "Where do volcanoes come from?", topK: 10, filter: "doc = 'volcanoes' AND chunk >= 1" }, { namespace });
    assert.deepStrictEqual(later.map((r) => r.id).sort(), ["volcanoes#1", "volcanoes#2"], "chunk 0 is filtered out");
    const exact = await index.query({ data: CHUNKS[3].data, topK: 1 }, { namespace });
    assert.deepStrictEqual(exact, [{ id: CHUNKS[3].id, score: 1 }], "a chunk's own text scores exactly 1");
    const viaMany = await index.queryMany(
      [
        { data: "How do I keep my king safe in the opening?", topK: 1, filter: "doc IN ('chess', 'python')" },
        { data: "immutable tuples as dictionary keys", topK: 1, filter: "doc IN ('chess', 'python')" },
      ],
      { namespace },
    );
    assert.deepStrictEqual(viaMany.map((r) => r[0].id), ["chess#0", "python#0"]);
  });

  test("hybrid index with both models: queryMode DENSE, SPARSE and HYBRID", async () => {
    const index = ctx.v.index("hybridtext");
    // SPARSE (BM25): only chunks containing a query term can match; "sourdough" and "starter" are only in bread#0.
    const sparse = await index.query({ data: "sourdough starter", topK: 5, queryMode: QueryMode.SPARSE, includeMetadata: true }, { namespace });
    assert.deepStrictEqual(sparse.map((r) => r.id), ["bread#0"]);
    const sparseIdf = await index.query({ data: "sourdough starter", topK: 5, queryMode: QueryMode.SPARSE, weightingStrategy: WeightingStrategy.IDF }, { namespace });
    assert.deepStrictEqual(sparseIdf.map((r) => r.id), ["bread#0"]);
    assert.ok(sparseIdf[0].score > 0);

    // DENSE: semantic match without shared words; every chunk is a candidate.
    const question = "How do volcanic eruptions change the Earth's temperature?";
    const dense = await index.query({ data: question, topK: 10, queryMode: QueryMode.DENSE }, { namespace });
    assert.equal(dense.length, CHUNKS.length);
    assert.equal(dense[0].id, "volcanoes#1", dense.map((r) => r.id).join(", "));
    // The same model behind both indexes: the DENSE scores equal the dense-only index's.
    const plain = await ctx.v.index("embed").query({ data: question, topK: 10 }, { namespace });
    assert.deepStrictEqual(dense.map((r) => r.id), plain.map((r) => r.id));
    dense.forEach((r, i) => assertScore(r.score, plain[i].score, `DENSE score of ${r.id}`, 8));

    // HYBRID (default): fused; a chunk ranked first by both components gets 2/60 with RRF.
    const hybrid = await index.query({ data: "sourdough starter fed with flour and water", topK: 3, queryMode: QueryMode.HYBRID }, { namespace });
    assert.equal(hybrid[0].id, "bread#0");
    assertScore(hybrid[0].score, 2 / 60, "rank 0 in both components", 1);
    const filtered = await index.query({ data: question, topK: 3, filter: "doc != 'volcanoes'", includeMetadata: true }, { namespace });
    for (const r of filtered) assert.notEqual(r.metadata.doc, "volcanoes");
    const dbsf = await index.query({ data: "kneading dough gluten", topK: 3, fusionAlgorithm: FusionAlgorithm.DBSF }, { namespace });
    assert.equal(dbsf[0].id, "bread#1");
  });

  test("resumable query by data pages through a document in relevance order", async () => {
    const index = ctx.v.index("embed");
    const { result, fetchNext, stop } = await index.resumableQuery({ data: "ash and lava from volcanoes", topK: 1, filter: "doc = 'volcanoes'", maxIdle: 60 }, { namespace });
    const seen = [...result];
    seen.push(...(await fetchNext(5)));
    assert.deepStrictEqual(seen.map((r) => r.id).sort(), ["volcanoes#0", "volcanoes#1", "volcanoes#2"]);
    assert.equal(seen[0].id, "volcanoes#2", seen.map((r) => `${r.id}:${r.score}`).join(", "));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].score >= seen[i].score);
    assert.deepStrictEqual(await fetchNext(5), []);
    await stop();
  });
});
