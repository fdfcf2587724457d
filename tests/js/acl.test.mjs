// ACL through @upstash/redis (the REST face): users managed with raw `exec` calls as the SDK has
// no ACL methods, a REST token from `ACL RESTTOKEN` used as an SDK token, and the read-only
// token refused everything but reads, whichever SDK path carries the command.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { sdkClient, startStashd } from "./harness.mjs";

let server;

before(async () => {
  server = await startStashd({ readonly: true });
});

after(async () => {
  await server?.stop();
});

const as = (token, opts = {}) =>
  new Redis({ url: server.url, token, retry: { retries: 0 }, enableTelemetry: false, ...opts });

describe("ACL users behind REST tokens", () => {
  test("ACL SETUSER/GETUSER/RESTTOKEN through exec, and the user's token in the SDK", async () => {
    const admin = sdkClient(server);
    assert.equal(await admin.exec(["ACL", "SETUSER", "shop", "on", ">shop-pw", "~cart:*", "+get", "+set", "+hset", "+hgetall"]), "OK");
    const user = await admin.exec(["ACL", "GETUSER", "shop"]);
    assert.ok(Array.isArray(user) && user.includes("commands"));
    assert.equal(user[user.indexOf("keys") + 1], "~cart:*");
    assert.deepEqual((await admin.exec(["ACL", "USERS"])).sort(), ["default", "default_ro", "shop"]);
    const token = await admin.exec(["ACL", "RESTTOKEN", "shop", "shop-pw"]);
    assert.equal(typeof token, "string");
    await assert.rejects(admin.exec(["ACL", "RESTTOKEN", "shop", "wrong"]), /WRONGPASS/);

    for (const enableAutoPipelining of [true, false]) {
      const shop = as(token, { enableAutoPipelining });
      assert.equal(await shop.set("cart:1", "apple"), "OK");
      assert.equal(await shop.get("cart:1"), "apple");
      await shop.hset("cart:h", { a: 1 });
      assert.deepEqual(await shop.hgetall("cart:h"), { a: 1 });
      await assert.rejects(shop.del("cart:1"), /NOPERM User shop has no permissions to run the 'del' command/);
      await assert.rejects(shop.get("secret"), /NOPERM No permissions to access a key/);
      await assert.rejects(shop.eval("return 1", [], []), /NOPERM/);
      const p = shop.pipeline();
      p.get("cart:1");
      p.incr("cart:n");
      await assert.rejects(p.exec(), /NOPERM/);
      const m = shop.multi();
      m.get("cart:1");
      m.set("cart:2", "pear");
      await assert.rejects(m.exec(), /NOPERM User shop has no permissions to run the 'multi' command/);
    }
    // Deleting the user revokes its token.
    assert.equal(await admin.exec(["ACL", "DELUSER", "shop"]), 1);
    await assert.rejects(as(token).get("cart:1"), /WRONGPASS|Unauthorized|401/);
  });

  test("the read-only token reads and nothing else, on every SDK path", async () => {
    const admin = sdkClient(server);
    await admin.set("ro:k", "v");
    for (const enableAutoPipelining of [true, false]) {
      const ro = as(server.readonlyToken, { enableAutoPipelining });
      assert.equal(await ro.get("ro:k"), "v");
      assert.equal(await ro.evalRo("return redis.call('GET', KEYS[1])", ["ro:k"], []), "v");
      await assert.rejects(ro.evalRo("return redis.call('KEYS', '*')", [], []), /ACL failure in script/);
      await assert.rejects(ro.eval("return redis.call('SCAN', '0')", [], []), /NOPERM/);
      await assert.rejects(ro.keys("*"), /NOPERM/);
      await assert.rejects(ro.scan(0), /NOPERM/);
      await assert.rejects(ro.publish("events", "spoofed"), /NOPERM/);
      await assert.rejects(ro.scriptFlush(), /NOPERM/);
      await assert.rejects(ro.exec(["CLIENT", "KILL", "TYPE", "normal"]), /NOPERM/);
      await assert.rejects(ro.set("ro:k", "x"), /NOPERM/);
      const tx = ro.multi();
      tx.get("ro:k");
      assert.deepEqual(await tx.exec(), ["v"]);
    }
    assert.equal(await admin.get("ro:k"), "v");
  });
});
