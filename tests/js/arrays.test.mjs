// Redis 8.8 arrays through @upstash/redis: all 18 redis.ar* methods with the shapes the SDK's
// deserializers return (indexes as strings where they may pass 2^53), errors, and a pipeline.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStashd } from "./harness.mjs";

const ctx = useStashd();
const TOP = "18446744073709551614"; // the highest index, past 2^53 and 2^63

// A command's error over plain REST. (Through the SDK, a failing command whose deserializer
// expects data, such as ARGREP or ARINFO, surfaces as a TypeError under auto-pipelining.)
async function restError(args) {
  const res = await fetch(ctx.server.url, {
    method: "POST",
    headers: { Authorization: `Bearer ${ctx.server.token}` },
    body: JSON.stringify(args),
  });
  return (await res.json()).error;
}

test("arset, arget, armset, armget, arlen, arcount", async () => {
  const r = ctx.redis;
  assert.equal(await r.arset("ar:a", 0, "hello", "world"), 2);
  assert.equal(await r.arset("ar:a", 1, "again"), 0);
  assert.equal(await r.arget("ar:a", 1), "again");
  assert.equal(await r.arget("ar:a", 7), null);
  assert.equal(await r.armset("ar:a", { 5: "five", 100: "hundred" }), 2);
  assert.equal(await r.armset("ar:a", [[6, "six"]]), 1);
  assert.deepEqual(await r.armget("ar:a", 0, 2, 5, 100), ["hello", null, "five", "hundred"]);
  assert.equal(await r.arlen("ar:a"), "101");
  assert.equal(await r.arcount("ar:a"), 5);
  assert.equal(await r.arlen("ar:none"), "0");
  assert.equal(await r.type("ar:a"), "array");
  // An index past 2^63 goes out exactly; the REST reply carries it as an exact JSON integer,
  // which the SDK's JSON.parse then rounds to a double before its String() deserializer.
  assert.equal(await r.arset("ar:big", TOP, "top"), 1);
  assert.equal(await r.arget("ar:big", TOP), "top");
  assert.equal(await r.arlen("ar:big"), String(18446744073709551615));
  const res = await fetch(ctx.server.url, {
    method: "POST",
    headers: { Authorization: `Bearer ${ctx.server.token}` },
    body: JSON.stringify(["ARLEN", "ar:big"]),
  });
  assert.equal(await res.text(), '{"result":18446744073709551615}');
});

test("ardel, ardelrange, argetrange, arscan", async () => {
  const r = ctx.redis;
  await r.armset("ar:d", { 1: "a", 3: "c", 10: "j", 11: "k", 20: "t" });
  assert.deepEqual(await r.argetrange("ar:d", 0, 3), [null, "a", null, "c"]);
  assert.deepEqual(await r.argetrange("ar:d", 3, 1), ["c", null, "a"]);
  assert.deepEqual(await r.arscan("ar:d", 0, 100), [["1", "a"], ["3", "c"], ["10", "j"], ["11", "k"], ["20", "t"]]);
  assert.deepEqual(await r.arscan("ar:d", 100, 0, { limit: 2 }), [["20", "t"], ["11", "k"]]);
  assert.equal(await r.ardel("ar:d", 1, 2), 1);
  assert.equal(await r.ardelrange("ar:d", [0, 5], [12, 10]), 3);
  assert.deepEqual(await r.arscan("ar:d", 0, TOP), [["20", "t"]]);
  assert.equal(await r.ardelrange("ar:d", [0, TOP]), 1);
  assert.equal(await r.exists("ar:d"), 0);
  await assert.rejects(r.argetrange("ar:d", 0, 1000000), /range exceeds maximum of 1000000 items/);
});

