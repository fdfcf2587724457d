// Fails when a method of @upstash/vector's Index (or of the objects it hands out) is exercised by
// no Vector suite. The surface is enumerated at runtime, without a server: the function-valued
// own properties of an `Index` instance (the SDK defines its methods as arrow-function fields)
// and of its prototype chain, the static methods of the class, the methods of the object
// `index.namespace(...)` returns, and those of the handle `resumableQuery` resolves to (obtained
// through a stub requester). COVERAGE below names, for each method, the file and the test that
// exercises it; every entry is checked: the test exists and its body calls the method. A method
// the SDK gains fails the test until it is tested and listed; an entry for a method the SDK no
// longer has fails as stale.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Index } from "@upstash/vector";

const here = path.dirname(fileURLToPath(import.meta.url));

const SDK = "vector_sdk.test.mjs";
const ERR = "vector_errors.test.mjs";
const T = {
  banner: "the banner announces every index with its URL and tokens; Index.fromEnv works with them",
  upsertFetch: "dense upsert of one and of many; fetch by ids aligns results and gives null for missing ids",
  cosine: "dense COSINE: identical vector scores exactly 1, others (1+cos)/2; topK and include flags",
  many: "queryMany: one result list per query; a single-element batch is flat on the wire and nested by the SDK",
  resumable: "start returns the first topK; fetchNext continues in score order; exhausted → []; stop → Success",
  range: "cursor paging over 16 vectors returns them in insertion order; prefix paging too",
  update: "update the vector, metadata (OVERWRITE and PATCH); a missing id updates nothing",
  del: "delete by id, ids, prefix and filter reports the number deleted",
  scoped: "namespace(...) scopes every operation to its namespace",
  nsInfo: "listNamespaces, deleteNamespace, reset (default, one namespace, all) and info counts",
  readonly: "a read-only token is refused on every write with 403 and changes nothing; reads work",
};

/** kind → method → [file, test title]. Call patterns per kind are in PATTERNS. */
const COVERAGE = {
  index: {
    namespace: [SDK, T.scoped],
    delete: [SDK, T.del],
    query: [SDK, T.cosine],
    queryMany: [SDK, T.many],
    resumableQuery: [SDK, T.resumable],
    upsert: [SDK, T.upsertFetch],
    update: [SDK, T.update],
    fetch: [SDK, T.upsertFetch],
    reset: [SDK, T.nsInfo],
    range: [SDK, T.range],
    info: [SDK, T.nsInfo],
    listNamespaces: [SDK, T.nsInfo],
    deleteNamespace: [SDK, T.nsInfo],
  },
  static: {
    fromEnv: [SDK, T.banner],
  },
  namespace: {
    upsert: [SDK, T.scoped],
    update: [SDK, T.scoped],
    fetch: [SDK, T.scoped],
    query: [SDK, T.scoped],
    resumableQuery: [SDK, T.scoped],
    delete: [SDK, T.scoped],
    range: [SDK, T.scoped],
    reset: [SDK, T.scoped],
  },
  resumable: {
    fetchNext: [SDK, T.resumable],
    stop: [SDK, T.resumable],
  },
};

/** Read-only refusals are a second place each write method is exercised (documentation only). */
const ALSO = { readonly: [ERR, T.readonly] };

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const PATTERNS = {
  index: (m) => new RegExp(`\\.${escape(m)}\\(`),
  static: (m) => new RegExp(`\\bIndex\\.${escape(m)}\\(`),
  // Namespace objects are held in variables named ns… / other… in the suites.
  namespace: (m) => new RegExp(`\\b(ns|other)\\w*\\.${escape(m)}\\(`),
  // The handle's functions are destructured (`const { fetchNext, stop } = …`) or called on it.
  resumable: (m) => new RegExp(`(^|[^\\w.])${escape(m)}\\(|\\.${escape(m)}\\(`),
};

