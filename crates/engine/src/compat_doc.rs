//! Generates `docs/compatibility.md` from `docs/redis-commands.tsv` (every Redis 8.2 command)
//! and the command table, and fails if the checked-in file differs (`STASHD_WRITE_DOCS=1`
//! rewrites it). A command counts as supported when the table has it; a container subcommand
//! when running it does not answer "unknown subcommand" or "not supported".

use crate::acl::categories::units;
use crate::acl::{User, READONLY_RULES};
use crate::command::{flags, lookup};
use crate::testkit::T;

/// Why a command is missing, or what differs about a supported one.
enum Note {
    /// Not offered, and why.
    No(&'static str),
    /// Offered with a difference.
    Partial(&'static str),
    /// Offered; a remark.
    Info(&'static str),
}

const NO_REPLICATION: &str = "no replication: stashd runs one node; durability comes from its append-only log";
const NO_CLUSTER: &str = "stashd is a single node, not a Redis Cluster member (scaling out on an existing Redis/Valkey Cluster is planned)";
const LATER: &str = "not implemented yet";

fn note(name: &str) -> Option<Note> {
    use Note::*;
    Some(match name {
        "acl" => Info("users with Redis's rules; the standard token is user `default`'s password, the read-only token `default_ro`'s"),
        "acl|setuser" => Partial("Redis's rules except selectors `(...)` and first-argument rules (`+select|0`), which are refused with a clear error; `%R~`/`%W~` keys: a write command's keys need write access, a read's read access"),
        "acl|getuser" => Info("`selectors` is always empty"),
        "acl|load" | "acl|save" => Info("the aclfile is `users.acl` in the data directory, written on every change"),
        "acl|log" => Info("Redis 7.2's fields (`entry-id`, `timestamp-created`, `timestamp-last-updated`)"),
        "acl|resttoken" => Info("the hosted service's extension: a REST bearer token acting as the user, valid while it keeps that password"),
        "asking" | "migrate" | "restore-asking" => No(NO_CLUSTER),
        "readonly" | "readwrite" => Info("answers as a standalone Redis does (cluster support disabled)"),
        "save" => Partial("makes everything written durable in the append-only log (fsync); no RDB file"),
        "bgsave" => Partial("compacts the append-only log in the background (a rewrite); no RDB file"),
        "role" => Info("a primary without replicas"),
        "lolwut" => Partial("a line of text and the version, not generative art"),
        "failover" | "psync" | "replconf" | "replicaof" | "slaveof" | "sync" => No(NO_REPLICATION),
        "module|load" | "module|loadex" | "module|unload" => No("modules cannot be loaded; JSON is built in"),
        "module" | "module|list" => Info("lists the built-in JSON as RedisJSON (`ReJSON`)"),
        "pfdebug" | "pfselftest" => No("internal HyperLogLog debugging commands"),
        "shutdown" => No("stop the server with SIGTERM or SIGINT (the log is flushed first)"),
        "client|tracking" => Info("RESP only; a REDIRECT target gets invalidations once it subscribed (RESP2) or tracks itself (RESP3)"),
        "client|pause" | "client|unpause" => Info("RESP connections wait (Redis 7's WRITE/ALL rules); REST requests are not held"),
        "client|unblock" => Info("RESP only (REST requests never block)"),
        "script|debug" => No("the Lua debugger (ldb) is not offered"),
        "xadd" | "xtrim" => Info("`~` removes whole listpack nodes as Redis does (`stream-node-max-entries`, `stream-node-max-bytes`)"),
        "xackdel" => Info("a missing group is not an error (each id gets its deletion result), as on the hosted service"),
        "memory|usage" => Partial("an estimate: key + value + 48 bytes of overhead"),
        "memory|stats" => Partial("the process's resident size and the estimated dataset; allocator internals are 0"),
        "memory|malloc-stats" => Info("mimalloc: answers as Redis does for an allocator without a stats report"),
        "memory|purge" => Info("returns mimalloc's free pages to the OS"),
        "latency|doctor" | "latency|graph" => Info("the latency monitor is off, so there are no spikes or samples"),
        "latency|histogram" | "slowlog" | "slowlog|get" => Info("recorded for every command, as Redis does"),
        "command|getkeys" | "command|getkeysandflags" => {
            Info("Redis's key specs and key-spec flags (from redis-server 7.0's COMMAND), movable keys included")
        }
        "command|info" => Info("redis-server's flags and key specs (`movablekeys`, `pubsub`, ...); RedisJSON's commands flagged `module`"),
        "latency|latest" | "latency|history" | "latency|reset" => {
            Partial("the latency monitor is off (`latency-monitor-threshold` 0, Redis's default), so there are no events")
        }
        "client|list" => Partial("some fields (e.g. memory and buffer sizes) are constants; `ID`/`TYPE` filters as Redis"),
        "client|info" => Partial("some fields (e.g. memory and buffer sizes) are constants"),
        "client|kill" => Partial("every client is a normal client: TYPE normal/pubsub match all, master/replica none; USER matches the client's ACL user"),
        "client|reply" => Info("RESP only"),
        "info" => Partial("every Redis 7.2 section and field (Cluster, Modules, Errorstats...); `used_memory` is the process's resident size, fields stashd has no counterpart for read as Redis's defaults"),
        "config|set" | "config|get" => Info("Redis 7's whole parameter table; which ones act in stashd: docs/config.md"),
        "debug" => Info("only with `--enable-debug-command` (tests use `DEBUG JUMP-CLOCK`)"),
        "xinfo|consumers" => Info("a missing group answers `[]` as on the hosted service"),
        "xreadgroup" => Info("a `NOACK` read creates no consumer, as on the hosted service"),
        "scan" => Info("also the hosted service's `WITHTYPE`; not for the read-only token, as on the hosted service"),
        "keys" | "randomkey" => Info("not for the read-only token (a keyspace-wide read), as on the hosted service"),
        "json.set" | "json.mset" => Info("a member under a missing parent is an error, as on the hosted service (RedisJSON answers nil); `$..` lists deeper matches first, as the hosted service"),
        "json.get" | "json.del" | "json.forget" | "json.type" | "json.arrappend" | "json.arrindex" | "json.arrinsert" | "json.arrlen"
        | "json.arrpop" | "json.arrtrim" | "json.clear" | "json.merge" | "json.mget" | "json.numincrby" | "json.nummultby"
        | "json.objkeys" | "json.objlen" | "json.strappend" | "json.strlen" | "json.toggle" => Info(
            "legacy and JSONPath paths (filters with comparisons, `&&`/`||`/`!` and `=~` regular expressions); `$..` lists deeper matches first, as the hosted service (RedisJSON: document order)",
        ),
        "json.resp" => Partial("as RedisJSON's RESP2 form; RESP3 `FORMAT EXPAND` is not offered"),
        "json.debug" => Partial("MEMORY and HELP"),
        "hexpiretime" => Info("truncates to whole seconds, as the hosted service (Redis rounds up)"),
        "hexpireat" | "hgetex" | "hsetex" => {
            Info("a far-future Unix time in seconds is accepted (the latest expiry there is), as the hosted service; Redis refuses it")
        }
        "hexpire" | "hpexpire" | "hpexpireat" | "hpersist" | "httl" | "hpttl" | "hpexpiretime" | "hgetdel" => {
            Info("expired fields disappear on any access to the hash and in the active expiry cycle")
        }
        "dump" => Partial("not yet for array values (a clear error says so); hashes with field TTLs are written as RDB 12 (Redis 7.4+), JSON as RedisJSON's module value (its document text)"),
        "copy" => Info("`COPY k k` answers 0 as on the hosted service"),
        "zrange" | "zrangestore" => Info("`LIMIT` without BYSCORE/BYLEX is accepted, as on the hosted service"),
        "unlink" => Info("zero keys accepted, as on the hosted service"),
        "fcall_ro" => Info("any function may run; writes fail at run time, as on the hosted service"),
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "function|load" => {
            Info("Lua 5.1 with cjson, bit, struct, cmsgpack, sealed as Redis 7's; `redis.call` replies are RESP2-shaped unless `redis.setresp(3)`; the hosted service's `#!lua flags=allow-key-locking` is accepted")
        }
        _ => return None,
    })
}

/// What the REST face does differently with a supported command.
fn rest_note(name: &str) -> Option<&'static str> {
    let top = name.split('|').next().unwrap_or(name);
    Some(match top {
        "subscribe" | "psubscribe" => "over HTTP as `POST /subscribe/…` / `/psubscribe/…` (Server-Sent Events)",
        "monitor" => "over HTTP as `POST /monitor` (Server-Sent Events)",
        "ssubscribe" | "unsubscribe" | "punsubscribe" | "sunsubscribe" => "RESP only (a subscription needs a connection)",
        "multi" | "exec" | "discard" | "watch" | "unwatch" => "use `POST /multi-exec` (one request is one transaction)",
        "hello" | "auth" | "select" | "quit" | "reset" | "client" => "one session per request",
        _ => match lookup(top.as_bytes()) {
            Some(spec) if spec.has(flags::BLOCKING) => "answers at once (a REST request never waits)",
            _ => return None,
        },
    })
}

/// Whether the read-only token (user `default_ro`) may run the command or subcommand `name`:
/// from its rules and the command's ACL categories, as the server decides.
fn readonly_may(name: &str) -> &'static str {
    let Ok(user) = User::with_rules("default_ro", READONLY_RULES) else { return "?" };
    let units = units();
    let container = name.split('|').next().unwrap_or(name);
    let Some(spec) = lookup(container.as_bytes()) else { return "—" };
    if spec.has(flags::NO_AUTH) {
        return "✅";
    }
    if !name.contains('|') && units.is_container(container) && container != "command" {
        return "by subcommand";
    }
    match units.id(name) {
        Some(id) if user.allows_unit(id) => "✅",
        Some(_) => "❌",
        None => "—",
    }
}

/// Runs `container sub` to see whether the subcommand exists; `Err(reason)` if it does not.
fn probe_sub(t: &mut T, container: &str, sub: &str) -> Result<(), String> {
    match t.run(&[container, sub]) {
        Err(e) => {
            let text = e.to_string();
            if text.contains("unknown subcommand '") {
                Err(LATER.into())
            } else if text.contains("not supported") {
                Err(text.trim_start_matches("ERR ").to_string())
            } else {
                Ok(())
            }
        }
        Ok(_) => Ok(()),
    }
}

/// The markdown for the given command list.
fn generate(list: &str) -> String {
    let mut t = T::new();
    t.ok(&["FLUSHALL"]);
    let mut rows = Vec::new();
    let (mut yes, mut partial, mut no) = (0, 0, 0);
    for line in list.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut cols = line.split('\t');
        let (name, group, since) = (cols.next().unwrap_or(""), cols.next().unwrap_or(""), cols.next().unwrap_or(""));
        let (container, sub) = match name.split_once('|') {
            Some((c, s)) => (c, Some(s)),
            None => (name, None),
        };
        let present = lookup(container.as_bytes()).is_some();
        let missing: Option<String> = match (present, sub) {
            (false, _) => Some(match note(name) {
                Some(Note::No(r)) => r.to_string(),
                _ if group == "cluster" => NO_CLUSTER.to_string(),
                _ if group == "vector_set" => {
                    "Redis 8 vector sets are not offered (Upstash Vector is served at /vector/{index}: docs/vector.md)".to_string()
                }
                _ => LATER.to_string(),
            }),
            (true, Some(s)) => match note(name) {
                Some(Note::No(r)) => Some(r.to_string()),
                _ => probe_sub(&mut t, container, s).err(),
            },
            (true, None) => match note(name) {
                Some(Note::No(r)) => Some(r.to_string()),
                _ => None,
            },
        };
        let display = name.replace('|', " ").to_uppercase();
        let row = match missing {
            Some(reason) => {
                no += 1;
                format!("| `{display}` | {group} | {since} | ❌ | ❌ | — | {reason} |")
            }
            None => {
                let (mark, text) = match note(name) {
                    Some(Note::Partial(p)) => {
                        partial += 1;
                        ("partial", p.to_string())
                    }
                    Some(Note::Info(i)) => {
                        yes += 1;
                        ("✅", i.to_string())
                    }
                    _ => {
                        yes += 1;
                        ("✅", String::new())
                    }
                };
                let rest = match rest_note(name) {
                    Some(r) => format!("✅ ({r})"),
                    None => mark.to_string(),
                };
                format!("| `{display}` | {group} | {since} | {mark} | {rest} | {} | {text} |", readonly_may(name))
            }
        };
        rows.push(row);
    }
    let mut out = String::new();
    out.push_str("# Redis command compatibility\n\n");
    out.push_str(
        "Generated from the command table and `docs/redis-commands.tsv` (every Redis 8.2 command, container\n\
         subcommands, and the JSON commands Redis 8 bundles) by `cargo test -p stashd-engine compat`; the test\n\
         fails when this file is out of date (`STASHD_WRITE_DOCS=1 cargo test -p stashd-engine compat` rewrites it).\n\
         RESP is the Redis protocol face, REST the Upstash REST face (`POST /`, `/pipeline`, `/multi-exec`).\n\
         \"Read-only\" says whether the read-only token (ACL user `default_ro`) may run the command, on any face\n\
         and from scripts: computed from its rules and the command's ACL categories, as the server decides.\n\n",
    );
    out.push_str(&format!(
        "{} commands: {yes} supported, {partial} partial, {no} not supported.\n\n\
         Not listed (not offered by stashd, nor by Upstash's hosted Redis): the other modules Redis 8 bundles\n\
         (`FT.*` search, `TS.*` time series, `BF.*`/`CF.*`/`CMS.*`/`TDIGEST.*`/`TOPK.*` probabilistic).\n\n",
        rows.len()
    ));
    out.push_str("| Command | Group | Since | RESP | REST | Read-only | Notes |\n|---|---|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out
}

#[test]
fn compatibility_doc_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let list = std::fs::read_to_string(root.join("docs/redis-commands.tsv")).expect("docs/redis-commands.tsv");
    let fresh = generate(&list);
    let path = root.join("docs/compatibility.md");
    if std::env::var_os("STASHD_WRITE_DOCS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/compatibility.md");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "docs/compatibility.md is out of date with the command table: run `STASHD_WRITE_DOCS=1 cargo test -p stashd-engine compat`"
    );
}

#[test]
fn every_table_command_is_in_the_list() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let list = std::fs::read_to_string(root.join("docs/redis-commands.tsv")).expect("docs/redis-commands.tsv");
    let names: std::collections::HashSet<&str> = list.lines().filter_map(|l| l.split('\t').next()).collect();
    for spec in crate::cmd::FAMILIES.iter().flat_map(|f| f.iter()) {
        assert!(names.contains(spec.name), "{} is in the command table but not in docs/redis-commands.tsv", spec.name);
    }
}
