// QSTASH_DEV=true against `stashd dev`: with QSTASH_DEV_PORT pointing at it, a `new Client()`
// without credentials health-checks GET /v2/keys with the development token, finds the fixed
// development keys, and uses the running server; a `new Receiver()` in dev mode verifies the
// deliveries with the same keys.
//
// When that health check fails, @upstash/qstash would look up the latest dev-server release on
// S3, download it (or take a cached binary from ~/.cache/upstash/qstash-dev) and spawn it. This
// file blocks that path: any HTTPS request and any spawn other than stashd's own throw a clear
// error, so a broken health check fails the test instead of downloading anything.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { guardDevServerDownloads } from "./dev_guard.mjs";
import { DEV_CREDENTIALS, startReceiver, startStashdDev } from "./qstash_harness.mjs";

// ---- Guards --------------------------------------------------------------------------------------
// Installed before the SDK is imported (see dev_guard.mjs).
const blocked = guardDevServerDownloads("qstash_dev.test.mjs");
const { Client, Receiver } = await import("@upstash/qstash");

// ---- The dev server ------------------------------------------------------------------------------
let dev;
let receiver;
before(async () => {
  for (const k of ["QSTASH_URL", "QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY", "QSTASH_REGION", "NODE_ENV"]) {
    delete process.env[k];
  }
  dev = await startStashdDev();
  receiver = await startReceiver({ receiver: () => new Receiver() });
});
after(async () => {
  await receiver?.close();
  await dev?.stop();
});

function getKeys(port) {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${port}/v2/keys`, { headers: { authorization: `Bearer ${DEV_CREDENTIALS.token}` } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.setTimeout(2_000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

test("stashd dev prints the SDK's ready line and the development credentials", () => {
  const out = dev.output();
  assert.match(out, /running at http:\/\/127\.0\.0\.1:\d+/i);
  assert.match(out, new RegExp(`^QSTASH_URL=http://127\\.0\\.0\\.1:${dev.port}$`, "m"));
  assert.match(out, new RegExp(`^QSTASH_TOKEN=${DEV_CREDENTIALS.token.replace(/[=]/g, "\\=")}$`, "m"));
  assert.match(out, new RegExp(`^QSTASH_CURRENT_SIGNING_KEY=${DEV_CREDENTIALS.currentSigningKey}$`, "m"));
  assert.match(out, new RegExp(`^QSTASH_NEXT_SIGNING_KEY=${DEV_CREDENTIALS.nextSigningKey}$`, "m"));
});

test("without a server on QSTASH_DEV_PORT the SDK fails clearly instead of downloading one", async () => {
  // A port nothing listens on.
  const closed = await new Promise((resolve) => {
    const s = http.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  process.env.QSTASH_DEV = "true";
  process.env.QSTASH_DEV_PORT = String(closed);
  const warn = console.warn;
  console.warn = () => {}; // the constructor's own background start-up attempt warns
  try {
    const client = new Client();
    await assert.rejects(client.publish({ url: receiver.url("/never"), body: "x" }), (e) => {
      assert.match(String(e?.message ?? e), /blocked by qstash_dev\.test\.mjs/);
      return true;
    });
  } finally {
    console.warn = warn;
  }
  assert.ok(blocked.some((b) => b.includes("artifacts.upstash.com") || b.startsWith("spawn")), `the guard saw the download or spawn attempt: ${blocked}`);
  blocked.length = 0;
});

test("QSTASH_DEV=true finds `stashd dev` on QSTASH_DEV_PORT; a dev-mode Receiver verifies its deliveries", async () => {
  process.env.QSTASH_DEV = "true";
  process.env.QSTASH_DEV_PORT = String(dev.port);
  // The SDK's own health check, made here first so that a mismatch fails with a clear message.
  const health = await getKeys(dev.port);
  assert.equal(health.status, 200, `GET /v2/keys with the development token: ${health.status} ${health.body}`);
  assert.deepEqual(
    JSON.parse(health.body),
    { current: DEV_CREDENTIALS.currentSigningKey, next: DEV_CREDENTIALS.nextSigningKey },
    "stashd dev must answer GET /v2/keys with the fixed development keys, or the SDK would try to download its own dev server",
  );

  const client = new Client();
  const res = await client.publishJSON({ url: receiver.url("/dev?mode=env"), body: { dev: true }, headers: { "X-Dev": "1" } });
  assert.match(res.messageId, /^msg_/);
  const [d] = await receiver.waitFor(1);
  assert.equal(d.verified, true, d.verifyError);
  assert.equal(d.headers["upstash-message-id"], res.messageId);
  assert.equal(d.headers["x-dev"], "1");
  assert.deepEqual(JSON.parse(d.body), { dev: true });
  assert.ok(await new Receiver().verify({ signature: d.headers["upstash-signature"], body: d.body, url: d.url }));
  // A receiver outside dev mode with other keys rejects the same delivery.
  const stranger = new Receiver({ devMode: false, currentSigningKey: "sig_other1", nextSigningKey: "sig_other2" });
  await assert.rejects(stranger.verify({ signature: d.headers["upstash-signature"], body: d.body, url: d.url }));

  // devMode: true in the constructor means the same, whatever credentials the config names.
  const warn = console.warn;
  console.warn = () => {}; // "Dev mode is active. Ignoring baseUrl/token from config."
  let explicit;
  try {
    explicit = new Client({ devMode: true, baseUrl: "http://127.0.0.1:1", token: "ignored" });
  } finally {
    console.warn = warn;
  }
  await explicit.publish({ url: receiver.url("/dev?mode=explicit"), body: "explicit" });
  const both = await receiver.waitFor(2);
  assert.equal(both[1].body, "explicit");
  assert.deepEqual(blocked, [], "no download or spawn was attempted");
});
