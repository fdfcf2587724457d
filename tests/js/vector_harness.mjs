// Vector flavour of harness.mjs: starts the real `stashd dev` (in memory) with a TOML config that
// declares one index of each kind, explicit read-write and read-only tokens per index, and — when
// STASHD_EMBEDDING_MODEL_DIR is set — the built-in embedding models and three indexes that use
// them. Hands out @upstash/vector `Index` clients per index, raw HTTP access for what the SDK
// cannot send, f32-aware score assertions and a snapshot of an index for "nothing changed" checks.
//
// Indexes (name → kind):
//   dense  DENSE 4 dims COSINE        euclid  DENSE 2 EUCLIDEAN      dot  DENSE 2 DOT_PRODUCT
//   sparse SPARSE                     hybrid  HYBRID 2 dims COSINE
//   with a model: embed (DENSE, ALL_MINILM_L6_V2), bm25 (SPARSE, BM25), hybridtext (HYBRID, both)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { Index } from "@upstash/vector";
import { freePort, newToken, stashdBinary, stopChild } from "./harness.mjs";

export const MODEL_DIR = process.env.STASHD_EMBEDDING_MODEL_DIR || "";
export const HAS_MODEL = MODEL_DIR !== "";
/** The name the served dense model answers to (vector_contract.md: the default). */
export const DENSE_MODEL = "ALL_MINILM_L6_V2";
export const MODEL_DIM = 384;

/** Index declarations; `model: true` ones exist only when a model directory is given. */
export const INDEXES = [
  { name: "dense", type: "DENSE", dimension: 4, similarity: "COSINE" },
  { name: "euclid", type: "DENSE", dimension: 2, similarity: "EUCLIDEAN" },
  { name: "dot", type: "DENSE", dimension: 2, similarity: "DOT_PRODUCT" },
  { name: "sparse", type: "SPARSE" },
  { name: "hybrid", type: "HYBRID", dimension: 2, similarity: "COSINE" },
  { name: "embed", type: "DENSE", denseModel: DENSE_MODEL, similarity: "COSINE", model: true },
  { name: "bm25", type: "SPARSE", sparseModel: "BM25", model: true },
  { name: "hybridtext", type: "HYBRID", denseModel: DENSE_MODEL, sparseModel: "BM25", similarity: "COSINE", model: true },
];

/** Longest a single request may take before its test fails (the server must not hang). */
export const REQUEST_TIMEOUT_MS = 60_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Prints a warning that cannot be missed in the test output (for skipped model tests). */
export function loudSkip(what) {
  const line = "!".repeat(100);
  const msg = `${what}: SKIPPED because STASHD_EMBEDDING_MODEL_DIR is unset (CI always sets it; scripts/fetch-embedding-model.sh fetches the model)`;
  console.error(`\n${line}\n!!! ${msg}\n${line}\n`);
  return msg;
}

function tomlString(s) {
  return JSON.stringify(String(s)); // a TOML basic string is a JSON string for these characters
}

function configText(indexes, tokens) {
  const lines = [];
  if (HAS_MODEL) {
    lines.push("[vector]", `embedding_model_dir = ${tomlString(MODEL_DIR)}`, `embedding_model = ${tomlString(DENSE_MODEL)}`, "");
  }
  for (const ix of indexes) {
    lines.push("[[vector.indexes]]", `name = ${tomlString(ix.name)}`, `type = ${tomlString(ix.type)}`);
    if (ix.dimension) lines.push(`dimension = ${ix.dimension}`);
    if (ix.similarity) lines.push(`similarity = ${tomlString(ix.similarity)}`);
    if (ix.denseModel) lines.push(`dense_model = ${tomlString(ix.denseModel)}`);
    if (ix.sparseModel) lines.push(`sparse_model = ${tomlString(ix.sparseModel)}`);
    lines.push(`token = ${tomlString(tokens[ix.name].token)}`, `readonly_token = ${tomlString(tokens[ix.name].readonly)}`, "");
  }
  return lines.join("\n");
}

/**
 * Starts `stashd dev --port HTTP --resp-port RESP --config FILE`. Resolves once the first index
 * answers `info` over HTTP (and the banner is out, or 3 s later). Returns the server handle (see below).
 */
