"""The sealed Lua sandbox (Redis 7): scripts and function libraries cannot alter the shared
libraries or the globals, for themselves or for any later script of any client."""

from __future__ import annotations

import pytest
import redis

READONLY = "Attempt to modify a readonly table"

# (table, member, Lua expression showing the member works, its value)
SEALED = [
    ("redis", "call", "(redis.call('SET', 'sealk', 'ok') and redis.call('GET', 'sealk'))", "ok"),
    ("redis", "sha1hex", "redis.sha1hex('')", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("cjson", "encode", "cjson.encode({1, 'a'})", '[1,"a"]'),
    ("bit", "band", "tostring(bit.band(6, 3))", "2"),
    ("struct", "pack", "struct.pack('>I2', 16706)", "AB"),
    ("cmsgpack", "pack", "cmsgpack.unpack(cmsgpack.pack('ok'))", "ok"),
    ("string", "len", "tostring(string.len('abc')) .. tostring(('abcd'):len())", "34"),
    ("math", "floor", "tostring(math.floor(2.5))", "2"),
    ("table", "concat", "table.concat({'a', 'b'}, '-')", "a-b"),
]

CHECK_LIB = "#!lua name=sandbox_check\n" + "".join(
    f"redis.register_function('sandbox_chk{i}', function() return {check} end)\n"
    for i, (_, _, check, _) in enumerate(SEALED)
) + "redis.register_function('sandbox_run', function(keys, args) return loadstring(args[1])() end)\n"


@pytest.fixture
def lib(r):
    r.function_load(CHECK_LIB, replace=True)
    yield r
    r.function_delete("sandbox_check")


def assert_readonly(call):
    with pytest.raises(redis.exceptions.ResponseError) as e:
        call()
    assert READONLY in str(e.value)
    return str(e.value)


@pytest.mark.parametrize("table,member,check,want", SEALED, ids=[f"{t}.{m}" for t, m, _, _ in SEALED])
def test_library_member_cannot_be_replaced(server, lib, table, member, check, want):
    r = lib
    attempts = [
        f"{table}.{member} = function() return 'hijacked' end",
        f"{table}.{member} = nil",
        f"{table}.brand_new = 1",
        f"rawset({table}, '{member}', function() return 'hijacked' end)",
        f"setmetatable({table}, nil)",
        f"table.insert({table}, 1)",
        f"{table} = {{}}",
        f"_G.{table} = nil",
        f"rawset(_G, '{table}', {{}})",
    ]
    for body in attempts:
        msg = assert_readonly(lambda: r.eval(body, 0))
        assert msg.startswith("user_script:1: ") or msg.startswith(READONLY), msg
        # The same from a function library's callback.
        assert_readonly(lambda: r.fcall("sandbox_run", 0, body))
    # ...and at a library's load time.
    bad = f"#!lua name=sandbox_bad\n{table}.{member} = nil\nredis.register_function('b', function() end)"
    msg = assert_readonly(lambda: r.function_load(bad))
    assert msg.startswith("Error registering functions: user_function:2: "), msg
    # Every later script, of this client or another, sees the original.
    other = server.client()
    try:
        for c in (r, other):
            assert c.eval(f"return {check}", 0) == want
            assert c.fcall(f"sandbox_chk{SEALED.index((table, member, check, want))}", 0) == want
    finally:
        other.close()


def test_global_table_and_escape_hatches(r, lib):
    for body in [
        "x = 1",
        "redis = {}",
        "_G.redis = nil",
        "rawset(_G, 'redis', {})",
        "rawset(redis, 'call', function() return 'hijacked' end)",
        "getmetatable('').__index.len = function() return 0 end",
        "rawset(getmetatable(''), '__index', {})",
        "loadstring('redis = 1')()",
        "getfenv(0).redis = 1",
        "getfenv(redis.call).redis = 1",
        "coroutine.wrap(function() getfenv(0).redis = 1 end)()",
        "setmetatable(redis, nil)",
        "setmetatable(_G, nil)",
    ]:
        assert_readonly(lambda: r.eval(body, 0))
    assert r.eval("return getmetatable(redis) == nil and getmetatable(_G) == nil", 0) == 1
    assert r.eval("return getmetatable('').__index == string", 0) == 1
    with pytest.raises(redis.exceptions.ResponseError, match="nonexistent global variable 'setfenv'"):
        r.eval("return setfenv", 0)
    with pytest.raises(redis.exceptions.ResponseError, match="nonexistent global variable 'nosuch'"):
        r.eval("return nosuch", 0)
    with pytest.raises(redis.exceptions.ResponseError, match="nonexistent global variable 'print'"):
        r.eval("print('x')", 0)
    # No bytecode through loadstring.
    assert r.eval("return tostring(loadstring(string.dump(function() return 1 end)))", 0) == "nil"
    # After all that, everything still works.
    assert r.eval("return redis.call('PING')", 0) == "PONG"
    for i, (_, _, check, want) in enumerate(SEALED):
        assert r.eval(f"return {check}", 0) == want
        assert r.fcall(f"sandbox_chk{i}", 0) == want


def test_ordinary_scripts_still_work(r):
    assert r.eval("return {('abc'):upper(), ('x'):rep(3), #'abcd'}", 0) == ["ABC", "xxx", 4]
    assert r.eval("return string.format('%s:%s', KEYS[1], ARGV[1])", 1, "k", "a") == "k:a"
    assert r.eval(
        "local t = {a = 1, b = 2}; local n = 0; for k, v in pairs(t) do n = n + v end;"
        " for i, v in ipairs({5, 6}) do n = n + i * v end; return n",
        0,
    ) == 20
    assert r.eval("local t = {}; table.insert(t, 'a'); table.insert(t, 1, 'b'); return table.concat(t)", 0) == "ba"
    assert r.eval("return cjson.decode(cjson.encode({a = {1, 2}})).a[2]", 0) == 2
    assert r.eval("return cmsgpack.unpack(cmsgpack.pack({1, {x = 'y'}}))[2].x", 0) == "y"
    assert r.eval("KEYS[1] = 'changed'; return KEYS[1]", 1, "k") == "changed"
    assert r.eval("return KEYS[1]", 1, "k2") == "k2"
    assert r.eval(
        "local function counter() local n = 0; return function() n = n + 1; return n end end;"
        " local c = counter(); c(); return c()",
        0,
    ) == 2
    assert r.eval("local ok, e = pcall(error, 'boom'); return e", 0) == "boom"
    assert r.eval("local ok, e = pcall(function() x = 1 end); return tostring(ok)", 0) == "false"
    assert r.eval("return loadstring('return 1 + ...')(2)", 0) == 3
    assert r.eval("local n = 0; for k in pairs(redis) do n = n + 1 end; return n > 5", 0) == 1
    assert r.eval("return rawget(_G, 'redis') == redis and rawget(_G, 'nothing') == nil", 0) == 1
    assert r.eval("local C = {}; C.__index = C; local o = setmetatable({v = 9}, C); return o.v", 0) == 9
