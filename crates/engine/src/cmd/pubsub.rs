//! Pub/sub commands (Redis `pubsub.c`). Subscriptions live on RESP connections; the REST face
//! offers them as Server-Sent Events under `/subscribe` and `/psubscribe`.

use bytes::Bytes;

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::pubsub::Kind;
use crate::session::Face;
use crate::{Ctx, Reply};

const SUB: u32 = NOSCRIPT | PUBSUB_CONTEXT | CONNECTION;

/// Pub/sub command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("subscribe", -2, SUB, 0, 0, 0, subscribe, "pubsub"),
    cmd!("unsubscribe", -1, SUB, 0, 0, 0, unsubscribe, "pubsub"),
    cmd!("psubscribe", -2, SUB, 0, 0, 0, psubscribe, "pubsub"),
    cmd!("punsubscribe", -1, SUB, 0, 0, 0, punsubscribe, "pubsub"),
    cmd!("ssubscribe", -2, SUB, 1, -1, 1, ssubscribe, "pubsub"),
    cmd!("sunsubscribe", -1, SUB, 1, -1, 1, sunsubscribe, "pubsub"),
    cmd!("publish", 3, FAST, 0, 0, 0, publish, "pubsub"),
    cmd!("spublish", 3, FAST, 1, 1, 1, spublish, "pubsub"),
    cmd!("pubsub", -2, 0, 0, 0, 0, pubsub, "pubsub"),
];

fn word(kind: Kind, sub: bool) -> &'static str {
    match (kind, sub) {
        (Kind::Channel, true) => "subscribe",
        (Kind::Channel, false) => "unsubscribe",
        (Kind::Pattern, true) => "psubscribe",
        (Kind::Pattern, false) => "punsubscribe",
        (Kind::Shard, true) => "ssubscribe",
        (Kind::Shard, false) => "sunsubscribe",
    }
}

fn count(ctx: &Ctx, kind: Kind) -> i64 {
    match kind {
        Kind::Shard => ctx.session.subs.shard_channels.len() as i64,
        _ => ctx.session.subs.count() as i64,
    }
}

fn confirmation(kind: Kind, sub: bool, name: Option<Bytes>, n: i64) -> Reply {
    Reply::Push(vec![Reply::Bulk(Bytes::from_static(word(kind, sub).as_bytes())), name.map_or(Reply::Nil, Reply::Bulk), Reply::Int(n)])
}

fn subscribe_generic(ctx: &mut Ctx, a: &[Bytes], kind: Kind) -> CmdResult {
    if ctx.session.face != Face::Resp {
        return Err(CmdError::err(format!(
            "{} needs a connection: over HTTP use POST /subscribe/<channel> or /psubscribe/<pattern> (Server-Sent Events)",
            args::text(&a[0]).to_ascii_uppercase()
        )));
    }
    if ctx.session.multi.is_some() {
        return Err(CmdError::NotInMulti);
    }
    let mut out = Vec::with_capacity(a.len() - 1);
    for name in &a[1..] {
        let id = ctx.session.id;
        ctx.shared.pubsub.subscribe(id, &mut ctx.session.subs, kind, name);
        out.push(confirmation(kind, true, Some(name.clone()), count(ctx, kind)));
    }
    Ok(Reply::Seq(out))
}

fn unsubscribe_generic(ctx: &mut Ctx, a: &[Bytes], kind: Kind) -> CmdResult {
    let names: Vec<Bytes> = if a.len() > 1 {
        a[1..].to_vec()
    } else {
        let s = &ctx.session.subs;
        let set = match kind {
            Kind::Channel => &s.channels,
            Kind::Pattern => &s.patterns,
            Kind::Shard => &s.shard_channels,
        };
        set.iter().cloned().collect()
    };
    if names.is_empty() {
        return Ok(Reply::Seq(vec![confirmation(kind, false, None, count(ctx, kind))]));
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let id = ctx.session.id;
        ctx.shared.pubsub.unsubscribe(id, &mut ctx.session.subs, kind, &name);
        out.push(confirmation(kind, false, Some(name), count(ctx, kind)));
    }
    Ok(Reply::Seq(out))
}

