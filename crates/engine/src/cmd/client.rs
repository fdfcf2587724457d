//! `CLIENT`: the connection's identity and the server's view of its clients (ID, SETNAME,
//! GETNAME, SETINFO, LIST, INFO, KILL, REPLY, NO-EVICT, NO-TOUCH...).

use bytes::Bytes;

use crate::args::{self, is};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::engine::Shared;
use crate::error::{CmdError, CmdResult};
use crate::session::Face;
use crate::{Ctx, Reply};

/// The CLIENT command row.
pub static COMMANDS: &[CommandSpec] = &[cmd!("client", -2, CONNECTION | NOSCRIPT | OK_LOADING, 0, 0, 0, client, "connection")];

/// The `CLIENT INFO` line of client `id` (for `ACL LOG`), or an empty line for a REST request.
pub fn client_info_line(shared: &Shared, id: u64) -> String {
    let c = shared.clients.lock().get(&id).cloned();
    match c {
        Some(c) => {
            let subs = shared.pubsub.client_counts().get(&id).copied().unwrap_or_default();
            client_line_at(shared.clock.now_ms(), id, &c, subs).trim_end().to_string()
        }
        None => format!("id={id} addr= laddr= fd=-1 name= user= resp=2 (REST request)"),
    }
}

fn valid_client_text(b: &[u8]) -> bool {
    b.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn client_line(ctx: &Ctx, id: u64, c: &crate::engine::ClientInfo, subs: crate::pubsub::ClientSubs) -> String {
    client_line_at(ctx.now, id, c, subs)
}

fn client_line_at(now: u64, id: u64, c: &crate::engine::ClientInfo, subs: crate::pubsub::ClientSubs) -> String {
    // Redis's flags: O a MONITOR client, P a subscriber, N nothing special.
    let flags = if subs.monitor {
        "O"
    } else if subs.pubsub() {
        "P"
    } else {
        "N"
    };
    format!(
        "id={id} addr={} laddr={} fd=8 name={} age={} idle={} flags={flags} db={} sub={} psub={} ssub={} multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 tot-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}\n",
        c.addr,
        c.laddr,
        c.name,
        now.saturating_sub(c.created_ms) / 1000,
        now.saturating_sub(c.last_ms) / 1000,
        c.db,
        subs.channels,
        subs.patterns,
        subs.shard_channels,
        if c.last_cmd.is_empty() { "NULL" } else { c.last_cmd },
        if c.user.is_empty() { "default" } else { &c.user },
        c.resp,
        c.lib_name,
        c.lib_ver
    )
}

/// Redis's client type names (`CLIENT LIST TYPE`, `CLIENT KILL TYPE`): `Some(pubsub?)` for the
/// normal/pubsub types every stashd client has, `Some(None)` for replica/master (no such client).
fn client_type(name: &[u8]) -> Option<Option<bool>> {
    match args::text(name).to_ascii_lowercase().as_str() {
        "normal" => Some(Some(false)),
        "pubsub" => Some(Some(true)),
        "master" | "replica" | "slave" => Some(None),
        _ => None,
    }
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]`, as Redis 7.2's
/// `clientCommand`: one of the two filters; IDs are listed in argument order.
fn client_list(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let clients = ctx.shared.clients.lock().clone();
    let subs = ctx.shared.pubsub.client_counts();
    let subs_of = |id: &u64| subs.get(id).copied().unwrap_or_default();
    let mut out = String::new();
    if a.len() == 4 && is(&a[2], "TYPE") {
        let Some(kind) = client_type(&a[3]) else {
            return Err(CmdError::err(format!("Unknown client type '{}'", args::text(&a[3]))));
        };
        for (cid, c) in clients.iter() {
            let s = subs_of(cid);
            // MONITOR clients count as normal clients, as in Redis.
            if kind == Some(s.pubsub() && !s.monitor) {
                out.push_str(&client_line(ctx, *cid, c, s));
            }
        }
    } else if a.len() > 3 && is(&a[2], "ID") {
        let mut ids = Vec::with_capacity(a.len() - 3);
        for x in &a[3..] {
            ids.push(args::text(x).parse::<i64>().map_err(|_| CmdError::err("Invalid client ID"))?);
        }
        for id in ids {
            let Ok(id) = u64::try_from(id) else { continue };
            if let Some(c) = clients.get(&id) {
                out.push_str(&client_line(ctx, id, c, subs_of(&id)));
            }
        }
    } else if a.len() != 2 {
        return Err(CmdError::Syntax);
    } else {
        for (cid, c) in clients.iter() {
            out.push_str(&client_line(ctx, *cid, c, subs_of(cid)));
        }
    }
    Ok(Reply::Verbatim(Bytes::from(out)))
}

fn client(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    let id = ctx.session.id;
    let arity = |n: usize| if a.len() == n { Ok(()) } else { Err(CmdError::WrongArgs(format!("client|{sub}"))) };
    match sub.as_str() {
        "id" => {
            arity(2)?;
            Ok(Reply::Int(id as i64))
        }
        "setname" => {
            arity(3)?;
            if !valid_client_text(&a[2]) && !a[2].is_empty() {
                return Err(CmdError::err("Client names cannot contain spaces, newlines or special characters."));
            }
            if let Some(c) = ctx.shared.clients.lock().get_mut(&id) {
                c.name = args::text(&a[2]);
            }
            Ok(Reply::Ok)
        }
        "getname" => {
            arity(2)?;
            let name = ctx.shared.clients.lock().get(&id).map(|c| c.name.clone()).unwrap_or_default();
            Ok(if name.is_empty() { Reply::Nil } else { Reply::Bulk(Bytes::from(name)) })
        }
        "setinfo" => {
            arity(4)?;
            let attr = args::text(&a[2]).to_ascii_lowercase();
            if attr != "lib-name" && attr != "lib-ver" {
                return Err(CmdError::err(format!("Unrecognized option '{}'", args::text(&a[2]))));
            }
            if !valid_client_text(&a[3]) && !a[3].is_empty() {
                return Err(CmdError::err(format!("{attr} cannot contain spaces, newlines or special characters.")));
            }
            if let Some(c) = ctx.shared.clients.lock().get_mut(&id) {
                if attr == "lib-name" {
                    c.lib_name = args::text(&a[3]);
                } else {
                    c.lib_ver = args::text(&a[3]);
                }
            }
            Ok(Reply::Ok)
        }
        "list" => client_list(ctx, a),
        "info" => {
            arity(2)?;
            let c = ctx.shared.clients.lock().get(&id).cloned().unwrap_or_default();
            let subs = ctx.shared.pubsub.client_counts().get(&id).copied().unwrap_or_default();
            Ok(Reply::Verbatim(Bytes::from(client_line(ctx, id, &c, subs))))
        }
        "kill" => client_kill(ctx, a),
        "pause" => client_pause(ctx, a),
        "unpause" => {
            arity(2)?;
            ctx.shared.pause.end();
            Ok(Reply::Ok)
        }
        "unblock" => client_unblock(ctx, a),
        "tracking" => client_tracking(ctx, a),
        "caching" => {
            arity(3)?;
            client_caching(ctx, &a[2])
        }
        "trackinginfo" => {
            arity(2)?;
            Ok(tracking_info(ctx.session.tracking.as_deref()))
        }
        "getredir" => {
            arity(2)?;
            Ok(Reply::Int(ctx.session.tracking.as_ref().map_or(-1, |t| t.redirect as i64)))
        }
        "reply" => {
            arity(3)?;
            if ctx.session.face != Face::Resp {
                return Err(CmdError::err("CLIENT REPLY needs a connection (RESP)"));
            }
            let mode = if is(&a[2], "ON") {
                crate::session::ReplyMode::On
            } else if is(&a[2], "OFF") {
                crate::session::ReplyMode::Off
            } else if is(&a[2], "SKIP") {
                crate::session::ReplyMode::SkipNext
            } else {
                return Err(CmdError::Syntax);
            };
            if mode == crate::session::ReplyMode::SkipNext && ctx.session.reply_mode == crate::session::ReplyMode::Off {
                return Ok(Reply::Seq(Vec::new()));
            }
            ctx.session.reply_mode = mode;
            Ok(if mode == crate::session::ReplyMode::On { Reply::Ok } else { Reply::Seq(Vec::new()) })
        }
        "no-evict" | "no-touch" => {
            arity(3)?;
            if is(&a[2], "on") || is(&a[2], "off") {
                Ok(Reply::Ok)
            } else {
                Err(CmdError::Syntax)
            }
        }
        "help" => Ok(Reply::Array(
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID",
                "GETNAME",
                "SETNAME <name>",
                "SETINFO <option> <value>",
                "KILL <ip:port> | [ID <id>] [ADDR <ip:port>] [LADDR <ip:port>] [USER <name>] [TYPE <type>] [SKIPME yes|no] [MAXAGE <secs>]",
                "REPLY ON|OFF|SKIP",
                "PAUSE <timeout> [WRITE|ALL]",
                "UNPAUSE",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]",
                "CACHING (YES|NO)",
                "TRACKINGINFO",
                "GETREDIR",
                "LIST",
                "INFO",
                "HELP",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        )),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "CLIENT".into() }),
    }
}

/// `CLIENT KILL addr` or `CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [USER name] [TYPE type]
/// [SKIPME yes|no] [MAXAGE secs] ...`.
fn client_kill(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() < 3 {
        return Err(CmdError::WrongArgs("client|kill".into()));
    }
    let me = ctx.session.id;
    let legacy = a.len() == 3;
    let (mut id, mut addr, mut laddr, mut user, mut kind, mut maxage) = (None, None, None, None, None, None);
    let mut skipme = !legacy;
    if legacy {
        addr = Some(args::text(&a[2]));
    } else {
        if !(a.len() - 2).is_multiple_of(2) {
            return Err(CmdError::Syntax);
        }
        for pair in a[2..].chunks(2) {
            let v = args::text(&pair[1]);
            match args::text(&pair[0]).to_ascii_lowercase().as_str() {
                "id" => match v.parse::<u64>() {
                    Ok(n) if n > 0 => id = Some(n),
                    _ => return Err(CmdError::err("client-id should be greater than 0")),
                },
                "addr" => addr = Some(v),
                "laddr" => laddr = Some(v),
                "user" => user = Some(v),
                "type" => {
                    let t = v.to_ascii_lowercase();
                    if !matches!(t.as_str(), "normal" | "pubsub" | "master" | "replica" | "slave") {
                        return Err(CmdError::err(format!("Unknown client type '{v}'")));
                    }
                    kind = Some(t);
                }
                "skipme" if is(&pair[1], "yes") => skipme = true,
                "skipme" if is(&pair[1], "no") => skipme = false,
                "maxage" => maxage = Some(v.parse::<u64>().map_err(|_| CmdError::Syntax)?),
                _ => return Err(CmdError::Syntax),
            }
        }
    }
    let now = ctx.now;
    let mut victims = Vec::new();
    for (cid, c) in ctx.shared.clients.lock().iter() {
        let user_name = if c.user.is_empty() { "default" } else { c.user.as_str() };
        let matches = id.is_none_or(|x| x == *cid)
            && addr.as_ref().is_none_or(|x| *x == c.addr)
            && laddr.as_ref().is_none_or(|x| *x == c.laddr)
            && user.as_ref().is_none_or(|x| x == user_name)
            // Every stashd client is a normal client (no replicas); subscribers count as normal.
            && kind.as_ref().is_none_or(|t| t == "normal" || t == "pubsub")
            && maxage.is_none_or(|m| now.saturating_sub(c.created_ms) / 1000 >= m)
            && !(skipme && *cid == me);
        if matches {
            victims.push((*cid, c.killer.clone()));
        }
    }
    for (cid, killer) in &victims {
        if *cid == me {
            ctx.session.close_after_reply = true;
        } else if let Some(k) = killer {
            (k.0)();
        }
    }
    if legacy {
        return if victims.is_empty() { Err(CmdError::err("No such client")) } else { Ok(Reply::Ok) };
    }
    Ok(Reply::Int(victims.len() as i64))
}

/// Redis's answer to a CLIENT subcommand given the wrong arguments.
fn sub_syntax(sub: &Bytes) -> CmdError {
    CmdError::err(format!("unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.", args::text(sub)))
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`: RESP clients' commands (all, or those that may write)
/// wait until the timeout passes or `CLIENT UNPAUSE`; a new pause replaces the current one.
fn client_pause(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() != 3 && a.len() != 4 {
        return Err(sub_syntax(&a[1]));
    }
    let ms = args::int(&a[2]).map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::NegativeTimeout);
    }
    let mode = match a.get(3) {
        None => crate::pause::PauseMode::All,
        Some(m) if is(m, "ALL") => crate::pause::PauseMode::All,
        Some(m) if is(m, "WRITE") => crate::pause::PauseMode::Write,
        Some(_) => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    ctx.shared.pause.start(mode, ctx.shared.clock.now_ms().saturating_add(ms as u64));
    Ok(Reply::Ok)
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: wakes a client parked in a blocking command; it answers
/// as on timeout, or with `-UNBLOCKED`. 1 if the client was blocked, else 0.
fn client_unblock(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() != 3 && a.len() != 4 {
        return Err(sub_syntax(&a[1]));
    }
    let id = args::int(&a[2]).map_err(|_| CmdError::NotInteger)?;
    let reason = match a.get(3) {
        None => crate::pause::UnblockReason::Timeout,
        Some(r) if is(r, "TIMEOUT") => crate::pause::UnblockReason::Timeout,
        Some(r) if is(r, "ERROR") => crate::pause::UnblockReason::Error,
        Some(_) => return Err(CmdError::err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    let woke = u64::try_from(id).is_ok_and(|id| ctx.shared.parked.unblock(id, reason));
    Ok(Reply::Int(woke as i64))
}

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]`
/// (Redis 7's checks and texts, in its order).
fn client_tracking(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() < 3 {
        return Err(CmdError::WrongArgs("client|tracking".into()));
    }
    let mut new = crate::tracking::ClientTracking::default();
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if is(&a[i], "REDIRECT") && more {
            if new.redirect != 0 {
                return Err(CmdError::err("A client can only redirect to a single other client"));
            }
            let id = args::int(&a[i + 1]).map_err(|_| CmdError::NotInteger)?;
            let exists = u64::try_from(id).is_ok_and(|id| ctx.shared.clients.lock().contains_key(&id));
            if !exists {
                return Err(CmdError::err("The client ID you want redirect to does not exist"));
            }
            new.redirect = id as u64;
            i += 2;
        } else if is(&a[i], "PREFIX") && more {
            new.prefixes.push(a[i + 1].clone());
            i += 2;
        } else if is(&a[i], "BCAST") {
            new.bcast = true;
            i += 1;
        } else if is(&a[i], "OPTIN") {
            new.optin = true;
            i += 1;
        } else if is(&a[i], "OPTOUT") {
            new.optout = true;
            i += 1;
        } else if is(&a[i], "NOLOOP") {
            new.noloop = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let tracking = &ctx.shared.tracking;
    if is(&a[2], "OFF") {
        if let Some(old) = ctx.session.tracking.take() {
            tracking.disable(ctx.session.id, &old);
        }
        return Ok(Reply::Ok);
    }
    if !is(&a[2], "ON") {
        return Err(CmdError::Syntax);
    }
    if !new.bcast && !new.prefixes.is_empty() {
        return Err(CmdError::err("PREFIX option requires BCAST mode to be enabled"));
    }
    let old = ctx.session.tracking.as_deref();
    if old.is_some_and(|o| o.bcast != new.bcast) {
        return Err(CmdError::err(
            "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if new.bcast && (new.optin || new.optout) {
        return Err(CmdError::err("OPTIN and OPTOUT are not compatible with BCAST"));
    }
    if new.optin && new.optout {
        return Err(CmdError::err("You can't specify both OPTIN mode and OPTOUT mode"));
    }
    if old.is_some_and(|o| (new.optin && o.optout) || (new.optout && o.optin)) {
        return Err(CmdError::err(
            "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    let current = old.map(|o| o.prefixes.clone()).unwrap_or_default();
    if new.bcast {
        crate::tracking::check_prefixes(&current, &new.prefixes).map_err(CmdError::err)?;
        // Without PREFIX, BCAST follows every key: the empty prefix, as Redis lists it.
        if new.prefixes.is_empty() && current.is_empty() {
            new.prefixes.push(Bytes::new());
        }
    }
    // Prefixes add up over repeated ONs; the flags are the new ones.
    let mut prefixes = current;
    for p in new.prefixes.drain(..) {
        if !prefixes.contains(&p) {
            prefixes.push(p);
        }
    }
    new.prefixes = prefixes;
    new.caching = old.is_some_and(|o| o.caching);
    if let Some(old) = ctx.session.tracking.take() {
        tracking.disable(ctx.session.id, &old);
    }
    tracking.enable(ctx.session.id, &new);
    ctx.shared.pubsub.register(ctx.session.id, &mut ctx.session.subs);
    ctx.ks.touched.get_or_insert_with(Vec::new);
    ctx.session.tracking = Some(Box::new(new));
    Ok(Reply::Ok)
}

/// `CLIENT CACHING YES|NO`: whether the next command's keys are remembered (OPTIN/OPTOUT).
fn client_caching(ctx: &mut Ctx, opt: &Bytes) -> CmdResult {
    let Some(t) = ctx.session.tracking.as_deref_mut() else {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if is(opt, "YES") {
        if !t.optin {
            return Err(CmdError::err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."));
        }
    } else if is(opt, "NO") {
        if !t.optout {
            return Err(CmdError::err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    Ok(Reply::Ok)
}

/// `CLIENT TRACKINGINFO`: flags, redirect and prefixes, as Redis lists them.
fn tracking_info(t: Option<&crate::tracking::ClientTracking>) -> Reply {
    let s = |x: &'static str| Reply::Bulk(Bytes::from_static(x.as_bytes()));
    let mut flags = Vec::new();
    match t {
        None => flags.push(s("off")),
        Some(t) => {
            flags.push(s("on"));
            if t.bcast {
                flags.push(s("bcast"));
            }
            if t.optin {
                flags.push(s("optin"));
                if t.caching {
                    flags.push(s("caching-yes"));
                }
            }
            if t.optout {
                flags.push(s("optout"));
                if t.caching {
                    flags.push(s("caching-no"));
                }
            }
            if t.noloop {
                flags.push(s("noloop"));
            }
        }
    }
    // In byte order, as Redis's radix tree lists them.
    let mut prefixes: Vec<Bytes> = t.map_or_else(Vec::new, |t| t.prefixes.clone());
    prefixes.sort();
    let prefixes = prefixes.into_iter().map(Reply::Bulk).collect();
    Reply::Map(vec![
        (s("flags"), Reply::Set(flags)),
        (s("redirect"), Reply::Int(t.map_or(-1, |t| t.redirect as i64))),
        (s("prefixes"), Reply::Array(prefixes)),
    ])
}
