// Starts the real `stashd` binary for the node:test suites. Builds nothing: the binary is
// $STASHD_BIN or <repo>/target/debug/stashd (`cargo build -p stashd-server`).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, beforeEach } from "node:test";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");
const READY_TIMEOUT_MS = 20_000;

/** Stops a spawned server: SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await gone;
  clearTimeout(t);
}

export function stashdBinary() {
  const bin = process.env.STASHD_BIN || path.join(repoRoot, "target", "debug", "stashd");
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`stashd binary not found at ${bin}: run \`cargo build -p stashd-server\` or set STASHD_BIN`);
  }
  return bin;
}

export function newToken() {
  return `tok${randomBytes(16).toString("hex")}`; // never starts with "-" (clap would read a flag)
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Connects to 127.0.0.1:port and resolves with what `onConnect` decides (via `done`), or false on
 * error or after `timeoutMs`.
 */
function probe(port, timeoutMs, onConnect) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const done = (ok) => {
      s.removeAllListeners();
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("error", () => done(false));
    s.once("connect", () => onConnect(s, done));
  });
}

function portOpen(port) {
  return probe(port, 500, (_s, done) => done(true));
}

/**
 * True once the RESP port answers PING with +PONG after AUTH (stashd binds before recovering
 * its data and answers -LOADING until it is done).
 */
function respAnswers(port, token) {
  return probe(port, 1000, (s, done) => {
    let data = "";
    s.on("data", (d) => {
      data += d.toString();
      const lines = data.split("\r\n").filter(Boolean);
      if (lines.length >= 2) done(lines[1] === "+PONG");
    });
    s.write(`AUTH ${token}\r\nPING\r\n`);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `stashd --in-memory --enable-debug-command` with a random token (and optionally a
 * read-only token) on two free ports. Returns { url, token, readonlyToken, port, httpPort,
 * stop(), jumpClock(ms), resp(...args) }.
 */
export async function startStashd({ readonly = false, extraArgs = [] } = {}) {
  const bin = stashdBinary();
  const port = await freePort();
  let httpPort = await freePort();
  while (httpPort === port) httpPort = await freePort();
  const token = newToken();
  const readonlyToken = readonly ? newToken() : undefined;
  const args = [
    "--bind", "127.0.0.1",
    "--port", String(port),
    "--http-port", String(httpPort),
    "--in-memory",
    "--enable-debug-command",
    "--redis-token", token,
  ];
  if (readonlyToken) args.push("--redis-readonly-token", readonlyToken);
  args.push(...extraArgs);

  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("STASHD_") && k !== "STASHD_BIN") delete env[k];
  const cwd = mkdtempSync(path.join(os.tmpdir(), "stashd-js-"));
  const child = spawn(bin, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d) => {
    output += d.toString();
    if (output.length > 64_000) output = output.slice(-32_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      throw new Error(`stashd exited during startup (${JSON.stringify(exited)})\nargs: ${args.join(" ")}\n${output}`);
    }
    if ((await portOpen(httpPort)) && (await respAnswers(port, token)) && !exited) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`stashd did not listen on ${port}/${httpPort} within ${READY_TIMEOUT_MS} ms\n${output}`);
    }
    await sleep(50);
  }

  const server = {
    url: `http://127.0.0.1:${httpPort}`,
    token,
    readonlyToken,
    port,
    httpPort,
    output: () => output,
    async stop() {
      if (exited) return;
      await stopChild(child);
    },
    /** Runs one command over RESP (authenticated) and returns the raw reply text. */
    resp(...cmdArgs) {
      return respCommand(port, token, cmdArgs);
    },
    /** Moves the server clock forward (DEBUG JUMP-CLOCK); never sleep to wait for expiry. */
    async jumpClock(ms) {
      const reply = await respCommand(port, token, ["DEBUG", "JUMP-CLOCK", String(ms)]);
      if (reply !== "+OK\r\n") throw new Error(`DEBUG JUMP-CLOCK failed: ${JSON.stringify(reply)}`);
    },
  };
  return server;
}

function encodeCommand(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const b = Buffer.from(String(a));
    out += `$${b.length}\r\n${b.toString()}\r\n`;
  }
  return out;
}

/** AUTH + one command on a fresh socket; resolves with the second reply's raw text (simple replies only). */
function respCommand(port, token, args, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let buf = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`RESP command ${args.join(" ")} timed out; got ${JSON.stringify(buf)}`));
    }, timeoutMs);
    s.on("connect", () => s.write(encodeCommand(["AUTH", token]) + encodeCommand(args)));
    s.on("data", (d) => {
      buf += d.toString();
      const lines = buf.split("\r\n");
      if (lines.length >= 3) {
        clearTimeout(timer);
        s.end();
        if (lines[0] !== "+OK") return reject(new Error(`AUTH failed: ${lines[0]}`));
        resolve(lines.slice(1).join("\r\n"));
      }
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Records the path of every request the SDK sends through the global fetch. */
export function spyOnFetch() {
  const original = globalThis.fetch;
  const calls = [];
  globalThis.fetch = async (input, init) => {
    const url = new URL(typeof input === "string" ? input : input.url);
    let body;
    try {
      body = init && typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    } catch {
      body = init?.body;
    }
    calls.push({ path: url.pathname, body, headers: init?.headers });
    return original(input, init);
  };
  return {
    calls,
    reset() {
      calls.length = 0;
    },
    restore() {
      globalThis.fetch = original;
    },
  };
}

/**
 * An @upstash/redis client of `server` without retries or telemetry, with the given extra options
 * (one place for the constructor options every suite uses).
 */
export function sdkClient(server, opts = {}) {
  return new Redis({ url: server.url, token: server.token, retry: { retries: 0 }, enableTelemetry: false, ...opts });
}

/**
 * Starts one stashd for the calling test file (node:test `before`/`after` hooks) and returns
 * an object whose `server` and `redis` (an {@link sdkClient} with the given extra options) are
 * set once the server is up.
 */
export function useStashd(redisOptions = {}) {
  const ctx = { server: undefined, redis: undefined };
  before(async () => {
    ctx.server = await startStashd();
    ctx.redis = sdkClient(ctx.server, redisOptions);
  });
  after(async () => {
    await ctx.server?.stop();
  });
  return ctx;
}

/**
 * Hooks of a suite that runs once per client configuration: once the server (`getServer()`) is
 * up, an {@link sdkClient} with `opts` is handed to `use`; the server is flushed before each test.
 */
export function clientHooks(getServer, opts, use) {
  before(() => use(sdkClient(getServer(), opts)));
  beforeEach(async () => {
    await getServer().resp("FLUSHALL");
  });
}
