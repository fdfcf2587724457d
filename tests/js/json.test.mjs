// RedisJSON through @upstash/redis: all 23 `redis.json.*` methods with the SDK's default
// auto-pipelining, the same in an explicit pipeline, and the errors the SDK surfaces.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sdkClient, useStashd } from "./harness.mjs";

const ctx = useStashd();

const doc = () => ({ name: "stashd", n: 1, f: 1.5, ok: true, tags: ["a", "b"], nested: { n: 2, s: "x" }, none: null });

test("json.set / get / type / strlen / objkeys / objlen / resp", async () => {
  const j = ctx.redis.json;
  assert.equal(await j.set("j:a", "$", doc()), "OK");
  assert.equal(await ctx.redis.type("j:a"), "json");
  assert.deepEqual(await j.get("j:a"), doc());
  assert.deepEqual(await j.get("j:a", "$"), [doc()]);
  assert.deepEqual(await j.get("j:a", "$..n"), [2, 1]);
  assert.deepEqual(await j.get("j:a", "$.n", "$.tags"), { "$.n": [1], "$.tags": [["a", "b"]] });
  // INDENT/NEWLINE/SPACE change the text, not the value the SDK parses out of it.
  assert.deepEqual(await j.get("j:a", { indent: "  ", newline: "\n", space: " " }, "$.nested"), [{ n: 2, s: "x" }]);
  assert.equal(await j.get("j:a", ".nested.s"), "x");
  assert.equal(await j.get("j:missing"), null);
  assert.equal(await j.set("j:a", "$.n", 5, { nx: true }), null);
  assert.equal(await j.set("j:a", "$.added", '"new"', { nx: true }), "OK");
  assert.equal(await j.set("j:a", "$.nothere", 1, { xx: true }), null);
  assert.deepEqual(await j.type("j:a", "$.f"), ["number"]);
  assert.deepEqual(await j.type("j:a", "$..n"), ["integer", "integer"]);
  assert.equal(await j.type("j:a"), "object");
  assert.deepEqual(await j.strlen("j:a", "$.name"), [6]);
  assert.deepEqual(await j.strlen("j:a", "$..s"), [1]);
  assert.deepEqual(await j.objkeys("j:a", "$.nested"), [["n", "s"]]);
  assert.deepEqual(await j.objlen("j:a", "$.nested"), [2]);
  assert.deepEqual(await j.objlen("j:a", "$.tags"), [null]);
  assert.deepEqual(await j.resp("j:a", "$.tags"), [["[", "a", "b"]]);
  await assert.rejects(j.set("j:nokey", "$.a", 1), /new objects must be created at the root/);
  await assert.rejects(j.set("j:a", "$", "{not json"), /key must be a string at line 1 column 2/);
  await ctx.redis.set("j:str", "plain");
  await assert.rejects(j.get("j:str"), /WRONGTYPE/);
});

