"""QStash messages through the `qstash` SDK: publish / publish_json with every option,
enqueue / enqueue_json, batch / batch_json, get / cancel / cancel_many / cancel_all,
deduplication, URL-group fan-out, and `Receiver.verify` on each delivery (reference
qstash.md §2.1, §3, §4, §5.1, §6.1, §7)."""

from __future__ import annotations

import json

import jwt
import pytest
from qstash.errors import QStashError, SignatureError
from qstash.message import (
    BatchResponse,
    BatchUrlGroupResponse,
    EnqueueResponse,
    EnqueueUrlGroupResponse,
    FlowControlProperties,
    PublishResponse,
    PublishUrlGroupResponse,
)

from qstash_support import decode_b64, qs, sink, states_of, wait_until  # noqa: F401


def delivered_states(qs, mid):
    return wait_until(lambda: "DELIVERED" in states_of(qs, mid) and states_of(qs, mid), what=f"{mid} DELIVERED")


# --------------------------------------------------------------------------- publish


def test_publish_raw_body_is_delivered_signed_and_verifiable(qs, sink):
    url = sink.url("/hook?x=1&y=two%20words")
    r = qs.client.message.publish(
        url=url, body="hello qstash", content_type="text/plain", headers={"Test-Header": "v1"}, method="PUT"
    )
    assert isinstance(r, PublishResponse)
    assert r.message_id.startswith("msg_") and r.deduplicated is False
    [d] = sink.wait("/hook")
    assert d.method == "PUT"
    assert d.target == "/hook?x=1&y=two%20words"  # the destination's own query survives
    assert d.body == b"hello qstash"
    assert d.header("Content-Type") == "text/plain"
    assert d.header("Test-Header") == "v1"
    assert d.header("Upstash-Message-Id") == r.message_id
    assert d.header("Upstash-Retried") == "0"
    assert d.header("User-Agent") == "Upstash-QStash"
    assert d.header("Upstash-Caller-Ip")
    assert d.header("Upstash-Region")
    assert d.header("Authorization") is None  # QStash's own token is never forwarded
    claims = qs.verify(d, url=url)
    assert claims["iss"] == "Upstash" and claims["sub"] == url
    assert claims["nbf"] == claims["iat"] and claims["exp"] == claims["iat"] + 300
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert claims.get("aud", "") == ""
    header = jwt.get_unverified_header(d.header("Upstash-Signature"))
    assert header["alg"] == "HS256"
    assert delivered_states(qs, r.message_id)[:1] == ["CREATED"]
    # Delivered messages are gone from the message API.
    wait_until(lambda: _gone(qs, r.message_id), what="message removed after delivery")


def _gone(qs, mid) -> bool:
    try:
        qs.client.message.get(mid)
        return False
    except QStashError:
        return True


def test_receiver_rejects_tampered_deliveries(qs, sink):
    url = sink.url("/neg")
    qs.client.message.publish_json(url=url, body={"n": 1})
    [d] = sink.wait("/neg")
    sig = d.header("Upstash-Signature")
    tol = qs.clock_tolerance
    good = qs.receiver()
    good.verify(signature=sig, body=d.body.decode(), url=url, clock_tolerance=tol)
    with pytest.raises(SignatureError):
        good.verify(signature=sig, body=d.body.decode() + " ", url=url, clock_tolerance=tol)  # body changed
    with pytest.raises(SignatureError):
        good.verify(signature=sig, body=d.body.decode(), url=url + "?other", clock_tolerance=tol)  # other URL
    with pytest.raises(SignatureError):
        qs.receiver(("sig_wrongwrongwrongwrongwrong123", "sig_wrongwrongwrongwrongwrong456")).verify(
            signature=sig, body=d.body.decode(), url=url, clock_tolerance=tol
        )
    with pytest.raises(SignatureError):
        good.verify(signature=sig[:-3] + "AAA", body=d.body.decode(), url=url, clock_tolerance=tol)
    # The receiver falls back to the next key: a receiver whose *next* is the signing key accepts it.
    qs.receiver(("sig_notthekeynotthekeynotthekey1", qs.keys[0])).verify(
        signature=sig, body=d.body.decode(), url=url, clock_tolerance=tol
    )


