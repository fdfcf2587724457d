// Fails when an @upstash/redis command method is exercised by no suite in tests/js.
//
// The SDK's methods are enumerated at runtime (no server needed): the function-valued own
// properties of a `Redis` instance (the SDK defines commands as arrow-function fields), its
// prototype methods (e.g. `scan`, `createScript`), and the methods of the namespaces its
// prototype getters return (`json`, `functions`, ...). A method counts as exercised when some
// tests/js/*.test.mjs file (other than this one) contains `.name(` (`json.name(` /
// `functions.name(` for namespaced ones). An SDK upgrade that adds a method, a namespace or a
// getter nobody tests makes this fail; so does an exclusion below that names something the SDK
// no longer has.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";

const here = path.dirname(fileURLToPath(import.meta.url));
const SELF = path.basename(fileURLToPath(import.meta.url));

/** Client-side helpers that send no command of their own (or only through other methods). */
const NON_COMMAND_HELPERS = new Map([
  ["use", "installs a request middleware"],
  ["addTelemetry", "merges telemetry headers into the client"],
  ["pipeline", "builds a Pipeline; its commands are the Redis methods"],
  ["multi", "builds a MULTI/EXEC Pipeline; its commands are the Redis methods"],
  ["autoPipeline", "returns the auto-pipelining proxy used by default"],
  ["createScript", "wraps EVAL/EVALSHA (scripting.test.mjs exercises it)"],
]);

/** Accessors on the prototype that are not command namespaces. */
const NON_NAMESPACE_GETTERS = new Map([["readYourWritesSyncToken", "the client's read-your-writes sync token"]]);

/** Namespaces whose methods must each be exercised, as `<namespace>.<method>(`. */
const COVERED_NAMESPACES = new Set(["json", "functions"]);

/** Namespaces stashd does not serve (yet): not checked, listed so a new one still fails. */
const EXCLUDED_NAMESPACES = new Map([
  ["search", "Upstash Search (SEARCH.*): not implemented by stashd"],
  ["vector", "Upstash vector index commands (VECTOR.*): not implemented by stashd"],
]);

/** Command methods deliberately not required here (none at the moment; give each a reason). */
const EXCLUDED_METHODS = new Map();

function sdkSurface() {
  // Auto-pipelining off: the constructor then returns the instance itself, not a Proxy.
  const redis = new Redis({ url: "http://127.0.0.1:1", token: "unused", enableAutoPipelining: false, enableTelemetry: false });
  const methods = new Set();
  const namespaces = new Map();
  const getters = new Set();
  for (const name of Object.getOwnPropertyNames(redis)) {
    if (typeof redis[name] === "function") methods.add(name);
  }
  for (let proto = Object.getPrototypeOf(redis); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor") continue;
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (desc.get) {
        getters.add(name);
        if (NON_NAMESPACE_GETTERS.has(name)) continue;
        const value = redis[name];
        const fns = value && typeof value === "object" ? Object.keys(value).filter((k) => typeof value[k] === "function") : [];
        namespaces.set(name, fns);
      } else if (typeof desc.value === "function") {
        methods.add(name);
      }
    }
  }
  return { methods, namespaces, getters };
}

function testSources() {
  return readdirSync(here)
    .filter((f) => f.endsWith(".test.mjs") && f !== SELF)
    .map((f) => readFileSync(path.join(here, f), "utf8"))
    .join("\n");
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const referenced = (sources, prefix, name) => new RegExp(`${prefix}${escape(name)}\\(`).test(sources);

test("the SDK surface is enumerated (sanity check of the enumeration itself)", () => {
  const { methods, namespaces } = sdkSurface();
  for (const name of ["get", "set", "zadd", "xadd", "eval", "scan", "hgetall", "pipeline"]) {
    assert.ok(methods.has(name), `${name} not found among ${methods.size} methods`);
  }
  assert.ok(methods.size > 150, `only ${methods.size} methods found`);
  assert.ok(namespaces.get("json")?.includes("set"), "json.set not found");
  assert.ok(namespaces.get("functions")?.includes("call"), "functions.call not found");
});

test("every @upstash/redis command method is exercised by some tests/js suite", () => {
  const { methods } = sdkSurface();
  const sources = testSources();
  const missing = [...methods]
    .filter((name) => !NON_COMMAND_HELPERS.has(name) && !EXCLUDED_METHODS.has(name))
    .filter((name) => !referenced(sources, "\\.", name))
    .sort();
  assert.deepEqual(missing, [], `@upstash/redis methods no test calls as .name(: ${missing.join(", ")}`);
});

test("every method of the json and functions namespaces is exercised", () => {
  const { namespaces } = sdkSurface();
  const sources = testSources();
  const missing = [];
  for (const ns of COVERED_NAMESPACES) {
    assert.ok(namespaces.has(ns), `the SDK has no ${ns} namespace any more`);
    for (const name of namespaces.get(ns)) {
      if (!referenced(sources, `\\b${ns}\\.`, name)) missing.push(`${ns}.${name}`);
    }
  }
  assert.deepEqual(missing.sort(), [], `namespaced methods no test calls: ${missing.join(", ")}`);
});

test("every namespace and accessor is classified (a new one must be tested or excluded)", () => {
  const { namespaces, getters } = sdkSurface();
  const unknown = [...namespaces.keys()].filter((ns) => !COVERED_NAMESPACES.has(ns) && !EXCLUDED_NAMESPACES.has(ns));
  assert.deepEqual(unknown, [], `unclassified SDK namespaces: ${unknown.join(", ")}`);
  for (const g of NON_NAMESPACE_GETTERS.keys()) assert.ok(getters.has(g), `stale NON_NAMESPACE_GETTERS entry ${g}`);
  for (const ns of EXCLUDED_NAMESPACES.keys()) assert.ok(namespaces.has(ns), `stale EXCLUDED_NAMESPACES entry ${ns}`);
});

test("exclusion lists name only methods the SDK has", (t) => {
  const { methods } = sdkSurface();
  const stale = [...NON_COMMAND_HELPERS.keys(), ...EXCLUDED_METHODS.keys()].filter((name) => !methods.has(name));
  assert.deepEqual(stale, [], `exclusions for methods the SDK no longer has: ${stale.join(", ")}`);
  const sources = testSources();
  const nowCovered = [...EXCLUDED_METHODS.keys()].filter((name) => referenced(sources, "\\.", name));
  if (nowCovered.length > 0) t.diagnostic(`excluded but now referenced (drop them from EXCLUDED_METHODS): ${nowCovered.join(", ")}`);
});
