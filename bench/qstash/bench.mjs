// One run of the QStash end-to-end benchmark (bench/qstash.sh calls it): N jobs, each an HTTP
// POST to the same local sink, through stashd's QStash (publish over HTTP, durable acceptance)
// or through BullMQ on redis-server (queue.add; a Worker whose processor makes the HTTP call).
//
//   node bench.mjs stashd  <qstash-url> <token>  [closed|rate=<r>/s]
//   node bench.mjs bullmq  <redis-port>          [closed|rate=<r>/s]
//
// closed: CONCURRENCY publishers send N jobs as fast as they are accepted; reports accepted/s,
// delivered/s (N / time until the sink has seen every job) and publish→delivery latency.
// rate=R: an open loop publishing R jobs/s for N jobs; reports publish (acceptance) latency. The
// first second of jobs (WARMUP, default R) warms connections up and is not counted.
// Prints one JSON line.
import http from "node:http";
import { performance } from "node:perf_hooks";

const N = Number(process.env.N || 20000);
const CONCURRENCY = Number(process.env.CONCURRENCY || 64);
const WORKER_CONCURRENCY = Number(process.env.WORKER_CONCURRENCY || 64);
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 300000);
const [system, target, tokenOrMode, maybeMode] = process.argv.slice(2);
const mode = (system === "stashd" ? maybeMode : tokenOrMode) || "closed";

const now = () => performance.timeOrigin + performance.now();
const pct = (arr, p) => {
  if (arr.length === 0) return 0;
  const s = Float64Array.from(arr).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// The sink: answers 200 at once; records when each job arrived (first arrival only).
const arrived = new Map();
let resolveAll;
const allArrived = new Promise((r) => (resolveAll = r));
const sink = http.createServer((req, res) => {
  const id = req.headers["x-job"];
  const sent = Number(req.headers["x-sent"]);
  req.resume();
  req.on("end", () => {
    if (id && !arrived.has(id)) {
      arrived.set(id, now() - sent);
      if (arrived.size === N) resolveAll();
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
});
sink.keepAliveTimeout = 60000;
await new Promise((r) => sink.listen(0, "127.0.0.1", r));
const sinkUrl = `http://127.0.0.1:${sink.address().port}/sink`;

// Publishing one job, per system.
let publishOne;
let close = async () => {};
if (system === "stashd") {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
  const base = new URL(target);
  publishOne = (id) =>
    new Promise((resolve, reject) => {
      const body = `{"job":"${id}"}`;
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          method: "POST",
          path: `/v2/publish/${sinkUrl}`,
          agent,
          headers: {
            authorization: `Bearer ${tokenOrMode}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "upstash-forward-x-job": id,
            "upstash-forward-x-sent": String(now()),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => (res.statusCode < 300 ? resolve() : reject(new Error(`publish answered ${res.statusCode}`))));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  close = async () => agent.destroy();
} else if (system === "bullmq") {
  const { Queue, Worker } = await import("bullmq");
  const connection = { host: "127.0.0.1", port: Number(target), maxRetriesPerRequest: null };
  const queue = new Queue("bench", { connection });
  await queue.obliterate({ force: true }).catch(() => {});
  const agent = new http.Agent({ keepAlive: true, maxSockets: WORKER_CONCURRENCY * 2 });
  const sinkParts = new URL(sinkUrl);
  // The worker makes the same HTTP call stashd's delivery makes.
  const worker = new Worker(
    "bench",
    (job) =>
      new Promise((resolve, reject) => {
        const body = `{"job":"${job.data.id}"}`;
        const req = http.request(
          {
            host: sinkParts.hostname,
            port: sinkParts.port,
            method: "POST",
            path: sinkParts.pathname,
            agent,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-job": job.data.id, "x-sent": String(job.data.sent) },
          },
          (res) => {
            res.resume();
            res.on("end", () => (res.statusCode < 300 ? resolve() : reject(new Error(`sink answered ${res.statusCode}`))));
          },
        );
        req.on("error", reject);
        req.end(body);
      }),
    { connection, concurrency: WORKER_CONCURRENCY, removeOnComplete: { count: 0 }, removeOnFail: { count: 1000 } },
  );
  publishOne = (id) => queue.add("job", { id, sent: now() }, { attempts: 4, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: true });
  close = async () => {
    await worker.close();
    await queue.close();
    agent.destroy();
  };
} else {
  console.error("usage: node bench.mjs stashd <url> <token> | bullmq <redis-port>");
  process.exit(2);
}

const publishLatencies = [];
let failures = 0;
const start = now();
let lastAck = start;
if (mode === "closed") {
  let next = 0;
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      const id = `j${next++}`;
      const t0 = now();
      try {
        await publishOne(id);
        publishLatencies.push(now() - t0);
      } catch {
        failures++;
      }
      lastAck = now();
    }
  });
  await Promise.all(loops);
} else {
  const rate = Number(mode.replace(/^rate=/, "").replace(/\/s$/, ""));
  const warm = Number(process.env.WARMUP || rate);
  const pending = [];
  for (let i = 0; i < N; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t0 = now();
    pending.push(
      publishOne(`j${i}`).then(
        () => i >= warm && publishLatencies.push(now() - t0),
        () => failures++,
      ),
    );
  }
  await Promise.all(pending);
  lastAck = now();
}
const timer = setTimeout(() => resolveAll(), TIMEOUT_MS);
await allArrived;
clearTimeout(timer);
const end = now();
const warmed = mode === "closed" ? 0 : Number(process.env.WARMUP || Number(mode.replace(/^rate=/, "").replace(/\/s$/, "")));
const e2e = [...arrived.entries()].filter(([id]) => Number(id.slice(1)) >= warmed).map(([, v]) => v);
console.log(
  JSON.stringify({
    system,
    mode,
    n: N,
    failures,
    delivered: arrived.size,
    accepted_per_s: Math.round(N / ((lastAck - start) / 1000)),
    delivered_per_s: Math.round(arrived.size / ((end - start) / 1000)),
    publish_p50_ms: +pct(publishLatencies, 50).toFixed(2),
    publish_p99_ms: +pct(publishLatencies, 99).toFixed(2),
    e2e_p50_ms: +pct(e2e, 50).toFixed(2),
    e2e_p99_ms: +pct(e2e, 99).toFixed(2),
    e2e_p999_ms: +pct(e2e, 99.9).toFixed(2),
  }),
);
await close();
sink.close();
process.exit(0);
