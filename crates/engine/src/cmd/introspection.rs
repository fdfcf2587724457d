//! MEMORY USAGE, LATENCY and SLOWLOG (Redis `object.c` / `latency.c` / `slowlog.c`). stashd does
//! not run Redis's latency monitor; it behaves as Redis does with `latency-monitor-threshold 0`
//! (the default): no events, so LATENCY LATEST/HISTORY are empty and RESET clears nothing.
//! LATENCY HISTOGRAM and SLOWLOG come from [`crate::cmdstats`], recorded for every command.

use bytes::Bytes;

use crate::args::{self, int, is};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::{Ctx, Reply};

/// Introspection command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("memory", -2, READONLY, 0, 0, 0, memory, "server"),
    cmd!("latency", -2, ADMIN | NOSCRIPT | OK_LOADING, 0, 0, 0, latency, "server"),
    cmd!("slowlog", -2, ADMIN | OK_LOADING, 0, 0, 0, slowlog, "server"),
];

/// `SLOWLOG GET [count] | LEN | RESET | HELP`.
fn slowlog(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_uppercase();
    match sub.as_str() {
        "GET" if a.len() <= 3 => {
            let count = match a.get(2) {
                None => 10,
                Some(n) => match int(n) {
                    Ok(-1) => usize::MAX,
                    Ok(n) if n >= 0 => n as usize,
                    _ => return Err(CmdError::err("count should be greater than or equal to -1")),
                },
            };
            Ok(ctx.ks.slowlog.get(count))
        }
        "LEN" if a.len() == 2 => Ok(Reply::Int(ctx.ks.slowlog.len() as i64)),
        "RESET" if a.len() == 2 => {
            ctx.ks.slowlog.reset();
            Ok(Reply::Ok)
        }
        "HELP" if a.len() == 2 => Ok(help(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Print this help.",
        ])),
        "GET" | "LEN" | "RESET" | "HELP" => Err(CmdError::WrongArgs(format!("slowlog|{}", sub.to_ascii_lowercase()))),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "SLOWLOG".into() }),
    }
}

/// Bookkeeping bytes per key besides its name and value (table slot, entry header).
const KEY_OVERHEAD: usize = 48;

fn help(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::status(l)).collect())
}

fn memory(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_uppercase();
    match sub.as_str() {
        "USAGE" if a.len() == 3 || (a.len() == 5 && is(&a[3], "SAMPLES")) => {
            if a.len() == 5 && int(&a[4])? < 0 {
                return Err(CmdError::Syntax);
            }
            Ok(match ctx.entry(&a[2]) {
                Some(e) => Reply::Int((a[2].len() + e.value.approx_size() + KEY_OVERHEAD) as i64),
                None => Reply::Nil,
            })
        }
        "USAGE" => Err(CmdError::Syntax),
        "STATS" if a.len() == 2 => Ok(memory_stats(ctx)),
        "DOCTOR" if a.len() == 2 => Ok(Reply::Verbatim(Bytes::from_static(
            b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.",
        ))),
        "MALLOC-STATS" if a.len() == 2 => Ok(Reply::Verbatim(Bytes::from_static(b"Stats not supported for the current allocator"))),
        "PURGE" if a.len() == 2 => {
            if let Some(release) = ctx.shared.facts.release_memory {
                release();
            }
            Ok(Reply::Ok)
        }
        "STATS" | "DOCTOR" | "MALLOC-STATS" | "PURGE" => Err(CmdError::WrongArgs(format!("memory|{}", sub.to_ascii_lowercase()))),
        "HELP" if a.len() == 2 => Ok(help(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value (an estimate).",
            "HELP",
            "    Print this help.",
        ])),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "MEMORY".into() }),
    }
}

