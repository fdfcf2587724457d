// Fails when a method of the @upstash/workflow `Client` (or of its `dlq` sub-client), or a step
// method of `WorkflowContext`, is exercised by no tests/js/workflow_*.test.mjs file.
//
// The surface is enumerated at runtime (no server needed): the Client's prototype methods
// (`trigger`, `cancel`, `notify`, ...) and its prototype getters (`dlq`), each of which returns a
// sub-client whose prototype methods are enumerated in turn; and WorkflowContext's prototype
// methods (`run`, `sleep`, `call`, `invoke`, ...). A Client method counts as exercised when some
// workflow_*.test.mjs (other than this one) contains `client.name(`; a sub-client method when one
// contains `client.<sub>.name(`; a context method when one contains `context.name(`. An SDK
// upgrade that adds a method nobody tests makes this fail; so does an exclusion naming something
// the SDK lost, or a pending exclusion a test already exercises.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client, WorkflowContext } from "@upstash/workflow";

const here = path.dirname(fileURLToPath(import.meta.url));
const SELF = path.basename(fileURLToPath(import.meta.url));

/**
 * PENDING_SERVER — TEMPORARY: methods whose server side is not served yet (the workflow logs,
 * the workflow DLQ and the REST trigger are added in a later commit: workflow/logs.rs,
 * workflow/dlq.rs, workflow/trigger.rs). Each entry must be removed, and tested, when the server
 * serves it; this file fails once a workflow_* test exercises an entry still listed here.
 * Keys are `method` or `sub.method`.
 */
const PENDING_SERVER = new Map([]);

/** Context methods that are not steps of their own, with the reason. Keys are `context.method`. */
const EXCLUDED = new Map([
  ["context.addStep", "internal: the plumbing every step method above goes through"],
]);

function protoMembers(obj) {
  const methods = new Set();
  const getters = new Set();
  for (let proto = Object.getPrototypeOf(obj); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor") continue;
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (desc.get) getters.add(name);
      else if (typeof desc.value === "function") methods.add(name);
    }
  }
  return { methods: [...methods].sort(), getters: [...getters].sort() };
}

function sdkSurface() {
  const client = new Client({ baseUrl: "http://127.0.0.1:1", token: "unused" });
  const { methods, getters } = protoMembers(client);
  const subs = new Map(getters.map((g) => [g, protoMembers(client[g]).methods]));
  const context = protoMembers(Object.create(WorkflowContext.prototype)).methods;
  return { methods, getters, subs, context };
}

function testSources() {
  return readdirSync(here)
    .filter((f) => f.startsWith("workflow_") && f.endsWith(".test.mjs") && f !== SELF)
    .map((f) => readFileSync(path.join(here, f), "utf8"))
    .join("\n");
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const exercised = (sources, key) => {
  const [a, b] = key.split(".");
  if (a === "context") return new RegExp(`\\bcontext\\.${escape(b)}\\(`).test(sources);
  if (b === undefined) return new RegExp(`\\bclient\\.${escape(a)}\\(`).test(sources);
  return new RegExp(`\\bclient\\.${escape(a)}\\.${escape(b)}\\(`).test(sources);
};

function allKeys() {
  const { methods, subs, context } = sdkSurface();
  return [...methods, ...[...subs].flatMap(([sub, names]) => names.map((n) => `${sub}.${n}`)), ...context.map((n) => `context.${n}`)];
}

test("the SDK surface is enumerated (sanity check of the enumeration itself)", () => {
  const { methods, getters, subs, context } = sdkSurface();
  for (const name of ["trigger", "cancel", "notify", "getWaiters", "logs"]) {
    assert.ok(methods.includes(name), `Client.${name} not found among ${methods}`);
  }
  assert.ok(getters.includes("dlq"), `getter dlq not found among ${getters}`);
  for (const name of ["list", "resume", "restart", "delete"]) assert.ok(subs.get("dlq").includes(name), `dlq.${name}`);
  for (const name of ["run", "sleep", "sleepUntil", "call", "waitForEvent", "notify", "invoke", "createWebhook", "waitForWebhook", "cancel"]) {
    assert.ok(context.includes(name), `context.${name} not found among ${context}`);
  }
});

test("every workflow Client, dlq and context method is exercised by some workflow_*.test.mjs", () => {
  const sources = testSources();
  const missing = allKeys().filter((k) => !PENDING_SERVER.has(k) && !EXCLUDED.has(k) && !exercised(sources, k));
  assert.deepEqual(missing, [], `methods no workflow_* test calls: ${missing.join(", ")}`);
});

test("exclusions name only methods the SDK has, and no pending method is already tested", () => {
  const keys = new Set(allKeys());
  const stale = [...PENDING_SERVER.keys(), ...EXCLUDED.keys()].filter((k) => !keys.has(k));
  assert.deepEqual(stale, [], `exclusions for methods the SDK no longer has: ${stale.join(", ")}`);
  const sources = testSources();
  const done = [...PENDING_SERVER.keys()].filter((k) => exercised(sources, k));
  assert.deepEqual(done, [], `PENDING_SERVER entries now exercised by a test (remove them): ${done.join(", ")}`);
});
