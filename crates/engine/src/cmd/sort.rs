//! SORT and SORT_RO (Redis `sort.c`): lists, sets and sorted sets sorted numerically or
//! byte-wise (ALPHA), by their own values or by external keys and hash fields (`BY`), with
//! `GET` lookups, `LIMIT`, `DESC` and `STORE` (logged as DEL + RPUSH, so replay is exact).

use std::cmp::Ordering;

use bytes::Bytes;

use crate::args::{int, is, lit};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::value::Value;
use crate::{Ctx, Reply};

/// SORT rows.
pub static COMMANDS: &[CommandSpec] =
    &[cmd!("sort", -2, WRITE | DENYOOM, 1, 1, 1, sort, "generic"), cmd!("sort_ro", -2, READONLY, 1, 1, 1, sort_ro, "generic")];

#[derive(Default)]
struct SortArgs {
    by: Option<Bytes>,
    dont_sort: bool,
    limit: Option<(i64, i64)>,
    gets: Vec<Bytes>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

fn parse(a: &[Bytes], read_only: bool) -> CmdResult<SortArgs> {
    let mut s = SortArgs::default();
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - i - 1;
        if is(&a[i], "ASC") {
            s.desc = false;
        } else if is(&a[i], "DESC") {
            s.desc = true;
        } else if is(&a[i], "ALPHA") {
            s.alpha = true;
        } else if is(&a[i], "LIMIT") && more >= 2 {
            s.limit = Some((int(&a[i + 1])?, int(&a[i + 2])?));
            i += 2;
        } else if is(&a[i], "STORE") && more >= 1 && !read_only {
            s.store = Some(a[i + 1].clone());
            i += 1;
        } else if is(&a[i], "BY") && more >= 1 {
            // A pattern without `*` means "do not sort" (Redis's BY nosort idiom).
            s.dont_sort = !a[i + 1].contains(&b'*');
            s.by = Some(a[i + 1].clone());
            i += 1;
        } else if is(&a[i], "GET") && more >= 1 {
            s.gets.push(a[i + 1].clone());
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(s)
}

/// The value `pattern` points at for `elem`: `#` is the element; otherwise the first `*` is
/// replaced by it, and `key->field` reads a hash field. Missing keys, fields or wrong types give
/// `None`.
fn lookup(ctx: &mut Ctx, pattern: &[u8], elem: &[u8]) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(Bytes::copy_from_slice(elem));
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let arrow = pattern[star + 1..].windows(2).position(|w| w == b"->").map(|p| p + star + 1);
    let (key_pat, field) = match arrow {
        Some(p) if p + 2 < pattern.len() => (&pattern[..p], Some(&pattern[p + 2..])),
        _ => (pattern, None),
    };
    let mut key = Vec::with_capacity(key_pat.len() + elem.len());
    key.extend_from_slice(&key_pat[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&key_pat[star + 1..]);
    ctx.expire_if_needed(&key);
    let now = ctx.now;
    match (&ctx.db().map.get(&key[..])?.value, field) {
        (Value::Str(s), None) => Some(s.to_bytes()),
        (Value::Hash(h), Some(f)) => h.get_live(f, now).cloned(),
        _ => None,
    }
}

/// Redis's strtod check for numeric sorting: leading blanks allowed, nothing after, no NaN.
fn score(v: &[u8]) -> Option<f64> {
    if v.is_empty() {
        return Some(0.0);
    }
    let start = v.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(v.len());
    crate::args::parse_float(&v[start..])
}

fn run(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult {
    let opts = parse(a, read_only)?;
    let elems: Vec<Bytes> = match ctx.entry(&a[1]).map(|e| &e.value) {
        None => Vec::new(),
        Some(Value::List(l)) => l.iter().cloned().collect(),
        Some(Value::Set(s)) => s.iter().cloned().collect(),
        Some(Value::ZSet(z)) => z.iter().map(|(m, _)| m.clone()).collect(),
        Some(_) => return Err(CmdError::WrongType),
    };
    let mut items: Vec<(Bytes, Option<Bytes>, f64)> = Vec::with_capacity(elems.len());
    for e in elems {
        let key_val = match &opts.by {
            Some(p) if !opts.dont_sort => lookup(ctx, p, &e),
            _ => None,
        };
        let mut sc = 0.0;
        if !opts.alpha && !opts.dont_sort {
            let src = if opts.by.is_some() { key_val.as_deref() } else { Some(&e[..]) };
            if let Some(v) = src {
                sc = score(v).ok_or_else(|| CmdError::err("One or more scores can't be converted into double"))?;
            }
        }
        items.push((e, key_val, sc));
    }
    if !opts.dont_sort {
        items.sort_by(|x, y| {
            let c = if !opts.alpha {
                x.2.partial_cmp(&y.2).unwrap_or(Ordering::Equal).then_with(|| x.0.cmp(&y.0))
            } else if opts.by.is_some() {
                x.1.cmp(&y.1) // a missing key sorts first, as Redis's NULL
            } else {
                x.0.cmp(&y.0)
            };
            if opts.desc {
                c.reverse()
            } else {
                c
            }
        });
    } else if opts.desc {
        // Not sorting, DESC still walks the source from its end, as Redis does.
        items.reverse();
    }
    let (start, count) = opts.limit.unwrap_or((0, -1));
    let start = start.max(0) as usize;
    let end = if count < 0 { items.len() } else { start.saturating_add(count as usize).min(items.len()) };
    let window = if start < items.len() { &items[start..end.max(start)] } else { &[] };
    let mut out: Vec<Option<Bytes>> = Vec::new();
    for (e, _, _) in window {
        if opts.gets.is_empty() {
            out.push(Some(e.clone()));
        }
        for g in &opts.gets {
            out.push(lookup(ctx, g, e));
        }
    }
    let Some(dst) = opts.store else {
        return Ok(Reply::Array(out.into_iter().map(|v| v.map_or(Reply::Nil, Reply::Bulk)).collect()));
    };
    let n = out.len();
    let values: Vec<Bytes> = out.into_iter().map(Option::unwrap_or_default).collect();
    let existed = ctx.delete(&dst);
    if !values.is_empty() {
        ctx.set(&dst, Value::List(std::sync::Arc::new(values.iter().cloned().collect())), 0);
    }
    if existed || !values.is_empty() {
        ctx.signal(&dst);
        ctx.dirty(1);
        ctx.propagate(vec![lit("DEL"), dst.clone()]);
        if !values.is_empty() {
            let mut push = vec![lit("RPUSH"), dst];
            push.extend(values);
            ctx.propagate(push);
        }
    }
    Ok(Reply::Int(n as i64))
}

fn sort(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    run(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    run(ctx, a, true)
}

#[cfg(test)]
mod tests {
    use crate::testkit::{arr, T, WRONGTYPE};
    use crate::Reply;

    #[test]
    fn numeric_alpha_by_get_limit_store() {
        let mut t = T::new();
        t.ok(&["RPUSH", "l", "3", "1", "2", "10"]);
        assert_eq!(t.ok(&["SORT", "l"]), arr(&["1", "2", "3", "10"]));
        assert_eq!(t.ok(&["SORT", "l", "DESC", "LIMIT", "1", "2"]), arr(&["3", "2"]));
        assert_eq!(t.ok(&["SORT", "l", "ALPHA"]), arr(&["1", "10", "2", "3"]));
        for (k, w) in [("1", "30"), ("2", "20"), ("3", "10")] {
            t.ok(&["SET", &format!("w_{k}"), w]);
            t.ok(&["HSET", &format!("h_{k}"), "name", &format!("n{k}")]);
        }
        assert_eq!(t.ok(&["SORT", "l", "BY", "w_*"]), arr(&["10", "3", "2", "1"]));
        let got = t.ok(&["SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->name"]);
        assert_eq!(
            got,
            Reply::Array(
                ["10", "", "3", "n3", "2", "n2", "1", "n1"]
                    .iter()
                    .map(|s| if s.is_empty() { Reply::Nil } else { crate::testkit::b(s) })
                    .collect()
            )
        );
        assert_eq!(t.ok(&["SORT", "l", "BY", "nosort"]), arr(&["3", "1", "2", "10"]));
        assert_eq!(t.ok(&["SORT", "l", "STORE", "dst"]), Reply::Int(4));
        assert_eq!(t.ok(&["LRANGE", "dst", "0", "-1"]), arr(&["1", "2", "3", "10"]));
        let (_, fx, _) = t.logged_text(&["SORT", "l", "LIMIT", "0", "1", "STORE", "dst"]);
        assert_eq!(fx, vec![vec!["DEL", "dst"], vec!["RPUSH", "dst", "1"]]);
        assert_eq!(t.err(&["SORT_RO", "l", "STORE", "dst"]), "ERR syntax error");
        t.ok(&["RPUSH", "bad", "x"]);
        assert_eq!(t.err(&["SORT", "bad"]), "ERR One or more scores can't be converted into double");
        t.ok(&["SET", "s", "v"]);
        assert_eq!(t.err(&["SORT", "s"]), WRONGTYPE);
        assert_eq!(t.ok(&["SORT", "missing", "STORE", "dst"]), Reply::Int(0));
        assert_eq!(t.ok(&["EXISTS", "dst"]), Reply::Int(0));
    }
}
