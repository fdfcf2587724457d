//! MEMORY USAGE and LATENCY (Redis `object.c` / `latency.c`). stashd does not run Redis's
//! latency monitor; it behaves as Redis does with `latency-monitor-threshold 0` (the default):
//! nothing is recorded, so LATENCY LATEST/HISTORY are empty and RESET clears nothing.

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
];

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

fn latency(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_uppercase();
    match sub.as_str() {
        "LATEST" if a.len() == 2 => Ok(Reply::Array(Vec::new())),
        "LATEST" => Err(CmdError::WrongArgs("latency|latest".into())),
        "HISTORY" if a.len() == 3 => Ok(Reply::Array(Vec::new())),
        "HISTORY" => Err(CmdError::WrongArgs("latency|history".into())),
        "RESET" => Ok(Reply::Int(0)),
        "HELP" if a.len() == 2 => Ok(help(&[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LATEST",
            "    Return the latest latency samples for all events (none: the monitor is off).",
            "HISTORY <event>",
            "    Return latency samples for the specified event (none: the monitor is off).",
            "RESET [<event> ...]",
            "    Reset latency data of one or more events (default: all).",
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
