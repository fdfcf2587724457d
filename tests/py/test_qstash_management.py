"""QStash management APIs through the `qstash` SDK: queues, URL groups, schedules, the event
log (filters, cursor paging), signing keys (get / rotate, and what receivers see across a
rotation), and the `AsyncQStash` client (reference qstash.md §2.2–§2.5, §2.8, §7)."""

from __future__ import annotations

import asyncio
import json

import pytest
from qstash.errors import QStashError
from qstash.log import LogState
from qstash.message import PublishResponse
from qstash.queue import Queue
from qstash.url_group import Endpoint, UrlGroup

from qstash_support import Reply, all_dlq, qs, sink, states_of, wait_until  # noqa: F401


# --------------------------------------------------------------------------- queues


def test_queue_crud(qs):
    now = qs.now_ms()
    qs.client.queue.upsert("q-one", parallelism=3)
    q = qs.client.queue.get("q-one")
    assert isinstance(q, Queue)
    assert (q.name, q.parallelism, q.lag, q.paused) == ("q-one", 3, 0, False)
    assert abs(q.created_at - now) < 60_000 and q.updated_at >= q.created_at
    qs.client.queue.upsert("q-one", parallelism=1, paused=True)  # upsert updates
    q2 = qs.client.queue.get("q-one")
    assert (q2.parallelism, q2.paused, q2.created_at) == (1, True, q.created_at)
    qs.client.queue.resume("q-one")
    assert qs.client.queue.get("q-one").paused is False
    qs.client.queue.pause("q-one")
    qs.client.queue.pause("q-one")  # idempotent
    assert qs.client.queue.get("q-one").paused is True
    qs.client.queue.upsert("q-two")
    assert qs.client.queue.get("q-two").parallelism == 1
    assert {x.name for x in qs.client.queue.list()} == {"q-one", "q-two"}
    qs.client.queue.delete("q-one")
    with pytest.raises(QStashError, match="404"):
        qs.client.queue.get("q-one")
    assert [x.name for x in qs.client.queue.list()] == ["q-two"]
    with pytest.raises(QStashError, match="400"):
        qs.client.queue.upsert("bad name!")


# --------------------------------------------------------------------------- URL groups


def test_url_group_crud(qs, sink):
    a, b, c = sink.url("/ga"), sink.url("/gb"), sink.url("/gc")
    qs.client.url_group.upsert_endpoints("grp", [{"url": a, "name": "alpha"}, {"url": b}])
    g = qs.client.url_group.get("grp")
    assert isinstance(g, UrlGroup) and g.name == "grp"
    assert sorted(g.endpoints, key=lambda e: e.url) == [Endpoint(url=a, name="alpha"), Endpoint(url=b, name=None)]
    assert g.updated_at >= g.created_at > 0
    qs.client.url_group.upsert_endpoints("grp", [{"url": c, "name": "gamma"}])
    assert {e.url for e in qs.client.url_group.get("grp").endpoints} == {a, b, c}
    qs.client.url_group.remove_endpoints("grp", [{"name": "alpha"}, {"url": b}])
    assert qs.client.url_group.get("grp").endpoints == [Endpoint(url=c, name="gamma")]
    qs.client.url_group.upsert_endpoints("other", [{"url": a}])
    assert {x.name for x in qs.client.url_group.list()} == {"grp", "other"}
    # Removing the last endpoint deletes the group.
    qs.client.url_group.remove_endpoints("other", [{"url": a}])
    with pytest.raises(QStashError, match="404"):
        qs.client.url_group.get("other")
    qs.client.url_group.delete("grp")
    with pytest.raises(QStashError, match="404"):
        qs.client.url_group.get("grp")
    assert qs.client.url_group.list() == []
    with pytest.raises(QStashError):
        qs.client.url_group.upsert_endpoints("grp", [{"name": "no-url"}])  # the SDK refuses it


# --------------------------------------------------------------------------- schedules


