"""Writes crates/engine/src/command_info.tsv from a running redis-server's COMMAND reply:
`python3 tests/py/gen_command_info.py <port> > crates/engine/src/command_info.tsv`.
test_introspection.py checks the file against redis-server again (flags and key specs)."""

from __future__ import annotations

import sys

from redis.connection import Connection


def text(x):
    if isinstance(x, bytes):
        return x.decode()
    if isinstance(x, list):
        return [text(i) for i in x]
    if isinstance(x, dict):
        return {text(k): text(v) for k, v in x.items()}
    return x


def spec_text(spec: dict) -> str:
    """`FLAG,FLAG;begin_search;find_keys` with begin_search `index:N`, `keyword:KW,N` or
    `unknown`, and find_keys `range:LASTKEY,STEP,LIMIT`, `keynum:IDX,FIRST,STEP` or `unknown`."""
    flags = ",".join(spec["flags"])
    bs, fk = spec["begin_search"], spec["find_keys"]
    if bs["type"] == "index":
        b = f"index:{bs['spec']['index']}"
    elif bs["type"] == "keyword":
        b = f"keyword:{bs['spec']['keyword']},{bs['spec']['startfrom']}"
    else:
        b = "unknown"
    if fk["type"] == "range":
        s = fk["spec"]
        f = f"range:{s['lastkey']},{s['keystep']},{s['limit']}"
    elif fk["type"] == "keynum":
        s = fk["spec"]
        f = f"keynum:{s['keynumidx']},{s['firstkey']},{s['keystep']}"
    else:
        f = "unknown"
    return f"{flags};{b};{f}"


def rows(info, out):
    name, flags, specs, subs = info[0], info[2], info[8], info[9]
    legacy = f"{info[1]} {info[3]} {info[4]} {info[5]}"
    out.append((name, legacy, " ".join(flags), " | ".join(spec_text(s) for s in specs)))
    for sub in subs:
        rows(sub, out)


def main() -> None:
    c = Connection(port=int(sys.argv[1]))
    c.send_command("COMMAND")
    reply = text(c.read_response())
    c.send_command("INFO", "server")
    version = next(
        line.split(":", 1)[1] for line in text(c.read_response()).splitlines() if line.startswith("redis_version:")
    )
    out: list = []
    for info in reply:
        rows(info, out)
    print(f"# Command flags and key specs of redis-server {version}'s COMMAND reply (name<TAB>arity first last step<TAB>flags<TAB>key specs).")
    print("# Made by tests/py/gen_command_info.py; checked against redis-server by tests/py/test_introspection.py.")
    print("# A key spec is FLAGS;begin_search;find_keys: index:N | keyword:KW,STARTFROM | unknown;")
    print("# range:LASTKEY,STEP,LIMIT | keynum:NUMKEYSIDX,FIRSTKEY,STEP | unknown. Specs are separated by ' | '.")
    for name, legacy, flags, specs in sorted(out):
        print(f"{name}\t{legacy}\t{flags}\t{specs}")


if __name__ == "__main__":
    main()
