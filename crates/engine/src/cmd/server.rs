//! Connection and server commands: PING, AUTH, HELLO, SELECT, COMMAND, INFO, TIME, DEBUG,
//! WAITAOF, BGREWRITEAOF... (CLIENT is in `cmd/client.rs`, CONFIG in `cmd/config.rs`.)

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use stashd_resp::Protocol;

use crate::args::{self, int, is};
use crate::cmd;
use crate::command::flags::*;
use crate::command::{self, CommandSpec};
use crate::engine::Shared;
use crate::error::{CmdError, CmdResult};
use crate::keyspace::NUM_DBS;
use crate::session::{Face, Session};
use crate::{Ctx, Reply};

pub use super::client::client_info_line;

/// The Redis version stashd reports.
pub const REDIS_VERSION: &str = "7.2.4";

/// Connection and server command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("ping", -1, FAST | PUBSUB_CONTEXT, 0, 0, 0, ping, "connection"),
    cmd!("echo", 2, FAST, 0, 0, 0, echo, "connection"),
    cmd!("select", 2, FAST | CONNECTION | OK_LOADING, 0, 0, 0, select, "connection"),
    cmd!("quit", -1, FAST | NO_AUTH | NO_MULTI_QUEUE | NOSCRIPT | CONNECTION | OK_LOADING | PUBSUB_CONTEXT, 0, 0, 0, quit, "connection"),
    cmd!("reset", 1, FAST | NO_AUTH | NO_MULTI_QUEUE | CONNECTION | NOSCRIPT | OK_LOADING | PUBSUB_CONTEXT, 0, 0, 0, reset, "connection"),
    cmd!("auth", -2, FAST | NO_AUTH | CONNECTION | NOSCRIPT | OK_LOADING, 0, 0, 0, auth, "connection"),
    cmd!("hello", -1, FAST | NO_AUTH | CONNECTION | NOSCRIPT | OK_LOADING, 0, 0, 0, hello, "connection"),
    cmd!("command", -1, OK_LOADING, 0, 0, 0, command_cmd, "connection"),
    cmd!("info", -1, OK_LOADING, 0, 0, 0, info, "dangerous"),
    cmd!("time", 1, FAST | RANDOM | OK_LOADING, 0, 0, 0, time, "fast"),
    cmd!("debug", -2, ADMIN | NOSCRIPT | OK_LOADING, 0, 0, 0, debug, "dangerous"),
    cmd!("waitaof", 4, NOSCRIPT, 0, 0, 0, waitaof, "connection"),
    cmd!("wait", 3, NOSCRIPT, 0, 0, 0, wait, "connection"),
    cmd!("bgrewriteaof", 1, ADMIN | NOSCRIPT, 0, 0, 0, bgrewriteaof, "dangerous"),
    cmd!("lastsave", 1, FAST | RANDOM, 0, 0, 0, lastsave, "fast"),
    cmd!("monitor", 1, ADMIN | NOSCRIPT | OK_LOADING, 0, 0, 0, monitor, "dangerous"),
];

/// `MONITOR`: from now on the connection receives a line for every command the server runs.
fn monitor(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.session.face != Face::Resp {
        return Err(CmdError::err("MONITOR needs a connection: over HTTP use POST /monitor (Server-Sent Events)"));
    }
    if ctx.session.multi.is_some() {
        return Err(CmdError::err("MONITOR isn't allowed for DENY BLOCKING client"));
    }
    ctx.shared.pubsub.monitor(ctx.session.id, &mut ctx.session.subs);
    Ok(Reply::Ok)
}

fn ping(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.session.subs.active() && ctx.session.protocol == Protocol::Resp2 {
        // Subscribed RESP2 clients get PING as a two-element array, as in Redis.
        let msg = a.get(1).cloned().unwrap_or_default();
        return Ok(Reply::Array(vec![Reply::Bulk(Bytes::from_static(b"pong")), Reply::Bulk(msg)]));
    }
    match a.len() {
        1 => Ok(Reply::status("PONG")),
        2 => Ok(Reply::Bulk(a[1].clone())),
        _ => Err(CmdError::WrongArgs("ping".into())),
    }
}

