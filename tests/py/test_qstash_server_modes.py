"""How stashd is started for QStash: the SSRF guard without `--qstash-allow loopback`, and
`stashd dev` with the development token and signing keys (reference qstash.md §8), found by
the SDK through `QSTASH_URL`."""

from __future__ import annotations

import pytest
from qstash import QStash, Receiver
from qstash.errors import QStashError

from conftest import StashdServer
from qstash_support import QStashEnv, new_signing_key, sink, wait_until  # noqa: F401

DEV_QSTASH_TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0="
DEV_KEYS = ("sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r", "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs")
DEV_REDIS_TOKEN = "stashd-dev-token"


def test_loopback_destinations_are_refused_without_the_allow_flag(sink):
    server = StashdServer(token="tok" + new_signing_key()[4:], extra_args=["--qstash-token", "qst-ssrf"])
    server.qstash_token = "qst-ssrf"
    server.start()
    env = QStashEnv(server, ("", ""))
    try:
        r = env.client.message.publish(url=sink.url("/ssrf"), body="x", retries=0)
        [e] = wait_until(lambda: env.client.dlq.list(filter={"message_id": r.message_id}).messages)
        assert e.response_status == 0
        errors = [l.error for l in env.client.log.list(filter={"message_id": r.message_id}).logs if l.error]
        assert errors and "egress" in errors[0]
        assert sink.received() == []
    finally:
        env.close()


def test_dev_mode_uses_the_development_credentials(sink, monkeypatch):
    server = StashdServer(token=DEV_REDIS_TOKEN, bare=True)
    server.extra_args = ["dev", "--port", str(server.http_port), "--resp-port", str(server.port), "--enable-debug-command"]
    server.start()
    try:
        monkeypatch.setenv("QSTASH_URL", server.url)
        client = QStash(DEV_QSTASH_TOKEN)  # the base URL comes from QSTASH_URL
        keys = client.signing_key.get()
        assert (keys.current, keys.next) == DEV_KEYS
        url = sink.url("/dev?from=dev")  # loopback needs no flag in dev
        r = client.message.publish_json(url=url, body={"dev": True})
        [d] = sink.wait("/dev")
        assert d.message_id == r.message_id
        Receiver(*DEV_KEYS).verify(signature=d.header("Upstash-Signature"), body=d.body.decode(), url=url)
        with pytest.raises(QStashError, match="401"):
            QStash("not-the-dev-token", retry=False).signing_key.get()
        out = (server.stderr_path.parent / f"stdout.{server._runs}.log").read_text()
        assert f"QSTASH_TOKEN={DEV_QSTASH_TOKEN}" in out
        assert f"QSTASH_CURRENT_SIGNING_KEY={DEV_KEYS[0]}" in out
    finally:
        server.kill()