async function sdkSurface() {
  const index = new Index({ url: "http://127.0.0.1:1", token: "unused", enableTelemetry: false, retry: false });
  const fns = (obj) => {
    const out = new Set();
    for (const name of Object.getOwnPropertyNames(obj)) if (typeof obj[name] === "function") out.add(name);
    for (let p = Object.getPrototypeOf(obj); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const name of Object.getOwnPropertyNames(p)) {
        if (name === "constructor") continue;
        const d = Object.getOwnPropertyDescriptor(p, name);
        if (typeof d.value === "function") out.add(name);
        if (d.get) out.add(`get ${name}`); // an accessor would be new surface: make it visible
      }
    }
    return out;
  };
  const statics = new Set();
  for (let c = Index; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    for (const name of Object.getOwnPropertyNames(c)) {
      if (["length", "name", "prototype", "caller", "arguments"].includes(name)) continue;
      if (typeof c[name] === "function") statics.add(name);
    }
  }
  // The resumable handle, from a stub requester (the SDK accepts any `{ request }`).
  const stub = new Index({ request: async () => ({ result: { uuid: "stub", scores: [] } }) });
  const handle = await stub.resumableQuery({ vector: [1], topK: 1, maxIdle: 1 });
  const resumable = new Set(Object.keys(handle).filter((k) => typeof handle[k] === "function"));
  return { index: fns(index), static: statics, namespace: fns(index.namespace("ns")), resumable };
}

const sources = new Map();
function source(file) {
  if (!sources.has(file)) sources.set(file, readFileSync(path.join(here, file), "utf8"));
  return sources.get(file);
}

/** The text of the test titled `title` in `file`: from its title to the next test( or describe(. */
function testBody(file, title) {
  const text = source(file);
  const quoted = [`"${title}"`, `'${title}'`, `\`${title}\``];
  const at = quoted.map((q) => text.indexOf(q)).find((i) => i >= 0);
  if (at === undefined) return undefined;
  const before = text.slice(Math.max(0, at - 40), at);
  if (!/\btest\(\s*$/.test(before)) return undefined;
  const rest = text.slice(at);
  const next = rest.slice(1).search(/\n\s*(test|describe)\(/);
  return next < 0 ? rest : rest.slice(0, next + 1);
}

test("the SDK surface is enumerated (sanity check of the enumeration itself)", async () => {
  const s = await sdkSurface();
  for (const m of ["upsert", "query", "queryMany", "resumableQuery", "fetch", "range", "info", "namespace"]) assert.ok(s.index.has(m), `Index.${m} not found`);
  assert.ok(s.static.has("fromEnv"), "Index.fromEnv not found");
  for (const m of ["upsert", "query", "fetch", "reset"]) assert.ok(s.namespace.has(m), `namespace.${m} not found`);
  assert.ok(s.resumable.has("fetchNext") && s.resumable.has("stop"), `resumable handle: ${[...s.resumable]}`);
});

test("every SDK method is listed in COVERAGE, and every entry names a method the SDK has", async () => {
  const s = await sdkSurface();
  for (const kind of Object.keys(COVERAGE)) {
    const listed = new Set(Object.keys(COVERAGE[kind]));
    const missing = [...s[kind]].filter((m) => !listed.has(m)).sort();
    const stale = [...listed].filter((m) => !s[kind].has(m)).sort();
    assert.deepStrictEqual(missing, [], `${kind} methods of @upstash/vector no Vector test is listed for: ${missing.join(", ")}`);
    assert.deepStrictEqual(stale, [], `COVERAGE.${kind} lists methods the SDK no longer has: ${stale.join(", ")}`);
  }
});

test("each COVERAGE entry's test exists and calls the method", () => {
  const problems = [];
  for (const [kind, methods] of Object.entries(COVERAGE)) {
    for (const [method, [file, title]] of Object.entries(methods)) {
      const body = testBody(file, title);
      if (body === undefined) {
        problems.push(`${kind}.${method}: no test titled ${JSON.stringify(title)} in ${file}`);
        continue;
      }
      if (!PATTERNS[kind](method).test(body)) problems.push(`${kind}.${method}: the test ${JSON.stringify(title)} does not call it`);
    }
  }
  for (const [what, [file, title]] of Object.entries(ALSO)) {
    if (testBody(file, title) === undefined) problems.push(`${what}: no test titled ${JSON.stringify(title)} in ${file}`);
  }
  assert.deepStrictEqual(problems, []);
});

test("the resumable handle's methods, called on a stopped handle, fail client-side as documented", async () => {
  // Cheap check that `stop` really ends the handle (the server side is in vector_sdk.test.mjs).
  const stub = new Index({ request: async () => ({ result: { uuid: "u", scores: [] } }) });
  const h = await stub.resumableQuery({ vector: [1], topK: 1, maxIdle: 1 });
  assert.deepStrictEqual(h.result, []);
  await h.stop();
  assert.throws(() => h.fetchNext(1), /already been stopped/);
});
