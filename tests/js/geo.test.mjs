// Geo commands through @upstash/redis: geoadd (objects, NX/CH), geopos, geodist, geohash.
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

test("geoadd, geopos, geodist, geohash", async () => {
  const palermo = { longitude: 13.361389, latitude: 38.115556, member: "Palermo" };
  const catania = { longitude: 15.087269, latitude: 37.502669, member: "Catania" };
  assert.equal(await redis.geoadd("Sicily", palermo, catania), 2);
  assert.equal(await redis.geoadd("Sicily", { nx: true }, { ...palermo, longitude: 13.5 }), 0);
  assert.equal(await redis.geoadd("Sicily", { ch: true }, { ...catania, latitude: 37.6 }), 1);
  const [pos] = await redis.geopos("Sicily", "Palermo");
  assert.ok(Math.abs(pos.lng - 13.361389) < 1e-5 && Math.abs(pos.lat - 38.115556) < 1e-5, JSON.stringify(pos));
  assert.deepEqual(await redis.geopos("Sicily", "Nowhere"), []);
  await redis.geoadd("Sicily", catania);
  assert.equal(await redis.geodist("Sicily", "Palermo", "Catania"), 166274.1516);
  assert.equal(await redis.geodist("Sicily", "Palermo", "Catania", "KM"), 166.2742);
  assert.equal(await redis.geodist("Sicily", "Palermo", "Nowhere"), null);
  assert.deepEqual(await redis.geohash("Sicily", "Palermo", "Catania", "Nowhere"), ["sqc8b49rny0", "sqdtr74hyu0", null]);
  await assert.rejects(redis.geoadd("Sicily", { longitude: 200, latitude: 10, member: "x" }), /invalid longitude,latitude pair/);
});
