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

/// Command flags as `COMMAND INFO` reports them: redis-server's for the commands it has
/// (`command_info.tsv`), else derived from the table's flags.
fn flag_names(unit: &str, spec: &CommandSpec) -> Vec<Reply> {
    let st = |s: &'static str| Reply::Status(Bytes::from_static(s.as_bytes()));
    if let Some(row) = crate::keyspecs::rows().get(unit) {
        return row.flags.iter().map(|f| st(f)).collect();
    }
    let mut f = Vec::new();
    for (bit, name) in [
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (OK_LOADING, "loading"),
        (BLOCKING, "blocking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI_QUEUE, "no_multi"),
    ] {
        if spec.has(bit) {
            f.push(st(name));
        }
    }
    if spec.name.starts_with("json.") {
        f.push(st("module"));
    }
    f
}

/// A command's ACL categories as `COMMAND INFO` lists them (`@read`, `@string`, `@fast`).
fn acl_categories(name: &str) -> Vec<Reply> {
    let units = crate::acl::categories::units();
    let bits = units.id(name).map_or(0, |id| units.list[id].categories);
    crate::acl::categories::names_of(bits).map(|c| Reply::Status(Bytes::from(format!("@{c}")))).collect()
}

/// The `COMMAND INFO` entry of a command or of a `container|sub` unit (its subcommands listed
/// in the container's entry, as Redis does).
fn unit_info(unit: &str, spec: &CommandSpec) -> Reply {
    let units = crate::acl::categories::units();
    let is_sub = unit.contains('|');
    let subcommands = if is_sub {
        Vec::new()
    } else {
        units.subcommands_of(unit).iter().map(|&id| unit_info(units.list[id].name, units.list[id].spec)).collect()
    };
    // A subcommand's arity and key positions are its own (redis-server's), the container's else.
    let [arity, first, last, step] = match crate::keyspecs::rows().get(unit) {
        Some(row) if is_sub => row.legacy,
        _ => [spec.arity as i64, spec.first_key as i64, spec.last_key as i64, spec.step as i64],
    };
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(unit.to_string())),
        Reply::Int(arity),
        Reply::Set(flag_names(unit, spec)),
        Reply::Int(first),
        Reply::Int(last),
        Reply::Int(step),
        Reply::Set(acl_categories(unit)),
        Reply::Set(vec![]),
        crate::keyspecs::specs_reply(unit),
        Reply::Array(subcommands),
    ])
}

fn command_info(spec: &CommandSpec) -> Reply {
    unit_info(spec.name, spec)
}

