"""The whole-table authorisation test: every command (and container subcommand) of the table,
for the full-access token, the read-only token and a restricted ACL user, on every path: RESP
directly, RESP MULTI/EXEC, REST `POST /`, `/pipeline`, `/multi-exec`, `EVAL`/`EVAL_RO` (over
both faces) and `FCALL_RO`. Each call must be refused with a permission error exactly when the user's rules
refuse it.

The expectation is computed here, independently of the server: the rules are evaluated in
Python (Redis's semantics: `+@cat`, `-cmd`, `+container|sub`, in order) over the categories
in crates/engine/src/acl/categories.tsv (which a differential test below checks against
redis-server's own COMMAND reply). Arguments are dummies ("k1"); the permission decision
does not depend on whether the command then succeeds, and every key and channel named
("k1") is inside the restricted user's patterns, so the command rule alone decides here
(test_acl.py covers keys and channels)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO_ROOT, StashdServer, free_port, new_token
from rawresp import RawConn, RespError, encode

CATEGORIES_TSV = REPO_ROOT / "crates" / "engine" / "src" / "acl" / "categories.tsv"

# The read-only token's rules, as issue 11 states them: @read less the powerful reads, plus
# subscribing, read-only scripts, transactions and the connection commands of a browser client.
READONLY_COMMANDS = (
    "-@all +@read -@dangerous -scan -randomkey +subscribe +psubscribe +ssubscribe +unsubscribe "
    "+punsubscribe +sunsubscribe +eval_ro +evalsha_ro +fcall_ro +multi +exec +discard +watch "
    "+unwatch +ping +echo +hello +auth +select +client|setname +client|setinfo +client|getname "
    "+client|id +acl|whoami +quit +reset"
)

RESTRICTED_RULES = [
    "on", ">restricted-pw", "~k*", "&k1", "-@all", "+@read", "+@hash", "-hgetall", "+set",
    "+client|id", "+client|setname", "+publish", "+subscribe", "+eval_ro", "+fcall_ro",
    "+multi", "+exec", "-@dangerous", "+flushall",
]

NO_AUTH = {"auth", "hello", "quit", "reset"}
# Commands that run at once even inside MULTI, and the ones /multi-exec refuses itself.
NO_QUEUE = {"multi", "exec", "discard", "watch", "unwatch", "quit", "reset"}

LIBRARY = (
    "#!lua name=aclprobe\n"
    "redis.register_function{function_name='aclprobe', "
    "callback=function(keys, args) return redis.call(unpack(args)) end, flags={'no-writes'}}"
)


def load_units() -> dict[str, set[str]]:
    units = {}
    for line in CATEGORIES_TSV.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, cats, _source = line.split("\t")
        units[name] = {c.lstrip("@") for c in cats.split()}
    return units


def allowed_units(rules: list[str], units: dict[str, set[str]]) -> set[str]:
    """Redis's command rules, applied in order."""
    allowed: set[str] = set()
    for r in rules:
        low = r.lower()
        if low in ("+@all", "allcommands"):
            allowed = set(units)
        elif low in ("-@all", "nocommands"):
            allowed = set()
        elif low[:1] in ("+", "-"):
            name = low[1:]
            if name.startswith("@"):
                ids = {u for u, cats in units.items() if name[1:] in cats}
            elif "|" in name:
                ids = {name}
            else:
                ids = {u for u in units if u == name or u.startswith(name + "|")}
            allowed = allowed | ids if low[0] == "+" else allowed - ids
    return allowed


def is_denial(text: str) -> bool:
    return "NOPERM" in text or "ACL failure in script" in text


def text_of(reply) -> str:
    if isinstance(reply, RespError):
        return str(reply)
    if isinstance(reply, list):
        return " ".join(text_of(x) for x in reply)
    if isinstance(reply, bytes):
        return reply.decode(errors="replace")
    return str(reply)


class Principal:
    def __init__(self, name: str, auth: list[str], bearer: str, allowed: set[str], script_cmd: str):
        self.name = name
        self.auth = auth
        self.bearer = bearer
        self.allowed = allowed
        self.script_cmd = script_cmd

    def may(self, unit: str) -> bool:
        return unit.split("|")[0] in NO_AUTH or unit in self.allowed


@pytest.fixture(scope="module")
def table_server():
    s = StashdServer(token=new_token(), readonly_token=new_token())
    s.start()
    yield s
    s.stop()


def conn(server, p: Principal) -> RawConn:
    c = RawConn(server.port, timeout=10)
    assert c.cmd("AUTH", *p.auth) == "OK"
    return c