def test_publish_json_sets_content_type_and_serialises(qs, sink):
    url = sink.url("/json")
    r = qs.client.message.publish_json(url=url, body={"a": [1, 2], "b": "ü"}, headers={"X-Extra": "1"})
    [d] = sink.wait("/json")
    assert d.header("Content-Type") == "application/json"
    assert json.loads(d.body) == {"a": [1, 2], "b": "ü"}
    assert d.header("X-Extra") == "1"
    assert d.message_id == r.message_id
    qs.verify(d, url=url)


def test_publish_every_option_reads_back_in_message_get(qs, sink):
    url = sink.url("/all")
    not_before = qs.now_ms() // 1000 + 3600
    r = qs.client.message.publish(
        url=url,
        body="payload",
        content_type="text/plain",
        method="PATCH",
        headers={"Test-Header": "a", "Upstash-Forward-Other": "b"},
        callback_headers={"Forward-Cb-Header": "c"},
        failure_callback_headers={"Forward-Fcb-Header": "d"},
        retries=2,
        retry_delay="1000 * (1 + retried)",
        callback=sink.url("/cb"),
        failure_callback=sink.url("/fcb"),
        delay=7200,  # Not-Before wins over Delay
        not_before=not_before,
        timeout=30,
        flow_control={"key": "fk-all", "parallelism": 3, "rate": 10, "period": 60},
        label="lbl-all",
    )
    m = qs.client.message.get(r.message_id)
    assert m.message_id == r.message_id
    assert m.url == url
    assert m.method == "PATCH"
    assert m.body == "payload" and m.body_base64 is None
    assert m.headers["Test-Header"] == ["a"]
    assert m.headers["Other"] == ["b"]
    assert m.headers["Content-Type"] == ["text/plain"]
    assert not any(k.lower().startswith("upstash-") for k in m.headers)
    assert m.max_retries == 2
    assert m.retry_delay_expression == "1000 * (1 + retried)"
    assert m.not_before == not_before * 1000
    assert abs(m.created_at - qs.now_ms()) < 60_000
    assert m.callback == sink.url("/cb")
    assert m.failure_callback == sink.url("/fcb")
    assert m.callback_headers == {"Cb-Header": ["c"]}
    assert m.failure_callback_headers == {"Fcb-Header": ["d"]}
    assert m.flow_control == FlowControlProperties(key="fk-all", parallelism=3, rate=10, period=60)
    assert m.label == "lbl-all"
    assert m.caller_ip == "127.0.0.1"
    assert m.queue is None and m.url_group is None and m.schedule_id is None
    # The raw JSON also carries the keys other SDKs read.
    raw = qs.client.http.request(path=f"/v2/messages/{r.message_id}", method="GET")
    assert raw["callerIp"] == raw["callerIP"] == "127.0.0.1"
    assert raw["labels"] == ["lbl-all"]
    assert raw["timeout"] == 30
    sink.quiet("/all", 0.3)
    qs.client.message.cancel(r.message_id)


def test_delay_holds_the_message_until_the_clock_passes_it(qs, sink):
    url = sink.url("/delayed")
    before = qs.now_ms()
    r = qs.client.message.publish(url=url, body="later", delay="2m")
    m = qs.client.message.get(r.message_id)
    assert before + 120_000 <= m.not_before <= qs.now_ms() + 120_000
    sink.quiet("/delayed", 0.5)
    qs.jump(121)
    [d] = sink.wait("/delayed")
    assert d.message_id == r.message_id
    qs.verify(d, url=url)


def test_not_before_is_unix_seconds(qs, sink):
    url = sink.url("/nb")
    nb = qs.now_ms() // 1000 + 300
    r = qs.client.message.publish_json(url=url, body=[1], not_before=nb)
    assert qs.client.message.get(r.message_id).not_before == nb * 1000
    sink.quiet("/nb", 0.4)
    qs.jump(301)
    [d] = sink.wait("/nb")
    assert d.message_id == r.message_id


