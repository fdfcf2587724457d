//! The keys and channels a call names, for ACL checks: the table's key positions, plus the
//! commands whose keys move with their arguments (Redis's `movablekeys`: `EVAL`'s numkeys,
//! `XREAD ... STREAMS`, `SORT ... STORE`, ...).

use bytes::Bytes;

use super::user::{KEY_READ, KEY_WRITE};
use crate::command::{flags, CommandSpec};

fn int_at(args: &[Bytes], i: usize) -> Option<usize> {
    std::str::from_utf8(args.get(i)?).ok()?.parse::<usize>().ok()
}

/// `numkeys` at `at`, keys right after it.
fn numkeys(args: &[Bytes], at: usize, access: u8, out: &mut Vec<(usize, u8)>) {
    let n = int_at(args, at).unwrap_or(0);
    out.extend((at + 1..(at + 1 + n).min(args.len())).map(|i| (i, access)));
}

/// The destination after a `STORE`/`STOREDIST` option, if any.
fn store_option(args: &[Bytes], from: usize, out: &mut Vec<(usize, u8)>) {
    let mut i = from;
    while i + 1 < args.len() {
        if args[i].eq_ignore_ascii_case(b"STORE") || args[i].eq_ignore_ascii_case(b"STOREDIST") {
            out.push((i + 1, KEY_WRITE));
            i += 2;
        } else {
            i += 1;
        }
    }
}

/// Argument positions of the keys of a call with the access each needs ([`KEY_READ`] and/or
/// [`KEY_WRITE`]). Writes need write access to their keys (the sources of a `*STORE` only read);
/// reads need read access.
pub fn keys_of(spec: &CommandSpec, args: &[Bytes]) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let write = if spec.has(flags::WRITE) { KEY_WRITE } else { KEY_READ };
    match spec.name {
        // Shard channels are channels for the ACL, not keys.
        "spublish" | "ssubscribe" | "sunsubscribe" => {}
        "eval" | "evalsha" | "fcall" => numkeys(args, 2, KEY_READ | KEY_WRITE, &mut out),
        "eval_ro" | "evalsha_ro" | "fcall_ro" => numkeys(args, 2, KEY_READ, &mut out),
        "zunionstore" | "zinterstore" | "zdiffstore" => {
            out.push((1, KEY_WRITE));
            numkeys(args, 2, KEY_READ, &mut out);
        }
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" => numkeys(args, 1, KEY_READ, &mut out),
        "lmpop" | "zmpop" => numkeys(args, 1, KEY_WRITE, &mut out),
        "blmpop" | "bzmpop" => numkeys(args, 2, KEY_WRITE, &mut out),
        "xread" | "xreadgroup" => {
            let access = if spec.name == "xread" { KEY_READ } else { KEY_READ | KEY_WRITE };
            if let Some(s) = args.iter().position(|a| a.eq_ignore_ascii_case(b"STREAMS")) {
                let rest = args.len() - s - 1;
                out.extend((s + 1..s + 1 + rest / 2).map(|i| (i, access)));
            }
        }
        "sort" | "sort_ro" | "georadius" | "georadiusbymember" | "georadius_ro" | "georadiusbymember_ro" => {
            out.push((1, KEY_READ));
            if spec.has(flags::WRITE) {
                store_option(args, 2, &mut out);
            }
        }
        "memory" if args.len() > 2 && args[1].eq_ignore_ascii_case(b"USAGE") => out.push((2, KEY_READ)),
        _ => {
            let only_first = spec.has(flags::WRITES_FIRST_KEY);
            for (n, i) in spec.key_indexes(args.len()).enumerate() {
                out.push((i, if only_first && n > 0 { KEY_READ } else { write }));
            }
        }
    }
    out
}

/// How a call names channels.
pub enum Channels {
    /// No channels.
    None,
    /// Literal channel names at these positions (PUBLISH, SUBSCRIBE, ...).
    Literal(std::ops::Range<usize>),
    /// Patterns at these positions (PSUBSCRIBE): each must be one of the user's patterns, as is.
    Patterns(std::ops::Range<usize>),
}

/// The channels a call publishes to or subscribes to (unsubscribing is always allowed).
pub fn channels_of(spec: &CommandSpec, args: &[Bytes]) -> Channels {
    match spec.name {
        "publish" | "spublish" => Channels::Literal(1..2.min(args.len())),
        "subscribe" | "ssubscribe" => Channels::Literal(1..args.len()),
        "psubscribe" => Channels::Patterns(1..args.len()),
        _ => Channels::None,
    }
}