def command_specs(server) -> dict[str, tuple[int, set[str]]]:
    c = server.client(decode_responses=False)
    conn_ = c.connection_pool.get_connection()
    conn_.send_command("COMMAND")
    info = conn_.read_response()
    c.connection_pool.release(conn_)
    out = {}
    def flags_of(row):
        return {f.decode() if isinstance(f, bytes) else f for f in row[2]}

    for row in info:
        out[row[0].decode()] = (row[1], flags_of(row))
        for sub in row[9] if len(row) > 9 else []:  # container subcommands, with their own flags
            out[sub[0].decode()] = (sub[1], flags_of(sub))
    c.close()
    return out


def args_for(unit: str, specs) -> list[str]:
    if "|" in unit:
        return unit.split("|")
    arity = specs[unit][0]
    return [unit] + ["k1"] * (abs(arity) - 1)


def test_every_command_on_every_path_for_every_principal(table_server):
    s = table_server
    units = load_units()
    specs = command_specs(s)
    # Every command the server serves has its categories (the Rust unit test checks the table;
    # this checks what the running server lists).
    containers = {u.split("|")[0] for u in units if "|" in u}
    missing = [n for n in specs if "|" not in n and n not in units and n not in containers]
    assert not missing, f"commands without ACL categories: {missing}"

    full = s.client()
    assert full.execute_command("ACL", "SETUSER", "restricted", *RESTRICTED_RULES) == "OK"
    ro_rules = full.execute_command("ACL", "GETUSER", "default_ro")
    ro_rules = dict(zip(ro_rules[::2], ro_rules[1::2]))
    assert ro_rules["commands"] == READONLY_COMMANDS
    restricted_token = full.execute_command("ACL", "RESTTOKEN", "restricted", "restricted-pw")
    assert full.execute_command("FUNCTION", "LOAD", "REPLACE", LIBRARY) == "aclprobe"

    principals = [
        Principal("default", ["default", s.token], s.token, set(units), "EVAL"),
        Principal("default_ro", ["default_ro", s.readonly_token], s.readonly_token,
                  allowed_units(READONLY_COMMANDS.split(), units), "EVAL_RO"),
        Principal("restricted", ["restricted", "restricted-pw"], restricted_token,
                  allowed_units(RESTRICTED_RULES, units), "EVAL_RO"),
    ]
    # Units that can be called: plain commands, container subcommands, and COMMAND alone.
    callable_units = sorted(u for u in units if ("|" in u or u not in containers or u == "command")
                            and u.split("|")[0] in specs)
    assert len(callable_units) > 300

    http = requests.Session()
    mismatches: list[str] = []
    denials = {p.name: 0 for p in principals}

    def check(p: Principal, path: str, unit: str, expect_denied: bool, text: str):
        if is_denial(text) != expect_denied:
            mismatches.append(f"{p.name} {path} {unit}: expected {'denied' if expect_denied else 'allowed'}, got {text[:160]!r}")
        elif expect_denied:
            denials[p.name] += 1

    for p in principals:
        headers = {"Authorization": f"Bearer {p.bearer}"}
        for unit in callable_units:
            args = args_for(unit, specs)
            name = unit.split("|")[0]
            flags = specs.get(unit, specs[name])[1]
            may = p.may(unit)

            # RESP, directly (a fresh connection: some commands change its state).
            c = conn(s, p)
            check(p, "resp", unit, not may, text_of(c.cmd(*args)))
            c.close()

            # RESP MULTI ... EXEC.
            if name not in NO_QUEUE:
                c = conn(s, p)
                c.send(encode("MULTI") + encode(*args) + encode("EXEC"))
                replies = [c.read_reply() for _ in range(3)]
                c.close()
                expect = not (may and p.may("multi") and p.may("exec"))
                check(p, "multi", unit, expect, text_of(replies))

            # REST: POST /, /pipeline and /multi-exec.
            r = http.post(s.url + "/", data=json.dumps(args), headers=headers, timeout=10)
            check(p, "rest", unit, not may, r.text)
            r = http.post(s.url + "/pipeline", data=json.dumps([args]), headers=headers, timeout=10)
            check(p, "pipeline", unit, not may, r.text)
            if name not in NO_QUEUE:
                r = http.post(s.url + "/multi-exec", data=json.dumps([args]), headers=headers, timeout=10)
                check(p, "multi-exec", unit, not (may and p.may("multi") and p.may("exec")), r.text)

            # Scripts: the script command itself, then redis.call's own check (commands that
            # scripts may not run at all never reach it).
            in_script_ok = "noscript" in flags or may
            c = conn(s, p)
            script = "return redis.call(unpack(ARGV))"
            reply = c.cmd(p.script_cmd, script, 0, *args)
            script_denied = not (p.may(p.script_cmd.lower()) and in_script_ok)
            check(p, p.script_cmd.lower(), unit, script_denied, text_of(reply))
            r = http.post(s.url + "/", data=json.dumps([p.script_cmd, script, 0, *args]), headers=headers, timeout=10)
            check(p, "rest " + p.script_cmd.lower(), unit, script_denied, r.text)
            try:
                reply = c.cmd("FCALL_RO", "aclprobe", 0, *args)
            except ConnectionError as e:
                raise AssertionError(f"{p.name} {unit}: connection lost ({e}); server alive: {s.alive()}")
            if "Function not found" in text_of(reply):  # a FUNCTION FLUSH of this loop
                full.execute_command("FUNCTION", "LOAD", "REPLACE", LIBRARY)
                reply = c.cmd("FCALL_RO", "aclprobe", 0, *args)
            check(p, "fcall_ro", unit, not (p.may("fcall_ro") and in_script_ok), text_of(reply))
            c.close()

    full.close()
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:60])
    # Not vacuous: the restricted principals were refused a lot, the full one never.
    assert denials["default"] == 0
    assert denials["default_ro"] > 500 and denials["restricted"] > 500, denials