def test_method_and_binary_body(qs, sink):
    url = sink.url("/bin")
    raw = bytes([0xFF, 0x00, 0xFE, 0x80, 0x41])
    r = qs.client.message.publish(url=url, body=raw, content_type="application/octet-stream", method="DELETE", delay=60)
    m = qs.client.message.get(r.message_id)
    assert m.body is None and decode_b64(m.body_base64) == raw
    assert m.method == "DELETE"
    qs.jump(61)
    [d] = sink.wait("/bin")
    assert d.method == "DELETE" and d.body == raw
    qs.verify_binary(d, url)


def test_get_on_methods_get(qs, sink):
    url = sink.url("/get-method")
    qs.client.message.publish(url=url, method="GET")
    [d] = sink.wait("/get-method")
    assert d.method == "GET"
    qs.verify(d, url=url)


def test_redact_hides_values_in_the_api_but_delivers_them(qs, sink):
    url = sink.url("/redact")
    r = qs.client.message.publish(
        url=url,
        body="secret-body",
        headers={"Authorization": "Bearer user-secret", "Keep": "visible"},
        redact={"body": True, "header": ["Authorization"]},
        delay=30,
    )
    m = qs.client.message.get(r.message_id)
    assert m.body != "secret-body" and m.body.startswith("REDACTED:")
    assert m.headers["Authorization"][0].startswith("REDACTED:")
    assert "user-secret" not in json.dumps(m.headers)
    assert m.headers["Keep"] == ["visible"]
    r2 = qs.client.message.publish(url=url, body="b2", headers={"A": "1", "B": "2"}, redact={"header": True}, delay=30)
    m2 = qs.client.message.get(r2.message_id)
    assert m2.body == "b2"
    assert m2.headers["A"][0].startswith("REDACTED:") and m2.headers["B"][0].startswith("REDACTED:")
    qs.jump(31)
    got = {d.message_id: d for d in sink.wait("/redact", count=2)}
    assert got[r.message_id].body == b"secret-body"
    assert got[r.message_id].header("Authorization") == "Bearer user-secret"
    assert got[r2.message_id].header("A") == "1"


def test_label_filters_logs(qs, sink):
    url = sink.url("/label")
    a = qs.client.message.publish(url=url, body="a", label="alpha")
    b = qs.client.message.publish(url=url, body="b", label="beta")
    sink.wait("/label", count=2)
    wait_until(lambda: "DELIVERED" in states_of(qs, b.message_id))
    logs = qs.client.log.list(filter={"label": "alpha"}).logs
    assert logs and {l.message_id for l in logs} == {a.message_id}
    assert all(l.label == "alpha" for l in logs)


# --------------------------------------------------------------------------- URL groups


def test_publish_to_url_group_fans_out(qs, sink):
    qs.client.url_group.upsert_endpoints("grp-fan", [{"url": sink.url("/ep-a"), "name": "a"}, {"url": sink.url("/ep-b")}])
    res = qs.client.message.publish(url_group="grp-fan", body="to all", delay=10)
    assert isinstance(res, list) and len(res) == 2
    assert all(isinstance(x, PublishUrlGroupResponse) and x.message_id.startswith("msg_") for x in res)
    assert {x.url for x in res} == {sink.url("/ep-a"), sink.url("/ep-b")}
    by_url = {x.url: x for x in res}
    m = qs.client.message.get(by_url[sink.url("/ep-a")].message_id)
    assert m.url_group == "grp-fan" and m.endpoint == "a"
    qs.jump(11)
    da = sink.wait("/ep-a")[0]
    db = sink.wait("/ep-b")[0]
    for d in (da, db):
        assert d.header("Upstash-Topic-Name") == "grp-fan"
        assert d.body == b"to all"
    qs.verify(da, url=sink.url("/ep-a"))
    qs.verify(db, url=sink.url("/ep-b"))
    assert da.message_id == by_url[sink.url("/ep-a")].message_id


def test_publish_to_missing_url_group_fails(qs):
    with pytest.raises(QStashError):
        qs.client.message.publish(url_group="no-such-group", body="x")


