// HyperLogLog through @upstash/redis: pfadd, pfcount (one and several keys), pfmerge.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "@upstash/redis";
import { startStashd } from "./harness.mjs";

let server;
let redis;

before(async () => {
  server = await startStashd();
  redis = new Redis({ url: server.url, token: server.token, retry: { retries: 0 }, enableTelemetry: false });
});

after(async () => {
  await server?.stop();
});

test("pfadd, pfcount, pfmerge", async () => {
  assert.equal(await redis.pfadd("hll:a", "x", "y", "z"), 1);
  assert.equal(await redis.pfadd("hll:a", "x"), 0);
  assert.equal(await redis.pfadd("hll:b", "z", "w"), 1);
  assert.equal(await redis.pfcount("hll:a"), 3);
  assert.equal(await redis.pfcount("hll:a", "hll:b"), 4);
  assert.equal(await redis.pfmerge("hll:m", "hll:a", "hll:b"), "OK");
  assert.equal(await redis.pfcount("hll:m"), 4);
  const many = Array.from({ length: 5000 }, (_, i) => `item-${i}`);
  await redis.pfadd("hll:big", ...many);
  const n = await redis.pfcount("hll:big");
  assert.ok(Math.abs(n - 5000) / 5000 < 0.02, `estimate ${n}`);
  await redis.set("hll:str", "plain");
  await assert.rejects(redis.pfadd("hll:str", "x"), /WRONGTYPE Key is not a valid HyperLogLog string value/);
});
