// HyperLogLog through @upstash/redis: pfadd, pfcount (one and several keys), pfmerge.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStashd } from "./harness.mjs";

const ctx = useStashd();

test("pfadd, pfcount, pfmerge", async () => {
  assert.equal(await ctx.redis.pfadd("hll:a", "x", "y", "z"), 1);
  assert.equal(await ctx.redis.pfadd("hll:a", "x"), 0);
  assert.equal(await ctx.redis.pfadd("hll:b", "z", "w"), 1);
  assert.equal(await ctx.redis.pfcount("hll:a"), 3);
  assert.equal(await ctx.redis.pfcount("hll:a", "hll:b"), 4);
  assert.equal(await ctx.redis.pfmerge("hll:m", "hll:a", "hll:b"), "OK");
  assert.equal(await ctx.redis.pfcount("hll:m"), 4);
  const many = Array.from({ length: 5000 }, (_, i) => `item-${i}`);
  await ctx.redis.pfadd("hll:big", ...many);
  const n = await ctx.redis.pfcount("hll:big");
  assert.ok(Math.abs(n - 5000) / 5000 < 0.02, `estimate ${n}`);
  await ctx.redis.set("hll:str", "plain");
  await assert.rejects(ctx.redis.pfadd("hll:str", "x"), /WRONGTYPE Key is not a valid HyperLogLog string value/);
});
