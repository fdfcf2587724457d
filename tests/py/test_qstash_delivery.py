"""QStash delivery semantics through the `qstash` SDK, on the engine clock (DEBUG JUMP-CLOCK):
retries with backoff, Retry-After, non-retryable 489, callbacks, failure callbacks, the DLQ
(list / get / delete / delete_many, retry), FIFO queues, cron schedules, flow control and
timeouts (reference qstash.md §2.2, §2.3, §2.6, §2.7, §5)."""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
import time
import zoneinfo

import httpx
import pytest
from qstash.errors import QStashError
from qstash.schedule import ScheduleState

from qstash_support import (  # noqa: F401
    Reply,
    all_dlq,
    qs,
    sink,
    states_of,
    wait_until,
)


def logs_of(qs, mid, state=None):
    logs = qs.client.log.list(filter={"message_id": mid}).logs
    return [l for l in logs if state is None or l.state.value == state]


def dlq_of(qs, mid):
    return wait_until(lambda: qs.client.dlq.list(filter={"message_id": mid}).messages, what=f"DLQ entry of {mid}")


# --------------------------------------------------------------------------- retries


def test_retries_with_default_backoff_then_success(qs, sink):
    url = sink.url("/flaky")
    sink.script("/flaky", Reply(500, "boom"), Reply(503, "busy"), then=Reply(200, "fine"))
    r = qs.client.message.publish(url=url, body="try", retries=3)
    [a1] = sink.wait("/flaky", answered=True)
    assert a1.header("Upstash-Retried") == "0"
    [retry] = wait_until(lambda: logs_of(qs, r.message_id, "RETRY"), what="RETRY event")
    # Default backoff: e^(2.5*1) s = 12.18 s for the first retry (§5.2).
    assert 11_500 <= retry.next_delivery_time - retry.time <= 13_000, retry
    [err] = logs_of(qs, r.message_id, "ERROR")
    assert err.response_status == 500 and err.response_body == "boom"
    sink.quiet("/flaky", 0.8, already=1)
    qs.jump(13)
    a2 = sink.wait("/flaky", count=2, answered=True)[1]
    assert a2.header("Upstash-Retried") == "1"
    # Second retry: e^5 s = 148.4 s.
    qs.jump(100)
    sink.quiet("/flaky", 0.6, already=2)
    qs.jump(50)
    a3 = sink.wait("/flaky", count=3, answered=True)[2]
    assert a3.header("Upstash-Retried") == "2" and a3.status == 200
    for a in (a1, a2, a3):
        assert a.message_id == r.message_id and a.body == b"try"
        qs.verify(a, url=url)
    st = wait_until(lambda: "DELIVERED" in states_of(qs, r.message_id) and states_of(qs, r.message_id))
    assert st == ["CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "DELIVERED"]
    sink.quiet("/flaky", 0.3, already=3)


def test_retry_delay_expression_overrides_backoff(qs, sink):
    url = sink.url("/rdelay")
    sink.script("/rdelay", Reply(500), then=Reply(200))
    r = qs.client.message.publish(url=url, body="x", retries=2, retry_delay="60000 * (1 + retried)")
    sink.wait("/rdelay", answered=True)
    [retry] = wait_until(lambda: logs_of(qs, r.message_id, "RETRY"))
    assert 59_000 <= retry.next_delivery_time - retry.time <= 61_000
    assert retry.retry_delay_expression == "60000 * (1 + retried)"
    qs.jump(15)  # the default backoff would have retried by now
    sink.quiet("/rdelay", 0.5, already=1)
    qs.jump(46)
    d = sink.wait("/rdelay", count=2)[1]
    assert d.header("Upstash-Retried") == "1"
    qs.verify(d, url=url)


def test_retry_after_header_sets_the_next_attempt(qs, sink):
    date = email.utils.formatdate(qs.now_ms() / 1000 + 50, usegmt=True)
    cases = {
        "/ra-s": ({"Retry-After": "30"}, 30),
        "/ra-go": ({"Retry-After": "1m5s"}, 65),  # a Go duration
        "/ra-date": ({"Retry-After": date}, 50),  # an RFC 1123 date
        "/ra-xrl": ({"X-RateLimit-Reset": "40"}, 40),
        "/ra-xrlr": ({"X-RateLimit-Reset-Requests": "45"}, 45),
        "/ra-long": ({"Retry-After": "100000"}, 12.18),  # over a day: the default backoff
    }
    ids = {}
    for path, (headers, _) in cases.items():
        sink.script(path, Reply(429, "slow down", headers=headers), then=Reply(200))
        ids[path] = qs.client.message.publish(url=sink.url(path), body="x", retries=2).message_id
    for path, (_, want) in cases.items():
        [retry] = wait_until(lambda: logs_of(qs, ids[path], "RETRY"), what=f"RETRY of {path}")
        got = (retry.next_delivery_time - retry.time) / 1000
        assert abs(got - want) <= 1.5, f"{path}: next attempt in {got}s, want {want}s"
    qs.jump(15)
    sink.quiet("/ra-s", 0.5, already=1)
    assert len(sink.received("/ra-long")) == 2
    qs.jump(16)
    sink.wait("/ra-s", count=2)


def test_non_retryable_489_goes_straight_to_the_dlq(qs, sink):
    url = sink.url("/nonretry")
    sink.script("/nonretry", then=Reply(489, "give up", headers={"Upstash-NonRetryable-Error": "true"}))
    r = qs.client.message.publish(url=url, body="x", retries=3)
    [e] = dlq_of(qs, r.message_id)
    assert e.response_status == 489 and e.response_body == "give up"
    assert len(sink.received("/nonretry")) == 1
    assert "FAILED" in states_of(qs, r.message_id)


# --------------------------------------------------------------------------- callbacks and the DLQ


def test_callback_after_a_successful_attempt(qs, sink):
    url = sink.url("/ok")
    sink.script("/ok", then=Reply(201, "created!", headers={"X-Resp": "1"}))
    r = qs.client.message.publish(
        url=url, body="src", headers={"Src-H": "s"}, callback=sink.url("/ok-cb"), callback_headers={"Forward-Cb-H": "c"}
    )
    [cb] = sink.wait("/ok-cb")
    qs.verify(cb, url=sink.url("/ok-cb"))
    assert cb.header("Cb-H") == "c"
    p = cb.json()
    assert p["status"] == 201
    assert base64.b64decode(p["body"]) == b"created!"
    assert p["header"]["X-Resp"] == ["1"]
    assert p["sourceMessageId"] == r.message_id
    assert p["url"] == url and p["method"] == "POST"
    assert base64.b64decode(p["sourceBody"]) == b"src"
    assert p["sourceHeader"]["Src-H"] == ["s"]
    assert p["retried"] == 0 and p["maxRetries"] == 3
    assert cb.message_id and cb.message_id != r.message_id


def test_permanent_failure_dlq_failure_callback_then_dlq_retry(qs, sink):
    url = sink.url("/perm")
    sink.script("/perm", then=Reply(500, "nope"))
    r = qs.client.message.publish(
        url=url,
        body="important",
        headers={"Source-H": "s"},
        retries=1,
        callback=sink.url("/perm-cb"),
        failure_callback=sink.url("/perm-fcb"),
        failure_callback_headers={"Forward-Why": "dlq"},
        label="perm",
    )
    sink.wait("/perm", answered=True)
    wait_until(lambda: logs_of(qs, r.message_id, "RETRY"))
    qs.jump(13)
    sink.wait("/perm", count=2, answered=True)
    [e] = dlq_of(qs, r.message_id)
    assert e.dlq_id and e.message_id == r.message_id and e.url == url
    assert e.response_status == 500 and e.response_body == "nope"
    assert e.body == "important" and e.headers["Source-H"] == ["s"]
    assert e.max_retries == 1 and e.label == "perm"
    assert e.failure_callback == sink.url("/perm-fcb")
    g = qs.client.dlq.get(e.dlq_id)
    assert (g.dlq_id, g.message_id, g.response_status, g.body) == (e.dlq_id, r.message_id, 500, "important")
    st = states_of(qs, r.message_id)
    assert st[-1] == "FAILED" and st.count("ERROR") == 2

    [f] = sink.wait("/perm-fcb")
    qs.verify(f, url=sink.url("/perm-fcb"))
    assert f.header("Why") == "dlq"
    fp = f.json()
    assert fp["status"] == 500 and base64.b64decode(fp["body"]) == b"nope"
    assert fp["sourceMessageId"] == r.message_id and fp["dlqId"] == e.dlq_id
    assert base64.b64decode(fp["sourceBody"]) == b"important"
    assert fp["url"] == url and fp["maxRetries"] == 1
    cbs = sink.wait("/perm-cb", count=2)
    assert sorted(c.json()["retried"] for c in cbs) == [0, 1]
    for c in cbs:
        assert c.json()["status"] == 500
        qs.verify(c, url=sink.url("/perm-cb"))

    # Retrying from the DLQ (the Python SDK has no dlq.retry: the raw endpoint, through its HTTP client).
    sink.script("/perm", then=Reply(200, "finally"))
    res = qs.client.http.request(path=f"/v2/dlq/retry/{e.dlq_id}", method="POST")
    new_id = res["messageId"]
    d = wait_until(lambda: [x for x in sink.received("/perm") if x.status == 200], what="DLQ retry delivered")[0]
    assert d.message_id == new_id and d.body == b"important" and d.header("Source-H") == "s"
    qs.verify(d, url=url)
    with pytest.raises(QStashError):
        qs.client.dlq.get(e.dlq_id)
    assert qs.client.dlq.list(filter={"message_id": r.message_id}).messages == []
    with pytest.raises(QStashError):
        qs.client.http.request(path=f"/v2/dlq/retry/{e.dlq_id}", method="POST")


def test_dlq_list_filters_paging_delete_and_bulk(qs, sink):
    sink.script("/d1", then=Reply(500, "e1"))
    sink.script("/d2", then=Reply(404, "e2"))
    ids = [qs.client.message.publish(url=sink.url("/d1"), body=f"a{i}", retries=0, label="dl-a").message_id for i in range(3)]
    ids += [qs.client.message.publish(url=sink.url("/d2"), body=f"b{i}", retries=0, label="dl-b").message_id for i in range(2)]
    entries = wait_until(lambda: len(all_dlq(qs)) == 5 and all_dlq(qs), what="5 DLQ entries")
    assert {e.message_id for e in entries} == set(ids)
    assert {e.message_id for e in all_dlq(qs, url=sink.url("/d2"))} == set(ids[3:])
    assert {e.message_id for e in all_dlq(qs, response_status=500)} == set(ids[:3])
    assert {e.message_id for e in all_dlq(qs, label="dl-a")} == set(ids[:3])
    assert {e.message_id for e in all_dlq(qs, caller_ip="127.0.0.1")} == set(ids)
    now = qs.now_ms()
    assert len(all_dlq(qs, from_time=now - 60_000, to_time=now + 60_000)) == 5
    assert all_dlq(qs, to_time=now - 60_000) == []
    # Paging with count=2: 3 pages, then no cursor.
    seen, cursor, pages = [], None, 0
    while True:
        page = qs.client.dlq.list(cursor=cursor, count=2)
        pages += 1
        assert len(page.messages) <= 2
        seen += [m.dlq_id for m in page.messages]
        cursor = page.cursor
        if not cursor:
            break
        assert pages < 10
    assert pages == 3 and len(set(seen)) == 5
    by_mid = {e.message_id: e.dlq_id for e in entries}
    qs.client.dlq.delete(by_mid[ids[0]])
    with pytest.raises(QStashError):
        qs.client.dlq.delete(by_mid[ids[0]])  # 404 once gone
    assert qs.client.dlq.delete_many([by_mid[ids[1]], by_mid[ids[2]], "0-0"]) == 2
    assert {e.message_id for e in all_dlq(qs)} == set(ids[3:])
    # Bulk retry through the raw endpoint: the ids in the query.
    sink.script("/d2", then=Reply(200))
    raw = httpx.post(
        f"{qs.url}/v2/dlq/retry",
        params={"dlqIds": [by_mid[ids[3]], by_mid[ids[4]]]},
        headers={"Authorization": f"Bearer {qs.token}"},
    )
    assert raw.status_code == 201, raw.text
    res = raw.json()
    assert len(res["responses"]) == 2 and all(x["messageId"].startswith("msg_") for x in res["responses"])
    assert res["cursor"] == "" or res["cursor"] is None
    sink.wait("/d2", count=4, pred=lambda x: True)
    wait_until(lambda: all_dlq(qs) == [], what="DLQ empty after bulk retry")


def test_dlq_retry_of_a_url_group_message_keeps_the_group(qs, sink):
    sink.script("/ugr", Reply(500), then=Reply(200))
    qs.client.url_group.upsert_endpoints("ugr", [{"url": sink.url("/ugr"), "name": "e1"}])
    [r] = qs.client.message.publish(url_group="ugr", body="x", retries=0)
    [e] = dlq_of(qs, r.message_id)
    assert (e.url_group, e.endpoint, e.url) == ("ugr", "e1", sink.url("/ugr"))
    new_id = qs.client.http.request(path=f"/v2/dlq/retry/{e.dlq_id}", method="POST")["messageId"]
    d = sink.wait("/ugr", count=2)[1]
    assert d.message_id == new_id
    logs = wait_until(lambda: logs_of(qs, new_id, "DELIVERED"))
    assert (logs[0].url_group, logs[0].endpoint) == ("ugr", "e1")
    assert d.header("Upstash-Topic-Name") == "ugr"


# --------------------------------------------------------------------------- queues


def test_fifo_queue_parallelism_one_delivers_in_order_after_retries(qs, sink):
    qs.client.queue.upsert("fifo", parallelism=1)
    url = sink.url("/fifo")
    sink.script("/fifo", Reply(500, "first try fails"), then=Reply(200, hold=0.1))
    ids = [qs.client.message.enqueue(queue="fifo", url=url, body=str(i)).message_id for i in range(5)]
    sink.wait("/fifo", answered=True)
    # The head of the queue is waiting for its retry: nothing behind it may go first.
    sink.quiet("/fifo", 0.8, already=1)
    assert qs.client.queue.get("fifo").lag >= 4
    qs.jump(13)
    got = sink.wait("/fifo", count=6, answered=True, timeout=15)
    assert [d.body.decode() for d in got] == ["0", "0", "1", "2", "3", "4"]
    assert [d.message_id for d in got[1:]] == ids
    assert sink.max_concurrent("/fifo") == 1
    for d in got:
        qs.verify(d, url=url)
    wait_until(lambda: qs.client.queue.get("fifo").lag == 0, what="queue drained")


def test_queue_parallelism_two_and_pause(qs, sink):
    qs.client.queue.upsert("par2", parallelism=2)
    url = sink.url("/par2")
    sink.script("/par2", then=Reply(200, hold=0.4))
    for i in range(6):
        qs.client.message.enqueue_json(queue="par2", url=url, body={"i": i})
    got = sink.wait("/par2", count=6, answered=True, timeout=15)
    assert sink.max_concurrent("/par2") == 2
    assert {json.loads(d.body)["i"] for d in got} == set(range(6))
    qs.client.queue.pause("par2")
    assert qs.client.queue.get("par2").paused is True
    qs.client.message.enqueue(queue="par2", url=url, body="while paused")  # a paused queue still accepts
    sink.quiet("/par2", 0.6, already=6)
    assert qs.client.queue.get("par2").lag == 1
    qs.client.queue.resume("par2")
    sink.wait("/par2", count=7)


# --------------------------------------------------------------------------- schedules


def next_minute(ms: int) -> int:
    return (ms // 60_000 + 1) * 60_000


def test_cron_schedule_fires_on_a_clock_jump(qs, sink):
    url = sink.url("/cron")
    now = qs.now_ms()
    sid = qs.client.schedule.create(destination=url, cron="* * * * *", body="tick", headers={"H": "1"}, retries=0)
    assert sid.startswith("scd_")
    s = qs.client.schedule.get(sid)
    assert s.next_schedule_time == next_minute(now) or s.next_schedule_time == next_minute(qs.now_ms())
    first = s.next_schedule_time
    if first - qs.now_ms() > 1500:
        sink.quiet("/cron", 0.3)
    qs.jump((first - qs.now_ms()) / 1000 + 1)
    [d] = sink.wait("/cron")
    assert d.header("Upstash-Schedule-Id") == sid
    assert d.body == b"tick" and d.header("H") == "1"
    qs.verify(d, url=url)
    s2 = wait_until(lambda: (x := qs.client.schedule.get(sid)).last_schedule_states and x)
    assert s2.last_schedule_time is not None and first <= s2.last_schedule_time < first + 60_000
    assert s2.next_schedule_time == first + 60_000
    assert d.message_id in s2.last_schedule_states
    assert s2.last_schedule_states[d.message_id] in (ScheduleState.SUCCESS, ScheduleState.IN_PROGRESS)
    logs = qs.client.log.list(filter={"schedule_id": sid}).logs
    assert logs and all(l.schedule_id == sid for l in logs)
    qs.jump(60)
    sink.wait("/cron", count=2)


def test_cron_tz_schedule(qs, sink):
    url = sink.url("/tz")
    sid = qs.client.schedule.create(destination=url, cron="CRON_TZ=America/New_York 0 9 * * *", body="nine")
    s = qs.client.schedule.get(sid)
    assert s.cron == "CRON_TZ=America/New_York 0 9 * * *"
    tz = zoneinfo.ZoneInfo("America/New_York")
    now = datetime.datetime.fromtimestamp(qs.now_ms() / 1000, tz)
    nxt = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if nxt <= now:
        nxt = (now + datetime.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    assert s.next_schedule_time == int(nxt.timestamp() * 1000)
    qs.jump((s.next_schedule_time - qs.now_ms()) / 1000 + 1)
    [d] = sink.wait("/tz")
    assert d.header("Upstash-Schedule-Id") == sid and d.body == b"nine"


def test_schedule_pause_resume_and_upsert_by_id(qs, sink):
    url = sink.url("/sp")
    sid = qs.client.schedule.create(destination=url, cron="* * * * *", schedule_id="my-sched.1", body="v1", retries=1)
    assert sid == "my-sched.1"
    qs.client.schedule.pause(sid)
    assert qs.client.schedule.get(sid).paused is True
    qs.jump(61)
    sink.quiet("/sp", 0.6)
    qs.client.schedule.resume(sid)
    assert qs.client.schedule.get(sid).paused is False
    qs.jump(61)
    [d] = sink.wait("/sp")
    assert d.body == b"v1"
    # Upsert by id replaces every field: the body omitted now reads back as absent.
    again = qs.client.schedule.create(destination=url, cron="*/5 * * * *", schedule_id="my-sched.1", method="PUT")
    assert again == "my-sched.1"
    s = qs.client.schedule.get(sid)
    assert s.cron == "*/5 * * * *" and s.body is None and s.method == "PUT" and s.retries == 3
    assert [x.schedule_id for x in qs.client.schedule.list()].count("my-sched.1") == 1
    with pytest.raises(QStashError):
        qs.client.schedule.create(destination=url, cron="* * * * *", schedule_id="bad id!")


def test_schedule_into_a_queue_and_to_a_url_group(qs, sink):
    qs.client.queue.upsert("sched-q", parallelism=1)
    url = sink.url("/sq")
    sid = qs.client.schedule.create_json(destination=url, cron="* * * * *", body={"s": 1}, queue="sched-q")
    s = qs.client.schedule.get(sid)
    assert s.queue == "sched-q"
    qs.client.url_group.upsert_endpoints("sched-grp", [{"url": sink.url("/sg1")}, {"url": sink.url("/sg2")}])
    gid = qs.client.schedule.create(destination="sched-grp", cron="* * * * *", body="g")
    assert qs.client.schedule.get(gid).destination == "sched-grp"
    qs.jump(61)
    [d] = sink.wait("/sq")
    assert json.loads(d.body) == {"s": 1} and d.header("Content-Type") == "application/json"
    assert d.header("Upstash-Schedule-Id") == sid
    logs = wait_until(lambda: qs.client.log.list(filter={"queue": "sched-q"}).logs)
    assert all(l.queue == "sched-q" and l.schedule_id == sid for l in logs)
    for p in ("/sg1", "/sg2"):
        [g] = sink.wait(p)
        assert g.header("Upstash-Schedule-Id") == gid and g.header("Upstash-Topic-Name") == "sched-grp"
        qs.verify(g, url=sink.url(p))


# --------------------------------------------------------------------------- flow control


def test_flow_control_caps_concurrency(qs, sink):
    url = sink.url("/fcp")
    sink.script("/fcp", then=Reply(200, hold=0.4))
    for i in range(6):
        qs.client.message.publish(url=url, body=str(i), flow_control={"key": "fc-par", "parallelism": 2})
    info = wait_until(lambda: (x := qs.client.flow_control.get("fc-par")).parallelism_count and x)
    assert info.key == "fc-par" and info.parallelism_max == 2
    assert info.parallelism_count <= 2
    got = sink.wait("/fcp", count=6, answered=True, timeout=15)
    assert sink.max_concurrent("/fcp") == 2
    assert sorted(d.body for d in got) == [str(i).encode() for i in range(6)]
    keys = qs.client.http.request(path="/v2/flowControl", method="GET")
    assert "fc-par" in [k["flowControlKey"] for k in keys]
    g = qs.client.flow_control.get_global_parallelism()
    assert g.parallelism_max > 0 and g.parallelism_count >= 0


def test_flow_control_rate_and_reset_rate(qs, sink):
    url = sink.url("/fcr")
    for i in range(5):
        qs.client.message.publish(url=url, body=str(i), flow_control={"key": "fc-rate", "rate": 2, "period": "1m"})
    sink.wait("/fcr", count=2)
    sink.quiet("/fcr", 0.6, already=2)
    info = qs.client.flow_control.get("fc-rate")
    assert (info.rate_max, info.rate_period, info.rate_count) == (2, 60, 2)
    assert info.wait_list_size == 3
    qs.client.flow_control.reset_rate("fc-rate")
    sink.wait("/fcr", count=4)
    sink.quiet("/fcr", 0.4, already=4)
    qs.jump(61)
    sink.wait("/fcr", count=5)


def test_flow_control_pause_resume(qs, sink):
    url = sink.url("/fcz")
    qs.client.message.publish(url=url, body="0", flow_control={"key": "fc-pause", "parallelism": 5})
    sink.wait("/fcz")
    qs.client.flow_control.pause("fc-pause")
    assert qs.client.flow_control.get("fc-pause").is_paused is True
    for i in range(2):
        qs.client.message.publish(url=url, body=str(i + 1), flow_control={"key": "fc-pause", "parallelism": 5})
    sink.quiet("/fcz", 0.6, already=1)
    assert qs.client.flow_control.get("fc-pause").wait_list_size == 2
    qs.client.flow_control.resume("fc-pause")
    assert qs.client.flow_control.get("fc-pause").is_paused is False
    sink.wait("/fcz", count=3)


def test_flow_control_pin_unpin(qs, sink):
    url = sink.url("/fcpin")
    for i in range(2):
        qs.client.message.publish(url=url, body=str(i), flow_control={"key": "fc-pin", "parallelism": 1, "rate": 5, "period": 100})
    sink.wait("/fcpin", count=2, answered=True)
    assert qs.client.flow_control.get("fc-pin").rate_count == 2
    qs.client.flow_control.pin("fc-pin", {"parallelism": 3, "rate": 20, "period": 120})
    info = qs.client.flow_control.get("fc-pin")
    assert (info.parallelism_max, info.rate_max, info.rate_period) == (3, 20, 120)
    assert info.is_pinned_parallelism and info.is_pinned_rate
    assert info.rate_count == 0  # pinning resets the rate count
    # While pinned, messages' own settings are ignored.
    qs.client.message.publish(url=url, body="y", flow_control={"key": "fc-pin", "parallelism": 1, "rate": 1})
    sink.wait("/fcpin", count=3)
    info = qs.client.flow_control.get("fc-pin")
    assert (info.parallelism_max, info.rate_max, info.rate_period) == (3, 20, 120)
    qs.client.flow_control.unpin("fc-pin", {"parallelism": True, "rate": True})
    info = qs.client.flow_control.get("fc-pin")
    assert not info.is_pinned_parallelism and not info.is_pinned_rate
    # The last config stays until a message brings a new one.
    assert (info.parallelism_max, info.rate_max) == (3, 20)
    qs.client.message.publish(url=url, body="z", flow_control={"key": "fc-pin", "parallelism": 2, "rate": 7, "period": 30})
    sink.wait("/fcpin", count=4, answered=True)
    info = wait_until(lambda: (x := qs.client.flow_control.get("fc-pin")).parallelism_max == 2 and x)
    assert (info.rate_max, info.rate_period) == (7, 30)
    # reset_rate: the count is cleared and the period restarts now (unix seconds).
    qs.jump(10)
    qs.client.flow_control.reset_rate("fc-pin")
    info = qs.client.flow_control.get("fc-pin")
    assert info.rate_count == 0 and abs(info.rate_period_start - qs.now_ms() // 1000) <= 2
    with pytest.raises(QStashError):
        qs.client.flow_control.get("fc-never-seen")


# --------------------------------------------------------------------------- timeouts


def test_hanging_destination_is_cut_off_by_timeout(qs, sink):
    url = sink.url("/hang")
    sink.script("/hang", then=Reply(200, hold=20))
    t0 = time.monotonic()
    r = qs.client.message.publish(url=url, body="x", retries=0, timeout=1)
    [e] = dlq_of(qs, r.message_id)
    took = time.monotonic() - t0
    assert took < 5, f"the 1 s timeout took {took:.1f}s to act"
    assert e.response_status == 0
    [err] = logs_of(qs, r.message_id, "ERROR")
    assert err.error and "timeout" in err.error.lower()
    assert logs_of(qs, r.message_id, "FAILED")
    assert sink.received("/hang")[0].status is None  # still held when QStash gave up


def test_an_endless_response_body_is_read_only_up_to_a_bound(qs, sink):
    """A destination that answers 200 and then streams without end: the attempt counts as
    delivered (the status decides), stashd stops reading after its bound (1 MiB), and the
    callback carries at most that much of the body."""
    import http.server
    import threading

    sent = {"bytes": 0}
    stop = threading.Event()

    class Endless(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            chunk = b"z" * 65536
            try:
                # At most 64 MiB, so the test ends by itself even if nothing stops reading.
                while not stop.is_set() and sent["bytes"] < 64 << 20:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent["bytes"] += len(chunk)
            except OSError:
                pass

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/endless"
        r = qs.client.message.publish(url=url, body="x", retries=0, callback=sink.url("/endless-cb"))
        [cb] = sink.wait("/endless-cb", count=1, timeout=15)
        body = json.loads(cb.body)
        assert body["status"] == 200
        assert len(base64.b64decode(body["body"])) <= 1 << 20
        wait_until(lambda: logs_of(qs, r.message_id, "DELIVERED"), what="DELIVERED")
        assert sent["bytes"] < 64 << 20, "stashd kept reading the endless body"
    finally:
        stop.set()
        srv.shutdown()


# --------------------------------------------------------------------------- queue callbacks, schedule states


def test_fifo_queue_waits_for_callbacks_and_failure_callbacks(qs, sink):
    """§2.2 (queues.mdx): the next message waits for the current one's retries *and* its
    callbacks / failure callbacks."""
    qs.client.queue.upsert("cbq", parallelism=1)
    sink.script("/cbq-cb", then=Reply(200, hold=1.0))
    sink.script("/cbq-fcb", then=Reply(200, hold=1.0))
    sink.script("/cbq", Reply(200), Reply(500), then=Reply(200))
    qs.client.message.enqueue(queue="cbq", url=sink.url("/cbq"), body="0", callback=sink.url("/cbq-cb"))
    qs.client.message.enqueue(queue="cbq", url=sink.url("/cbq"), body="1", retries=0, failure_callback=sink.url("/cbq-fcb"))
    qs.client.message.enqueue(queue="cbq", url=sink.url("/cbq"), body="2")
    got = sink.wait("/cbq", count=3, timeout=10)
    [cb] = sink.wait("/cbq-cb", answered=True)
    [fcb] = sink.wait("/cbq-fcb", answered=True)
    assert [d.body for d in got] == [b"0", b"1", b"2"]
    assert got[1].at >= cb.finished, f"message 1 went out {cb.finished - got[1].at:.2f}s before message 0's callback finished"
    assert got[2].at >= fcb.finished, f"message 2 went out {fcb.finished - got[2].at:.2f}s before message 1's failure callback finished"


def test_schedule_last_states_settle_to_success_and_fail(qs, sink):
    """§5.4 / §6.4: lastScheduleStates moves from IN_PROGRESS to SUCCESS or FAIL (Python ScheduleState)."""
    sink.script("/st-bad", then=Reply(500))
    ok = qs.client.schedule.create(destination=sink.url("/st-ok"), cron="* * * * *")
    bad = qs.client.schedule.create(destination=sink.url("/st-bad"), cron="* * * * *", retries=0)
    nxt = qs.client.schedule.get(ok).next_schedule_time
    qs.jump((nxt - qs.now_ms()) / 1000 + 1)
    [d] = sink.wait("/st-ok", answered=True)
    [f] = sink.wait("/st-bad", answered=True)
    wait_until(lambda: all_dlq(qs, schedule_id=bad), what="the failed schedule message in the DLQ")
    wait_until(lambda: "DELIVERED" in states_of(qs, d.message_id), what="the schedule message delivered")
    for sid, mid, want in ((ok, d.message_id, ScheduleState.SUCCESS), (bad, f.message_id, ScheduleState.FAIL)):
        try:
            wait_until(lambda: qs.client.schedule.get(sid).last_schedule_states == {mid: want}, timeout=5)
        except AssertionError:
            assert qs.client.schedule.get(sid).last_schedule_states == {mid: want}