/// `COMMAND INFO name`: a command, or a subcommand as `container|sub`.
fn command_info_named(name: &[u8]) -> Reply {
    let lower = args::text(name).to_ascii_lowercase();
    if lower.contains('|') {
        let units = crate::acl::categories::units();
        return units.id(&lower).map_or(Reply::NilArray, |id| unit_info(units.list[id].name, units.list[id].spec));
    }
    command::lookup(name).map_or(Reply::NilArray, command_info)
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`: every command and
/// subcommand (`config|get`), as Redis's `commandListWithFilter`.
fn command_list(a: &[Bytes]) -> CmdResult {
    let units = crate::acl::categories::units();
    let filter: Box<dyn Fn(&crate::acl::categories::Unit) -> bool> = match a.len() {
        2 => Box::new(|_| true),
        5 if is(&a[2], "FILTERBY") => {
            let arg = a[4].clone();
            if is(&a[3], "MODULE") {
                // The built-in JSON is the ReJSON module; no other module is loaded.
                let rejson = arg.eq_ignore_ascii_case(b"rejson");
                Box::new(move |u| rejson && u.name.starts_with("json."))
            } else if is(&a[3], "ACLCAT") {
                let cat = crate::acl::categories::category_bit(&args::text(&arg).to_ascii_lowercase()).unwrap_or(0);
                Box::new(move |u| u.categories & cat != 0)
            } else if is(&a[3], "PATTERN") {
                Box::new(move |u| crate::glob::matches_nocase(&arg, u.name.as_bytes()))
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let mut names: Vec<&str> = units.list.iter().filter(|u| filter(u)).map(|u| u.name).collect();
    names.sort_unstable();
    Ok(Reply::Array(names.into_iter().map(|n| Reply::Bulk(Bytes::from(n.to_string()))).collect()))
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
            Ok(Reply::Array(a[2..].iter().map(|n| command_info_named(n)).collect()))
        }
        "list" => command_list(a),
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
            if a.len() < 4 {
                return Err(CmdError::WrongArgs(format!("command|{sub}")));
            }
            let Some(spec) = command::lookup(&a[2]) else {
                return Err(CmdError::err("Invalid command specified"));
            };
            let cmd_args = &a[2..];
            let units = crate::acl::categories::units();
            let unit = units.resolve(spec, cmd_args).map(|id| units.list[id].name).unwrap_or(spec.name);
            // As Redis's getKeysSubcommandImpl: keys at all, then arity, then the keys.
            if !crate::keyspecs::has_keys(spec, unit) {
                return Err(CmdError::err("The command has no key arguments"));
            }
            if !spec.arity_ok(cmd_args.len()) {
                return Err(CmdError::err("Invalid number of arguments specified for command"));
            }
            let found = crate::keyspecs::keys_and_flags(spec, unit, cmd_args);
            if found.is_empty() {
                let optional = crate::keyspecs::rows().get(unit).is_some_and(|r| r.flags.contains(&"no_mandatory_keys"));
                return if optional { Ok(Reply::Array(Vec::new())) } else { Err(CmdError::err("Invalid arguments specified for command")) };
            }
            let keys = found
                .into_iter()
                .filter_map(|(i, flags)| {
                    let key = Reply::Bulk(cmd_args.get(i)?.clone());
                    Some(if with_flags {
                        let flags = flags.into_iter().map(|f| Reply::Status(Bytes::from_static(f.as_bytes()))).collect();
                        Reply::Array(vec![key, Reply::Set(flags)])
                    } else {
                        key
                    })
                })
                .collect();
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

/// `bytesToHuman` of Redis: `1.50K`, `3.20M`...
fn human(n: u64) -> String {
    let n = n as f64;
    let units = [(1u64 << 50, 'P'), (1 << 40, 'T'), (1 << 30, 'G'), (1 << 20, 'M'), (1 << 10, 'K')];
    for (size, unit) in units {
        if n >= size as f64 {
            return format!("{:.2}{unit}", n / size as f64);
        }
    }
    format!("{n:.2}B")
}

/// `(user, system)` CPU seconds of this process (`RUSAGE_SELF`) or of its waited-for children.
fn cpu_seconds(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage only writes the zero-initialised struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
}

/// `uname -s -r -m`, as Redis's `os` field.
fn os_name() -> String {
    // SAFETY: uname only writes the zero-initialised struct we pass; its fields are C strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", field(&u.sysname), field(&u.release), field(&u.machine))
}

/// Total RAM from /proc/meminfo (`total_system_memory`).
fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("MemTotal:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

/// The sections of Redis 7.2's `INFO`, in its order. `default` marks those plain `INFO` shows.
const INFO_SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// Which sections an `INFO` call asks for, as Redis's `genInfoSectionDict`: none or `default`
/// the default sections, `all` every section, `everything` also module sections (RedisJSON has
/// none), anything else by name (case-insensitive; unknown names add nothing). `module_list` is
/// Redis's name of the default `modules` section.
fn info_wanted(sections: &[String]) -> Vec<&'static str> {
    let all = sections.iter().any(|s| s == "all" || s == "everything");
    let default = sections.is_empty() || sections.iter().any(|s| s == "default");
    INFO_SECTIONS
        .iter()
        .filter(|(name, dflt)| {
            all || (default && *dflt) || sections.iter().any(|s| s == name || (*name == "modules" && s == "module_list"))
        })
        .map(|(name, _)| *name)
        .collect()
}

fn info_text(ctx: &mut Ctx, sections: &[String]) -> String {
    let shared = ctx.shared;
    let mut o = String::new();
    let uptime = shared.started.elapsed().as_secs();
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    for section in info_wanted(sections) {
        match section {
            "server" => {
                let now_us = shared.clock.now_us();
                let _ = write!(
                    o,
                    "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:{}\r\nstashd_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nhttp_port:{}\r\nserver_time_usec:{now_us}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{hz}\r\nconfigured_hz:{hz}\r\nlru_clock:{}\r\nexecutable:stashd\r\nconfig_file:{}\r\nio_threads_active:0\r\nlistener0:name=tcp,bind={},port={}\r\n\r\n",
                    &shared.run_id[..16.min(shared.run_id.len())],
                    env!("CARGO_PKG_VERSION"),
                    os_name(),
                    usize::BITS,
                    std::process::id(),
                    shared.run_id,
                    shared.facts.tcp_port,
                    shared.facts.http_port,
                    uptime / 86400,
                    (now_us / 1_000_000) & ((1 << 24) - 1),
                    shared.facts.config_file,
                    if shared.facts.bind.is_empty() { "*" } else { shared.facts.bind.as_str() },
                    shared.facts.tcp_port,
                    hz = shared.config.read().hz,
                );
            }
            "clients" => {
                let n = shared.clients.lock().len();
                let blocked: usize = ctx.ks.blocked.values().map(|v| v.len()).sum();
                let pubsub_clients = shared.pubsub.client_counts().values().filter(|c| c.pubsub()).count();
                let _ = write!(
                    o,
                    "# Clients\r\nconnected_clients:{n}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{blocked}\r\ntracking_clients:0\r\npubsub_clients:{pubsub_clients}\r\nwatching_clients:0\r\nclients_in_timeout_table:0\r\ntotal_watched_keys:{}\r\ntotal_blocking_keys:{}\r\ntotal_blocking_keys_on_nokey:0\r\n\r\n",
                    shared.config.read().maxclients,
                    ctx.ks.watched.len(),
                    ctx.ks.blocked.len(),
                );
            }
            "memory" => {
                let rss = rss_bytes();
                let peak = shared.counters.peak_rss.load(relaxed).max(rss);
                let total = total_system_memory();
                let (scripts, lua, functions, libraries) = ctx.ks.scripting.as_ref().map_or((0, 0, 0, 0), |s| {
                    (s.cached_scripts(), s.lua_memory(), s.functions.function_count(), s.functions.libraries.len())
                });
                let _ = write!(
                    o,
                    "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:0\r\nused_memory_startup:0\r\nused_memory_dataset:{rss}\r\nused_memory_dataset_perc:100.00%\r\nallocator_allocated:{rss}\r\nallocator_active:{rss}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:{scripts}\r\nnumber_of_functions:{functions}\r\nnumber_of_libraries:{libraries}\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:{lua}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:1.00\r\nmem_fragmentation_bytes:0\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n\r\n",
                    human(rss),
                    human(rss),
                    human(peak),
                    if peak == 0 { 100.0 } else { 100.0 * rss as f64 / peak as f64 },
                    human(total),
                    human(lua as u64),
                    human(lua as u64),
                );
            }
            "persistence" => {
                let aof = shared.aof();
                let (incr, base) = aof.map_or((0, 0), |a| a.sizes());
                let rewriting = aof.is_some_and(|a| a.rewriting()) as u8;
                let _ = write!(
                    o,
                    "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:{}\r\naof_rewrite_in_progress:{rewriting}\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\naof_current_size:{}\r\naof_base_size:{base}\r\naof_pending_rewrite:0\r\naof_buffer_length:0\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\naof_fsync_policy:{}\r\naof_written_offset:{}\r\naof_durable_offset:{}\r\n\r\n",
                    shared.loading.load(relaxed) as u8,
                    ctx.ks.dirty,
                    shared.started_ms / 1000,
                    aof.is_some() as u8,
                    incr + base,
                    shared.config.read().appendfsync.as_str(),
                    aof.map_or(0, |a| a.written_offset()),
                    aof.map_or(0, |a| a.durable_offset()),
                );
            }
            "stats" => {
                let st = &ctx.ks.stats;
                let _ = write!(
                    o,
                    "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:0\r\ntotal_net_output_bytes:0\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_subkeys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nclient_query_buffer_limit_disconnections:0\r\nclient_output_buffer_limit_disconnections:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\neventloop_cycles:0\r\neventloop_duration_sum:0\r\neventloop_duration_cmd_sum:0\r\ninstantaneous_eventloop_cycles_per_sec:0\r\ninstantaneous_eventloop_duration_usec:0\r\nacl_access_denied_auth:0\r\nacl_access_denied_cmd:0\r\nacl_access_denied_key:0\r\nacl_access_denied_channel:0\r\n\r\n",
                    shared.counters.connections_received.load(relaxed),
                    st.commands,
                    shared.counters.ops_per_sec.load(relaxed),
                    shared.counters.rejected_connections.load(relaxed),
                    st.expired_keys,
                    st.expired_subkeys,
                    st.keyspace_hits,
                    st.keyspace_misses,
                    shared.pubsub.channels(None, false).len(),
                    shared.pubsub.numpat(),
                    shared.pubsub.channels(None, true).len(),
                    st.cmds.error_replies,
                    st.commands,
                    st.commands,
                );
            }
            "replication" => {
                let _ = write!(
                    o,
                    "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n\r\n",
                    shared.run_id,
                    shared.aof().map_or(0, |a| a.written_offset())
                );
            }
            "cpu" => {
                let (user, sys) = cpu_seconds(libc::RUSAGE_SELF);
                let (cuser, csys) = cpu_seconds(libc::RUSAGE_CHILDREN);
                // Commands run on whichever worker holds the keyspace lock: there is no single
                // main thread, so its figures are the process's.
                let _ = write!(
                    o,
                    "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:{csys:.6}\r\nused_cpu_user_children:{cuser:.6}\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n\r\n"
                );
            }
            "modules" => {
                // JSON is built in and listed as RedisJSON is (MODULE LIST shows the same).
                let _ = write!(
                    o,
                    "# Modules\r\nmodule:name=ReJSON,ver={},api=1,filters=0,usedby=[],using=[],options=[]\r\n\r\n",
                    crate::cmd::admin::REJSON_VERSION
                );
            }
            "commandstats" => {
                o.push_str("# Commandstats\r\n");
                ctx.ks.stats.cmds.info_commandstats(&mut o);
                o.push_str("\r\n");
            }
            "errorstats" => {
                o.push_str("# Errorstats\r\n");
                ctx.ks.stats.cmds.info_errorstats(&mut o);
                o.push_str("\r\n");
            }
            "latencystats" => {
                o.push_str("# Latencystats\r\n");
                ctx.ks.stats.cmds.info_latencystats(&mut o);
                o.push_str("\r\n");
            }
            "cluster" => o.push_str("# Cluster\r\ncluster_enabled:0\r\n\r\n"),
            _ => {
                o.push_str("# Keyspace\r\n");
                let now = ctx.now;
                for (i, db) in ctx.ks.dbs.iter().enumerate() {
                    if !db.is_empty() {
                        let _ = write!(o, "db{i}:keys={},expires={},avg_ttl={}\r\n", db.len(), db.ttl_len(), avg_ttl(db, now));
                    }
                }
                o.push_str("\r\n");
            }
        }
    }
    while o.ends_with("\r\n\r\n") {
        o.truncate(o.len() - 2);
    }
    o
}

/// Average remaining TTL in ms of a db's keys with a TTL, from a sample of at most 20 of them
/// (Redis estimates it from its expiry cycle's samples likewise).
fn avg_ttl(db: &crate::keyspace::Db, now: u64) -> u64 {
    let ttls: Vec<u64> = db.ttl_sample(20).filter(|&at| at > now).map(|at| at - now).collect();
    if ttls.is_empty() {
        0
    } else {
        ttls.iter().sum::<u64>() / ttls.len() as u64
    }
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
