//! Keyspace notifications (Redis `notify.c`): after a write, events published on
//! `__keyspace@<db>__:<key>` (message: the event) and `__keyevent@<db>__:<event>` (message: the
//! key), filtered by the `notify-keyspace-events` classes.
//!
//! Redis calls its notifier from inside each command; here [`command_events`] derives the
//! events from the command that ran and what happened to each of its keys (created, changed,
//! deleted), which gives Redis's event names for every command of the table.

use bytes::{BufMut, Bytes, BytesMut};

use crate::engine::Shared;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: keys reclaimed because their TTL passed.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: keys evicted for maxmemory.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a read found no key.
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module types.
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created.
pub const NEW: u32 = 1 << 13;
/// Array commands (Redis 8.8's `NOTIFY_ARRAY`). stashd gives the class no letter of its own:
/// array events are published when `A` is set.
pub const ARRAY: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE | ARRAY;

const LETTERS: [(char, u32); 11] = [
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('n', NEW),
];

/// Parses a `notify-keyspace-events` value; `None` on a character Redis does not know.
pub fn parse_flags(s: &str) -> Option<u32> {
    s.chars().try_fold(0, |acc, c| {
        let f = match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            _ => LETTERS.iter().find(|(l, _)| *l == c)?.1,
        };
        Some(acc | f)
    })
}

/// Renders flags the way `CONFIG GET notify-keyspace-events` shows them.
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
        if flags & NEW != 0 {
            s.push('n');
        }
    } else {
        s.extend(LETTERS.iter().filter(|(_, f)| flags & f != 0).map(|(c, _)| *c));
    }
    for (c, f) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & f != 0 {
            s.push(c);
        }
    }
    s
}

/// Publishes one event for `key` in `db` if `class` is enabled (and K or E is).
pub fn publish(shared: &Shared, flags: u32, class: u32, event: &str, db: usize, key: &[u8]) {
    if flags & class == 0 || flags & (KEYSPACE | KEYEVENT) == 0 {
        return;
    }
    let channel = |kind: &str, tail: &[u8]| {
        let mut c = BytesMut::with_capacity(16 + tail.len());
        c.put_slice(format!("__key{kind}@{db}__:").as_bytes());
        c.put_slice(tail);
        c.freeze()
    };
    if flags & KEYSPACE != 0 {
        shared.pubsub.publish(&channel("space", key), &Bytes::copy_from_slice(event.as_bytes()), false);
    }
    if flags & KEYEVENT != 0 {
        shared.pubsub.publish(&channel("event", event.as_bytes()), &Bytes::copy_from_slice(key), false);
    }
}

/// Positions of the keys a write command touches, for [`command_events`] (a key named twice
/// counts once, except where the positions mean different roles, as LMOVE's source and
/// destination).
pub fn written_keys(name: &str, args: &[Bytes], positions: impl Iterator<Item = usize>) -> Vec<usize> {
    let roles = matches!(name, "lmove" | "blmove" | "rpoplpush" | "brpoplpush" | "smove" | "rename" | "renamenx" | "copy");
    let mut out: Vec<usize> = Vec::new();
    for p in positions {
        if roles || !out.iter().any(|&q| args[q] == args[p]) {
            out.push(p);
        }
    }
    out
}

/// The class of a command group's events.
fn group_class(group: &str) -> u32 {
    match group {
        "string" | "bitmap" | "hyperloglog" => STRING,
        "list" => LIST,
        "set" => SET,
        "hash" => HASH,
        "sorted-set" | "geo" => ZSET,
        "stream" => STREAM,
        "json" => MODULE,
        "array" => ARRAY,
        _ => GENERIC,
    }
}

/// [`KeyChange::nth`] of a key the command signalled beyond its declared keys.
pub const EXTRA_KEY: usize = usize::MAX;

/// What happened to one declared key of a command that wrote.
#[derive(Debug, Clone, Copy)]
pub struct KeyChange {
    /// Position of the key among the command's declared keys (0 = first).
    pub nth: usize,
    /// The key existed before the command.
    pub existed: bool,
    /// The key exists after it.
    pub exists: bool,
}