/// `MEMORY STATS`: the process's resident size and the estimated size of the data, in Redis's
/// field names (the allocator's internals Redis reports are not tracked: 0).
fn memory_stats(ctx: &mut Ctx) -> Reply {
    let rss = crate::cmd::server::rss_bytes();
    let keys: usize = ctx.ks.dbs.iter().map(|d| d.len()).sum();
    let dataset: usize = ctx.ks.dbs.iter().flat_map(|d| d.map.iter()).map(|(k, e)| k.len() + e.value.approx_size() + KEY_OVERHEAD).sum();
    let mut fields: Vec<(Reply, Reply)> = vec![
        (Reply::bulk("peak.allocated"), Reply::Int(rss as i64)),
        (Reply::bulk("total.allocated"), Reply::Int(rss as i64)),
        (Reply::bulk("startup.allocated"), Reply::Int(0)),
        (Reply::bulk("replication.backlog"), Reply::Int(0)),
        (Reply::bulk("clients.slaves"), Reply::Int(0)),
        (Reply::bulk("clients.normal"), Reply::Int(0)),
        (Reply::bulk("aof.buffer"), Reply::Int(0)),
        (Reply::bulk("lua.caches"), Reply::Int(0)),
        (Reply::bulk("functions.caches"), Reply::Int(0)),
    ];
    for (i, db) in ctx.ks.dbs.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        fields.push((
            Reply::Bulk(Bytes::from(format!("db.{i}"))),
            Reply::Map(vec![
                (Reply::bulk("overhead.hashtable.main"), Reply::Int((db.len() * KEY_OVERHEAD) as i64)),
                (Reply::bulk("overhead.hashtable.expires"), Reply::Int((db.ttl_len() * 4) as i64)),
            ]),
        ));
    }
    let per_key = dataset.checked_div(keys).unwrap_or(0);
    fields.extend([
        (Reply::bulk("overhead.total"), Reply::Int((keys * KEY_OVERHEAD) as i64)),
        (Reply::bulk("keys.count"), Reply::Int(keys as i64)),
        (Reply::bulk("keys.bytes-per-key"), Reply::Int(per_key as i64)),
        (Reply::bulk("dataset.bytes"), Reply::Int(dataset as i64)),
        (Reply::bulk("dataset.percentage"), Reply::Double(if rss == 0 { 0.0 } else { 100.0 * dataset as f64 / rss as f64 })),
        (Reply::bulk("peak.percentage"), Reply::Double(100.0)),
        (Reply::bulk("fragmentation"), Reply::Double(1.0)),
    ]);
    Reply::Map(fields)
}

fn latency(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_uppercase();
    match sub.as_str() {
        "LATEST" if a.len() == 2 => Ok(Reply::Array(Vec::new())),
        "LATEST" => Err(CmdError::WrongArgs("latency|latest".into())),
        "HISTORY" if a.len() == 3 => Ok(Reply::Array(Vec::new())),
        "HISTORY" => Err(CmdError::WrongArgs("latency|history".into())),
        "RESET" => Ok(Reply::Int(0)),
        "DOCTOR" if a.len() == 2 => Ok(Reply::Verbatim(Bytes::from_static(
            b"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep better.\n",
        ))),
        "GRAPH" if a.len() == 3 => Err(CmdError::err(format!("No samples available for event '{}'", args::text(&a[2])))),
        "DOCTOR" | "GRAPH" => Err(CmdError::WrongArgs(format!("latency|{}", sub.to_ascii_lowercase()))),
        "HISTOGRAM" => {
            let names: Vec<String> = a[2..].iter().map(|n| args::text(n).to_ascii_lowercase()).collect();
            Ok(ctx.ks.stats.cmds.histogram_reply(&names))
        }
        "HELP" if a.len() == 2 => Ok(help(&[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LATEST",
            "    Return the latest latency samples for all events (none: the monitor is off).",
            "HISTORY <event>",
            "    Return latency samples for the specified event (none: the monitor is off).",
            "RESET [<event> ...]",
            "    Reset latency data of one or more events (default: all).",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
            "HELP",
            "    Print this help.",
        ])),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "LATENCY".into() }),
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::T;
    use crate::Reply;

    #[test]
    fn memory_usage_and_latency() {
        let mut t = T::new();
        t.ok(&["SET", "k", "v"]);
        let Reply::Int(small) = t.ok(&["MEMORY", "USAGE", "k"]) else { panic!("not an integer") };
        t.ok(&["SET", "big", &"x".repeat(10_000)]);
        let Reply::Int(big) = t.ok(&["MEMORY", "USAGE", "big", "SAMPLES", "5"]) else { panic!("not an integer") };
        assert!(small > 0 && big > small + 9_000, "{small} {big}");
        assert_eq!(t.ok(&["MEMORY", "USAGE", "none"]), Reply::Nil);
        assert_eq!(t.err(&["MEMORY", "NOPE"]), "ERR unknown subcommand 'NOPE'. Try MEMORY HELP.");
        assert!(matches!(t.ok(&["MEMORY", "DOCTOR"]), Reply::Verbatim(_)));
        assert_eq!(t.ok(&["MEMORY", "PURGE"]), Reply::Ok);
        let Reply::Map(stats) = t.ok(&["MEMORY", "STATS"]) else { panic!("not a map") };
        let count = stats.iter().find(|(k, _)| *k == Reply::bulk("keys.count")).map(|(_, v)| v.clone());
        assert_eq!(count, Some(Reply::Int(2)));
        assert_eq!(t.err(&["LATENCY", "GRAPH", "command"]), "ERR No samples available for event 'command'");
        assert!(matches!(t.ok(&["LATENCY", "DOCTOR"]), Reply::Verbatim(_)));
        assert_eq!(t.ok(&["LATENCY", "LATEST"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["LATENCY", "RESET"]), Reply::Int(0));
        assert_eq!(t.err(&["LATENCY", "NOPE"]), "ERR unknown subcommand 'NOPE'. Try LATENCY HELP.");
    }
}
