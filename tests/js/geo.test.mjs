// Geo commands through @upstash/redis: geoadd (objects, NX/CH), geopos, geodist, geohash.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStashd } from "./harness.mjs";

const ctx = useStashd();

test("geoadd, geopos, geodist, geohash", async () => {
  const palermo = { longitude: 13.361389, latitude: 38.115556, member: "Palermo" };
  const catania = { longitude: 15.087269, latitude: 37.502669, member: "Catania" };
  assert.equal(await ctx.redis.geoadd("Sicily", palermo, catania), 2);
  assert.equal(await ctx.redis.geoadd("Sicily", { nx: true }, { ...palermo, longitude: 13.5 }), 0);
  assert.equal(await ctx.redis.geoadd("Sicily", { ch: true }, { ...catania, latitude: 37.6 }), 1);
  const [pos] = await ctx.redis.geopos("Sicily", "Palermo");
  assert.ok(Math.abs(pos.lng - 13.361389) < 1e-5 && Math.abs(pos.lat - 38.115556) < 1e-5, JSON.stringify(pos));
  assert.deepEqual(await ctx.redis.geopos("Sicily", "Nowhere"), []);
  await ctx.redis.geoadd("Sicily", catania);
  assert.equal(await ctx.redis.geodist("Sicily", "Palermo", "Catania"), 166274.1516);
  assert.equal(await ctx.redis.geodist("Sicily", "Palermo", "Catania", "KM"), 166.2742);
  assert.equal(await ctx.redis.geodist("Sicily", "Palermo", "Nowhere"), null);
  assert.deepEqual(await ctx.redis.geohash("Sicily", "Palermo", "Catania", "Nowhere"), ["sqc8b49rny0", "sqdtr74hyu0", null]);
  await assert.rejects(ctx.redis.geoadd("Sicily", { longitude: 200, latitude: 10, member: "x" }), /invalid longitude,latitude pair/);
});

test("geosearch and geosearchstore with the SDK's objects", async () => {
  await ctx.redis.geoadd(
    "Sicily2",
    { longitude: 13.361389, latitude: 38.115556, member: "Palermo" },
    { longitude: 15.087269, latitude: 37.502669, member: "Catania" },
    { longitude: 12.758489, latitude: 38.788135, member: "edge1" },
    { longitude: 17.3, latitude: 38.788135, member: "edge2" },
  );
  const near = await ctx.redis.geosearch("Sicily2", { type: "FROMLONLAT", coordinate: { lon: 15, lat: 37 } }, { type: "BYRADIUS", radius: 200, radiusType: "KM" }, "ASC", {
    withDist: true,
    withCoord: true,
  });
  assert.deepEqual(
    near.map((r) => [r.member, r.dist]),
    [
      ["Catania", 56.4413],
      ["Palermo", 190.4424],
    ],
  );
  assert.ok(Math.abs(near[0].coord.long - 15.087269) < 1e-5);
  const box = await ctx.redis.geosearch("Sicily2", { type: "FROMLONLAT", coordinate: { lon: 15, lat: 37 } }, { type: "BYBOX", rect: { width: 400, height: 400 }, rectType: "KM" }, "DESC");
  assert.deepEqual(
    box.map((r) => r.member),
    ["edge2", "edge1", "Palermo", "Catania"],
  );
  assert.equal(
    await ctx.redis.geosearchstore("near", "Sicily2", { type: "FROMMEMBER", member: "Palermo" }, { type: "BYRADIUS", radius: 100, radiusType: "KM" }, "ASC", { storeDist: true }),
    2,
  );
  assert.deepEqual(await ctx.redis.zrange("near", 0, -1, { withScores: true }), ["Palermo", 0, "edge1", 91.40065860581427]);
});