fn has_opt(args: &[Bytes], names: &[&str]) -> bool {
    args.iter().skip(2).any(|a| names.iter().any(|n| a.eq_ignore_ascii_case(n.as_bytes())))
}

fn side(arg: Option<&Bytes>, left: &'static str, right: &'static str) -> &'static str {
    match arg {
        Some(a) if a.eq_ignore_ascii_case(b"RIGHT") || a.eq_ignore_ascii_case(b"MAX") => right,
        _ => left,
    }
}

/// The events (class, name) Redis fires for one key of a write command, in order.
pub fn command_events(name: &'static str, group: &'static str, args: &[Bytes], ch: KeyChange) -> Vec<(u32, &'static str)> {
    let mut ev: Vec<(u32, &'static str)> = Vec::with_capacity(3);
    if !ch.existed && !ch.exists {
        return ev;
    }
    if !ch.existed && ch.exists {
        ev.push((NEW, "new"));
    }
    match name {
        "set" => {
            ev.push((STRING, "set"));
            if has_opt(args, &["EX", "PX", "EXAT", "PXAT"]) {
                ev.push((GENERIC, "expire"));
            }
        }
        "setnx" | "getset" | "mset" | "msetnx" => ev.push((STRING, "set")),
        "setex" | "psetex" => ev.extend([(STRING, "set"), (GENERIC, "expire")]),
        "incr" | "incrby" | "decr" | "decrby" => ev.push((STRING, "incrby")),
        "getdel" => {}
        "getex" if has_opt(args, &["PERSIST"]) => ev.push((GENERIC, "persist")),
        "getex" => ev.push((GENERIC, "expire")),
        "del" | "unlink" => {}
        "expire" | "pexpire" | "expireat" | "pexpireat" if ch.exists => ev.push((GENERIC, "expire")),
        "rename" | "renamenx" if ch.nth == 0 => return vec![(GENERIC, "rename_from")],
        "rename" | "renamenx" => ev.push((GENERIC, "rename_to")),
        "copy" if ch.nth == 0 => return Vec::new(),
        "copy" if ch.nth == EXTRA_KEY => ev.push((GENERIC, "copy_to")),
        "move" if ch.nth == EXTRA_KEY => ev.push((GENERIC, "move_to")),
        "move" if ch.existed && !ch.exists => return vec![(GENERIC, "move_from")],
        "move" => return Vec::new(),
        "copy" => ev.push((GENERIC, "copy_to")),
        "lpushx" => ev.push((LIST, "lpush")),
        "rpushx" => ev.push((LIST, "rpush")),
        "blpop" => ev.push((LIST, "lpop")),
        "brpop" => ev.push((LIST, "rpop")),
        "rpoplpush" | "brpoplpush" => ev.push((LIST, if ch.nth == 0 { "rpop" } else { "lpush" })),
        "lmove" | "blmove" => {
            let e = if ch.nth == 0 { side(args.get(3), "lpop", "rpop") } else { side(args.get(4), "lpush", "rpush") };
            ev.push((LIST, e));
        }
        "lmpop" | "blmpop" => {
            let dir = args.iter().find(|a| a.eq_ignore_ascii_case(b"LEFT") || a.eq_ignore_ascii_case(b"RIGHT"));
            ev.push((LIST, side(dir, "lpop", "rpop")));
        }
        "hmset" | "hsetnx" => ev.push((HASH, "hset")),
        "bitop" => ev.push((STRING, "set")),
        "pfmerge" => ev.push((STRING, "pfadd")),
        // RedisJSON fires only its own event, also when the whole document goes.
        "json.del" | "json.forget" => return vec![(MODULE, "json.del")],
        "geoadd" => ev.push((ZSET, "zadd")),
        "sort" if ch.nth == EXTRA_KEY => ev.push((LIST, "sortstore")),
        "sort" => return Vec::new(),
        "bitfield" => ev.push((STRING, "setbit")),
        "smove" => ev.push((SET, if ch.nth == 0 { "srem" } else { "sadd" })),
        "zadd" if has_opt(args, &["INCR"]) => ev.push((ZSET, "zincr")),
        "zincrby" => ev.push((ZSET, "zincr")),
        "bzpopmin" => ev.push((ZSET, "zpopmin")),
        "bzpopmax" => ev.push((ZSET, "zpopmax")),
        "zmpop" | "bzmpop" => {
            let dir = args.iter().find(|a| a.eq_ignore_ascii_case(b"MIN") || a.eq_ignore_ascii_case(b"MAX"));
            ev.push((ZSET, side(dir, "zpopmin", "zpopmax")));
        }
        "xgroup" => {
            let sub = args.get(1).map(|s| s.to_ascii_lowercase());
            let e = match sub.as_deref() {
                Some(b"create") => "xgroup-create",
                Some(b"setid") => "xgroup-setid",
                Some(b"destroy") => "xgroup-destroy",
                Some(b"createconsumer") => "xgroup-createconsumer",
                Some(b"delconsumer") => "xgroup-delconsumer",
                _ => return Vec::new(),
            };
            ev.push((STREAM, e));
        }
        "xreadgroup" | "xclaim" | "xautoclaim" | "xack" => {}
        "xdelex" | "xackdel" => ev.push((STREAM, "xdel")),
        _ if !ch.exists && name.ends_with("store") => {}
        _ if ch.exists || !matches!(name, "expire" | "pexpire" | "expireat" | "pexpireat") => ev.push((group_class(group), name)),
        _ => {}
    }
    if ch.existed && !ch.exists {
        ev.push((GENERIC, "del"));
    }
    ev
}

/// The events of a key whose handler named them ([`crate::Ctx::set_events`]): `new` if the
/// command created the key, the chosen ones, `del` if it removed the key.
pub fn chosen_events(chosen: &[(u32, &'static str)], ch: KeyChange) -> Vec<(u32, &'static str)> {
    let mut ev = Vec::with_capacity(chosen.len() + 2);
    if !ch.existed && !ch.exists {
        return ev;
    }
    if !ch.existed {
        ev.push((NEW, "new"));
    }
    ev.extend_from_slice(chosen);
    if ch.existed && !ch.exists {
        ev.push((GENERIC, "del"));
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn flags_parse_and_render_like_redis() {
        assert_eq!(parse_flags("KEA").map(flags_to_string).as_deref(), Some("AKE"));
        assert_eq!(parse_flags("Ex").map(flags_to_string).as_deref(), Some("xE"));
        assert_eq!(parse_flags("").map(flags_to_string).as_deref(), Some(""));
        assert_eq!(parse_flags("KEAnm").map(flags_to_string).as_deref(), Some("AnKEm"));
        assert_eq!(parse_flags("Kq"), None);
    }

    #[test]
    fn events_follow_redis_names() {
        let created = KeyChange { nth: 0, existed: false, exists: true };
        let changed = KeyChange { nth: 0, existed: true, exists: true };
        let gone = KeyChange { nth: 0, existed: true, exists: false };
        assert_eq!(
            command_events("set", "string", &b(&["SET", "k", "v", "EX", "5"]), created),
            vec![(NEW, "new"), (STRING, "set"), (GENERIC, "expire")]
        );
        assert_eq!(command_events("incrby", "string", &b(&["INCRBY", "k", "2"]), changed), vec![(STRING, "incrby")]);
        assert_eq!(command_events("del", "generic", &b(&["DEL", "k"]), gone), vec![(GENERIC, "del")]);
        assert_eq!(command_events("lpop", "list", &b(&["LPOP", "k"]), gone), vec![(LIST, "lpop"), (GENERIC, "del")]);
        assert_eq!(
            command_events("rename", "generic", &b(&["RENAME", "a", "b"]), KeyChange { nth: 1, existed: false, exists: true }),
            vec![(NEW, "new"), (GENERIC, "rename_to")]
        );
        assert_eq!(command_events("expire", "generic", &b(&["EXPIRE", "k", "-1"]), gone), vec![(GENERIC, "del")]);
        assert!(command_events("del", "generic", &b(&["DEL", "k"]), KeyChange { nth: 0, existed: false, exists: false }).is_empty());
        assert_eq!(command_events("json.set", "json", &b(&["JSON.SET", "k", "$", "1"]), created), vec![(NEW, "new"), (MODULE, "json.set")]);
        assert_eq!(command_events("json.forget", "json", &b(&["JSON.FORGET", "k"]), gone), vec![(MODULE, "json.del")]);
    }
}
