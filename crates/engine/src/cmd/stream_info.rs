//! XINFO STREAM [FULL [COUNT n]] / GROUPS / CONSUMERS / HELP (Redis 7.2+ fields; maps in RESP3,
//! flat arrays in RESP2 and REST).
//!
//! Hosted-service behaviour: `XINFO CONSUMERS` on a missing group answers `[]`, not `NOGROUP`.
//! `radix-tree-keys` is the number of listpack nodes of Redis's layout, which the stream models;
//! `radix-tree-nodes` (the radix tree's inner nodes) is estimated from it.

use bytes::Bytes;

use crate::args;
use crate::cmd;
use crate::cmd::streams::entry_reply;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::stream::{Group, Stream, StreamId};
use crate::{Ctx, Reply};

/// XINFO command row.
pub static COMMANDS: &[CommandSpec] = &[cmd!("xinfo", -2, READONLY, 2, 2, 1, xinfo, "stream")];

fn field(name: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(name.as_bytes()))
}

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

fn opt_int(n: Option<u64>) -> Reply {
    n.map_or(Reply::Nil, |n| Reply::Int(n as i64))
}

/// The header fields XINFO STREAM starts with, in both forms.
fn stream_header(s: &Stream) -> Vec<(Reply, Reply)> {
    let keys = s.nodes.len();
    vec![
        (field("length"), Reply::Int(s.len() as i64)),
        (field("radix-tree-keys"), Reply::Int(keys as i64)),
        (field("radix-tree-nodes"), Reply::Int(if keys == 0 { 1 } else { keys as i64 + 1 })),
        (field("last-generated-id"), id_reply(s.last_id)),
        (field("max-deleted-entry-id"), id_reply(s.max_deleted_id)),
        (field("entries-added"), Reply::Int(s.entries_added as i64)),
        (field("recorded-first-entry-id"), id_reply(s.first_id())),
    ]
}

fn xinfo_help() -> Reply {
    Reply::Array(
        [
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
            "HELP",
            "    Print this help.",
        ]
        .iter()
        .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
        .collect(),
    )
}

fn xinfo(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    let arity_ok = match sub.as_str() {
        "help" => return if a.len() == 2 { Ok(xinfo_help()) } else { Err(CmdError::WrongArgs("xinfo|help".into())) },
        "stream" => a.len() >= 3,
        "groups" => a.len() == 3,
        "consumers" => a.len() == 4,
        _ => return Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "XINFO".into() }),
    };
    if !arity_ok {
        return Err(CmdError::WrongArgs(format!("xinfo|{sub}")));
    }
    let now = ctx.now;
    let key = &a[2];
    // FULL's options are checked before the key, as Redis does.
    let mut full = None;
    if sub == "stream" && a.len() > 3 {
        if !args::is(&a[3], "FULL") {
            return Err(CmdError::Syntax);
        }
        let mut count = 10;
        if a.len() == 6 && args::is(&a[4], "COUNT") {
            let n = args::int(&a[5])?;
            count = if n < 0 { 10 } else { n as usize };
        } else if a.len() != 4 {
            return Err(CmdError::Syntax);
        }
        full = Some(if count == 0 { usize::MAX } else { count });
    }
    let Some(s) = ctx.get_stream(key)? else { return Err(CmdError::err("no such key")) };
    Ok(match sub.as_str() {
        "consumers" => match s.groups.get(&a[3]) {
            Some(g) => Reply::Array(
                g.consumers
                    .iter()
                    .map(|(name, c)| {
                        Reply::Map(vec![
                            (field("name"), Reply::Bulk(name.clone())),
                            (field("pending"), Reply::Int(c.pending.len() as i64)),
                            (field("idle"), Reply::Int(now.saturating_sub(c.seen_time) as i64)),
                            (field("inactive"), Reply::Int(c.active_time.map_or(-1, |t| now.saturating_sub(t) as i64))),
                        ])
                    })
                    .collect(),
            ),
            None => Reply::Array(Vec::new()),
        },
        "groups" => Reply::Array(
            s.groups
                .iter()
                .map(|(name, g)| {
                    Reply::Map(vec![
                        (field("name"), Reply::Bulk(name.clone())),
                        (field("consumers"), Reply::Int(g.consumers.len() as i64)),
                        (field("pending"), Reply::Int(g.pel.len() as i64)),
                        (field("last-delivered-id"), id_reply(g.last_id)),
                        (field("entries-read"), opt_int(g.entries_read)),
                        (field("lag"), s.lag(g).map_or(Reply::Nil, Reply::Int)),
                    ])
                })
                .collect(),
        ),
        _ => match full {
            None => {
                let mut m = stream_header(s);
                m.push((field("groups"), Reply::Int(s.groups.len() as i64)));
                let first = s.entries.first_key_value().map_or(Reply::Nil, |(id, f)| entry_reply(*id, f));
                let last = s.entries.last_key_value().map_or(Reply::Nil, |(id, f)| entry_reply(*id, f));
                m.push((field("first-entry"), first));
                m.push((field("last-entry"), last));
                Reply::Map(m)
            }
            Some(count) => {
                let mut m = stream_header(s);
                let entries = s.entries.iter().take(count).map(|(id, f)| entry_reply(*id, f)).collect();
                m.push((field("entries"), Reply::Array(entries)));
                m.push((field("groups"), Reply::Array(s.groups.iter().map(|(n, g)| full_group(s, n, g, count)).collect())));
                Reply::Map(m)
            }
        },
    })
}

/// One group of `XINFO STREAM ... FULL`.
fn full_group(s: &Stream, name: &Bytes, g: &Group, count: usize) -> Reply {
    let pel = g
        .pel
        .iter()
        .take(count)
        .map(|(id, p)| {
            Reply::Array(vec![
                id_reply(*id),
                Reply::Bulk(p.consumer.clone()),
                Reply::Int(p.delivery_time as i64),
                Reply::Int(p.delivery_count as i64),
            ])
        })
        .collect();
    let consumers = g
        .consumers
        .iter()
        .map(|(cname, c)| {
            let pending = c
                .pending
                .iter()
                .take(count)
                .filter_map(|id| g.pel.get(id).map(|p| (id, p)))
                .map(|(id, p)| Reply::Array(vec![id_reply(*id), Reply::Int(p.delivery_time as i64), Reply::Int(p.delivery_count as i64)]))
                .collect();
            Reply::Map(vec![
                (field("name"), Reply::Bulk(cname.clone())),
                (field("seen-time"), Reply::Int(c.seen_time as i64)),
                (field("active-time"), Reply::Int(c.active_time.map_or(-1, |t| t as i64))),
                (field("pel-count"), Reply::Int(c.pending.len() as i64)),
                (field("pending"), Reply::Array(pending)),
            ])
        })
        .collect();
    Reply::Map(vec![
        (field("name"), Reply::Bulk(name.clone())),
        (field("last-delivered-id"), id_reply(g.last_id)),
        (field("entries-read"), opt_int(g.entries_read)),
        (field("lag"), s.lag(g).map_or(Reply::Nil, Reply::Int)),
        (field("pel-count"), Reply::Int(g.pel.len() as i64)),
        (field("pending"), Reply::Array(pel)),
        (field("consumers"), Reply::Array(consumers)),
    ])
}