def test_schedule_crud_and_every_option(qs, sink):
    url = sink.url("/sched")
    sid = qs.client.schedule.create(
        destination=url,
        cron="*/10 * * * *",
        body="sbody",
        content_type="text/plain",
        method="PUT",
        headers={"Test-Header": "t"},
        callback_headers={"Forward-Cbh": "1"},
        failure_callback_headers={"Forward-Fch": "2"},
        retries=4,
        retry_delay="3000",
        callback=sink.url("/sched-cb"),
        failure_callback=sink.url("/sched-fcb"),
        delay="30s",
        timeout=45,
        flow_control={"key": "sched-fk", "parallelism": 2, "rate": 5, "period": 30},
        label="sched-l",
        redact={"header": ["Test-Header"]},
    )
    s = qs.client.schedule.get(sid)
    assert s.schedule_id == sid and s.destination == url and s.cron == "*/10 * * * *"
    assert s.body == "sbody" and s.method == "PUT"
    assert s.headers["Content-Type"] == ["text/plain"]
    assert "Test-Header" in s.headers
    assert not any(k.lower().startswith("upstash-") for k in s.headers)
    assert s.retries == 4 and s.retry_delay_expression == "3000"
    assert s.callback == sink.url("/sched-cb") and s.failure_callback == sink.url("/sched-fcb")
    assert s.delay == 30 and s.timeout == 45
    assert s.flow_control.key == "sched-fk"
    assert (s.flow_control.parallelism, s.flow_control.rate, s.flow_control.period) == (2, 5, 30)
    assert s.label == "sched-l"
    assert s.caller_ip == "127.0.0.1" and s.paused is False
    assert s.created_at > 0 and s.next_schedule_time and s.next_schedule_time % 600_000 == 0
    sid2 = qs.client.schedule.create_json(destination=url, cron="0 0 * * *", body={"k": 1})
    s2 = qs.client.schedule.get(sid2)
    assert json.loads(s2.body) == {"k": 1} and s2.retries == 3 and s2.method == "POST"
    assert {x.schedule_id for x in qs.client.schedule.list()} == {sid, sid2}
    qs.client.schedule.delete(sid)
    with pytest.raises(QStashError, match="404"):
        qs.client.schedule.get(sid)
    assert [x.schedule_id for x in qs.client.schedule.list()] == [sid2]
    with pytest.raises(QStashError, match="400"):
        qs.client.schedule.create(destination=url, cron="not a cron")


# --------------------------------------------------------------------------- events


