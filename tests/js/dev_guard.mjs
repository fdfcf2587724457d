// Guards for the QSTASH_DEV suites: when the SDK's health check of a dev server fails,
// @upstash/qstash would download a dev-server release (HTTPS) or spawn a cached binary. After
// `guardDevServerDownloads`, any HTTPS request and any spawn other than stashd's own throw a clear
// error (and are listed in the returned array), so a broken health check fails the test instead
// of fetching anything. Call it before importing the SDK: it imports node:https and
// node:child_process lazily, and syncBuiltinESMExports() makes those imports see the guards.
import childProcess from "node:child_process";
import https from "node:https";
import { syncBuiltinESMExports } from "node:module";
import { stashdBinary } from "./harness.mjs";

/** Installs the guards; returns the list of what they blocked. `who` names the test file. */
export function guardDevServerDownloads(who) {
  const blocked = [];
  const BLOCK = `blocked by ${who}: the SDK tried to download or spawn a dev server`;
  for (const fn of ["get", "request"]) {
    https[fn] = (...args) => {
      blocked.push(`https.${fn} ${String(args[0])}`);
      throw new Error(`${BLOCK} (https.${fn} ${String(args[0])})`);
    };
  }
  const realSpawn = childProcess.spawn;
  const allowedBinary = stashdBinary();
  childProcess.spawn = (file, ...rest) => {
    if (file !== allowedBinary) {
      blocked.push(`spawn ${file}`);
      throw new Error(`${BLOCK} (spawn ${file})`);
    }
    return realSpawn(file, ...rest);
  };
  for (const fn of ["execFile", "execFileSync", "exec", "execSync"]) {
    childProcess[fn] = (...args) => {
      blocked.push(`${fn} ${String(args[0])}`);
      throw new Error(`${BLOCK} (${fn})`);
    };
  }
  syncBuiltinESMExports();
  return blocked;
}
