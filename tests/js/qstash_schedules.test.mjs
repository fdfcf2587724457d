// Schedules through @upstash/qstash against the real server: create (every option, CRON_TZ),
// upsert by id, get, list, pause, resume, delete, into a queue and to a URL group; runs happen
// when the server clock is moved to the schedule's time.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { QstashError } from "@upstash/qstash";
import { rejectsWith, useQstash, waitForLogs } from "./qstash_harness.mjs";

const ctx = useQstash();
const serverNow = () => Date.now() + ctx.q.jumpedMs;

/** Moves the server clock just past the schedule's next run and returns that run time. */
async function runNext(scheduleId) {
  const s = await ctx.client.schedules.get(scheduleId);
  assert.equal(typeof s.nextScheduleTime, "number", `schedule ${scheduleId} has a next run`);
  const wait = s.nextScheduleTime - serverNow();
  assert.ok(wait <= 60_000 + 1_000, `next run of an every-minute schedule is within a minute (${wait} ms)`);
  await ctx.q.jumpClock(Math.max(0, wait) + 500);
  return s.nextScheduleTime;
}

describe("schedules", () => {
  test("create with every option reads back through get and list", async () => {
    const r = await ctx.receiver();
    const { scheduleId } = await ctx.client.schedules.create({
      destination: r.url("/sched/options?x=1"),
      cron: "*/10 * * * * ",
      body: '{"s":1}',
      headers: { "X-Sched": "yes", "Content-Type": "application/json" },
      method: "PUT",
      delay: 30,
      retries: 4,
      retryDelay: "1000 * (retried + 1)",
      timeout: 20,
      callback: r.url("/sched/cb"),
      failureCallback: r.url("/sched/fcb"),
      flowControl: { key: "sched-fc", parallelism: 3 },
      label: "sched-label",
    });
    assert.match(scheduleId, /^scd_/);
    const s = await ctx.client.schedules.get(scheduleId);
    assert.equal(s.scheduleId, scheduleId);
    assert.equal(s.cron, "*/10 * * * *", "the cron text is trimmed");
    assert.equal(s.destination, r.url("/sched/options?x=1"));
    assert.equal(s.method, "PUT");
    assert.deepEqual(s.header["X-Sched"], ["yes"]);
    assert.deepEqual(s.header["Content-Type"], ["application/json"]);
    assert.ok(!Object.keys(s.header).some((k) => k.toLowerCase().startsWith("upstash-")), JSON.stringify(s.header));
    assert.equal(s.body, '{"s":1}');
    assert.equal(s.retries, 4);
    assert.equal(s.delay, 30);
    assert.equal(s.timeout, 20);
    assert.equal(s.retryDelayExpression, "1000 * (retried + 1)");
    assert.equal(s.callback, r.url("/sched/cb"));
    assert.equal(s.failureCallback, r.url("/sched/fcb"));
    assert.equal(s.flowControlKey, "sched-fc");
    assert.equal(s.parallelism, 3);
    assert.equal(s.label, "sched-label");
    assert.equal(s.isPaused, false);
    assert.equal(typeof s.createdAt, "number");
    assert.equal(s.callerIp, "127.0.0.1");
    assert.ok(s.nextScheduleTime > serverNow() && s.nextScheduleTime <= serverNow() + 600_000);
    assert.equal(new Date(s.nextScheduleTime).getUTCMinutes() % 10, 0);
    const list = await ctx.client.schedules.list();
    const listed = list.find((x) => x.scheduleId === scheduleId);
    assert.deepEqual(listed, s);
    await ctx.client.schedules.delete(scheduleId);
    await rejectsWith(ctx.client.schedules.get(scheduleId), 404);
    await rejectsWith(ctx.client.schedules.delete(scheduleId), 404);
  });

  test("defaults: POST, 3 retries, JSON content type, no body", async () => {
    const r = await ctx.receiver();
    const { scheduleId } = await ctx.client.schedules.create({ destination: r.url("/sched/defaults"), cron: "0 0 1 1 *" });
    const s = await ctx.client.schedules.get(scheduleId);
    assert.equal(s.method, "POST");
    assert.equal(s.retries, 3);
    assert.equal(s.body, undefined);
    assert.deepEqual(s.header["Content-Type"], ["application/json"]);
    await ctx.client.schedules.delete(scheduleId);
  });

  test("a scheduleId upserts: an update replaces every field", async () => {
    const r = await ctx.receiver();
    const first = await ctx.client.schedules.create({
      destination: r.url("/sched/v1"),
      cron: "0 * * * *",
      scheduleId: "my-schedule.v1",
      body: "first",
      retries: 1,
      headers: { "X-Old": "1" },
    });
    assert.equal(first.scheduleId, "my-schedule.v1");
    const before = await ctx.client.schedules.get("my-schedule.v1");
    const second = await ctx.client.schedules.create({ destination: r.url("/sched/v2"), cron: "30 * * * *", scheduleId: "my-schedule.v1" });
    assert.equal(second.scheduleId, "my-schedule.v1");
    const s = await ctx.client.schedules.get("my-schedule.v1");
    assert.equal(s.destination, r.url("/sched/v2"));
    assert.equal(s.cron, "30 * * * *");
    assert.equal(s.body, undefined, "a body omitted on update reads back as absent");
    assert.equal(s.retries, 3);
    assert.equal(s.header["X-Old"], undefined);
    assert.equal(s.createdAt, before.createdAt);
    assert.equal((await ctx.client.schedules.list()).filter((x) => x.scheduleId === "my-schedule.v1").length, 1);
    await rejectsWith(ctx.client.schedules.create({ destination: r.url("/x"), cron: "* * * * *", scheduleId: "bad id!" }), 400);
    await rejectsWith(ctx.client.schedules.create({ destination: r.url("/x"), cron: "not a cron" }), 400);
    await ctx.client.schedules.delete("my-schedule.v1");
  });

  test("CRON_TZ computes the next run in that time zone", async () => {
    const r = await ctx.receiver();
    const { scheduleId } = await ctx.client.schedules.create({ destination: r.url("/sched/tz"), cron: "CRON_TZ=America/New_York 30 9 * * *" });
    const s = await ctx.client.schedules.get(scheduleId);
    assert.equal(s.cron, "CRON_TZ=America/New_York 30 9 * * *");
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hour: "numeric", minute: "numeric", hourCycle: "h23" })
        .formatToParts(new Date(s.nextScheduleTime))
        .map((p) => [p.type, Number(p.value)]),
    );
    assert.deepEqual([parts.hour, parts.minute], [9, 30], `next run ${new Date(s.nextScheduleTime).toISOString()} is 09:30 in New York`);
    assert.ok(s.nextScheduleTime > serverNow() && s.nextScheduleTime <= serverNow() + 25 * 3600_000);
    await ctx.client.schedules.delete(scheduleId);
  });

  test("a schedule fires when the clock reaches its time; pause skips runs, resume restores them", async () => {
    const r = await ctx.receiver();
    const { scheduleId } = await ctx.client.schedules.create({
      destination: r.url("/sched/fire"),
      cron: "* * * * *",
      body: "tick",
      headers: { "X-Tick": "t" },
      label: "ticks",
    });
    await r.quiet(300);
    const runAt = await runNext(scheduleId);
    const [d] = await r.waitFor(1);
    assert.equal(d.body, "tick");
    assert.equal(d.headers["x-tick"], "t");
    assert.equal(d.headers["upstash-schedule-id"], scheduleId);
    const s = await ctx.client.schedules.get(scheduleId);
    // The run happens once the (jumped) clock passed the cron time: at most the jump's slack later.
    assert.ok(s.lastScheduleTime >= runAt && s.lastScheduleTime < runAt + 5_000, `lastScheduleTime ${s.lastScheduleTime} vs run ${runAt}`);
    assert.equal(s.nextScheduleTime, runAt + 60_000);
    assert.deepEqual(Object.keys(s.lastScheduleStates ?? {}), [d.headers["upstash-message-id"]]);
    const logs = await waitForLogs(ctx.client, { scheduleId, state: "DELIVERED" });
    for (const l of logs) assert.equal(l.scheduleId, scheduleId);

    await ctx.client.schedules.pause({ schedule: scheduleId });
    assert.equal((await ctx.client.schedules.get(scheduleId)).isPaused, true);
    await ctx.q.jumpClock(61_000);
    await r.quiet(400);
    assert.equal(r.requests.length, 1, "a paused schedule does not run");

    await ctx.client.schedules.resume({ schedule: scheduleId });
    assert.equal((await ctx.client.schedules.get(scheduleId)).isPaused, false);
    await runNext(scheduleId);
    await r.waitFor(2);
    await ctx.client.schedules.delete(scheduleId);
    await ctx.q.jumpClock(61_000);
    await r.quiet(300);
    assert.equal(r.requests.length, 2, "a deleted schedule does not run");
  });

  test("lastScheduleStates follows the run's message: IN_PROGRESS, then SUCCESS or FAIL", async () => {
    let fail = false;
    const r = await ctx.receiver({ handler: () => (fail ? { status: 500 } : { status: 200 }) });
    const { scheduleId } = await ctx.client.schedules.create({ destination: r.url("/sched/states"), cron: "* * * * *", retries: 0 });
    try {
      await runNext(scheduleId);
      const [d] = await r.waitFor(1);
      const ok = d.headers["upstash-message-id"];
      await waitForLogs(ctx.client, { messageId: ok, state: "DELIVERED" });
      assert.deepEqual((await ctx.client.schedules.get(scheduleId)).lastScheduleStates, { [ok]: "SUCCESS" });
      fail = true;
      await runNext(scheduleId);
      const [, d2] = await r.waitFor(2);
      const bad = d2.headers["upstash-message-id"];
      await waitForLogs(ctx.client, { messageId: bad, state: "FAILED" });
      assert.deepEqual((await ctx.client.schedules.get(scheduleId)).lastScheduleStates, { [bad]: "FAIL" });
    } finally {
      await ctx.client.schedules.delete(scheduleId);
    }
  });

  test("a schedule with queueName enqueues its runs into that queue", async () => {
    const r = await ctx.receiver();
    await ctx.client.queue({ queueName: "sched-queue" }).upsert({ parallelism: 1 });
    const { scheduleId } = await ctx.client.schedules.create({ destination: r.url("/sched/queued"), cron: "* * * * *", queueName: "sched-queue", body: "q" });
    assert.equal((await ctx.client.schedules.get(scheduleId)).queueName, "sched-queue");
    await runNext(scheduleId);
    const [d] = await r.waitFor(1);
    assert.equal(d.headers["upstash-schedule-id"], scheduleId);
    const logs = await waitForLogs(ctx.client, { queueName: "sched-queue", state: "DELIVERED" });
    assert.equal(logs.length, 1);
    assert.equal(logs[0].scheduleId, scheduleId);
    await ctx.client.schedules.delete(scheduleId);
  });

  test("a schedule to a URL group fans out each run", async () => {
    const r = await ctx.receiver();
    await ctx.client.urlGroups.addEndpoints({ name: "sched-group", endpoints: [{ url: r.url("/sg/1") }, { url: r.url("/sg/2") }] });
    const { scheduleId } = await ctx.client.schedules.create({ destination: "sched-group", cron: "* * * * *", body: "fan" });
    await runNext(scheduleId);
    const got = await r.waitFor(2);
    assert.deepEqual(got.map((d) => d.path).sort(), ["/sg/1", "/sg/2"]);
    for (const d of got) {
      assert.equal(d.headers["upstash-schedule-id"], scheduleId);
      assert.equal(d.headers["upstash-topic-name"], "sched-group");
    }
    await ctx.client.schedules.delete(scheduleId);
    await rejectsWith(ctx.client.schedules.create({ destination: "no-such-group", cron: "* * * * *" }), 404);
  });

  test("pause and resume of an unknown schedule are 404s; the OpenAPI's POST form works too", async () => {
    await rejectsWith(ctx.client.schedules.pause({ schedule: "nope" }), 404);
    await rejectsWith(ctx.client.schedules.resume({ schedule: "nope" }), 404);
    const r = await ctx.receiver();
    const { scheduleId } = await ctx.client.schedules.create({ destination: r.url("/p"), cron: "0 0 * * *" });
    assert.equal((await ctx.q.api("POST", `/v2/schedules/${scheduleId}/pause`)).status, 200);
    assert.equal((await ctx.client.schedules.get(scheduleId)).isPaused, true);
    assert.equal((await ctx.q.api("POST", `/v2/schedules/${scheduleId}/resume`)).status, 200);
    assert.equal((await ctx.client.schedules.get(scheduleId)).isPaused, false);
    await ctx.client.schedules.delete(scheduleId);
  });
});