def test_event_log_filters_and_cursor_paging(qs, sink):
    sink.script("/ev-bad", then=Reply(500))
    qs.client.queue.upsert("ev-q")
    a = qs.client.message.publish(url=sink.url("/ev-a"), body="a", label="ev-la")
    b = qs.client.message.enqueue(queue="ev-q", url=sink.url("/ev-b"), body="b")
    c = qs.client.message.publish(url=sink.url("/ev-bad"), body="c", retries=0)
    qs.client.url_group.upsert_endpoints("ev-grp", [{"url": sink.url("/ev-g")}])
    [g] = qs.client.message.publish(url_group="ev-grp", body="g")
    for mid in (a.message_id, b.message_id, g.message_id):
        wait_until(lambda: "DELIVERED" in states_of(qs, mid), what=f"{mid} delivered")
    wait_until(lambda: "FAILED" in states_of(qs, c.message_id))

    logs = qs.client.log.list().logs
    assert logs[0].time >= logs[-1].time  # newest first
    assert {l.message_id for l in logs} >= {a.message_id, b.message_id, c.message_id, g.message_id}
    by = lambda **f: qs.client.log.list(filter=f).logs  # noqa: E731
    assert {l.message_id for l in by(message_id=a.message_id)} == {a.message_id}
    assert {l.message_id for l in by(message_ids=[a.message_id, c.message_id])} == {a.message_id, c.message_id}
    assert {l.message_id for l in by(state=LogState.FAILED)} == {c.message_id}
    assert {l.state for l in by(state=LogState.DELIVERED)} == {LogState.DELIVERED}
    in_progress = {l.state for l in by(state=LogState.IN_PROGRESS)}
    assert LogState.ERROR in in_progress and in_progress <= {LogState.ACTIVE, LogState.RETRY, LogState.ERROR}
    assert {l.message_id for l in by(url=sink.url("/ev-b"))} == {b.message_id}
    ug = by(url_group="ev-grp")
    assert {l.message_id for l in ug} == {g.message_id} and all(l.url_group == "ev-grp" for l in ug)
    assert {l.message_id for l in by(queue="ev-q")} == {b.message_id}
    assert {l.message_id for l in by(label="ev-la")} == {a.message_id}
    err = [l for l in by(message_id=c.message_id) if l.state == LogState.ERROR]
    assert err and err[0].response_status == 500
    t = [l.time for l in by(message_id=a.message_id)]
    assert {l.message_id for l in by(message_id=a.message_id, from_time=min(t), to_time=max(t))} == {a.message_id}
    assert by(message_id=a.message_id, to_time=min(t) - 1) == []
    assert by(message_id=a.message_id, from_time=max(t) + 1) == []
    # Cursor paging: count=3 pages through everything exactly once, and the last page has no cursor.
    total = len(qs.client.log.list(count=100).logs)
    assert total < 100
    seen, cursor, pages = [], None, 0
    while True:
        page = qs.client.log.list(cursor=cursor, count=3)
        pages += 1
        assert 0 < len(page.logs) <= 3 or (page.logs == [] and page.cursor is None)
        seen += [(l.message_id, l.state, l.time) for l in page.logs]
        cursor = page.cursor
        if cursor is None:
            break
        assert pages < 100
    assert len(seen) == total and len(set(seen)) == total
    assert pages == -(-total // 3) or pages == -(-total // 3) + 1


# --------------------------------------------------------------------------- signing keys


def test_signing_keys_get_and_rotate(qs, sink):
    k = qs.client.signing_key.get()
    assert (k.current, k.next) == qs.keys
    url = sink.url("/rot")
    qs.client.message.publish(url=url, body="before")
    [d0] = sink.wait("/rot")
    qs.verify(d0, url=url)
    new = qs.client.signing_key.rotate()
    assert new.current == k.next and new.next not in (k.current, k.next) and new.next.startswith("sig_")
    assert qs.client.signing_key.get() == new
    qs.client.message.publish(url=url, body="after")
    d1 = sink.wait("/rot", count=2)[1]
    # Signed with the new current key, which is the old next: receivers configured with the
    # old pair keep working (they fall back to `next`), and so do ones with the new pair.
    qs.verify(d1, url=url, keys=(k.current, k.next))
    qs.verify(d1, url=url, keys=(new.current, new.next))
    from qstash.errors import SignatureError

    with pytest.raises(SignatureError):
        qs.verify(d1, url=url, keys=(k.current, new.next))


# --------------------------------------------------------------------------- AsyncQStash


def test_async_client(qs, sink):
    url = sink.url("/async")

    async def main():
        a = qs.async_client()
        keys = await a.signing_key.get()
        assert (keys.current, keys.next) == qs.keys
        r = await a.message.publish_json(url=url, body={"async": True}, headers={"H": "1"})
        assert isinstance(r, PublishResponse)
        await a.queue.upsert("aq", parallelism=2)
        assert [q.name for q in await a.queue.list()] == ["aq"]
        e = await a.message.enqueue(queue="aq", url=url, body="queued")
        delayed = await a.message.publish(url=url, body="later", delay=600)
        m = await a.message.get(delayed.message_id)
        assert m.body == "later"
        await a.message.cancel(delayed.message_id)
        sid = await a.schedule.create(destination=url, cron="0 0 1 1 *")
        assert (await a.schedule.get(sid)).cron == "0 0 1 1 *"
        await a.schedule.delete(sid)
        await a.url_group.upsert_endpoints("ag", [{"url": url}])
        assert (await a.url_group.get("ag")).endpoints[0].url == url
        g = await a.flow_control.get_global_parallelism()
        assert g.parallelism_max > 0
        dl = await a.dlq.list()
        assert dl.messages == []
        return r.message_id, e.message_id

    mid, eid = asyncio.run(main())
    got = sink.wait("/async", count=2)
    assert {d.message_id for d in got} == {mid, eid}
    for d in got:
        qs.verify(d, url=url)

    async def logs():
        a = qs.async_client()
        return (await a.log.list(filter={"message_id": mid})).logs

    wait_until(lambda: any(l.state == LogState.DELIVERED for l in asyncio.run(logs())))


def test_url_group_default_headers_via_patch(qs, sink):
    sink.script("/tph", then=Reply(500))
    qs.client.url_group.upsert_endpoints("tp", [{"url": sink.url("/tph")}])
    qs.client.http.request(
        path="/v2/topics/tp",
        method="PATCH",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"headers": {"Upstash-Retries": "0", "Upstash-Forward-Default": "yes"}}),
        parse_response=False,
    )
    [r] = qs.client.message.publish(url_group="tp", body="x")
    [d] = sink.wait("/tph", answered=True)
    assert d.header("Default") == "yes"
    # Retries 0 from the group's defaults: straight to the DLQ after the one failed attempt.
    wait_until(lambda: all_dlq(qs, url_group="tp"), timeout=5, what="DLQ entry")