def test_publish_errors(qs):
    with pytest.raises(QStashError, match="400"):
        qs.client.message.publish(url="ftp://example.com/x", body="x")
    with pytest.raises(QStashError, match="413|400"):
        qs.client.message.publish(url="http://127.0.0.1:1/x", body=b"x" * (1024 * 1024 + 1))
    with pytest.raises(QStashError, match="404"):
        qs.client.message.get("msg_doesnotexist")
    with pytest.raises(QStashError, match="404"):
        qs.client.message.cancel("msg_doesnotexist")
    from qstash import QStash

    bad = QStash("wrong-token", base_url=qs.url, retry=False)
    with pytest.raises(QStashError, match="401"):
        bad.message.publish(url="http://127.0.0.1:1/x", body="x")


# --------------------------------------------------------------------------- enqueue


def test_enqueue_creates_the_queue_and_delivers(qs, sink):
    url = sink.url("/enq")
    r = qs.client.message.enqueue(
        queue="q-auto",
        url=url,
        body="queued",
        content_type="text/plain",
        method="PUT",
        headers={"H1": "v"},
        retries=1,
        retry_delay="5000",
        callback=sink.url("/enq-cb"),
        callback_headers={"Forward-Cbh": "1"},
        failure_callback=sink.url("/enq-fcb"),
        failure_callback_headers={"Forward-Fch": "2"},
        deduplication_id="enq-dedup-1",
        timeout="20s",
        label="enq-label",
        redact={"header": ["H1"]},
    )
    assert isinstance(r, EnqueueResponse) and r.message_id.startswith("msg_") and not r.deduplicated
    [d] = sink.wait("/enq")
    assert d.method == "PUT" and d.body == b"queued" and d.header("H1") == "v"
    qs.verify(d, url=url)
    q = qs.client.queue.get("q-auto")
    assert q.name == "q-auto" and q.parallelism == 1 and q.paused is False
    [cb] = sink.wait("/enq-cb")
    assert cb.header("Cbh") == "1"
    qs.verify(cb, url=sink.url("/enq-cb"))
    logs = qs.client.log.list(filter={"queue": "q-auto", "message_id": r.message_id}).logs
    assert logs and all(l.queue == "q-auto" for l in logs)
    again = qs.client.message.enqueue(queue="q-auto", url=url, body="queued", deduplication_id="enq-dedup-1")
    assert again.deduplicated is True and again.message_id == r.message_id


def test_enqueue_json_and_to_url_group(qs, sink):
    qs.client.queue.upsert("q-held", paused=True)
    r = qs.client.message.enqueue_json(
        queue="q-held",
        url=sink.url("/enqj"),
        body={"k": "v"},
        method="POST",
        headers={"H": "1"},
        callback_headers={"Forward-A": "1"},
        failure_callback_headers={"Forward-B": "2"},
        retries=0,
        retry_delay="1000",
        callback=sink.url("/enqj-cb"),
        failure_callback=sink.url("/enqj-fcb"),
        deduplication_id=None,
        content_based_deduplication=True,
        timeout=15,
        label="enqj",
        redact={"body": True},
    )
    m = qs.client.message.get(r.message_id)
    assert m.queue == "q-held"
    assert m.headers["Content-Type"] == ["application/json"]
    assert qs.client.queue.get("q-held").lag >= 1
    qs.client.url_group.upsert_endpoints("grp-enq", [{"url": sink.url("/genq-1")}, {"url": sink.url("/genq-2")}])
    ug = qs.client.message.enqueue(queue="q-held", url_group="grp-enq", body="g")
    assert isinstance(ug, list) and all(isinstance(x, EnqueueUrlGroupResponse) for x in ug)
    assert {x.url for x in ug} == {sink.url("/genq-1"), sink.url("/genq-2")}
    sink.quiet(None, 0.4)
    qs.client.queue.resume("q-held")
    [d] = sink.wait("/enqj")
    assert json.loads(d.body) == {"k": "v"}
    sink.wait("/genq-1")
    sink.wait("/genq-2")
    for d in sink.received():
        if d.path.startswith("/genq"):
            assert d.header("Upstash-Topic-Name") == "grp-enq"
            qs.verify(d, url=sink.url(d.path))


