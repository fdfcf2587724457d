// QStash flavour of harness.mjs: starts the real `stashd` with its QStash face on the HTTP port
// (fixed token and signing keys, deliveries to 127.0.0.1 allowed, DEBUG JUMP-CLOCK enabled), and
// local HTTP receivers that record every delivery and check its `Upstash-Signature` with the
// SDK's own `Receiver.verify` on the raw body (with `url` given).
//
// Time: QStash's delays, retries, backoff and cron run on the server clock, which tests move
// with `q.jumpClock(ms)` instead of sleeping. Deliveries are then signed with a clock that runs
// ahead of this process's, so receivers verify with a clock tolerance of the total jump.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import { Client, QstashError, Receiver } from "@upstash/qstash";
import { freePort, newToken, startStashd, stashdBinary, stopChild } from "./harness.mjs";

/** The well-known QStash development credentials (reference §8.1), which `stashd dev` uses. */
export const DEV_CREDENTIALS = {
  token: "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=",
  currentSigningKey: "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r",
  nextSigningKey: "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs",
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function signingKey() {
  return `sig_${randomBytes(14).toString("hex")}`;
}

/**
 * Starts stashd for QStash tests. Returns the harness server plus { qstashUrl, qstashToken,
 * currentSigningKey, nextSigningKey, jumpedMs, jumpClock(ms), client(opts), receiver(),
 * tolerance() }.
 */
export async function startQstash({ extraArgs = [] } = {}) {
  const qstashToken = newToken();
  const currentSigningKey = signingKey();
  const nextSigningKey = signingKey();
  const server = await startStashd({
    extraArgs: [
      "--qstash-token", qstashToken,
      "--qstash-current-signing-key", currentSigningKey,
      "--qstash-next-signing-key", nextSigningKey,
      "--qstash-allow", "loopback",
      ...extraArgs,
    ],
  });
  const jump = server.jumpClock.bind(server);
  const q = Object.assign(server, {
    qstashUrl: server.url,
    qstashToken,
    currentSigningKey,
    nextSigningKey,
    jumpedMs: 0,
    /** Moves the server clock (QStash delays, retries, cron) forward by `ms`. */
    async jumpClock(ms) {
      await jump(ms);
      q.jumpedMs += ms;
    },
    /** Seconds of clock skew a receiver must tolerate (the total jump, plus slack). */
    tolerance() {
      return Math.ceil(q.jumpedMs / 1000) + 5;
    },
    /** An SDK client of this server (no network retries, so errors surface at once). */
    client(opts = {}) {
      return new Client({ baseUrl: q.qstashUrl, token: qstashToken, retry: false, ...opts });
    },
    /** The SDK receiver with this server's signing keys. */
    sdkReceiver() {
      return new Receiver({ currentSigningKey: q.currentSigningKey, nextSigningKey: q.nextSigningKey });
    },
    /** A local receiver whose deliveries are verified with this server's keys. */
    receiver(opts = {}) {
      return startReceiver({ receiver: () => q.sdkReceiver(), tolerance: () => q.tolerance(), ...opts });
    },
    /** A raw API call (for endpoints the SDK has no method for). */
    async api(method, apiPath, { body, headers = {}, token = qstashToken } = {}) {
      const res = await fetch(`${q.qstashUrl}${apiPath}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...headers },
        body,
      });
      const text = await res.text();
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
  });
  return q;
}

/**
 * One stashd (QStash) per test file: `ctx.q` (see {@link startQstash}) and `ctx.client` are set
 * in `before`; the server and every receiver made with `ctx.receiver()` are stopped in `after`.
 */
export function useQstash(opts = {}) {
  const receivers = [];
  const ctx = {
    q: undefined,
    client: undefined,
    async receiver(ropts) {
      const r = await ctx.q.receiver(ropts);
      receivers.push(r);
      return r;
    },
  };
  before(async () => {
    ctx.q = await startQstash(opts);
    ctx.client = ctx.q.client();
  });
  after(async () => {
    // Every delivery any receiver got must have verified, awaited by a test or not.
    const unverified = [];
    for (const r of receivers) {
      try {
        r.assertAllVerified();
      } catch (e) {
        unverified.push(e.message);
      }
      await r.close();
    }
    await ctx.q?.stop();
    if (unverified.length > 0) throw new Error(unverified.join("\n"));
  });
  return ctx;
}

/**
 * A local HTTP receiver on 127.0.0.1 (random port). Every request is recorded as
 * { method, url (full), path, headers (lower-case names), rawHeaders, body (UTF-8 text), raw
 * (Buffer), at, verified, verifyError } after its signature was checked with `Receiver.verify({signature,
 * body, url})`. `handler(rec)` decides the answer: { status, headers, body } (default 200 "ok"),
 * possibly after a promise, or `HANG` to never answer. `waitFor` fails on any delivery whose
 * signature did not verify (unless `verify: false` was given).
 */
export const HANG = Symbol("hang");

export async function startReceiver({ receiver, tolerance = () => 5, handler, verify = true } = {}) {
  const requests = [];
  const waiters = new Set();
  const held = new Set();
  let onRequest = handler;
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString("utf8");
      const url = `http://127.0.0.1:${srv.address().port}${req.url}`;
      const rec = {
        method: req.method,
        url,
        path: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        raw,
        at: Date.now(),
        verified: false,
        verifyError: undefined,
      };
      const signature = req.headers["upstash-signature"];
      if (!signature) {
        rec.verifyError = "no Upstash-Signature header";
      } else if (receiver) {
        try {
          rec.verified = await receiver().verify({ signature, body, url, clockTolerance: tolerance() });
        } catch (e) {
          rec.verifyError = String(e?.message ?? e);
        }
      }
      requests.push(rec);
      for (const w of [...waiters]) w();
      let answer;
      try {
        answer = onRequest ? onRequest(rec) : undefined;
        if (answer && typeof answer.then === "function") {
          held.add(res);
          answer = await answer;
          held.delete(res);
        }
      } catch (e) {
        answer = { status: 500, body: String(e) };
      }
      if (answer === HANG) {
        held.add(res);
        return;
      }
      if (res.destroyed) return;
      const { status = 200, headers = {}, body: out = "ok" } = answer ?? {};
      res.writeHead(status, { "content-type": "text/plain", ...headers });
      res.end(out);
    });
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${srv.address().port}`;

  const check = (recs) => {
    if (!verify) return recs;
    const bad = recs.filter((r) => !r.verified);
    if (bad.length > 0) {
      throw new Error(`deliveries whose signature did not verify: ${bad.map((r) => `${r.method} ${r.url}: ${r.verifyError}`).join("; ")}`);
    }
    return recs;
  };

  return {
    base,
    /** `base + p`. */
    url: (p = "/") => `${base}${p}`,
    requests,
    setHandler(fn) {
      onRequest = fn;
    },
    /** Deliveries so far matching `pred` (default: all). */
    matching(pred = () => true) {
      return requests.filter(pred);
    },
    /**
     * Resolves with the deliveries matching `pred` once there are at least `count`; rejects
     * after `timeout` ms (real time).
     */
    waitFor(count = 1, { pred = () => true, timeout = 5_000 } = {}) {
      return new Promise((resolve, reject) => {
        const test = () => {
          const got = requests.filter(pred);
          if (got.length >= count) {
            waiters.delete(test);
            clearTimeout(timer);
            try {
              resolve(check(got));
            } catch (e) {
              reject(e);
            }
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(test);
          const got = requests.filter(pred);
          reject(new Error(`waited ${timeout} ms for ${count} deliveries, got ${got.length}: ${JSON.stringify(got.map((r) => `${r.method} ${r.path}`))}`));
        }, timeout);
        if (!test()) waiters.add(test);
      });
    },
    /** Asserts nothing more arrives (matching `pred`) for `ms` real milliseconds. */
    async quiet(ms, pred = () => true) {
      const before = requests.filter(pred).length;
      await sleep(ms);
      const now = requests.filter(pred);
      if (now.length !== before) {
        throw new Error(`unexpected deliveries: ${JSON.stringify(now.slice(before).map((r) => `${r.method} ${r.path}`))}`);
      }
    },
    /** Checks the signatures of every delivery so far. */
    assertAllVerified() {
      check(requests);
    },
    async close() {
      for (const res of held) res.destroy();
      held.clear();
      srv.closeAllConnections?.();
      await new Promise((r) => srv.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// `stashd dev` (for the QSTASH_DEV suite): the HTTP port is `--port`, the RESP port `--resp-port`.


/** Starts `stashd dev --port <http> --resp-port <resp>`; resolves once it printed its ready line. */
export async function startStashdDev() {
  const bin = stashdBinary();
  const port = await freePort();
  let respPort = await freePort();
  while (respPort === port) respPort = await freePort();
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("STASHD_") && k !== "STASHD_BIN") delete env[k];
  const cwd = mkdtempSync(path.join(os.tmpdir(), "stashd-dev-js-"));
  const args = ["dev", "--port", String(port), "--resp-port", String(respPort), "--bind", "127.0.0.1"];
  const child = spawn(bin, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stashd dev printed no ready line within 20 s:\n${output}`)), 20_000);
    const keep = (d) => {
      output += d.toString();
      // The line the SDK itself waits for when it spawns a dev server.
      if (/runn+ing( at|\.)/i.test(output) && /QSTASH_URL=/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("exit", () => {
      clearTimeout(timer);
      reject(new Error(`stashd dev exited during startup (${JSON.stringify(exited)})\n${output}`));
    });
  });
  await ready;
  return {
    port,
    respPort,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (exited) return;
      await stopChild(child);
    },
  };
}