export async function startVector() {
  const bin = stashdBinary();
  const httpPort = await freePort();
  let respPort = await freePort();
  while (respPort === httpPort) respPort = await freePort();
  const indexes = INDEXES.filter((ix) => !ix.model || HAS_MODEL);
  const tokens = Object.fromEntries(indexes.map((ix) => [ix.name, { token: newToken(), readonly: newToken() }]));
  const dir = mkdtempSync(path.join(os.tmpdir(), "stashd-vector-js-"));
  const configFile = path.join(dir, "stashd.toml");
  const config = configText(indexes, tokens);
  writeFileSync(configFile, config);
  const args = ["dev", "--port", String(httpPort), "--resp-port", String(respPort), "--config", configFile];

  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("STASHD_") && k !== "STASHD_BIN") delete env[k];
  const child = spawn(bin, args, { env, cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let output = "";
  child.stdout.on("data", (d) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.stderr.on("data", (d) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  });
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });

  const base = `http://127.0.0.1:${httpPort}/vector`;
  const first = indexes[0].name;
  const readyTimeout = HAS_MODEL ? 120_000 : 30_000; // loading the model on 2 cores takes a while
  const deadline = Date.now() + readyTimeout;
  for (;;) {
    if (exited) {
      throw new Error(`stashd exited during startup (${JSON.stringify(exited)})\nargs: ${args.join(" ")}\nconfig:\n${config}\n${output}`);
    }
    try {
      const res = await fetch(`${base}/${first}/info`, { method: "POST", headers: { authorization: `Bearer ${tokens[first].token}` }, body: "[]" });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`stashd vector face not ready within ${readyTimeout} ms (banner lines for ${indexes.map((i) => i.name).join(", ")} and HTTP info)\nconfig:\n${config}\n${output}`);
    }
    await sleep(100);
  }

  // The banner is printed at start; give stdout a moment to arrive (the banner test checks it).
  const bannerDeadline = Date.now() + 3_000;
  const bannerLine = (name) => new RegExp(`^UPSTASH_VECTOR_REST_URL=${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/${name}\\s*$`, "m");
  while (!indexes.every((ix) => bannerLine(ix.name).test(stdout)) && Date.now() < bannerDeadline) await sleep(50);

  const server = {
    httpPort,
    respPort,
    indexes,
    tokens,
    base,
    stdout: () => stdout,
    output: () => output,
    url: (name) => `${base}/${name}`,
    token: (name) => tokens[name].token,
    readonlyToken: (name) => tokens[name].readonly,
    /** An SDK client of index `name` (read-write unless `readonly`, or with an explicit `token`). */
    index(name, { readonly = false, token } = {}) {
      const t = token ?? (readonly ? tokens[name].readonly : tokens[name].token);
      // A hung request fails its test after REQUEST_TIMEOUT_MS instead of stalling the file.
      return new Index({ url: server.url(name), token: t, retry: false, enableTelemetry: false, signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    },
    /**
     * A raw request to `<base>/<name>/<command>` (POST by default). `body` is JSON-encoded unless
     * `rawBody` (a string) is given; `token: null` sends no Authorization header.
     */
    async raw(name, command, { body, rawBody, token, method = "POST", headers = {} } = {}) {
      const t = token === undefined ? tokens[name]?.token : token;
      const h = { ...headers };
      if (t !== null && t !== undefined) h.authorization = `Bearer ${t}`;
      let payload = rawBody;
      if (payload === undefined && body !== undefined) {
        payload = JSON.stringify(body);
        h["content-type"] = "application/json";
      }
      const res = await fetch(command === "" ? `${base}/${name}` : `${base}/${name}/${command}`, {
        method,
        headers: h,
        body: payload,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json, headers: res.headers };
    },
    /**
     * Everything observable about index `name`: vector counts per namespace and every vector of
     * every namespace (range with all fields), for "nothing changed" checks.
     */
    async snapshot(name) {
      const info = await server.raw(name, "info", { body: [] });
      assert.equal(info.status, 200, `info of ${name}: ${info.text}`);
      const namespaces = {};
      for (const [ns, v] of Object.entries(info.json.result.namespaces)) {
        const vectors = [];
        let cursor = "0";
        for (let guard = 0; guard < 100; guard++) {
          const r = await server.raw(name, ns === "" ? "range" : `range/${encodeURIComponent(ns)}`, {
            body: { cursor, limit: 1000, includeVectors: true, includeMetadata: true, includeData: true },
          });
          assert.equal(r.status, 200, `range of ${name}/${ns}: ${r.text}`);
          vectors.push(...r.json.result.vectors);
          cursor = r.json.result.nextCursor;
          if (cursor === "") break;
        }
        namespaces[ns] = { vectorCount: v.vectorCount, vectors };
      }
      return { vectorCount: info.json.result.vectorCount, namespaces };
    },
    async stop() {
      if (exited) return;
      await stopChild(child);
    },
  };
  return server;
}

/**
 * One server for the calling test file: `ctx.v` is set in `before` and stopped in `after`;
 * `setup(v)` (seeding) runs in the same hook once the server is up. (Node 20 runs a root-level
 * `before` as soon as it is registered, so a second root-level hook would not wait for this one.)
 */
export function useVector({ setup } = {}) {
  const ctx = { v: undefined };
  before(async () => {
    ctx.v = await startVector();
    if (setup) await setup(ctx.v);
  });
  after(async () => {
    await ctx.v?.stop();
  });
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Scores

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The distance in f32 ulps between two numbers (both rounded to f32 first). */
export function ulpDistance(a, b) {
  f32[0] = a;
  const ia = u32[0];
  f32[0] = b;
  const ib = u32[0];
  // Same sign only (scores are non-negative here); fall back to a large distance otherwise.
  if ((ia >>> 31) !== (ib >>> 31)) return a === b ? 0 : Number.MAX_SAFE_INTEGER;
  return Math.abs(ia - ib);
}

/**
 * `actual` equals `expected` at f32 precision: the server computes in f32 or f64 and prints f32,
 * so allow `ulps` units in the last place (rounding-order differences), nothing more.
 */
export function assertScore(actual, expected, message = "", ulps = 4) {
  assert.equal(typeof actual, "number", `${message}: score is ${JSON.stringify(actual)}`);
  const d = ulpDistance(actual, expected);
  // Near 0 (e.g. an opposite vector under COSINE) ulps shrink to nothing: allow 1e-7 absolute there.
  if (Math.abs(expected) < 1e-3 && Math.abs(actual - expected) <= 1e-7) return;
  assert.ok(d <= ulps, `${message}: score ${actual} != expected ${Math.fround(expected)} (${expected}); ${d} f32 ulps apart`);
}

export const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
export const norm = (a) => Math.sqrt(dot(a, a));
export const cosineScore = (a, b) => (1 + dot(a, b) / (norm(a) * norm(b))) / 2;
export const euclideanScore = (a, b) => 1 / (1 + a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0));
export const dotScore = (a, b) => (1 + dot(a, b)) / 2;

/** Inner product of two sparse vectors {indices, values}, optionally weighting each term. */
export function sparseScore(q, v, weight = () => 1) {
  let s = 0;
  q.indices.forEach((ix, i) => {
    const j = v.indices.indexOf(ix);
    if (j >= 0) s += q.values[i] * v.values[j] * weight(ix);
  });
  return s;
}

/** Upstash's IDF: ln(((N − n + 0.5) / (n + 0.5)) + 1). */
export const idf = (N, n) => Math.log((N - n + 0.5) / (n + 0.5) + 1);

/** DBSF normalisation of one component's score list (sample std-dev; a single score → 0.5). */
export function dbsf(scores) {
  if (scores.length === 1) return [0.5];
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sd = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / (scores.length - 1));
  if (sd === 0) return scores.map(() => 0.5);
  return scores.map((s) => (s - (mean - 3 * sd)) / (6 * sd));
}

/** A deterministic PRNG (mulberry32) so "random" fixtures are reproducible. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rounds every component to f32 (what the server stores), so expected values use stored data. */
export const f32vec = (v) => v.map((x) => Math.fround(x));

/** Rejects with an UpstashError whose message matches `pattern`. */
export async function rejectsUpstash(promise, pattern, message) {
  await assert.rejects(promise, (e) => {
    assert.equal(e?.name, "UpstashError", `${message ?? ""}: expected an UpstashError, got ${e}`);
    if (pattern) assert.match(e.message, pattern, message);
    return true;
  });
}

/** Asserts a raw reply is an error with `status` and a JSON body `{error: string, status}`. */
export function assertErrorReply(res, status, pattern, message = "") {
  assert.equal(res.status, status, `${message}: HTTP status (body ${res.text})`);
  assert.ok(res.json && typeof res.json.error === "string", `${message}: JSON error body expected, got ${res.text}`);
  if (res.json.status !== undefined) assert.equal(res.json.status, status, `${message}: status field`);
  assert.equal(res.json.result, undefined, `${message}: an error reply has no result`);
  if (pattern) assert.match(res.json.error, pattern, `${message}: error text`);
}

/** Asserts a raw reply is a client error (some 4xx) with a JSON error body. */
export function assertClientError(res, pattern, message = "") {
  assert.ok(res.status >= 400 && res.status < 500, `${message}: expected a 4xx, got ${res.status} ${res.text}`);
  assertErrorReply(res, res.status, pattern, message);
}