fn echo(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(a[1].clone()))
}

fn select(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let d = int(&a[1]).map_err(|_| CmdError::NotInteger)?;
    if d < 0 || d as usize >= NUM_DBS {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.session.db = d as usize;
    Ok(Reply::Ok)
}

fn quit(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    ctx.session.close_after_reply = true;
    Ok(Reply::Ok)
}

fn reset(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    crate::cmd::transactions::unwatch_all(ctx.ks, ctx.session);
    ctx.shared.pubsub.unsubscribe_all(ctx.session.id, &mut ctx.session.subs);
    if let Some(t) = ctx.session.tracking.take() {
        ctx.shared.tracking.disable(ctx.session.id, &t);
    }
    ctx.session.multi = None;
    ctx.session.db = 0;
    ctx.session.protocol = Protocol::Resp2;
    ctx.session.user = ctx.shared.acl.initial_user();
    ctx.session.acl_epoch = ctx.shared.acl.epoch();
    if let Some(c) = ctx.shared.clients.lock().get_mut(&ctx.session.id) {
        c.name.clear();
        c.resp = 2;
        c.user = "default".into();
    }
    Ok(Reply::status("RESET"))
}

/// Checks credentials against the ACL users; `user` absent means `default` (or, as stashd also
/// accepts, the read-only token alone, acting as `default_ro`).
fn authenticate(ctx: &mut Ctx, user: Option<&[u8]>, pass: &[u8]) -> CmdResult<()> {
    authenticate_session(ctx.shared, ctx.session, user, pass)
}

/// [`authenticate`] without the keyspace (also answers `AUTH` while a script is busy). A failure
/// is counted in the `ACL LOG` (never with the password).
pub(crate) fn authenticate_session(shared: &Shared, session: &mut Session, user: Option<&[u8]>, pass: &[u8]) -> CmdResult<()> {
    let acl = &shared.acl;
    if user.is_none() && acl.get("default").is_some_and(|u| u.nopass) {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let name = user.map_or_else(|| "default".to_string(), |u| String::from_utf8_lossy(u).into_owned());
    let found = acl.authenticate(&name, pass).or_else(|| if user.is_none() { acl.authenticate("default_ro", pass) } else { None });
    let Some(found) = found else {
        let info = client_info_line(shared, session.id);
        acl.log.lock().add(crate::acl::LogReason::Auth, crate::acl::LogContext::TopLevel, "AUTH", &name, info, shared.clock.now_ms());
        return Err(CmdError::WrongPass);
    };
    if let Some(c) = shared.clients.lock().get_mut(&session.id) {
        c.user = found.name.clone();
    }
    session.set_user(found, acl);
    Ok(())
}

fn auth(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match a.len() {
        2 => authenticate(ctx, None, &a[1])?,
        3 => authenticate(ctx, Some(&a[1]), &a[2])?,
        _ => return Err(CmdError::Syntax),
    }
    Ok(Reply::Ok)
}

fn hello(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if a.len() > 1 {
        let v = int(&a[1]).map_err(|_| CmdError::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::Other("NOPROTO unsupported protocol version".into()));
        }
        proto = Some(if v == 3 { Protocol::Resp3 } else { Protocol::Resp2 });
        i = 2;
    }
    let mut setname = None;
    while i < a.len() {
        if is(&a[i], "AUTH") && i + 2 < a.len() {
            authenticate(ctx, Some(&a[i + 1]), &a[i + 2])?;
            i += 3;
        } else if is(&a[i], "SETNAME") && i + 1 < a.len() {
            setname = Some(a[i + 1].clone());
            i += 2;
        } else {
            return Err(CmdError::err(format!("Syntax error in HELLO option '{}'", args::text(&a[i]))));
        }
    }
    if ctx.session.user.is_none() {
        return Err(CmdError::Other(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
        ));
    }
    if let Some(p) = proto {
        ctx.session.protocol = p;
    }
    if let Some(c) = ctx.shared.clients.lock().get_mut(&ctx.session.id) {
        if let Some(n) = setname {
            c.name = args::text(&n);
        }
        c.resp = if ctx.session.protocol == Protocol::Resp3 { 3 } else { 2 };
    }
    let s = |t: &str| Reply::Bulk(Bytes::copy_from_slice(t.as_bytes()));
    Ok(Reply::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(REDIS_VERSION)),
        (s("proto"), Reply::Int(if ctx.session.protocol == Protocol::Resp3 { 3 } else { 2 })),
        (s("id"), Reply::Int(ctx.session.id as i64)),
        (s("mode"), s("standalone")),
        (s("role"), s("master")),
        (s("modules"), Reply::Array(vec![])),
    ]))
}

