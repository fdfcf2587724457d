"""QStash crash safety: `kill -9` during a publish load, and resources surviving a kill -9.

QStash's store waits for its fsync before any 2xx, so `--appendfsync always` is not needed:
every publish the client saw acknowledged must, after a restart on the same data dir, be
delivered (at least once, by message id) or be in the DLQ. Schedules, queues, URL groups,
DLQ entries, pending messages and (generated, rotated) signing keys must survive too.
"""

from __future__ import annotations

import threading
import time

import pytest
from qstash import QStash

from qstash_support import (
    QStashEnv,
    Reply,
    Sink,
    all_dlq,
    delivered_ids,
    new_signing_key,
    start_qstash_server,
    wait_until,
)

LOAD_THREADS = 4
MIN_ACKED_BEFORE_KILL = 400
LOAD_BUDGET_S = 8.0  # the kill comes after MIN_ACKED_BEFORE_KILL acks or this long, whichever first


@pytest.fixture
def crash_env(tmp_path):
    """A durable QStash server (restartable on the same ports and data dir) and a sink."""
    made: list[QStashEnv] = []
    sinks: list[Sink] = []

    def make(keys=None) -> tuple[QStashEnv, Sink]:
        data = tmp_path / f"data{len(made)}"
        data.mkdir()
        server = start_qstash_server(data_dir=data, keys=keys)
        env = QStashEnv(server, keys or (None, None))
        sink = Sink()
        made.append(env)
        sinks.append(sink)
        return env, sink

    yield make
    for e in made:
        e.close()
    for s in sinks:
        s.close()


def restart(env: QStashEnv) -> None:
    env.server.kill()  # already dead in the crash test; harmless otherwise
    env.server.start()
    env.restarted()