/**
 * Polls `client.logs({filter})` (real time, briefly) until at least `count` events match, and
 * returns them (newest first). The worker records an attempt's outcome right after the
 * destination answered, so an event can trail the delivery a receiver saw by a moment.
 */
export async function waitForLogs(client, filter, count = 1, { timeout = 5_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const { logs } = await client.logs({ filter });
    if (logs.length >= count) return logs;
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeout} ms for ${count} events matching ${JSON.stringify(filter)}, got ${logs.length}`);
    }
    await sleep(25);
  }
}

/**
 * Awaits `promise` to reject with a QstashError of `status` whose body is `{"error": "..."}`
 * (matching `pattern`, when given).
 */
export async function rejectsWith(promise, status, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof QstashError, `expected a QstashError, got ${e}`);
    assert.equal(e.status, status, `status of ${e.message}`);
    const body = JSON.parse(e.message);
    assert.equal(typeof body.error, "string", `error body ${e.message}`);
    if (pattern) assert.match(body.error, pattern);
    return true;
  });
}

/** A receiver of `ctx` that holds each request until released; tracks the most in flight at once. */
export async function holdingReceiver(ctx) {
  const pending = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const r = await ctx.receiver({
    handler: () =>
      new Promise((resolve) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        pending.push(() => {
          inFlight--;
          resolve({ status: 200 });
        });
      }),
  });
  return Object.assign(r, {
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    /** Answers the oldest held request. */
    releaseOne() {
      const next = pending.shift();
      if (!next) throw new Error("nothing held");
      next();
    },
    releaseAll() {
      while (pending.length) pending.shift()();
    },
  });
}