fn flag_names(spec: &CommandSpec) -> Vec<Reply> {
    let mut f = Vec::new();
    let st = |s: &'static str| Reply::Status(Bytes::from_static(s.as_bytes()));
    if spec.has(WRITE) {
        f.push(st("write"));
    }
    if spec.has(READONLY) {
        f.push(st("readonly"));
    }
    if spec.has(DENYOOM) {
        f.push(st("denyoom"));
    }
    if spec.has(ADMIN) {
        f.push(st("admin"));
    }
    if spec.has(NOSCRIPT) {
        f.push(st("noscript"));
    }
    if spec.has(FAST) {
        f.push(st("fast"));
    }
    if spec.has(NO_AUTH) {
        f.push(st("no_auth"));
    }
    if spec.has(BLOCKING) {
        f.push(st("blocking"));
    }
    if spec.has(NO_MULTI_QUEUE) {
        f.push(st("no_multi"));
    }
    f
}

/// A command's ACL categories as `COMMAND INFO` lists them (`@read`, `@string`, `@fast`).
fn acl_categories(name: &str) -> Vec<Reply> {
    let units = crate::acl::categories::units();
    let bits = units.id(name).map_or(0, |id| units.list[id].categories);
    crate::acl::categories::names_of(bits).map(|c| Reply::Status(Bytes::from(format!("@{c}")))).collect()
}

fn command_info(spec: &CommandSpec) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(spec.name.as_bytes())),
        Reply::Int(spec.arity as i64),
        Reply::Set(flag_names(spec)),
        Reply::Int(spec.first_key as i64),
        Reply::Int(spec.last_key as i64),
        Reply::Int(spec.step as i64),
        Reply::Set(acl_categories(spec.name)),
        Reply::Set(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
    ])
}

fn sorted_specs() -> Vec<&'static CommandSpec> {
    let mut v: Vec<_> = command::table().values().copied().collect();
    v.sort_by_key(|s| s.name);
    v
}