# --------------------------------------------------------------------------- batch


def test_batch_mixes_urls_groups_and_queues(qs, sink):
    qs.client.url_group.upsert_endpoints("grp-batch", [{"url": sink.url("/bg-1")}, {"url": sink.url("/bg-2")}])
    res = qs.client.message.batch(
        [
            {
                "url": sink.url("/b1"),
                "body": "one",
                "content_type": "text/plain",
                "method": "PUT",
                "headers": {"X-B": "1"},
                "retries": 0,
                "label": "batch-l",
            },
            {"url_group": "grp-batch", "body": "two"},
            {"url": sink.url("/b3"), "queue": "q-batch", "body": "three"},
            {
                "url": sink.url("/b4"),
                "body": "four",
                "delay": 60,
                "callback": sink.url("/b4-cb"),
                "failure_callback": sink.url("/b4-fcb"),
                "callback_headers": {"Forward-C": "1"},
                "failure_callback_headers": {"Forward-F": "1"},
                "retry_delay": "2000",
                "timeout": 10,
                "deduplication_id": "batch-dd",
                "flow_control": {"key": "batch-fk", "parallelism": 1},
                "redact": {"body": True},
            },
            {"url": sink.url("/b5"), "body": "five", "not_before": qs.now_ms() // 1000 + 100, "content_based_deduplication": True},
        ]
    )
    assert len(res) == 5
    assert isinstance(res[0], BatchResponse) and isinstance(res[2], BatchResponse)
    assert isinstance(res[1], list) and len(res[1]) == 2 and all(isinstance(x, BatchUrlGroupResponse) for x in res[1])
    [d1] = sink.wait("/b1")
    assert d1.method == "PUT" and d1.body == b"one" and d1.header("X-B") == "1" and d1.header("Content-Type") == "text/plain"
    assert d1.message_id == res[0].message_id
    qs.verify(d1, url=sink.url("/b1"))
    sink.wait("/bg-1")
    sink.wait("/bg-2")
    [d3] = sink.wait("/b3")
    assert d3.message_id == res[2].message_id
    assert qs.client.queue.get("q-batch").parallelism == 1
    m4 = qs.client.message.get(res[3].message_id)
    assert m4.callback == sink.url("/b4-cb") and m4.retry_delay_expression == "2000"
    assert m4.flow_control.key == "batch-fk"
    m5 = qs.client.message.get(res[4].message_id)
    assert m5.not_before // 1000 >= qs.now_ms() // 1000 + 90
    qs.jump(101)
    sink.wait("/b4")
    sink.wait("/b5")


def test_batch_json(qs, sink):
    res = qs.client.message.batch_json(
        [
            {"url": sink.url("/bj1"), "body": {"i": 1}, "headers": {"H": "x"}},
            {"url": sink.url("/bj2"), "body": [1, 2, 3], "method": "PUT", "retries": 0, "label": "bj"},
        ]
    )
    assert [type(x) for x in res] == [BatchResponse, BatchResponse]
    [a] = sink.wait("/bj1")
    [b] = sink.wait("/bj2")
    assert json.loads(a.body) == {"i": 1} and a.header("Content-Type") == "application/json" and a.header("H") == "x"
    assert json.loads(b.body) == [1, 2, 3] and b.method == "PUT"
    qs.verify(a, url=sink.url("/bj1"))
    qs.verify(b, url=sink.url("/bj2"))


# --------------------------------------------------------------------------- dedup


def test_deduplication_id_returns_the_first_message(qs, sink):
    url = sink.url("/dedup")
    first = qs.client.message.publish(url=url, body="1", deduplication_id="dd-1", delay=5)
    second = qs.client.message.publish(url=url, body="2", deduplication_id="dd-1", delay=5)
    assert second.deduplicated is True
    assert second.message_id == first.message_id
    other = qs.client.message.publish(url=url, body="1", deduplication_id="dd-2", delay=5)
    assert other.deduplicated is False and other.message_id != first.message_id
    qs.jump(6)
    got = sink.wait("/dedup", count=2)
    sink.quiet("/dedup", 0.5, already=2)
    assert sorted(d.body for d in got) == [b"1", b"1"]
    assert {d.message_id for d in got} == {first.message_id, other.message_id}


def test_content_based_deduplication(qs, sink):
    url = sink.url("/cdedup")
    a = qs.client.message.publish_json(url=url, body={"same": 1}, content_based_deduplication=True, delay=5)
    b = qs.client.message.publish_json(url=url, body={"same": 1}, content_based_deduplication=True, delay=5)
    c = qs.client.message.publish_json(url=url, body={"same": 2}, content_based_deduplication=True, delay=5)
    d = qs.client.message.publish_json(url=sink.url("/cdedup2"), body={"same": 1}, content_based_deduplication=True, delay=5)
    assert (b.deduplicated, b.message_id) == (True, a.message_id)
    assert c.deduplicated is False and c.message_id != a.message_id
    assert d.deduplicated is False  # another destination is other content
    qs.jump(6)
    sink.wait("/cdedup", count=2)
    sink.wait("/cdedup2")
    sink.quiet("/cdedup", 0.4, already=2)


def test_deduplicated_publish_answers_202(qs, sink):
    url = sink.url("/dd202")
    h = {"Upstash-Deduplication-Id": "raw-dd", "Content-Type": "text/plain", "Upstash-Delay": "30s"}
    import httpx

    with httpx.Client(headers={"Authorization": f"Bearer {qs.token}"}) as c:
        r1 = c.post(f"{qs.url}/v2/publish/{url}", content=b"x", headers=h)
        r2 = c.post(f"{qs.url}/v2/publish/{url}", content=b"x", headers=h)
    assert r1.status_code == 200, r1.text
    assert r2.status_code == 202, r2.text
    assert r2.json()["messageId"] == r1.json()["messageId"] and r2.json()["deduplicated"] is True


# --------------------------------------------------------------------------- cancel


def test_cancel_stops_a_delayed_message(qs, sink):
    url = sink.url("/cancel")
    r = qs.client.message.publish(url=url, body="never", delay="1h")
    keep = qs.client.message.publish(url=url, body="kept", delay="1h")
    qs.client.message.cancel(r.message_id)
    with pytest.raises(QStashError):
        qs.client.message.get(r.message_id)
    qs.jump(3601)
    [d] = sink.wait("/cancel")
    assert d.body == b"kept" and d.message_id == keep.message_id
    sink.quiet("/cancel", 0.5, already=1)
    st = wait_until(lambda: states_of(qs, r.message_id), what="cancel events")
    assert "CANCELED" in st or "CANCEL_REQUESTED" in st
    assert "DELIVERED" not in st and "ACTIVE" not in st


def test_cancel_many_and_cancel_all_count(qs, sink):
    url = sink.url("/cm")
    ids = [qs.client.message.publish(url=url, body=str(i), delay="1h").message_id for i in range(5)]
    assert qs.client.message.cancel_many(ids[:2]) == 2
    assert qs.client.message.cancel_many(["msg_unknown"]) == 0
    for mid in ids[:2]:
        with pytest.raises(QStashError):
            qs.client.message.get(mid)
    assert qs.client.message.get(ids[2]).message_id == ids[2]
    assert qs.client.message.cancel_all() == 3
    assert qs.client.message.cancel_all() == 0
    qs.jump(3601)
    sink.quiet("/cm", 0.5)


def test_batch_with_one_bad_item_still_sends_the_others(qs, sink):
    body = json.dumps(
        [
            {"destination": sink.url("/bgood"), "headers": {}, "body": "good"},
            {"destination": "ftp://example.com/x", "headers": {}, "body": "bad"},
        ]
    )
    try:
        res = qs.client.http.request(path="/v2/batch", method="POST", body=body, headers={"Content-Type": "application/json"})
    except QStashError as e:
        res = str(e)
    [d] = sink.wait("/bgood", timeout=3)
    assert d.body == b"good"
    assert isinstance(res, list) and len(res) == 2
    assert res[0]["messageId"] == d.message_id and "error" in res[1]