test("argrep and arop", async () => {
  const r = ctx.redis;
  await r.arset("ar:g", 0, "apple", "Banana", "cherry", "apricot", "x1y");
  assert.deepEqual(await r.argrep("ar:g", "-", "+", { predicates: [{ match: "an" }] }), ["1"]);
  assert.deepEqual(await r.argrep("ar:g", "-", "+", { predicates: [{ glob: "a*" }], limit: 1 }), ["0"]);
  assert.deepEqual(
    await r.argrep("ar:g", 0, 10, { predicates: [{ re: "^[a-c]" }, { match: "e" }], combine: "and", withValues: true }),
    [["0", "apple"], ["2", "cherry"]],
  );
  assert.deepEqual(await r.argrep("ar:g", "-", "+", { predicates: [{ exact: "BANANA" }], noCase: true }), ["1"]);
  assert.equal(
    await restError(["ARGREP", "ar:g", "-", "+", "RE", "(a)\\1"]),
    "ERR regular expression backreferences are not supported",
  );
  assert.equal(await restError(["ARGREP", "ar:g", "-", "+", "LIMIT", "1"]), "ERR syntax error");
  await r.arset("ar:n", 0, "1", "2.5", "x", "-4");
  assert.equal(await r.arop("ar:n", 0, 10, "sum"), -0.5);
  assert.equal(await r.arop("ar:n", 0, 10, "min"), -4);
  assert.equal(await r.arop("ar:n", 0, 10, "max"), 2.5);
  assert.equal(await r.arop("ar:n", 0, 10, "xor"), 1 ^ 2 ^ -4);
  assert.equal(await r.arop("ar:n", 0, 10, "used"), 4);
  assert.equal(await r.arop("ar:n", 0, 10, { match: "x" }), 1);
  assert.equal(await r.arop("ar:n", 2, 2, "sum"), null);
});

test("arinsert, arnext, arseek, arring, arlastitems, arinfo", async () => {
  const r = ctx.redis;
  assert.equal(await r.arnext("ar:c"), "0");
  assert.equal(await r.arinsert("ar:c", "a", "b"), "1");
  assert.equal(await r.arnext("ar:c"), "2");
  assert.equal(await r.arseek("ar:c", 10), 1);
  assert.equal(await r.arseek("ar:missing", 10), 0);
  assert.equal(await r.arinsert("ar:c", "x"), "10");
  assert.deepEqual(await r.arlastitems("ar:c", 3), [null, null, "x"]);
  assert.deepEqual(await r.arlastitems("ar:c", 2, { rev: true }), ["x", null]);
  assert.equal(await r.arseek("ar:c", "18446744073709551615"), 1);
  assert.equal(await r.arnext("ar:c"), null);
  await assert.rejects(r.arinsert("ar:c", "y"), /insert index overflow/);
  assert.equal(await r.arring("ar:ring", 3, "r1", "r2", "r3", "r4"), "0");
  assert.deepEqual(await r.arlastitems("ar:ring", 3), ["r2", "r3", "r4"]);
  assert.equal(await r.arring("ar:ring", 2, "r5"), "0");
  assert.deepEqual(await r.argetrange("ar:ring", 0, 1), ["r5", "r4"]);
  const info = await r.arinfo("ar:ring");
  assert.deepEqual(info, {
    count: 2,
    len: "2",
    nextInsertIndex: "1",
    slices: 1,
    directorySize: 1,
    superDirEntries: 0,
    sliceSize: 4096,
  });
  const full = await r.arinfo("ar:ring", { full: true });
  assert.equal(full.denseSlices, 0);
  assert.equal(full.sparseSlices, 1);
  assert.equal(full.avgSparseSize, 4);
  assert.equal(full.avgDenseFill, 0);
  assert.equal(await restError(["ARINFO", "ar:nokey"]), "ERR no such key");
  await r.set("ar:str", "v");
  await assert.rejects(r.arset("ar:str", 0, "v"), /WRONGTYPE/);
});

test("a pipeline of array commands", async () => {
  const p = ctx.redis.pipeline();
  p.arset("ar:p", 0, "a", "b");
  p.arinsert("ar:p", "c");
  p.arlen("ar:p");
  p.arscan("ar:p", 0, 10);
  p.argrep("ar:p", "-", "+", { predicates: [{ exact: "c" }] });
  p.arinfo("ar:p");
  p.arnext("ar:p");
  const [set, ins, len, scan, grep, info, next] = await p.exec();
  assert.equal(set, 2);
  assert.equal(ins, "0");
  assert.equal(len, "2");
  assert.deepEqual(scan, [["0", "c"], ["1", "b"]]);
  assert.deepEqual(grep, ["0"]);
  assert.equal(info.count, 2);
  assert.equal(next, "1");
});
