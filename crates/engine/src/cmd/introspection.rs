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
        "HELP" if a.len() == 2 => Ok(help(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value (an estimate).",
            "HELP",
            "    Print this help.",
        ])),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "MEMORY".into() }),
    }
}

fn latency(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_uppercase();
    match sub.as_str() {
        "LATEST" if a.len() == 2 => Ok(Reply::Array(Vec::new())),
        "LATEST" => Err(CmdError::WrongArgs("latency|latest".into())),
        "HISTORY" if a.len() == 3 => Ok(Reply::Array(Vec::new())),
        "HISTORY" => Err(CmdError::WrongArgs("latency|history".into())),
        "RESET" => Ok(Reply::Int(0)),
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
        assert_eq!(t.err(&["MEMORY", "DOCTOR"]), "ERR unknown subcommand 'DOCTOR'. Try MEMORY HELP.");
        assert_eq!(t.ok(&["LATENCY", "LATEST"]), Reply::Array(vec![]));
        assert_eq!(t.ok(&["LATENCY", "RESET"]), Reply::Int(0));
        assert_eq!(t.err(&["LATENCY", "NOPE"]), "ERR unknown subcommand 'NOPE'. Try LATENCY HELP.");
    }
}
