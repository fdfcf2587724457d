//! Redis's per-command flags and key specs (`command_info.tsv`, generated from redis-server's
//! `COMMAND` reply), for `COMMAND INFO` and `COMMAND GETKEYS[ANDFLAGS]`: the keys a call names
//! and their key-spec flags (`RW access delete`, `OW update`...), found as Redis's
//! `getKeysFromCommandWithSpecs` finds them.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::acl::user::KEY_WRITE;
use crate::command::{flags, CommandSpec};
use crate::Reply;

/// Where a key spec's keys begin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BeginSearch {
    /// At a fixed argument index.
    Index(i64),
    /// After a keyword, searched from `startfrom` (negative: backwards from the end).
    Keyword(&'static str, i64),
    /// Not expressible (the command's own key finder applies).
    Unknown,
}

/// How a key spec's keys continue from where they begin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FindKeys {
    /// A range: last key (relative, negative from the end), step, limit (a divisor of the rest).
    Range(i64, i64, i64),
    /// A number-of-keys argument: its index, the first key's index (both relative), step.
    Keynum(i64, i64, i64),
    /// Not expressible.
    Unknown,
}

/// One key spec.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Redis's key-spec flags (`RW`, `access`, `delete`, ...).
    pub flags: Vec<&'static str>,
    /// Where the keys begin.
    pub begin: BeginSearch,
    /// How they continue.
    pub find: FindKeys,
}

impl KeySpec {
    fn has(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }
}

/// One command's (or `container|sub`'s) row: Redis's command flags and key specs.
#[derive(Debug, Clone)]
pub struct Row {
    /// Arity, first key, last key, step, as `COMMAND INFO` reports them.
    pub legacy: [i64; 4],
    /// Command flags as `COMMAND INFO` lists them (`write`, `denyoom`, `movablekeys`...).
    pub flags: Vec<&'static str>,
    /// Key specs in Redis's order.
    pub specs: Vec<KeySpec>,
}

fn parse_spec(text: &'static str) -> Option<KeySpec> {
    let mut parts = text.split(';');
    let flags = parts.next()?.split(',').filter(|f| !f.is_empty()).collect();
    let num = |s: &str| s.parse::<i64>().ok();
    let begin = match parts.next()?.split_once(':') {
        Some(("index", n)) => BeginSearch::Index(num(n)?),
        Some(("keyword", rest)) => {
            let (kw, from) = rest.rsplit_once(',')?;
            BeginSearch::Keyword(kw, num(from)?)
        }
        _ => BeginSearch::Unknown,
    };
    let find = match parts.next()?.split_once(':') {
        Some((kind, rest)) => {
            let v: Vec<i64> = rest.split(',').filter_map(num).collect();
            match (kind, v.as_slice()) {
                ("range", [a, b, c]) => FindKeys::Range(*a, *b, *c),
                ("keynum", [a, b, c]) => FindKeys::Keynum(*a, *b, *c),
                _ => FindKeys::Unknown,
            }
        }
        None => FindKeys::Unknown,
    };
    Some(KeySpec { flags, begin, find })
}

/// The rows of `command_info.tsv`, by full name.
pub fn rows() -> &'static HashMap<&'static str, Row> {
    static ROWS: OnceLock<HashMap<&'static str, Row>> = OnceLock::new();
    ROWS.get_or_init(|| {
        include_str!("command_info.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let mut cols = l.split('\t');
                let name = cols.next()?;
                let mut legacy = [0i64; 4];
                for (slot, v) in legacy.iter_mut().zip(cols.next()?.split_whitespace()) {
                    *slot = v.parse().ok()?;
                }
                let flags = cols.next().unwrap_or("").split_whitespace().collect();
                let specs = cols.next().unwrap_or("").split(" | ").filter(|s| !s.is_empty()).filter_map(parse_spec).collect();
                Some((name, Row { legacy, flags, specs }))
            })
            .collect()
    })
}

