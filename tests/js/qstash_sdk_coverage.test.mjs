// Fails when a method of the @upstash/qstash `Client`, or of one of its sub-clients, is
// exercised by no tests/js/qstash_*.test.mjs file.
//
// The surface is enumerated at runtime (no server needed): the Client's prototype methods
// (`publish`, `batch`, `logs`, `queue`, `chat`, ...) and its prototype getters (`urlGroups`,
// `messages`, `dlq`, `schedules`, `flowControl`, `workflow`, ...), each of which returns a
// sub-client; the sub-clients' methods are their prototype methods plus their function-valued
// own fields (`Chat` defines `create` / `prompt` as arrow fields). `queue()` and `chat()` are
// sub-clients too. A Client method counts as exercised when some qstash_*.test.mjs (other than
// this one) contains `.name(`; a sub-client method when one contains `<sub>.name(` (or
// `<sub>(...).name(` for `queue`/`chat`). An SDK upgrade that adds a method, a getter or a
// sub-client nobody tests makes this fail; so does an exclusion naming something the SDK lost.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@upstash/qstash";

const here = path.dirname(fileURLToPath(import.meta.url));
const SELF = path.basename(fileURLToPath(import.meta.url));

/** Client methods that return a sub-client (checked through the sub-client's methods). */
const FACTORY_METHODS = new Set(["queue", "chat"]);

/** Getters that alias another sub-client (their methods are that sub-client's). */
const ALIAS_GETTERS = new Map([["topics", "urlGroups"]]);

/**
 * Methods that cannot apply to stashd, with the reason. Keys are `sub.method` or `method`.
 * Everything else, deprecated or not, must be exercised.
 */
const EXCLUDED = new Map([
  [
    "chat.createThirdParty",
    "sends the chat request to the third-party provider's own base URL (OpenAI, Anthropic, ...), never to QStash",
  ],
  ["chat.getAuthorizationToken", "reads the token out of the client's Authorization header; sends no request"],
]);

function methodsOf(obj) {
  const names = new Set();
  for (const name of Object.getOwnPropertyNames(obj)) {
    if (typeof obj[name] === "function") names.add(name);
  }
  for (let proto = Object.getPrototypeOf(obj); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor") continue;
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (typeof desc.value === "function") names.add(name);
    }
  }
  return [...names].sort();
}

function sdkSurface() {
  const client = new Client({ baseUrl: "http://127.0.0.1:1", token: "unused", enableTelemetry: false });
  const methods = [];
  const subs = new Map(); // name -> method names
  const getters = [];
  for (let proto = Object.getPrototypeOf(client); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor") continue;
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (desc.get) {
        getters.push(name);
        if (!ALIAS_GETTERS.has(name)) subs.set(name, methodsOf(client[name]));
      } else if (typeof desc.value === "function") {
        methods.push(name);
        if (FACTORY_METHODS.has(name)) subs.set(name, methodsOf(client[name]({ queueName: "x" })));
      }
    }
  }
  return { client, methods: methods.sort(), subs, getters: getters.sort() };
}

function testSources() {
  return readdirSync(here)
    .filter((f) => f.startsWith("qstash_") && f.endsWith(".test.mjs") && f !== SELF)
    .map((f) => readFileSync(path.join(here, f), "utf8"))
    .join("\n");
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const calledAsMethod = (sources, name) => new RegExp(`\\.${escape(name)}\\(`).test(sources);
const calledOn = (sources, sub, name) => {
  const receivers = [sub, ...[...ALIAS_GETTERS].filter(([, target]) => target === sub).map(([alias]) => alias)];
  return receivers.some((r) => new RegExp(`\\b${escape(r)}(\\([^()]*\\))?\\.${escape(name)}\\(`).test(sources));
};

test("the SDK surface is enumerated (sanity check of the enumeration itself)", () => {
  const { methods, subs, getters } = sdkSurface();
  for (const name of ["publish", "publishJSON", "batch", "batchJSON", "logs", "events", "queue", "chat"]) {
    assert.ok(methods.includes(name), `Client.${name} not found among ${methods}`);
  }
  for (const name of ["urlGroups", "topics", "dlq", "messages", "schedules", "flowControl", "workflow"]) {
    assert.ok(getters.includes(name), `getter ${name} not found among ${getters}`);
  }
  assert.ok(subs.get("queue").includes("enqueueJSON"));
  assert.ok(subs.get("chat").includes("create"), "arrow-field methods are enumerated");
  assert.ok(subs.get("dlq").includes("listMessages"));
  assert.ok(subs.get("flowControl").includes("resetRate"));
  assert.ok(subs.get("urlGroups").includes("addEndpoints"));
});

test("every Client method is exercised by some qstash_*.test.mjs", () => {
  const { methods } = sdkSurface();
  const sources = testSources();
  const missing = methods.filter((m) => !EXCLUDED.has(m) && !calledAsMethod(sources, m));
  assert.deepEqual(missing, [], `Client methods no test calls as .name(: ${missing.join(", ")}`);
});

test("every sub-client method is exercised (queue(), chat(), urlGroups, messages, dlq, schedules, flowControl, workflow)", () => {
  const { subs } = sdkSurface();
  const sources = testSources();
  const missing = [];
  for (const [sub, names] of subs) {
    assert.ok(names.length > 0, `sub-client ${sub} has no methods`);
    for (const name of names) {
      if (EXCLUDED.has(`${sub}.${name}`)) continue;
      if (!calledOn(sources, sub, name)) missing.push(`${sub}.${name}`);
    }
  }
  assert.deepEqual(missing.sort(), [], `sub-client methods no test calls: ${missing.join(", ")}`);
});

test("aliases resolve to the sub-client they name, and some test uses each", () => {
  const { client, getters } = sdkSurface();
  const sources = testSources();
  for (const [alias, target] of ALIAS_GETTERS) {
    assert.ok(getters.includes(alias), `stale alias ${alias}`);
    assert.equal(client[alias].constructor, client[target].constructor, `${alias} is no longer an alias of ${target}`);
    assert.match(sources, new RegExp(`\\.${alias}\\.\\w+\\(`), `no test goes through the ${alias} alias`);
  }
});

test("exclusions name only methods the SDK has", () => {
  const { methods, subs } = sdkSurface();
  const stale = [...EXCLUDED.keys()].filter((key) => {
    const [a, b] = key.split(".");
    return b === undefined ? !methods.includes(a) : !(subs.get(a) ?? []).includes(b);
  });
  assert.deepEqual(stale, [], `exclusions for methods the SDK no longer has: ${stale.join(", ")}`);
});
