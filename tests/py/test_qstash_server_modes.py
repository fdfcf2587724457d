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


def _env_with(extra_args: list[str], env: dict | None = None) -> QStashEnv:
    keys = (new_signing_key(), new_signing_key())
    server = StashdServer(
        token="tok" + new_signing_key()[4:],
        extra_args=["--qstash-token", "qst-modes", "--qstash-current-signing-key", keys[0], "--qstash-next-signing-key", keys[1], *extra_args],
        env=env,
    )
    server.qstash_token = "qst-modes"
    server.start()
    return QStashEnv(server, keys)


def _sink_port(sink) -> int:
    return int(sink.url("/").split(":")[2].split("/")[0])


@pytest.mark.parametrize("how", ["flag", "env"])
def test_destination_rewrites_call_the_local_service_and_keep_the_original_url(sink, how):
    """--qstash-rewrite FROM=TO (or STASHD_QSTASH_REWRITE as comma-separated pairs): the
    rewritten URL is called; the API, the logs and the JWT `sub` keep the original."""
    local = f"http://127.0.0.1:{_sink_port(sink)}/local"
    pair = f"https://api.example.com/={local}/"
    if how == "flag":
        env = _env_with(["--qstash-allow", "loopback", "--qstash-rewrite", pair, "--qstash-rewrite", "https://other.example=http://127.0.0.1:9"])
    else:
        env = _env_with(["--qstash-allow", "loopback"], env={"STASHD_QSTASH_REWRITE": f"https://other.example=http://127.0.0.1:9,{pair}"})
    try:
        original = "https://api.example.com/hooks/signup?user=42"
        r = env.client.message.publish_json(url=original, body={"welcome": True}, retries=0)
        [d] = sink.wait("/local/hooks/signup")
        assert d.target == "/local/hooks/signup?user=42"
        # Raises unless `sub` is the original URL (and the signature and body hash hold).
        Receiver(*env.keys).verify(signature=d.header("Upstash-Signature"), body=d.body.decode(), url=original)
        with pytest.raises(Exception):
            Receiver(*env.keys).verify(signature=d.header("Upstash-Signature"), body=d.body.decode(), url=local + "/hooks/signup?user=42")
        logs = env.client.log.list(filter={"message_id": r.message_id}).logs
        assert logs and all(l.url == original for l in logs)
    finally:
        env.close()


def test_the_deny_list_wins_over_the_allow_list(sink):
    env = _env_with(["--qstash-allow", "loopback", "--qstash-deny", "127.0.0.1/32"])
    try:
        r = env.client.message.publish(url=sink.url("/denied"), body="x", retries=0)
        [e] = wait_until(lambda: env.client.dlq.list(filter={"message_id": r.message_id}).messages)
        assert e.response_status == 0
        assert sink.received() == []
        errors = [l.error for l in env.client.log.list(filter={"message_id": r.message_id}).logs if l.error]
        assert errors and "egress policy" in errors[0]
    finally:
        env.close()


def test_metadata_and_link_local_addresses_are_refused_by_default():
    """Without any rule, cloud-metadata and link-local destinations never get a request (the
    check is on the address, so it fails before any connection)."""
    env = _env_with([])
    try:
        for url in ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x", "http://0.0.0.0:80/x"]:
            r = env.client.message.publish(url=url, body="x", retries=0)
            [e] = wait_until(lambda: env.client.dlq.list(filter={"message_id": r.message_id}).messages)
            errors = [l.error for l in env.client.log.list(filter={"message_id": r.message_id}).logs if l.error]
            assert errors and "egress policy" in errors[0], (url, errors)
    finally:
        env.close()


def test_bad_qstash_settings_stop_the_start_with_a_clear_message(tmp_path):
    import subprocess

    from conftest import stashd_binary

    for args, needle in [
        (["--qstash-rewrite", "nonsense"], "qstash_rewrite"),
        (["--qstash-allow", "not a host!"], "qstash_allow"),
        (["--qstash-current-signing-key", "sig_only_one"], "signing keys"),
    ]:
        p = subprocess.run(
            [str(stashd_binary()), "--in-memory", "--port", "0", "--http-port", "0", *args],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert p.returncode != 0, args
        assert needle in p.stderr, (args, p.stderr)