def test_kill9_under_publish_load_loses_no_acknowledged_message(crash_env):
    keys = (new_signing_key(), new_signing_key())
    env, sink = crash_env(keys)
    sink.default(Reply(500, "not yet"))
    env.client.queue.upsert("load-q", parallelism=2)
    env.client.url_group.upsert_endpoints("load-grp", [{"url": sink.url("/grp/a")}, {"url": sink.url("/grp/b")}])

    acked: dict[str, str] = {}  # message id -> how it was published
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []

    def load(n: int) -> None:
        c = QStash(env.token, base_url=env.url, retry=False)
        errors = 0
        for i in range(5000):
            if stop.is_set():
                break
            try:
                kind = ("publish", "enqueue", "batch", "group")[(n + i) % 4]
                if kind == "publish":
                    ids = [c.message.publish(url=sink.url(f"/load/{n}"), body=f"{n}-{i}", retries=3).message_id]
                elif kind == "enqueue":
                    ids = [c.message.enqueue(queue="load-q", url=sink.url(f"/q/{n}"), body=f"{n}-{i}").message_id]
                elif kind == "batch":
                    res = c.message.batch(
                        [{"url": sink.url(f"/batch/{n}"), "body": f"{n}-{i}-{j}", "retries": 2} for j in range(3)]
                    )
                    ids = [r.message_id for r in res]
                else:
                    ids = [r.message_id for r in c.message.publish(url_group="load-grp", body=f"{n}-{i}")]
                with lock:
                    for mid in ids:
                        acked[mid] = kind
                errors = 0
            except Exception as e:  # the server died under us: an unacknowledged publish
                errors += 1
                if not stop.is_set():
                    failures.append(repr(e))
                if errors >= 3:
                    break
                time.sleep(0.05)
        c.http._client.close()

    threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(LOAD_THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + LOAD_BUDGET_S
    while time.monotonic() < deadline and len(acked) < MIN_ACKED_BEFORE_KILL:
        time.sleep(0.02)
    assert not failures, f"publishes failed before the kill: {failures[:3]}"
    env.server.kill()  # kill -9 while the threads are still publishing
    stop.set()
    for t in threads:
        t.join(timeout=15)
        assert not t.is_alive(), "a load thread hung"
    with lock:
        acked_now = dict(acked)
    assert len(acked_now) >= 20, f"only {len(acked_now)} publishes acknowledged before the kill"
    # While the sink answered 500 nothing was delivered.
    assert delivered_ids(sink) == set()

    # The receiver is healthy again when the server comes back: attempts that were in flight
    # at the kill are sent again at once, retries when their time comes.
    sink.default(Reply(200, "ok"))
    restart(env)
    want = set(acked_now)

    def settled() -> set[str]:
        dlq = {m.message_id for m in all_dlq(env)}
        return want - delivered_ids(sink) - dlq

    # First retries are due 12 s after each failed attempt, later ones further out; attempts
    # that were in flight at the kill start again at once. Jump until nothing is missing.
    missing = want
    for jump_s in (13, 150, 1_800, 22_100, 86_400):
        env.jump(jump_s)
        try:
            wait_until(lambda: not settled(), timeout=8, what="every acknowledged message delivered or in the DLQ")
            missing = set()
            break
        except AssertionError:
            missing = settled()
    assert not missing, (
        f"{len(missing)} of {len(want)} acknowledged messages neither delivered nor in the DLQ after a kill -9: "
        f"{sorted((acked_now[m], m) for m in missing)[:10]}; events of one: {_events(env, next(iter(missing)))}"
    )
    # Every attempt, before the kill and after the restart, is signed with the configured keys.
    assert env.verify_all(sink) >= len(want)
    # No message was lost from the queue either, and it drained.
    wait_until(lambda: env.client.queue.get("load-q").lag == 0, what="load-q drained")


def test_resources_survive_kill9(crash_env):
    env, sink = crash_env(None)  # signing keys generated by the server, and kept in its data dir
    k0 = env.client.signing_key.get()
    keys = env.client.signing_key.rotate()
    assert keys.current == k0.next
    env.keys = (keys.current, keys.next)

    c = env.client
    c.queue.upsert("dur-q", parallelism=3, paused=True)
    c.url_group.upsert_endpoints("dur-grp", [{"url": sink.url("/g1"), "name": "one"}, {"url": sink.url("/g2")}])
    sid = c.schedule.create(
        destination=sink.url("/cron"),
        cron="* * * * *",
        body="tick",
        headers={"H": "1"},
        retries=2,
        schedule_id="dur-sched",
        label="dur",
    )
    paused_sid = c.schedule.create(destination="dur-grp", cron="0 12 * * *", queue="dur-q")
    c.schedule.pause(paused_sid)
    sink.script("/fail", then=Reply(500, "broken"))
    failed = c.message.publish(url=sink.url("/fail"), body="to the dlq", retries=0, label="dur-dlq")
    [dlq_entry] = wait_until(lambda: c.dlq.list(filter={"message_id": failed.message_id}).messages)
    delayed = c.message.publish(url=sink.url("/later"), body="after restart", delay="1h", deduplication_id="dur-dd")
    c.message.publish(url=sink.url("/fc"), body="0", flow_control={"key": "dur-fk", "parallelism": 2})
    sink.wait("/fc")
    c.flow_control.pause("dur-fk")
    c.flow_control.pin("dur-fk", {"rate": 7, "period": 30})
    waiting = c.message.publish(url=sink.url("/fc"), body="1", flow_control={"key": "dur-fk", "parallelism": 2})
    queued = c.message.enqueue(queue="dur-q", url=sink.url("/queued"), body="in a paused queue")

    before = {
        "queue": c.queue.get("dur-q"),
        "group": c.url_group.get("dur-grp"),
        "sched": c.schedule.get(sid),
        "paused": c.schedule.get(paused_sid),
        "dlq": c.dlq.get(dlq_entry.dlq_id),
        "delayed": c.message.get(delayed.message_id),
        "queued": c.message.get(queued.message_id),
    }

    restart(env)

    assert c.signing_key.get() == keys
    q = c.queue.get("dur-q")
    assert (q.name, q.parallelism, q.paused, q.created_at, q.lag) == ("dur-q", 3, True, before["queue"].created_at, 1)
    g = c.url_group.get("dur-grp")
    assert (g.name, g.created_at, sorted((e.url, e.name) for e in g.endpoints)) == (
        "dur-grp",
        before["group"].created_at,
        sorted((e.url, e.name) for e in before["group"].endpoints),
    )
    s = c.schedule.get(sid)
    b = before["sched"]
    assert (s.cron, s.destination, s.body, s.retries, s.headers, s.label, s.created_at, s.paused) == (
        b.cron, b.destination, b.body, b.retries, b.headers, b.label, b.created_at, False,
    )
    p = c.schedule.get(paused_sid)
    assert (p.paused, p.queue, p.destination) == (True, "dur-q", "dur-grp")
    d = c.dlq.get(dlq_entry.dlq_id)
    bd = before["dlq"]
    assert (d.message_id, d.url, d.body, d.response_status, d.response_body, d.label) == (
        bd.message_id,
        bd.url,
        bd.body,
        500,
        "broken",
        "dur-dlq",
    )
    assert c.message.get(delayed.message_id).not_before == before["delayed"].not_before
    assert c.message.get(queued.message_id).queue == "dur-q"
    fk = c.flow_control.get("dur-fk")
    assert (fk.is_paused, fk.is_pinned_rate, fk.rate_max, fk.rate_period, fk.parallelism_max, fk.wait_list_size) == (
        True, True, 7, 30, 2, 1,
    )
    # The deduplication window survives too.
    again = c.message.publish(url=sink.url("/later"), body="after restart", delay="1h", deduplication_id="dur-dd")
    assert (again.deduplicated, again.message_id) == (True, delayed.message_id)

    # And they still work: the schedule fires, the delayed message goes out, the queue drains.
    env.jump(3_601)
    [cron] = sink.wait("/cron")[:1]
    assert cron.header("Upstash-Schedule-Id") == sid and cron.body == b"tick"
    env.verify(cron)
    [later] = sink.wait("/later")
    assert later.message_id == delayed.message_id and later.body == b"after restart"
    env.verify(later)
    sink.quiet("/queued", 0.3)
    c.queue.resume("dur-q")
    [qd] = sink.wait("/queued")
    assert qd.message_id == queued.message_id
    sink.quiet("/fc", 0.2, already=1)
    c.flow_control.resume("dur-fk")
    assert sink.wait("/fc", count=2)[1].message_id == waiting.message_id
    # The DLQ entry can still be retried.
    sink.script("/fail", then=Reply(200))
    c.http.request(path=f"/v2/dlq/retry/{dlq_entry.dlq_id}", method="POST")
    ok = wait_until(lambda: [r for r in sink.received("/fail") if r.status == 200])
    assert ok[0].body == b"to the dlq"
    assert all_dlq(env) == []
    env.verify_all(sink)


def _events(env: QStashEnv, mid: str) -> list:
    try:
        logs = env.client.log.list(filter={"message_id": mid}).logs
    except Exception as e:  # diagnostics only
        return [repr(e)]
    return [(l.state.value, l.time, l.next_delivery_time, l.error) for l in reversed(logs)]