fn command_cmd(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() == 1 {
        return Ok(Reply::Array(sorted_specs().into_iter().map(command_info).collect()));
    }
    let sub = args::text(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "count" => Ok(Reply::Int(command::table().len() as i64)),
        "info" => {
            if a.len() == 2 {
                return Ok(Reply::Array(sorted_specs().into_iter().map(command_info).collect()));
            }
            Ok(Reply::Array(a[2..].iter().map(|n| command::lookup(n).map_or(Reply::NilArray, command_info)).collect()))
        }
        "list" => Ok(Reply::Array(sorted_specs().into_iter().map(|s| Reply::Bulk(Bytes::from_static(s.name.as_bytes()))).collect())),
        "docs" => {
            let names: Vec<&'static CommandSpec> =
                if a.len() == 2 { sorted_specs() } else { a[2..].iter().filter_map(|n| command::lookup(n)).collect() };
            Ok(Reply::Map(
                names
                    .into_iter()
                    .map(|s| {
                        (
                            Reply::Bulk(Bytes::from_static(s.name.as_bytes())),
                            Reply::Map(vec![(Reply::bulk("group"), Reply::Bulk(Bytes::from_static(s.group.as_bytes())))]),
                        )
                    })
                    .collect(),
            ))
        }
        "getkeys" | "getkeysandflags" => {
            let with_flags = sub == "getkeysandflags";
            let Some(spec) = a.get(2).and_then(|n| command::lookup(n)) else {
                return Err(CmdError::err("Invalid command specified"));
            };
            let cmd_args = &a[2..];
            if !spec.arity_ok(cmd_args.len()) {
                return Err(CmdError::err("Invalid number of arguments specified for command"));
            }
            // Key flags from the command's kind (Redis's key specs are finer: e.g. DEL's `RM`).
            let flags = || {
                let f: &[&str] = if spec.has(WRITE) { &["RW", "update"] } else { &["RO", "access"] };
                Reply::Array(f.iter().map(|s| Reply::Status(Bytes::from_static(s.as_bytes()))).collect())
            };
            let keys: Vec<Reply> = spec
                .key_indexes(cmd_args.len())
                .map(|i| {
                    let key = Reply::Bulk(cmd_args[i].clone());
                    if with_flags {
                        Reply::Array(vec![key, flags()])
                    } else {
                        key
                    }
                })
                .collect();
            if keys.is_empty() {
                return Err(CmdError::err("The command has no key arguments"));
            }
            Ok(Reply::Array(keys))
        }
        "help" => Ok(Reply::Array(
            [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "COUNT",
                "INFO [<command-name> ...]",
                "LIST",
                "DOCS",
                "GETKEYS <full-command>",
                "GETKEYSANDFLAGS <full-command>",
                "HELP",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        )),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "COMMAND".into() }),
    }
}

/// Resident set size of this process in bytes (from /proc).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

fn info_text(ctx: &mut Ctx, sections: &[String]) -> String {
    let all = sections.is_empty() || sections.iter().any(|s| s == "all" || s == "everything" || s == "default");
    let want = |s: &str| all || sections.iter().any(|x| x == s);
    let shared = ctx.shared;
    let mut o = String::new();
    let uptime = shared.started.elapsed().as_secs();
    if want("server") {
        let _ = write!(
            o,
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nstashd_version:{}\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nhttp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\nexecutable:stashd\r\nconfig_file:{}\r\n\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            shared.run_id,
            shared.facts.tcp_port,
            shared.facts.http_port,
            uptime / 86400,
            shared.config.read().hz,
            shared.facts.config_file,
        );
    }
    if want("clients") {
        let n = shared.clients.lock().len();
        let blocked: usize = ctx.ks.blocked.values().map(|v| v.len()).sum();
        let _ = write!(
            o,
            "# Clients\r\nconnected_clients:{n}\r\nmaxclients:{}\r\nblocked_clients:{blocked}\r\n\r\n",
            shared.config.read().maxclients
        );
    }
    if want("memory") {
        let rss = rss_bytes();
        let _ = write!(
            o,
            "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{:.2}M\r\nused_memory_rss:{rss}\r\nused_memory_peak:{}\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\nmem_allocator:libc\r\n\r\n",
            rss as f64 / 1048576.0,
            shared.counters.peak_rss.load(std::sync::atomic::Ordering::Relaxed).max(rss),
        );
    }
    if want("persistence") {
        let aof = shared.aof();
        let (incr, base) = aof.map_or((0, 0), |a| a.sizes());
        let _ = write!(
            o,
            "# Persistence\r\nloading:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_last_bgrewrite_status:ok\r\naof_current_size:{}\r\naof_base_size:{base}\r\naof_fsync_policy:{}\r\naof_written_offset:{}\r\naof_durable_offset:{}\r\nrdb_changes_since_last_save:{}\r\n\r\n",
            shared.loading.load(std::sync::atomic::Ordering::Relaxed) as u8,
            aof.is_some() as u8,
            aof.is_some_and(|a| a.rewriting()) as u8,
            incr + base,
            shared.config.read().appendfsync.as_str(),
            aof.map_or(0, |a| a.written_offset()),
            aof.map_or(0, |a| a.durable_offset()),
            ctx.ks.dirty,
        );
    }
    if want("stats") {
        let st = &ctx.ks.stats;
        let _ = write!(
            o,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nexpired_subkeys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\r\n",
            shared.counters.connections_received.load(std::sync::atomic::Ordering::Relaxed),
            st.commands,
            shared.counters.ops_per_sec.load(std::sync::atomic::Ordering::Relaxed),
            shared.counters.rejected_connections.load(std::sync::atomic::Ordering::Relaxed),
            st.expired_keys,
            st.expired_subkeys,
            st.keyspace_hits,
            st.keyspace_misses
        );
    }
    if want("replication") {
        let _ = write!(
            o,
            "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_replid:{}\r\nmaster_repl_offset:{}\r\n\r\n",
            shared.run_id,
            shared.aof().map_or(0, |a| a.written_offset())
        );
    }
    if want("cpu") {
        o.push_str("# CPU\r\n");
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
            let tick = 100.0;
            let ut = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
            let st = f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
            let _ = write!(o, "used_cpu_sys:{st:.6}\r\nused_cpu_user:{ut:.6}\r\n");
        }
        o.push_str("\r\n");
    }
    // Like Redis: only with ALL/EVERYTHING or when named.
    let everything = sections.iter().any(|s| s == "all" || s == "everything");
    if everything || sections.iter().any(|x| x == "commandstats") {
        o.push_str("# Commandstats\r\n");
        ctx.ks.stats.cmds.info_commandstats(&mut o);
        o.push_str("\r\n");
    }
    if everything || sections.iter().any(|x| x == "latencystats") {
        o.push_str("# Latencystats\r\n");
        ctx.ks.stats.cmds.info_latencystats(&mut o);
        o.push_str("\r\n");
    }
    if want("keyspace") {
        o.push_str("# Keyspace\r\n");
        for (i, db) in ctx.ks.dbs.iter().enumerate() {
            if !db.is_empty() {
                let _ = write!(o, "db{i}:keys={},expires={},avg_ttl=0\r\n", db.len(), db.ttl_len());
            }
        }
        o.push_str("\r\n");
    }
    while o.ends_with("\r\n\r\n") {
        o.truncate(o.len() - 2);
    }
    o
}

