// Bitmap commands through @upstash/redis (REST, base64 responses): setbit/getbit/bitcount/
// bitpos/bitop and the bitfield builder, including a pipeline.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sdkClient, useStashd } from "./harness.mjs";

const ctx = useStashd();

test("setbit, getbit, bitcount, bitpos, bitop", async () => {
  assert.equal(await ctx.redis.setbit("bm:a", 7, 1), 0);
  assert.equal(await ctx.redis.setbit("bm:a", 7, 1), 1);
  assert.equal(await ctx.redis.getbit("bm:a", 7), 1);
  assert.equal(await ctx.redis.getbit("bm:a", 100), 0);
  await ctx.redis.set("bm:s", "foobar");
  assert.equal(await ctx.redis.bitcount("bm:s"), 26);
  assert.equal(await ctx.redis.bitcount("bm:s", 1, 1), 6);
  assert.equal(await ctx.redis.bitpos("bm:a", 1), 7);
  assert.equal(await ctx.redis.bitpos("bm:a", 0, 0), 0);
  await ctx.redis.setbit("bm:b", 6, 1);
  assert.equal(await ctx.redis.bitop("or", "bm:or", "bm:a", "bm:b"), 1);
  assert.equal(await ctx.redis.bitcount("bm:or"), 2);
  assert.equal(await ctx.redis.bitop("not", "bm:not", "bm:a"), 1);
  assert.equal(await ctx.redis.bitcount("bm:not"), 7);
  await assert.rejects(ctx.redis.setbit("bm:a", -1, 1), /bit offset is not an integer or out of range/);
});

test("bitfield builder: set, get, incrby with overflow, in a pipeline too", async () => {
  // The builder is not reachable through the SDK's auto-pipelining proxy (the default), which
  // turns every method into an immediate command; without it the builder works as documented.
  const redis = sdkClient(ctx.server, { enableAutoPipelining: false });
  assert.deepEqual(await redis.bitfield("bm:f").set("u8", 0, 255).get("u8", 0).incrby("u8", 0, 10).exec(), [0, 255, 9]);
  assert.deepEqual(await redis.bitfield("bm:f").overflow("fail").incrby("u8", 0, 300).get("i4", "#1").exec(), [null, -7]);
  const p = redis.pipeline();
  p.bitfield("bm:g").set("i16", "#0", -2).get("i16", 0).exec();
  p.getbit("bm:g", 15);
  assert.deepEqual(await p.exec(), [[0, -2], 0]);
});