fn subscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, a, Kind::Channel)
}
fn unsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, a, Kind::Channel)
}
fn psubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, a, Kind::Pattern)
}
fn punsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, a, Kind::Pattern)
}
fn ssubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, a, Kind::Shard)
}
fn sunsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, a, Kind::Shard)
}

fn publish(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.shared.pubsub.publish(&a[1], &a[2], false) as i64))
}

fn spublish(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.shared.pubsub.publish(&a[1], &a[2], true) as i64))
}

fn pubsub(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    let hub = &ctx.shared.pubsub;
    let channels = |shard: bool| -> CmdResult {
        if a.len() > 3 {
            return Err(CmdError::WrongArgs(format!("pubsub|{sub}")));
        }
        Ok(Reply::bulks(hub.channels(a.get(2).map(|p| &p[..]), shard)))
    };
    let numsub = |shard: bool| {
        // A flat array in RESP3 too, as Redis's `addReplyArrayLen(c, (argc-2)*2)`.
        let mut out = Vec::new();
        for c in &a[2..] {
            out.push(Reply::Bulk(c.clone()));
            out.push(Reply::Int(hub.numsub(c, shard) as i64));
        }
        Ok(Reply::Array(out))
    };
    match sub.as_str() {
        "channels" => channels(false),
        "shardchannels" => channels(true),
        "numsub" => numsub(false),
        "shardnumsub" => numsub(true),
        "numpat" if a.len() == 2 => Ok(Reply::Int(hub.numpat() as i64)),
        "numpat" => Err(CmdError::WrongArgs("pubsub|numpat".into())),
        "help" if a.len() == 2 => Ok(Reply::Array(
            [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        )),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "PUBSUB".into() }),
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    fn push(kind: &str, name: &str, n: i64) -> Reply {
        Reply::Push(vec![b(kind), b(name), Reply::Int(n)])
    }

    #[test]
    fn subscribe_publish_and_subscribed_mode() {
        let mut t = T::new();
        let mut other = T::new();
        other.engine = t.engine.clone();
        other.session = t.engine.open_session(crate::Face::Resp, "o", "o");
        assert_eq!(t.ok(&["SUBSCRIBE", "a", "b"]), Reply::Seq(vec![push("subscribe", "a", 1), push("subscribe", "b", 2)]));
        assert_eq!(t.ok(&["PSUBSCRIBE", "n*"]), Reply::Seq(vec![push("psubscribe", "n*", 3)]));
        assert_eq!(
            t.err(&["GET", "k"]),
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        assert_eq!(t.ok(&["PING"]), Reply::Array(vec![b("pong"), b("")]));
        assert_eq!(other.ok(&["PUBLISH", "a", "hello"]), Reply::Int(1));
        assert_eq!(other.ok(&["PUBLISH", "news", "x"]), Reply::Int(1));
        assert_eq!(other.ok(&["PUBLISH", "zzz", "x"]), Reply::Int(0));
        let mut rx = t.session.subs.inbox.take().expect("inbox created by SUBSCRIBE");
        let m = rx.try_recv().unwrap();
        assert_eq!((&m.channel[..], &m.payload[..], m.pattern.is_none()), (&b"a"[..], &b"hello"[..], true));
        assert_eq!(rx.try_recv().unwrap().pattern.as_deref(), Some(&b"n*"[..]));
        assert_eq!(other.ok(&["PUBSUB", "NUMSUB", "a", "zzz"]), Reply::Array(vec![b("a"), Reply::Int(1), b("zzz"), Reply::Int(0)]));
        assert_eq!(other.ok(&["PUBSUB", "NUMPAT"]), Reply::Int(1));
        let Reply::Seq(unsubs) = t.ok(&["UNSUBSCRIBE"]) else { panic!() };
        assert_eq!(unsubs.len(), 2);
        assert_eq!(t.ok(&["PUNSUBSCRIBE"]), Reply::Seq(vec![push("punsubscribe", "n*", 0)]));
        assert_eq!(t.ok(&["UNSUBSCRIBE"]), Reply::Seq(vec![Reply::Push(vec![b("unsubscribe"), Reply::Nil, Reply::Int(0)])]));
        t.ok(&["SET", "k", "v"]);
        // PUBLISH works from scripts too.
        assert_eq!(other.ok(&["EVAL", "return redis.call('PUBLISH', 'a', 'x')", "0"]), Reply::Int(0));
    }
}
