// One run of the Workflow benchmark (bench/workflow.sh calls it): RUNS workflow runs of STEPS
// sequential `context.run` steps each, through stashd with the official @upstash/workflow SDK
// (`serve()` on a local node:http endpoint, `Client.trigger`), CONCURRENCY runs in flight.
// Reports completed runs/s, steps/s, and the server's overhead per step: the time from the
// SDK's publish of a run's next step (its request to the server) to the arrival of that step's
// delivery at the endpoint; beside it, a plain QStash publish→delivery latency measured in the
// same process on the same server. Prints one JSON line.
//   node bench.mjs <qstash-url> <token>
import http from "node:http";
import { performance } from "node:perf_hooks";
import { serve, Client as WorkflowClient } from "@upstash/workflow";
import { Client as QstashClient } from "@upstash/qstash";

const [QSTASH_URL, TOKEN] = process.argv.slice(2);
const RUNS = Number(process.env.RUNS || 200);
const STEPS = Number(process.env.STEPS || 10);
const CONCURRENCY = Number(process.env.CONCURRENCY || 20);
const now = () => performance.timeOrigin + performance.now();
const pct = (a, p) => (a.length ? Float64Array.from(a).sort()[Math.min(a.length - 1, Math.floor((p / 100) * a.length))] : 0);

// When the SDK publishes a run's next step (a request carrying the run id), remember when it
// started: the server's overhead for that step ends when the step's delivery arrives.
const published = new Map();
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const h = new Headers(init?.headers || {});
  const body = typeof init?.body === "string" ? init.body : "";
  const m = /"upstash-workflow-runid":"([^"]+)"/i.exec(body);
  const runId = h.get("upstash-workflow-runid") || (m && m[1]);
  const t = now();
  const r = await realFetch(input, init);
  if (runId && !published.has(runId)) published.set(runId, t);
  return r;
};
const qstashClient = new QstashClient({ baseUrl: QSTASH_URL, token: TOKEN });
const lastEnd = new Map(); // run id → when the endpoint answered its last call
const overhead = [];
const finished = new Map();
let calls = 0;
const { handler } = serve(
  async (context) => {
    let acc = context.requestPayload?.n ?? 0;
    for (let i = 0; i < STEPS; i++) {
      acc = await context.run(`s${i}`, async () => acc + 1);
    }
    return acc;
  },
  { qstashClient, receiver: undefined },
);
const agentSrv = http.createServer(async (req, res) => {
  const start = now();
  const runId = req.headers["upstash-workflow-runid"];
  if (runId && published.has(runId)) {
    overhead.push(start - published.get(runId));
    published.delete(runId);
  }
  calls++;
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(",") : v);
  const r = await handler(new Request(`http://127.0.0.1:${agentSrv.address().port}${req.url}`, { method: req.method, headers, body: body.length ? body : undefined }));
  const out = Buffer.from(await r.arrayBuffer());
  res.writeHead(r.status, Object.fromEntries(r.headers.entries()));
  res.end(out);
  if (runId) lastEnd.set(runId, now());
});
agentSrv.keepAliveTimeout = 60000;
await new Promise((r) => agentSrv.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${agentSrv.address().port}/wf`;

// Completion: poll nothing; the run's DELETE reaches the server, so watch the endpoint's last
// call per run (STEPS + 1 calls) instead.
const client = new WorkflowClient({ baseUrl: QSTASH_URL, token: TOKEN });
const perRunCalls = new Map();
const origSet = lastEnd.set.bind(lastEnd);
let resolveAll;
const all = new Promise((r) => (resolveAll = r));
lastEnd.set = (k, v) => {
  const n = (perRunCalls.get(k) || 0) + 1;
  perRunCalls.set(k, n);
  if (n === STEPS + 1 && !finished.has(k)) {
    finished.set(k, v);
    if (finished.size === RUNS) resolveAll();
  }
  return origSet(k, v);
};
const t0 = now();
let next = 0;
// CONCURRENCY loops each keep one run going: trigger, wait for its last call, trigger the next.
const doneWaiters = new Map();
const origFinish = finished.set.bind(finished);
finished.set = (k, v) => {
  const r = origFinish(k, v);
  doneWaiters.get(k)?.();
  return r;
};
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < RUNS) {
      next++;
      const { workflowRunId } = await client.trigger({ url, body: { n: 0 } });
      if (!finished.has(workflowRunId)) await new Promise((r) => doneWaiters.set(workflowRunId, r));
    }
  }),
);
const timer = setTimeout(() => resolveAll(), 300000);
await all;
clearTimeout(timer);
const elapsed = (now() - t0) / 1000;

// The plain QStash figure of the same server: publish → delivery to a sink.
const e2e = [];
const sink = http.createServer((req, res) => {
  const sent = Number(req.headers["x-sent"]);
  req.resume();
  req.on("end", () => {
    e2e.push(now() - sent);
    res.end("ok");
  });
});
await new Promise((r) => sink.listen(0, "127.0.0.1", r));
for (let i = 0; i < 300; i++) {
  await qstashClient.publish({ url: `http://127.0.0.1:${sink.address().port}/s`, body: "x", headers: { "x-sent": String(now()) } });
}
await new Promise((r) => setTimeout(r, 1000));
console.log(
  JSON.stringify({
    runs: finished.size,
    steps_per_run: STEPS,
    endpoint_calls: calls,
    runs_per_s: +(finished.size / elapsed).toFixed(1),
    steps_per_s: +((finished.size * (STEPS + 1)) / elapsed).toFixed(1),
    overhead_p50_ms: +pct(overhead, 50).toFixed(2),
    overhead_p99_ms: +pct(overhead, 99).toFixed(2),
    qstash_e2e_p50_ms: +pct(e2e, 50).toFixed(2),
    qstash_e2e_p99_ms: +pct(e2e, 99).toFixed(2),
  }),
);
process.exit(0);