/// Redis's `getKeysUsingKeySpecs`: `None` when a spec cannot be followed (unknown, incomplete,
/// or the arguments do not fit it), so the command's own key finder must answer.
fn keys_by_specs(specs: &[KeySpec], args: &[Bytes]) -> Option<Vec<(usize, usize)>> {
    let argc = args.len() as i64;
    let mut out = Vec::new();
    for (n, spec) in specs.iter().enumerate() {
        if spec.has("not_key") {
            continue;
        }
        let mut first = match spec.begin {
            BeginSearch::Index(i) => i,
            BeginSearch::Keyword(kw, from) => {
                let start = if from > 0 { from } else { argc + from };
                let end = if from > 0 { argc - 1 } else { 0 };
                let mut found = 0;
                let mut i = start;
                while i != end && (1..argc).contains(&i) {
                    if args[i as usize].eq_ignore_ascii_case(kw.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match spec.find {
            FindKeys::Range(lastkey, step, limit) => {
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, step)
            }
            FindKeys::Keynum(idx, firstkey, step) => {
                if idx >= argc - first {
                    return None;
                }
                let numkeys = std::str::from_utf8(&args[(first + idx) as usize]).ok()?.parse::<i64>().ok().filter(|n| *n >= 0)?;
                first += firstkey;
                (first + numkeys - 1, step)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, n));
            i += step.max(1);
        }
        if spec.has("incomplete") {
            return None;
        }
    }
    Some(out)
}

fn owned(flags: &[&'static str]) -> Vec<&'static str> {
    flags.to_vec()
}

/// The keys of a call (`args[0]` the command, `unit` its full name such as `object|encoding`)
/// with their key-spec flags, as `COMMAND GETKEYSANDFLAGS` answers: by the key specs when they
/// are complete and their flags fixed, else by the command's key finder
/// ([`crate::acl::keys::keys_of`]) with the flags Redis's `*GetKeys` procedures give.
pub fn keys_and_flags(spec: &CommandSpec, unit: &str, args: &[Bytes]) -> Vec<(usize, Vec<&'static str>)> {
    let row = rows().get(unit);
    let specs = row.map_or(&[][..], |r| r.specs.as_slice());
    let variable = specs.iter().any(|s| s.has("variable_flags"));
    if !specs.is_empty() && !variable {
        if let Some(keys) = keys_by_specs(specs, args) {
            return keys.into_iter().map(|(i, n)| (i, specs[n].flags.iter().copied().filter(|f| *f != "incomplete").collect())).collect();
        }
        let followable = specs.iter().all(|s| s.begin != BeginSearch::Unknown && s.find != FindKeys::Unknown && !s.has("incomplete"));
        if followable {
            // Complete specs the arguments do not fit (EVAL's numkeys past the end): Redis's
            // own key finders find no keys either.
            return Vec::new();
        }
    }
    let found = crate::acl::keys::keys_of(spec, args);
    let has_arg = |kw: &str| args.iter().skip(2).any(|a| a.eq_ignore_ascii_case(kw.as_bytes()));
    found
        .into_iter()
        .enumerate()
        .map(|(nth, (i, access))| {
            let flags = match spec.name {
                // setGetKeys: with GET the old value is read.
                "set" if has_arg("GET") => owned(&["RW", "access", "update"]),
                "set" => owned(&["OW", "update"]),
                // bitfieldGetKeys: read-only unless it has a SET or INCRBY.
                "bitfield" if has_arg("SET") || has_arg("INCRBY") => owned(&["RW", "access", "update"]),
                "bitfield" => owned(&["RO", "access"]),
                _ if !specs.is_empty() => {
                    // The first key takes the first spec; a later written key the last one (SORT's
                    // STORE destination, MIGRATE's KEYS).
                    let s = if nth > 0 && access & KEY_WRITE != 0 { specs.len() - 1 } else { 0 };
                    specs[s].flags.iter().copied().filter(|f| *f != "incomplete").collect()
                }
                // Commands Redis 7.0 lacks (RedisJSON, later versions): from the table's flags.
                _ if spec.has(flags::WRITES_FIRST_KEY) && nth > 0 => owned(&["RO", "access"]),
                _ if spec.has(flags::WRITES_FIRST_KEY) => owned(&["OW", "update"]),
                _ if spec.has(flags::WRITE) => owned(&["RW", "access", "update"]),
                _ => owned(&["RO", "access"]),
            };
            (i, flags)
        })
        .collect()
}

/// Whether a command names keys at all (Redis's `doesCommandHaveKeys`).
pub fn has_keys(spec: &CommandSpec, unit: &str) -> bool {
    match rows().get(unit) {
        Some(row) => row.specs.iter().any(|s| !s.has("not_key")) || row.flags.contains(&"movablekeys"),
        None => spec.first_key > 0,
    }
}

/// A command's key specs as `COMMAND INFO` (element 9) and `COMMAND DOCS` list them.
pub fn specs_reply(unit: &str) -> Reply {
    let Some(row) = rows().get(unit) else { return Reply::Array(Vec::new()) };
    let st = |s: &str| Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()));
    Reply::Array(
        row.specs
            .iter()
            .map(|k| {
                let begin = match k.begin {
                    BeginSearch::Index(i) => (st("index"), Reply::Map(vec![(st("index"), Reply::Int(i))])),
                    BeginSearch::Keyword(kw, from) => {
                        (st("keyword"), Reply::Map(vec![(st("keyword"), st(kw)), (st("startfrom"), Reply::Int(from))]))
                    }
                    BeginSearch::Unknown => (st("unknown"), Reply::Map(Vec::new())),
                };
                let find = match k.find {
                    FindKeys::Range(l, s, lim) => (
                        st("range"),
                        Reply::Map(vec![(st("lastkey"), Reply::Int(l)), (st("keystep"), Reply::Int(s)), (st("limit"), Reply::Int(lim))]),
                    ),
                    FindKeys::Keynum(i, f, s) => (
                        st("keynum"),
                        Reply::Map(vec![(st("keynumidx"), Reply::Int(i)), (st("firstkey"), Reply::Int(f)), (st("keystep"), Reply::Int(s))]),
                    ),
                    FindKeys::Unknown => (st("unknown"), Reply::Map(Vec::new())),
                };
                Reply::Map(vec![
                    (st("flags"), Reply::Set(k.flags.iter().map(|f| Reply::Status(Bytes::copy_from_slice(f.as_bytes()))).collect())),
                    (st("begin_search"), Reply::Map(vec![(st("type"), begin.0), (st("spec"), begin.1)])),
                    (st("find_keys"), Reply::Map(vec![(st("type"), find.0), (st("spec"), find.1)])),
                ])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &[&str]) -> Vec<(usize, String)> {
        let args: Vec<Bytes> = line.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
        let spec = crate::command::lookup(&args[0]).expect("command");
        let units = crate::acl::categories::units();
        let unit = units.list[units.resolve(spec, &args).expect("unit")].name;
        keys_and_flags(spec, unit, &args).into_iter().map(|(i, f)| (i, f.join(" "))).collect()
    }

    #[test]
    fn every_row_parses() {
        for line in include_str!("command_info.tsv").lines().filter(|l| !l.starts_with('#')) {
            let name = line.split('\t').next().unwrap_or("");
            let specs = line.split('\t').nth(3).unwrap_or("");
            let n = specs.split(" | ").filter(|s| !s.is_empty()).count();
            assert_eq!(rows()[name].specs.len(), n, "{line}");
        }
        assert!(rows().len() > 300);
    }

    #[test]
    fn keys_and_their_flags() {
        let s = |v: &[(usize, &str)]| v.iter().map(|(i, f)| (*i, f.to_string())).collect::<Vec<_>>();
        assert_eq!(run(&["lmove", "a", "b", "LEFT", "RIGHT"]), s(&[(1, "RW access delete"), (2, "RW insert")]));
        assert_eq!(run(&["set", "a", "1"]), s(&[(1, "OW update")]));
        assert_eq!(run(&["set", "a", "1", "GET"]), s(&[(1, "RW access update")]));
        assert_eq!(run(&["eval", "return 1", "2", "x", "y", "z"]), s(&[(3, "RW access update"), (4, "RW access update")]));
        assert_eq!(run(&["zunionstore", "d", "2", "a", "b"]), s(&[(1, "OW update"), (3, "RO access"), (4, "RO access")]));
        assert_eq!(run(&["xread", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"]), s(&[(4, "RO access"), (5, "RO access")]));
        assert_eq!(run(&["sort", "k", "BY", "w_*", "STORE", "d"]), s(&[(1, "RO access"), (5, "OW update")]));
        assert_eq!(run(&["georadius", "g", "0", "0", "1", "km", "STORE", "d"]), s(&[(1, "RO access"), (7, "OW update")]));
        assert_eq!(run(&["del", "a", "b"]), s(&[(1, "RM delete"), (2, "RM delete")]));
        assert_eq!(run(&["object", "encoding", "k"]), s(&[(2, "RO")]));
        assert_eq!(run(&["bitfield", "k", "GET", "u8", "0"]), s(&[(1, "RO access")]));
    }
}