test("json numbers, strings, booleans: numincrby / nummultby / strappend / toggle / clear", async () => {
  const j = ctx.redis.json;
  await j.set("j:b", "$", doc());
  assert.deepEqual(await j.numincrby("j:b", "$.n", 2), [3]);
  assert.deepEqual(await j.numincrby("j:b", "$.f", 2), [3.5]);
  assert.deepEqual(await j.numincrby("j:b", "$..n", 1), [3, 4]);
  assert.deepEqual(await j.nummultby("j:b", "$.nested.n", 1.5), [4.5]);
  assert.deepEqual(await j.numincrby("j:b", "$.name", 1), [null]);
  assert.deepEqual(await j.strappend("j:b", "$.name", '"-db"'), [9]);
  assert.deepEqual(await j.get("j:b", "$.name"), ["stashd-db"]);
  assert.deepEqual(await j.toggle("j:b", "$.ok"), [0]);
  assert.deepEqual(await j.toggle("j:b", "$.ok"), [1]);
  assert.deepEqual(await j.toggle("j:b", "$.name"), [null]);
  assert.equal(await j.clear("j:b", "$.tags"), 1);
  assert.equal(await j.clear("j:b", "$.*"), 3); // n, f and nested; not strings, booleans, null or []
  assert.deepEqual(await j.get("j:b", "$.tags", "$.n", "$.nested"), { "$.tags": [[]], "$.n": [0], "$.nested": [{}] });
  await assert.rejects(j.toggle("j:nokey", "$"), /could not perform this operation on a key that doesn't exist/);
});

test("json arrays: arrappend / arrindex / arrinsert / arrlen / arrpop / arrtrim", async () => {
  const j = ctx.redis.json;
  await j.set("j:c", "$", { a: [1], b: { a: [1, 2, 3] }, s: "x" });
  assert.deepEqual(await j.arrappend("j:c", "$..a", 4, '"five"'), [5, 3]);
  assert.deepEqual(await j.arrappend("j:c", "$.s", 1), [null]);
  assert.deepEqual(await j.arrindex("j:c", "$..a", '"five"'), [4, 2]);
  assert.deepEqual(await j.arrindex("j:c", "$.b.a", 3, 0, 2), [-1]);
  assert.deepEqual(await j.arrinsert("j:c", "$.a", 0, 0, -1), [5]);
  assert.deepEqual(await j.get("j:c", "$.a"), [[0, -1, 1, 4, "five"]]);
  assert.deepEqual(await j.arrlen("j:c", "$..a"), [5, 5]);
  assert.deepEqual(await j.arrlen("j:c"), [null]);
  assert.deepEqual(await j.arrpop("j:c", "$.a"), ["five"]);
  assert.deepEqual(await j.arrpop("j:c", "$.a", 0), [0]);
  assert.deepEqual(await j.arrtrim("j:c", "$.b.a", 1, 2), [2]);
  assert.deepEqual(await j.get("j:c", "$..a"), [[2, 3], [-1, 1, 4]]);
  await assert.rejects(j.arrinsert("j:c", "$.a", 10, 1), /index out of bounds/);
});

test("json mset / mget / merge / del / forget", async () => {
  const j = ctx.redis.json;
  assert.equal(
    await j.mset(
      { key: "j:d1", path: "$", value: { v: 1, o: { keep: true, drop: 1 } } },
      { key: "j:d2", path: "$", value: { v: 2 } },
    ),
    "OK",
  );
  assert.deepEqual(await j.mget(["j:d1", "j:d2", "j:none"], "$.v"), [[1], [2], null]);
  assert.equal(await j.merge("j:d1", "$", { o: { drop: null, added: [1] }, v: 10 }), "OK");
  assert.deepEqual(await j.get("j:d1"), { v: 10, o: { keep: true, added: [1] } });
  assert.equal(await j.merge("j:d1", "$.o.keep", false), "OK");
  assert.equal(await j.del("j:d1", "$.o.added"), 1);
  assert.equal(await j.forget("j:d1", "$.v"), 1);
  assert.deepEqual(await j.get("j:d1"), { o: { keep: false } });
  assert.equal(await j.del("j:d2"), 1);
  assert.equal(await ctx.redis.exists("j:d2"), 0);
  await assert.rejects(j.mset({ key: "j:d3", path: "$.x", value: 1 }), /new objects must be created at the root/);
});

test("every json method in one pipeline", async () => {
  const redis = sdkClient(ctx.server, { enableAutoPipelining: false });
  const p = redis.pipeline();
  p.json.set("j:p", "$", { arr: [1, 2], s: "ab", n: 1, b: false, o: { k: 1 } });
  p.json.get("j:p", "$.arr");
  p.json.mset({ key: "j:p2", path: "$", value: [1] });
  p.json.mget(["j:p", "j:p2"], "$.n");
  p.json.arrappend("j:p", "$.arr", 3);
  p.json.arrindex("j:p", "$.arr", 3);
  p.json.arrinsert("j:p", "$.arr", 0, 0);
  p.json.arrlen("j:p", "$.arr");
  p.json.arrpop("j:p", "$.arr");
  p.json.arrtrim("j:p", "$.arr", 0, 1);
  p.json.strappend("j:p", "$.s", '"c"');
  p.json.strlen("j:p", "$.s");
  p.json.numincrby("j:p", "$.n", 1);
  p.json.nummultby("j:p", "$.n", 10);
  p.json.toggle("j:p", "$.b");
  p.json.type("j:p", "$.o");
  p.json.objkeys("j:p", "$.o");
  p.json.objlen("j:p", "$.o");
  p.json.resp("j:p", "$.o");
  p.json.merge("j:p", "$.o", { k: null, m: 2 });
  p.json.clear("j:p", "$.arr");
  p.json.forget("j:p", "$.b");
  p.json.del("j:p2");
  p.json.get("j:p");
  assert.deepEqual(await p.exec(), [
    "OK",
    [[1, 2]],
    "OK",
    [[1], []],
    [3],
    [2],
    [4],
    [4],
    [3],
    [2],
    [3],
    [3],
    [2],
    [20],
    [1],
    ["object"],
    [["k"]],
    [1],
    [["{", "k", 1]],
    "OK",
    1,
    1,
    1,
    { arr: [], s: "abc", n: 20, o: { m: 2 } },
  ]);
});
