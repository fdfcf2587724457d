// Workflow flavour of qstash_harness.mjs: starts the real `stashd` (QStash face, deliveries to
// 127.0.0.1 allowed, DEBUG JUMP-CLOCK enabled) with a QStash token in the development format
// (base64 of {"UserID","Password"}, which `context.createWebhook` decodes to build the hook URL),
// and an "app": one node:http server on 127.0.0.1 on which workflow endpoints made with the real
// `serve()` of @upstash/workflow are mounted through a node request → fetch `Request` adapter,
// next to plain endpoints (third-party targets of `context.call`, failure URLs). Every request
// the app receives is recorded per route, with the answer it got.
//
// Time: sleeps, delays, retry backoff and wait timeouts run on the server clock, which tests move
// with `ctx.jumpClock(ms)` instead of sleeping. Deliveries are then signed by a clock ahead of this
// process's, so the receiver `serve()` verifies with tolerates the total jump.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { after, before } from "node:test";
import { Client as QStashClient, Receiver } from "@upstash/qstash";
import { Client as WorkflowClient, serve } from "@upstash/workflow";
import { startStashd } from "./harness.mjs";
import { signingKey, sleep } from "./qstash_harness.mjs";

export { sleep };

/** A QStash token in the development format: base64 of `{"UserID":..,"Password":..}`. */
export function devFormatToken(userId) {
  return Buffer.from(JSON.stringify({ UserID: userId, Password: randomBytes(12).toString("hex") })).toString("base64");
}

/** A promise with its resolve/reject outside; `wait(ms)` awaits it for at most `ms` real ms. */
export function deferred(what = "a workflow result") {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject, wait: (ms = 8_000) => within(promise, ms, what) };
}