fn info(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sections: Vec<String> = a[1..].iter().map(|s| args::text(s).to_ascii_lowercase()).collect();
    Ok(Reply::Verbatim(Bytes::from(info_text(ctx, &sections))))
}

fn time(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let us = ctx.shared.clock.now_us();
    Ok(Reply::Array(vec![Reply::Bulk(args::int_bytes((us / 1_000_000) as i64)), Reply::Bulk(args::int_bytes((us % 1_000_000) as i64))]))
}

fn debug(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !ctx.shared.facts.debug_enabled && ctx.session.face != Face::Loading {
        return Err(CmdError::err(
            "DEBUG command not allowed. If the enable-debug-command option is set to \"no\", start stashd with --enable-debug-command to use it.",
        ));
    }
    let sub = args::text(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        // Test hook: moves the server clock forward so TTLs pass without sleeping.
        "jump-clock" if a.len() == 3 => {
            let ms = int(&a[2])?;
            ctx.shared.clock.advance(ms);
            ctx.propagate_none();
            Ok(Reply::Ok)
        }
        "object" if a.len() == 3 => {
            let Some(e) = ctx.entry(&a[2]) else { return Err(CmdError::NoSuchKey) };
            let text = format!(
                "Value at:0x0 refcount:1 encoding:{} serializedlength:{} lru:0 lru_seconds_idle:0",
                e.value.encoding(),
                e.value.approx_size()
            );
            Ok(Reply::Status(Bytes::from(text)))
        }
        "sleep" if a.len() == 3 => {
            let secs = args::float(&a[2])?;
            std::thread::sleep(Duration::from_secs_f64(secs.clamp(0.0, 10.0)));
            Ok(Reply::Ok)
        }
        _ => Err(CmdError::err(format!("Unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.", args::text(&a[1])))),
    }
}

