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
        Some(c) => client_line_at(shared.clock.now_ms(), id, &c).trim_end().to_string(),
        None => format!("id={id} addr= laddr= fd=-1 name= user= resp=2 (REST request)"),
    }
}

fn valid_client_text(b: &[u8]) -> bool {
    b.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn client_line(ctx: &Ctx, id: u64, c: &crate::engine::ClientInfo) -> String {
    client_line_at(ctx.now, id, c)
}

fn client_line_at(now: u64, id: u64, c: &crate::engine::ClientInfo) -> String {
    format!(
        "id={id} addr={} laddr={} fd=8 name={} age={} idle={} flags=N db={} sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 tot-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}\n",
        c.addr,
        c.laddr,
        c.name,
        now.saturating_sub(c.created_ms) / 1000,
        now.saturating_sub(c.last_ms) / 1000,
        c.db,
        if c.last_cmd.is_empty() { "NULL" } else { c.last_cmd },
        if c.user.is_empty() { "default" } else { &c.user },
        c.resp,
        c.lib_name,
        c.lib_ver
    )
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
        "list" => {
            let clients = ctx.shared.clients.lock().clone();
            let mut out = String::new();
            for (cid, c) in clients.iter() {
                out.push_str(&client_line(ctx, *cid, c));
            }
            Ok(Reply::Verbatim(Bytes::from(out)))
        }
        "info" => {
            arity(2)?;
            let c = ctx.shared.clients.lock().get(&id).cloned().unwrap_or_default();
            Ok(Reply::Verbatim(Bytes::from(client_line(ctx, id, &c))))
        }
        "kill" => client_kill(ctx, a),
        "pause" => client_pause(ctx, a),
        "unpause" => {
            arity(2)?;
            ctx.shared.pause.end();
            Ok(Reply::Ok)
        }
        "unblock" => client_unblock(ctx, a),
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
