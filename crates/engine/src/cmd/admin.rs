//! Server administration commands a standalone Redis answers and clients probe: ROLE, SAVE,
//! BGSAVE, MODULE, READONLY/READWRITE, LOLWUT. (ACL lives in `acl.rs`.)
//!
//! stashd has no RDB snapshots: SAVE makes everything written so far durable in the append-only
//! log, BGSAVE compacts the log in the background (a log rewrite). JSON is built in, so MODULE
//! LIST shows the RedisJSON module clients look for.

use bytes::Bytes;

use crate::args::{self, lit};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::{Ctx, Reply};

/// Administration command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("role", 1, NOSCRIPT | FAST | OK_LOADING, 0, 0, 0, role, "dangerous"),
    cmd!("save", 1, ADMIN | NOSCRIPT | NO_MULTI, 0, 0, 0, save, "dangerous"),
    cmd!("bgsave", -1, ADMIN | NOSCRIPT, 0, 0, 0, bgsave, "dangerous"),
    cmd!("module", -2, ADMIN | NOSCRIPT, 0, 0, 0, module, "dangerous"),
    cmd!("readonly", 1, FAST | CONNECTION, 0, 0, 0, cluster_disabled, "connection"),
    cmd!("readwrite", 1, FAST | CONNECTION, 0, 0, 0, cluster_disabled, "connection"),
    cmd!("lolwut", -1, READONLY | FAST, 0, 0, 0, lolwut, "fast"),
];

fn help(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|s| Reply::Status(Bytes::from_static(s.as_bytes()))).collect())
}

/// `ROLE`: a primary without replicas.
fn role(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(vec![Reply::Bulk(lit("master")), Reply::Int(0), Reply::Array(Vec::new())]))
}

fn in_memory() -> CmdError {
    CmdError::err("stashd is running --in-memory: there is nothing to save to")
}

/// `SAVE`: waits until everything written so far is on disk (fsync of the append-only log).
fn save(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let Some(aof) = ctx.shared.aof() else { return Err(in_memory()) };
    // Everything appended, not only what the writer already handed to the OS: records still
    // queued for it (appendfsync no batches them) are part of "written so far".
    if aof.sync_blocking(aof.appended_offset(), std::time::Duration::from_secs(60)) {
        Ok(Reply::Ok)
    } else {
        Err(CmdError::err("the append-only log could not be made durable (see the server log)"))
    }
}

/// `BGSAVE [SCHEDULE]`: compacts the append-only log in the background.
fn bgsave(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let schedule = match a.get(1) {
        None => false,
        Some(x) if a.len() == 2 && args::is(x, "SCHEDULE") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let Some(aof) = ctx.shared.aof() else { return Err(in_memory()) };
    if aof.start_rewrite(ctx.ks) {
        return Ok(Reply::status("Background saving started"));
    }
    if schedule {
        // One is running now; what it writes includes everything up to its start.
        return Ok(Reply::status("Background saving scheduled"));
    }
    Err(CmdError::err(
        "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
    ))
}

/// The RedisJSON version the built-in JSON reports (`MODULE LIST`, `INFO modules`).
pub const REJSON_VERSION: i64 = 80200;

/// `MODULE LIST|HELP` (JSON is built in and listed as RedisJSON); loading modules is refused.
fn module(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "list" if a.len() == 2 => Ok(Reply::Array(vec![Reply::Map(vec![
            (Reply::bulk("name"), Reply::bulk("ReJSON")),
            (Reply::bulk("ver"), Reply::Int(REJSON_VERSION)),
            (Reply::bulk("path"), Reply::bulk("built-in")),
            (Reply::bulk("args"), Reply::Array(Vec::new())),
        ])])),
        "load" | "loadex" | "unload" if a.len() >= 3 => Err(CmdError::err("modules cannot be loaded into stashd (JSON is built in)")),
        "help" if a.len() == 2 => Ok(help(&[
            "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
            "HELP",
            "    Print this help.",
        ])),
        "list" | "load" | "loadex" | "unload" | "help" => Err(CmdError::WrongArgs(format!("module|{sub}"))),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "MODULE".into() }),
    }
}

/// READONLY/READWRITE outside a cluster, as a standalone Redis answers them.
fn cluster_disabled(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}

/// `LOLWUT [VERSION v] ...`: a line of text and the version.
fn lolwut(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    Ok(Reply::Verbatim(Bytes::from(format!(
        "stashd: one binary for the Upstash platform.\nRedis ver. {}\n",
        crate::cmd::server::REDIS_VERSION
    ))))
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    #[test]
    fn standalone_answers() {
        let mut t = T::new();
        assert_eq!(t.ok(&["ROLE"]), Reply::Array(vec![b("master"), Reply::Int(0), Reply::Array(vec![])]));
        assert_eq!(t.err(&["SAVE"]), "ERR stashd is running --in-memory: there is nothing to save to");
        assert_eq!(t.err(&["BGSAVE", "NOW"]), "ERR syntax error");
        assert_eq!(t.err(&["READONLY"]), "ERR This instance has cluster support disabled");
        assert_eq!(t.err(&["MODULE", "LOAD", "/x.so"]), "ERR modules cannot be loaded into stashd (JSON is built in)");
        let Reply::Array(mods) = t.ok(&["MODULE", "LIST"]) else { panic!() };
        assert_eq!(mods.len(), 1);
        assert!(matches!(t.ok(&["LOLWUT"]), Reply::Verbatim(_)));
    }
}