fn waitaof(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let numlocal = int(&a[1])?;
    let numreplicas = int(&a[2])?;
    let timeout = int(&a[3]).map_err(|_| CmdError::BadTimeout)?;
    if timeout < 0 {
        return Err(CmdError::NegativeTimeout);
    }
    if numlocal < 0 || numreplicas < 0 {
        return Err(CmdError::NotInteger);
    }
    let Some(aof) = ctx.shared.aof() else {
        if numlocal > 0 {
            return Err(CmdError::err("WAITAOF cannot be used when numlocal is set but appendonly is disabled."));
        }
        return Ok(Reply::Array(vec![Reply::Int(0), Reply::Int(0)]));
    };
    let wait = if timeout == 0 { Duration::from_secs(60) } else { Duration::from_millis(timeout as u64) };
    let durable = aof.sync_blocking(ctx.session.last_write_offset, wait);
    Ok(Reply::Array(vec![Reply::Int(durable as i64), Reply::Int(0)]))
}

fn wait(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    int(&a[1])?;
    let t = int(&a[2]).map_err(|_| CmdError::BadTimeout)?;
    if t < 0 {
        return Err(CmdError::NegativeTimeout);
    }
    // Standalone server: no replicas to wait for.
    Ok(Reply::Int(0))
}

fn bgrewriteaof(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let Some(aof) = ctx.shared.aof() else {
        return Err(CmdError::err("stashd is running --in-memory: there is no append-only log to rewrite"));
    };
    if aof.start_rewrite(ctx.ks) {
        Ok(Reply::status("Background append only file rewriting started"))
    } else {
        Err(CmdError::err("Background append only file rewriting already in progress"))
    }
}

fn lastsave(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    // stashd takes no RDB snapshots; the data as a whole was last loaded (from the log) at start-up.
    Ok(Reply::Int((ctx.shared.started_ms / 1000) as i64))
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    #[test]
    fn ping_echo_select_hello() {
        let mut t = T::new();
        assert_eq!(t.ok(&["PING"]), Reply::status("PONG"));
        assert_eq!(t.ok(&["ping", "hi"]), b("hi"));
        assert_eq!(t.ok(&["ECHO", "x"]), b("x"));
        assert_eq!(t.err(&["HELLO", "4"]), "NOPROTO unsupported protocol version");
        let Reply::Map(m) = t.ok(&["HELLO", "3"]) else { panic!() };
        assert!(m.contains(&(b("proto"), Reply::Int(3))));
        assert_eq!(
            t.err(&["AUTH", "x"]),
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        );
        assert!(t.err(&["FOO", "a", "b"]).starts_with("ERR unknown command 'FOO', with args beginning with: 'a' 'b' "));
    }

    #[test]
    fn command_and_info() {
        let mut t = T::new();
        let Reply::Int(n) = t.ok(&["COMMAND", "COUNT"]) else { panic!() };
        assert!(n > 50);
        let Reply::Array(info) = t.ok(&["COMMAND", "INFO", "get", "nosuch"]) else { panic!() };
        assert_eq!(info[1], Reply::NilArray);
        let Reply::Verbatim(text) = t.ok(&["INFO", "keyspace"]) else { panic!() };
        assert!(text.starts_with(b"# Keyspace"));
        let Reply::Verbatim(all) = t.ok(&["INFO"]) else { panic!() };
        let all = String::from_utf8_lossy(&all).into_owned();
        let field = |name: &str| all.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string));
        assert!(field("run_id").is_some_and(|id| id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit())));
        for f in [
            "redis_version",
            "total_connections_received",
            "instantaneous_ops_per_sec",
            "used_memory_peak",
            "rejected_connections",
            "master_repl_offset",
            "loading",
        ] {
            assert!(field(f).is_some(), "INFO lacks {f}");
        }
        assert!(t.err(&["DEBUG", "JUMP-CLOCK", "5"]).contains("DEBUG command not allowed"));
    }
}