def test_readonly_token_cannot_escape_through_any_path(table_server):
    """The holes issue 11 names, each on each path."""
    s = table_server
    ro = ["default_ro", s.readonly_token]
    c = RawConn(s.port)
    assert c.cmd("AUTH", *ro) == "OK"
    for call in (["EVAL_RO", "return redis.call('KEYS','*')", 0], ["EVAL_RO", "return redis.call('SCAN','0')", 0],
                 ["EVAL", "return redis.call('SCAN','0')", 0], ["CLIENT", "KILL", "TYPE", "normal"],
                 ["SCRIPT", "FLUSH"], ["PUBLISH", "ch", "spoof"], ["SPUBLISH", "ch", "spoof"], ["KEYS", "*"],
                 ["SCAN", "0"], ["FUNCTION", "FLUSH"], ["CONFIG", "SET", "hz", "20"], ["ACL", "SETUSER", "x"]):
        assert is_denial(text_of(c.cmd(*call))), call
    c.close()
    headers = {"Authorization": f"Bearer {s.readonly_token}"}
    r = requests.post(s.url + "/", json=["EVAL_RO", "return redis.call('KEYS','*')", 0], headers=headers, timeout=10)
    assert r.status_code == 400 and "ACL failure in script" in r.json()["error"]
    r = requests.post(s.url + "/pipeline", json=[["GET", "a"], ["PUBLISH", "ch", "x"]], headers=headers, timeout=10)
    assert "error" not in r.json()[0] and "NOPERM" in r.json()[1]["error"]
    r = requests.post(s.url + "/multi-exec", json=[["GET", "a"], ["SCRIPT", "FLUSH"]], headers=headers, timeout=10)
    assert r.status_code == 400 and "NOPERM" in r.json()["error"]
    r = requests.get(s.url + "/client/kill/type/normal", headers=headers, timeout=10)
    assert r.status_code == 400 and "NOPERM" in r.json()["error"]
    r = requests.post(s.url + "/monitor", headers=headers, timeout=10, stream=True)
    assert r.status_code == 403
    r.close()


@pytest.fixture(scope="module")
def reference_redis():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            RawConn(port, timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.kill()
    proc.wait()


def test_categories_match_redis_server(reference_redis):
    """Rows marked "redis" in categories.tsv are what redis-server says of the command."""
    c = RawConn(reference_redis)
    info = c.cmd("COMMAND")
    c.close()
    theirs: dict[str, set[str]] = {}
    for row in info:
        theirs[row[0].decode()] = {x.lstrip("@") for x in text_of(row[6]).split()}
        for sub in row[9]:
            theirs[sub[0].decode()] = {x.lstrip("@") for x in text_of(sub[6]).split()}
    ours = load_units()
    checked = 0
    for line in CATEGORIES_TSV.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _cats, source = line.split("\t")
        if source == "redis" and name in theirs:
            assert ours[name] == theirs[name], name
            checked += 1
    assert checked > 300