/** Resolves like `promise`, or rejects after `ms` real milliseconds (so a broken run fails the test instead of hanging it). */
export function within(promise, ms = 8_000, what = "a workflow result") {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `fn` (real time) until it returns a truthy value, which it resolves with. */
export async function waitUntil(fn, { timeout = 5_000, interval = 20, what = "a condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${what}`);
    await sleep(interval);
  }
}

/** A unique name for this test process (event ids, labels, flow-control keys...). */
export function unique(prefix) {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

/**
 * Starts stashd for workflow tests. Returns the harness server plus { qstashUrl, qstashToken,
 * userId, currentSigningKey, nextSigningKey, jumpedMs, jumpClock(ms), tolerance() }.
 */
export async function startWorkflowServer({ extraArgs = [] } = {}) {
  const userId = unique("user");
  const qstashToken = devFormatToken(userId);
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
  const s = Object.assign(server, {
    qstashUrl: server.url,
    qstashToken,
    userId,
    currentSigningKey,
    nextSigningKey,
    jumpedMs: 0,
    /** Moves the server clock forward by `ms`. */
    async jumpClock(ms) {
      await jump(ms);
      s.jumpedMs += ms;
    },
    /** The server's clock (ms), as far as this process can tell. */
    serverNow() {
      return Date.now() + s.jumpedMs;
    },
    /** Seconds of clock skew a signature check must tolerate (the total jump, plus slack). */
    tolerance() {
      return Math.ceil(s.jumpedMs / 1000) + 5;
    },
  });
  return s;
}

/**
 * An HTTP app on 127.0.0.1 (random port) hosting workflow endpoints and plain endpoints.
 * `fetchHandler`s take a fetch `Request` and answer a `Response`; plain handlers take the
 * request record and answer `{status, headers, body}` (default 200 "ok"), possibly later.
 */
export async function startApp() {
  const routes = new Map(); // path or "prefix/" → { handler, records }
  const waiters = new Set();
  const find = (p) => {
    if (routes.has(p)) return routes.get(p);
    for (const [k, r] of routes) if (k.endsWith("/") && p.startsWith(k)) return r;
    return undefined;
  };
  const srv = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const pathOnly = req.url.split("?")[0];
    const url = `http://127.0.0.1:${srv.address().port}${req.url}`;
    const rec = {
      method: req.method,
      url,
      path: pathOnly,
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v])),
      body: raw.toString("utf8"),
      at: Date.now(),
      status: undefined,
      responseHeaders: undefined,
      responseBody: undefined,
    };
    const route = find(pathOnly);
    let status = 404;
    let headers = { "content-type": "text/plain" };
    let out = Buffer.from(`no route for ${pathOnly}`);
    if (route) {
      route.records.push(rec);
      try {
        if (route.kind === "fetch") {
          const headersIn = new Headers();
          for (let i = 0; i < req.rawHeaders.length; i += 2) headersIn.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
          const request = new Request(url, {
            method: req.method,
            headers: headersIn,
            body: raw.length > 0 && req.method !== "GET" && req.method !== "HEAD" ? raw : undefined,
          });
          const response = await route.handler(request);
          status = response.status;
          headers = Object.fromEntries(response.headers.entries());
          out = Buffer.from(await response.arrayBuffer());
        } else {
          const answer = (await route.handler(rec)) ?? {};
          status = answer.status ?? 200;
          headers = { "content-type": "text/plain", ...(answer.headers ?? {}) };
          out = Buffer.from(answer.body ?? "ok");
        }
      } catch (e) {
        status = 599;
        out = Buffer.from(`the test app's handler threw: ${e?.stack ?? e}`);
      }
      rec.status = status;
      rec.responseHeaders = headers;
      rec.responseBody = out.toString("utf8");
    }
    if (!res.destroyed) {
      res.writeHead(status, headers);
      res.end(out);
    }
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${srv.address().port}`;

  const endpoint = (p) => {
    const route = routes.get(p);
    return {
      path: p,
      url: `${base}${p}`,
      /** Every request the route got so far (answered or still being answered). */
      get calls() {
        return route.records;
      },
      /** The answered requests matching `pred`. */
      answered(pred = () => true) {
        return route.records.filter((r) => r.status !== undefined && pred(r));
      },
      /** Resolves with the answered requests matching `pred` once there are `count` of them. */
      waitFor(count = 1, { pred = () => true, timeout = 5_000 } = {}) {
        return new Promise((resolve, reject) => {
          const test = () => {
            const got = route.records.filter((r) => r.status !== undefined && pred(r));
            if (got.length >= count) {
              waiters.delete(test);
              clearTimeout(timer);
              resolve(got);
              return true;
            }
            return false;
          };
          const timer = setTimeout(() => {
            waiters.delete(test);
            const got = route.records.map((r) => `${r.method} ${r.path} → ${r.status} ${(r.responseBody ?? "").slice(0, 200)}`);
            reject(new Error(`waited ${timeout} ms for ${count} answered requests on ${p}; got: ${JSON.stringify(got, null, 1)}`));
          }, timeout);
          if (!test()) waiters.add(test);
        });
      },
      /** Asserts no request (matching `pred`) arrives for `ms` real milliseconds. */
      async quiet(ms, pred = () => true) {
        const before = route.records.filter(pred).length;
        await sleep(ms);
        const now = route.records.filter(pred);
        if (now.length !== before) {
          throw new Error(`unexpected requests on ${p}: ${JSON.stringify(now.slice(before).map((r) => `${r.method} ${r.body.slice(0, 200)}`))}`);
        }
      },
    };
  };

  return {
    base,
    url: (p) => `${base}${p}`,
    /** Mounts a fetch-style handler (`Request` → `Response`) at `p` (a prefix when it ends in `/`). */
    mount(p, handler) {
      if (routes.has(p)) throw new Error(`route ${p} exists`);
      routes.set(p, { kind: "fetch", handler, records: [] });
      return endpoint(p);
    },
    /** Mounts a plain handler (`rec` → `{status, headers, body}`) at `p`. */
    route(p, handler = () => ({})) {
      if (routes.has(p)) throw new Error(`route ${p} exists`);
      routes.set(p, { kind: "plain", handler, records: [] });
      return endpoint(p);
    },
    async close() {
      srv.closeAllConnections?.();
      await new Promise((r) => srv.close(() => r()));
    },
  };
}

/**
 * One stashd and one app per test file, started in `before` and stopped in `after`:
 * `ctx.s` (see {@link startWorkflowServer}), `ctx.app` (see {@link startApp}), `ctx.client` (the
 * workflow `Client`), `ctx.qstash` (the QStash `Client` `serve()` publishes with), and helpers.
 */
export function useWorkflow(opts = {}) {
  let seq = 0;
  const ctx = {
    s: undefined,
    app: undefined,
    client: undefined,
    qstash: undefined,
    /** A receiver for `serve()` that checks every delivery's signature with this server's keys. */
    receiver() {
      const real = new Receiver({ currentSigningKey: ctx.s.currentSigningKey, nextSigningKey: ctx.s.nextSigningKey });
      return { verify: (req) => real.verify({ ...req, clockTolerance: ctx.s.tolerance() }) };
    },
    /**
     * Mounts `serve(routeFunction, options)` (the real SDK) at `p` (default: a fresh path) with
     * this server's QStash client and signature checks. Returns the endpoint.
     */
    serve(routeFunction, options = {}, p = `/wf/${++seq}`) {
      const { handler } = serve(routeFunction, { qstashClient: ctx.qstash, receiver: ctx.receiver(), ...options });
      return ctx.app.mount(p, handler);
    },
    /** `client.trigger` → the run id. */
    async trigger(params) {
      const { workflowRunId } = await ctx.client.trigger(params);
      return workflowRunId;
    },
    /** A raw API call with the token (for what no SDK method shows). */
    async api(method, apiPath, { body, headers = {} } = {}) {
      const res = await fetch(`${ctx.s.qstashUrl}${apiPath}`, {
        method,
        headers: { authorization: `Bearer ${ctx.s.qstashToken}`, ...headers },
        body,
      });
      const text = await res.text();
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json };
    },
    /** Whether the run is still running (`GET /v2/workflows/runs/{id}` answers 200, 404 once it ended). */
    async running(runId) {
      const r = await ctx.api("GET", `/v2/workflows/runs/${runId}`);
      if (r.status !== 200 && r.status !== 404) throw new Error(`GET /v2/workflows/runs/${runId}: ${r.status} ${r.text}`);
      return r.status === 200;
    },
    /** Waits (real time) until the run has ended (finished, failed or cancelled). */
    async waitForEnd(runId, { timeout = 8_000 } = {}) {
      await waitUntil(async () => !(await ctx.running(runId)), { timeout, what: `run ${runId} to end` });
    },
    /** Waits until `eventId` has `count` waiters; returns them. */
    async waitForWaiters(eventId, count = 1, { timeout = 5_000 } = {}) {
      return waitUntil(
        async () => {
          const ws = await ctx.client.getWaiters({ eventId });
          return ws.length >= count ? ws : undefined;
        },
        { timeout, what: `${count} waiter(s) of ${eventId}` },
      );
    },
    /**
     * Waits until the server recorded `count` retries of deliveries to `url` (an attempt's
     * outcome is recorded just after the endpoint answered; jumping the clock before that would
     * schedule the retry from the moved clock).
     */
    async retriesScheduled(url, count = 1, { timeout = 5_000 } = {}) {
      await waitUntil(
        async () => {
          const { logs } = await ctx.qstash.logs({ filter: { url, state: "RETRY" } });
          return logs.length >= count;
        },
        { timeout, what: `${count} retries scheduled for ${url}` },
      );
    },
    jumpClock: (ms) => ctx.s.jumpClock(ms),
  };
  before(async () => {
    ctx.s = await startWorkflowServer(opts);
    ctx.app = await startApp();
    ctx.client = new WorkflowClient({ baseUrl: ctx.s.qstashUrl, token: ctx.s.qstashToken, retry: false });
    ctx.qstash = new QStashClient({ baseUrl: ctx.s.qstashUrl, token: ctx.s.qstashToken, retry: false });
  });
  after(async () => {
    await ctx.app?.close();
    await ctx.s?.stop();
  });
  return ctx;
}

/** The step list a workflow delivery carries (decoded), or undefined for a non-array body. */
export function deliveredSteps(rec) {
  let arr;
  try {
    arr = JSON.parse(rec.body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(arr)) return undefined;
  return arr.map((s, i) => {
    const text = Buffer.from(s.body, "base64").toString("utf8");
    if (i === 0) return { messageId: s.messageId, callType: s.callType, initial: text };
    try {
      return { messageId: s.messageId, callType: s.callType, ...JSON.parse(text) };
    } catch {
      return { messageId: s.messageId, callType: s.callType, raw: text };
    }
  });
}
