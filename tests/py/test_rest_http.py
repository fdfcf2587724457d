"""Raw HTTP against the REST face: the wire contract of shared/reference/redis-rest.md."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from rawresp import auth_conn

TIMEOUT = 15


class Http:
    def __init__(self, server, token: str | None = None):
        self.base = server.url
        self.token = server.token if token is None else token
        self.s = requests.Session()

    def headers(self, extra=None, auth=True):
        h = {}
        if auth and self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def cmd(self, *args, headers=None, path="/"):
        return self.s.post(self.base + path, json=list(args), headers=self.headers(headers), timeout=TIMEOUT)

    def post(self, path, *, json_body=None, data=None, headers=None, auth=True, params=None):
        return self.s.post(
            self.base + path,
            json=json_body,
            data=data,
            headers=self.headers(headers, auth),
            params=params,
            timeout=TIMEOUT,
        )

    def request(self, method, path, *, headers=None, auth=True, **kw):
        return self.s.request(method, self.base + path, headers=self.headers(headers, auth), timeout=TIMEOUT, **kw)


@pytest.fixture
def http(server, r):
    h = Http(server)
    yield h
    h.s.close()


def result(resp):
    assert resp.status_code == 200, (resp.status_code, resp.text)
    body = resp.json()
    assert "error" not in body, body
    return body["result"]


def error(resp, status=400):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    return body["error"]


def b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


# ---- POST / -------------------------------------------------------------------


def test_post_root_basic(http):
    assert result(http.cmd("SET", "foo", "bar")) == "OK"
    assert result(http.cmd("get", "foo")) == "bar"
    assert result(http.cmd("GeT", "missing")) is None
    assert result(http.cmd("incr", "n")) == 1
    assert result(http.cmd("rpush", "l", "a", "b")) == 2
    assert result(http.cmd("lrange", "l", 0, -1)) == ["a", "b"]
    assert result(http.cmd("exists", "foo", "nope")) == 1


def test_resp2_shapes(http):
    http.cmd("hset", "h", "a", "1", "b", "2")
    assert result(http.cmd("hgetall", "h")) == ["a", "1", "b", "2"]
    http.cmd("zadd", "z", 1.5, "m")
    assert result(http.cmd("zscore", "z", "m")) == "1.5"
    assert result(http.cmd("zrange", "z", 0, -1, "WITHSCORES")) == ["m", "1.5"]
    assert result(http.cmd("ping")) == "PONG"
    assert result(http.cmd("type", "h")) == "hash"
    assert result(http.cmd("hexists", "h", "a")) == 1


def test_errors_are_400_json(http):
    assert error(http.cmd("get")) == "ERR wrong number of arguments for 'get' command"
    assert error(http.cmd("nosuch", "a")) == "ERR unknown command 'nosuch', with args beginning with: 'a' "
    http.cmd("set", "s", "x")
    assert error(http.cmd("incr", "s")) == "ERR value is not an integer or out of range"
    assert error(http.cmd("lpush", "s", "a")) == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_bad_bodies(http):
    for body in [b"not json", b'{"a":1}', b"[]", b'"set"', b"[[1]]", b""]:
        resp = http.post("/", data=body, headers={"Content-Type": "application/json"})
        err = error(resp)
        assert err.startswith("ERR"), (body, err)


def test_content_type_not_required(http):
    resp = http.post("/", data=b'["set","ct","v"]', headers={"Content-Type": "text/plain"})
    assert result(resp) == "OK"
    resp = http.post("/", data=b'["get","ct"]', headers={"Content-Type": ""})
    assert result(resp) == "v"


# ---- JSON argument typing -----------------------------------------------------------


def test_json_numbers_and_booleans_keep_their_text(http):
    raw = b'["set","n",1.50]'
    assert result(http.post("/", data=raw, headers={"Content-Type": "application/json"})) == "OK"
    assert result(http.cmd("get", "n")) == "1.50"
    for key, text in [("t", "true"), ("f", "false"), ("i", "42"), ("neg", "-7"), ("exp", "1e3"),
                      ("big", "12345678901234567890123"), ("frac", "-0.000100")]:
        body = f'["set","{key}",{text}]'.encode()
        assert result(http.post("/", data=body)) == "OK", text
        assert result(http.cmd("get", key)) == text, text
    assert result(http.post("/", data=b'["incrby","c",5]')) == 5
    assert result(http.post("/", data=b'["expire","c",100]')) == 1
    assert result(http.post("/", data=b'["ttl","c"]')) == 100


def test_json_null_is_tolerated(http):
    resp = http.post("/", data=b'["set","nul",null]')
    assert resp.status_code in (200, 400), resp.text
    assert isinstance(resp.json(), dict)


def test_large_integers_are_exact(http):
    assert result(http.cmd("set", "bigint", "9007199254740993")) == "OK"
    assert result(http.cmd("incr", "bigint")) == 9007199254740994
    assert result(http.post("/", data=b'["incrby","bigint",9007199254740993]')) == 18014398509481987


# ---- path form ----------------------------------------------------------------------


def test_path_form_get(http):
    assert result(http.request("GET", "/set/foo/bar")) == "OK"
    assert result(http.request("GET", "/get/foo")) == "bar"
    assert result(http.request("GET", "/SET/pk/v/EX/100")) == "OK"
    assert result(http.request("GET", "/ttl/pk")) == 100
    assert result(http.request("PUT", "/set/putk/putv")) == "OK"
    assert result(http.cmd("get", "putk")) == "putv"
    assert result(http.request("POST", "/incr/pathn")) == 1


def test_path_form_percent_decoding(http):
    assert result(http.request("GET", "/set/sp%20ace/a%2Fb%25c")) == "OK"
    assert result(http.cmd("get", "sp ace")) == "a/b%c"
    assert result(http.request("GET", "/get/sp%20ace")) == "a/b%c"


def test_path_form_body_is_last_arg_and_query_params_trail(http, r):
    value = b'{"json": "body", "n": 1}\r\nwith newline'
    resp = http.request("POST", "/set/bodykey?EX=100", data=value)
    assert result(resp) == "OK"
    assert r.execute_command("GET", "bodykey") == value.decode()
    assert r.ttl("bodykey") == 100
    resp = http.request("POST", "/rpush/bl", data=b"only-value")
    assert result(resp) == 1
    assert r.lrange("bl", 0, -1) == ["only-value"]


def test_path_form_binary_body(http, server):
    blob = bytes(range(256))
    assert result(http.request("POST", "/set/binbody", data=blob)) == "OK"
    c = server.client(decode_responses=False)
    try:
        assert c.get(b"binbody") == blob
    finally:
        c.close()


def test_head_request(http):
    http.cmd("set", "hd", "v")
    resp = http.request("HEAD", "/get/hd")
    assert resp.status_code == 200
    assert resp.content == b""


def test_unknown_command_via_path_is_400(http):
    assert error(http.request("GET", "/foo/bar")) == "ERR unknown command 'foo', with args beginning with: 'bar' "


def test_method_not_allowed(http):
    for method in ("DELETE", "PATCH"):
        resp = http.request(method, "/get/foo")
        assert resp.status_code == 405, (method, resp.status_code, resp.text)
        assert "error" in resp.json()
    resp = http.request("DELETE", "/")
    assert resp.status_code == 405


# ---- auth ----------------------------------------------------------------------------


def test_missing_or_wrong_token_is_401_json(server, http):
    for headers, auth in [({}, False), ({"Authorization": "Bearer wrong"}, False), ({"Authorization": "Basic xyz"}, False)]:
        resp = http.post("/", json_body=["get", "k"], headers=headers, auth=auth)
        msg = error(resp, status=401)
        assert msg.startswith("WRONGPASS"), msg
    for path in ("/pipeline", "/multi-exec"):
        resp = http.post(path, json_body=[["get", "k"]], auth=False)
        error(resp, status=401)
    resp = http.request("GET", "/get/k", auth=False)
    error(resp, status=401)
    resp = http.request("GET", "/get/k?_token=wrong", auth=False)
    error(resp, status=401)


def test_query_token(server, http):
    t = server.token
    resp = requests.get(f"{server.url}/set/qt/v?_token={t}", timeout=TIMEOUT)
    assert result(resp) == "OK"
    resp = requests.post(f"{server.url}/?_token={t}", json=["get", "qt"], timeout=TIMEOUT)
    assert result(resp) == "v"
    # _token is not passed on as an argument in the path form
    resp = requests.post(f"{server.url}/set/qt2?_token={t}&EX=50", data=b"val", timeout=TIMEOUT)
    assert result(resp) == "OK"
    assert result(http.cmd("get", "qt2")) == "val"
    assert result(http.cmd("ttl", "qt2")) == 50


# ---- pipeline & multi-exec -----------------------------------------------------


def test_pipeline_per_item_errors(http):
    resp = http.post(
        "/pipeline",
        json_body=[["set", "a", "x"], ["incr", "a"], ["get", "a"], ["nosuch"], ["get"], ["rpush", "a", "1"], ["exists", "a"]],
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == [
        {"result": "OK"},
        {"error": "ERR value is not an integer or out of range"},
        {"result": "x"},
        {"error": "ERR unknown command 'nosuch', with args beginning with: "},
        {"error": "ERR wrong number of arguments for 'get' command"},
        {"error": "WRONGTYPE Operation against a key holding the wrong kind of value"},
        {"result": 1},
    ]


def test_pipeline_bad_shapes(http):
    for body in [b'["set","a","b"]', b"[]", b"{}", b"nope"]:
        resp = http.post("/pipeline", data=body)
        assert resp.status_code == 400, (body, resp.status_code, resp.text)
        assert "error" in resp.json()


def test_multi_exec_success_and_runtime_errors(http):
    resp = http.post("/multi-exec", json_body=[["set", "m", "1"], ["incr", "m"], ["lpush", "m", "x"], ["get", "m"]])
    assert resp.status_code == 200, resp.text
    assert resp.json() == [
        {"result": "OK"},
        {"result": 2},
        {"error": "WRONGTYPE Operation against a key holding the wrong kind of value"},
        {"result": "2"},
    ]


def test_multi_exec_discarded_is_single_400(http, r):
    resp = http.post("/multi-exec", json_body=[["set", "d1", "1"], ["nosuchcommand", "x"], ["set", "d2", "2"]])
    msg = error(resp, status=400)
    assert msg.startswith(("ERR", "EXECABORT")), msg
    resp = http.post("/multi-exec", json_body=[["set", "d1", "1"], ["get"]])
    msg = error(resp, status=400)
    assert r.exists("d1", "d2") == 0


def test_multi_exec_rejects_transaction_commands(http, r):
    for inner in (["multi"], ["exec"], ["watch", "k"], ["discard"]):
        resp = http.post("/multi-exec", json_body=[["set", "w1", "1"], inner])
        assert resp.status_code == 400, (inner, resp.status_code, resp.text)
    assert r.exists("w1") == 0


# ---- base64 ----------------------------------------------------------------------------


def test_base64_encoding(http, server):
    h = {"Upstash-Encoding": "base64"}
    assert result(http.cmd("set", "k", "héllo", headers=h)) in ("OK", b64("OK"))
    assert result(http.cmd("get", "k", headers=h)) == b64("héllo")
    assert result(http.cmd("ping", headers=h)) == b64("PONG")
    assert result(http.cmd("type", "k", headers=h)) == b64("string")
    assert result(http.cmd("strlen", "k", headers=h)) == 6
    assert result(http.cmd("get", "nope", headers=h)) is None
    http.cmd("rpush", "l", "a", "OK")
    assert result(http.cmd("lrange", "l", 0, -1, headers=h)) == [b64("a"), b64("OK")]
    assert error(http.cmd("get", headers=h)) == "ERR wrong number of arguments for 'get' command"
    resp = http.post(
        "/pipeline", json_body=[["get", "k"], ["incr", "cnt"], ["get"], ["lrange", "l", 0, 0]], headers=h
    )
    assert resp.status_code == 200
    assert resp.json() == [
        {"result": b64("héllo")},
        {"result": 1},
        {"error": "ERR wrong number of arguments for 'get' command"},
        {"result": [b64("a")]},
    ]
    resp = http.post("/multi-exec", json_body=[["get", "k"], ["echo", "OK"]], headers=h)
    assert resp.status_code == 200
    items = resp.json()
    assert items[0] == {"result": b64("héllo")}
    assert items[1]["result"] in ("OK", b64("OK"))


def test_binary_values_with_and_without_base64(http, server):
    with auth_conn(server.port, server.token) as c:
        assert c.cmd("SET", "binv", b"\xff\xfeab") == "OK"
    assert result(http.cmd("get", "binv", headers={"Upstash-Encoding": "base64"})) == b64(b"\xff\xfeab")
    assert result(http.cmd("get", "binv")) == "\ufffd\ufffdab"


# ---- Upstash-Response-Format ----------------------------------------------------------


def test_resp2_response_format(http):
    h = {"Upstash-Response-Format": "resp2"}
    resp = http.cmd("set", "r2", "v", headers=h)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/octet-stream")
    assert resp.content == b"+OK\r\n"
    assert http.cmd("get", "r2", headers=h).content == b"$1\r\nv\r\n"
    assert http.cmd("get", "nope", headers=h).content == b"$-1\r\n"
    assert http.cmd("incr", "r2n", headers=h).content == b":1\r\n"
    http.cmd("rpush", "r2l", "a", "b")
    assert http.cmd("lrange", "r2l", 0, -1, headers=h).content == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert http.cmd("get", "r2", headers={"Upstash-Response-Format": "json"}).json() == {"result": "v"}


def test_resp2_with_base64_is_400(http):
    resp = http.cmd("get", "r2", headers={"Upstash-Response-Format": "resp2", "Upstash-Encoding": "base64"})
    assert resp.status_code == 400, resp.text
    resp = http.cmd("get", "r2", headers={"Upstash-Response-Format": "xml"})
    assert resp.status_code == 400, resp.text


# ---- sync token --------------------------------------------------------------------------


def test_sync_token_changes_after_write(http):
    t0 = http.cmd("get", "st").headers.get("upstash-sync-token")
    assert t0, "no upstash-sync-token on a read"
    t1 = http.cmd("set", "st", "1").headers.get("upstash-sync-token")
    assert t1 and t1 != t0
    t2 = http.post("/pipeline", json_body=[["incr", "st"]]).headers.get("upstash-sync-token")
    assert t2 and t2 not in (t0, t1)
    t3 = http.post("/multi-exec", json_body=[["incr", "st"]]).headers.get("upstash-sync-token")
    assert t3 and t3 not in (t0, t1, t2)
    t4 = http.request("GET", "/incr/st").headers.get("upstash-sync-token")
    assert t4 and t4 not in (t0, t1, t2, t3)
    # a read does not need to change it, and any incoming token is accepted
    for incoming in ("my-new-sync-token", "", "garbage token !@#", t4):
        resp = http.cmd("get", "st", headers={"upstash-sync-token": incoming})
        assert result(resp) == "4"
        assert resp.headers.get("upstash-sync-token")


# ---- size limit --------------------------------------------------------------------------


def test_oversized_body_is_refused(http, server):
    big = b'["set","huge","' + b"x" * (10 * 1024 * 1024 + 100) + b'"]'
    try:
        resp = requests.post(
            server.url + "/",
            data=big,
            headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
            timeout=60,
        )
    except requests.ConnectionError as e:  # pragma: no cover - a reset instead of an answer
        pytest.fail(f"server reset the connection instead of answering an error status: {e}")
    assert 400 <= resp.status_code < 500, resp.status_code
    assert "max request size exceeded" in resp.json()["error"]
    assert result(http.cmd("exists", "huge")) == 0
    # a body just under the limit works
    ok = b'["set","almost","' + b"y" * (9 * 1024 * 1024) + b'"]'
    assert result(http.post("/", data=ok)) == "OK"
    assert result(http.cmd("strlen", "almost")) == 9 * 1024 * 1024


# ---- read-only token ------------------------------------------------------------------


def test_readonly_token_raw(ro_server, ro_r):
    ro = Http(ro_server, token=ro_server.readonly_token)
    try:
        ro_r.set("x", "1")
        assert result(ro.cmd("get", "x")) == "1"
        msg = error(ro.cmd("set", "x", "2"))
        assert msg.startswith("NOPERM"), msg
        resp = ro.post("/pipeline", json_body=[["get", "x"], ["del", "x"], ["incr", "y"]])
        assert resp.status_code == 200
        items = resp.json()
        assert items[0] == {"result": "1"}
        assert items[1]["error"].startswith("NOPERM")
        assert items[2]["error"].startswith("NOPERM")
        resp = ro.post("/multi-exec", json_body=[["get", "x"], ["set", "x", "3"]])
        assert resp.status_code == 400 or all(
            "error" in i for i in resp.json()[1:]
        ), resp.text
        resp = ro.request("GET", "/set/x/4")
        assert error(resp).startswith("NOPERM")
        assert ro_r.get("x") == "1"
        assert ro_r.exists("y") == 0
    finally:
        ro.s.close()


def test_readonly_token_over_resp(ro_server, ro_r):
    ro_r.set("x", "1")
    with auth_conn(ro_server.port, ro_server.readonly_token) as c:
        assert c.cmd("GET", "x") == b"1"
        rep = c.cmd("SET", "x", "2")
        assert str(rep).startswith("NOPERM"), rep
        rep = c.cmd("FLUSHALL")
        assert str(rep).startswith("NOPERM"), rep
    assert ro_r.get("x") == "1"


# ---- misc -----------------------------------------------------------------------------


def test_keepalive_many_requests_one_session(http):
    for i in range(300):
        assert result(http.cmd("incr", "ka")) == i + 1


def test_rest_and_resp_share_data(http, r):
    r.hset("shared", mapping={"a": "1"})
    assert result(http.cmd("hget", "shared", "a")) == "1"
    assert result(http.cmd("hset", "shared", "b", "2")) == 1
    assert r.hgetall("shared") == {"a": "1", "b": "2"}


def test_json_body_with_unicode_escapes(http):
    body = json.dumps(["set", "esc", "caf\u00e9 \ud83d\ude00"]).encode()  # ASCII-escaped JSON
    assert result(http.post("/", data=body)) == "OK"
    assert result(http.cmd("get", "esc")) == "café 😀"


# ---- CORS (browsers use the read-only token) ---------------------------------------------


def test_cors_preflight_allows_any_origin(http):
    resp = http.request(
        "OPTIONS",
        "/",
        auth=False,
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, upstash-encoding",
        },
    )
    assert resp.status_code == 200, resp.text
    h = resp.headers
    assert h["access-control-allow-origin"] == "https://app.example"
    assert set(h["access-control-allow-methods"].split(",")) >= {"GET", "POST", "PUT", "HEAD"}
    assert h["access-control-allow-headers"] == "authorization, content-type, upstash-encoding"
    assert h["access-control-max-age"] == "86400"
    assert "origin" in h["vary"].lower()
    assert resp.content == b""


def test_cors_headers_on_replies_and_errors(http):
    resp = http.cmd("set", "cors", "1", headers={"Origin": "http://localhost:3000"})
    assert result(resp) == "OK"
    assert resp.headers["access-control-allow-origin"] == "http://localhost:3000"
    # the browser may read the sync token
    assert resp.headers["access-control-expose-headers"].lower() == "upstash-sync-token"
    bad = http.request("POST", "/", auth=False, headers={"Origin": "http://localhost:3000"}, data=b'["get","cors"]')
    assert bad.status_code == 401
    assert bad.headers["access-control-allow-origin"] == "http://localhost:3000"
    # no Origin, no CORS headers
    plain = http.cmd("get", "cors")
    assert result(plain) == "1"
    assert "access-control-allow-origin" not in plain.headers


def test_options_without_preflight_headers_is_405(http):
    resp = http.request("OPTIONS", "/")
    assert resp.status_code == 405
    assert "not allowed" in resp.json()["error"]


def test_oversized_chunked_body_is_refused(http, server):
    def chunks():
        yield b'["set","chunked","'
        for _ in range(11):
            yield b"z" * (1024 * 1024)
        yield b'"]'

    resp = requests.post(
        server.url + "/",
        data=chunks(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert resp.status_code == 413, resp.status_code
    assert "max request size exceeded" in resp.json()["error"]
    assert result(http.cmd("exists", "chunked")) == 0
    # a small chunked body works
    resp = requests.post(
        server.url + "/",
        data=iter([b'["set","chunked",', b'"ok"]']),
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=TIMEOUT,
    )
    assert result(resp) == "OK"


# ---- raw HTTP/1.1 on the socket --------------------------------------------------------


def _raw(server, data: bytes, *, read_until_close=True, timeout=5.0) -> bytes:
    import socket

    host, port = server.url.split("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        if not read_until_close:
            return s.recv(65536)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def _post(server, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def test_http_pipelined_requests_answer_in_order(http, server):
    data = _post(server, b'["incr","pipe"]') + _post(server, b'["incr","pipe"]') + _post(
        server, b'["get","pipe"]', "Connection: close\r\n"
    )
    out = _raw(server, data)
    assert out.count(b"HTTP/1.1 200 OK") == 3, out
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in out.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b'{"result":1}', b'{"result":2}', b'{"result":"2"}'], bodies


def test_http10_closes_and_expect_continue_works(server):
    out = _raw(server, _post(server, b'["ping"]').replace(b"HTTP/1.1", b"HTTP/1.0"))
    assert out.startswith(b"HTTP/1.0 200 OK") or out.startswith(b"HTTP/1.1 200 OK"), out
    assert out.endswith(b'{"result":"PONG"}'), out
    import socket

    host, port = server.url.split("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        body = b'["echo","after-continue"]'
        s.sendall(_post(server, b"", "Expect: 100-continue\r\n").replace(b"Content-Length: 0", f"Content-Length: {len(body)}".encode()))
        assert s.recv(1000).startswith(b"HTTP/1.1 100 Continue"), "no 100 Continue"
        s.sendall(body)
        reply = s.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b'{"result":"after-continue"}'), reply


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 600_000 + b"\r\n\r\n",
    ],
)
def test_malformed_http_gets_an_error_and_the_server_carries_on(http, server, garbage):
    try:
        out = _raw(server, garbage)
    except ConnectionResetError:
        out = b""
    assert out == b"" or out.startswith(b"HTTP/1.1 4"), out[:200]
    assert result(http.cmd("ping")) == "PONG"


def test_half_http_request_does_not_block_others(http, server):
    import socket

    host, port = server.url.split("//", 1)[1].split(":")
    stalled = [socket.create_connection((host, int(port)), timeout=5) for _ in range(20)]
    try:
        for i, s in enumerate(stalled):
            # half a header block, or a whole head with half the body it announced
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le" if i % 2 else _post(server, b'["set","x","1"]')[:-4])
        for i in range(50):
            assert result(http.cmd("incr", "others")) == i + 1
    finally:
        for s in stalled:
            s.close()
    assert result(http.cmd("exists", "x")) == 0
