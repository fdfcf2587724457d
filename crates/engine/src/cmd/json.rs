//! The RedisJSON command family (`JSON.SET`, `JSON.GET`, `JSON.ARRAPPEND`...), over documents
//! stored as [`Value::Json`] (see [`crate::json`] for the tree and the path engine).
//!
//! Each command takes a legacy path (one result, errors when nothing matches) or a JSONPath
//! (`$...`, an array with one entry per match and nil for matches of the wrong type), replying
//! in RedisJSON's shapes and error texts. Writes are planned on a shared read of the document
//! first (locations, validation), so bad input changes nothing, then applied through
//! [`Ctx::get_json_mut`]. Every write is deterministic as sent, so commands are logged as
//! received; the log rewrite stores a document as `JSON.SET key $ <json>`.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use stashd_resp::Protocol;

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::json::path::{Last, Path, Seg};
use crate::json::{self, Json, Layout, MAX_DEPTH};
use crate::value::Value;
use crate::{Ctx, Reply};

/// RedisJSON command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("json.set", -4, WRITE | DENYOOM, 1, 1, 1, json_set, "json"),
    cmd!("json.get", -2, READONLY, 1, 1, 1, json_get, "json"),
    cmd!("json.mget", -3, READONLY, 1, -2, 1, json_mget, "json"),
    cmd!("json.mset", -4, WRITE | DENYOOM, 1, -1, 3, json_mset, "json"),
    cmd!("json.merge", -4, WRITE | DENYOOM, 1, 1, 1, json_merge, "json"),
    cmd!("json.del", -2, WRITE, 1, 1, 1, json_del, "json"),
    cmd!("json.forget", -2, WRITE, 1, 1, 1, json_del, "json"),
    cmd!("json.type", -2, READONLY | FAST, 1, 1, 1, json_type, "json"),
    cmd!("json.strlen", -2, READONLY | FAST, 1, 1, 1, json_strlen, "json"),
    cmd!("json.strappend", -3, WRITE | DENYOOM, 1, 1, 1, json_strappend, "json"),
    cmd!("json.numincrby", 4, WRITE, 1, 1, 1, json_numincrby, "json"),
    cmd!("json.nummultby", 4, WRITE, 1, 1, 1, json_nummultby, "json"),
    cmd!("json.toggle", 3, WRITE, 1, 1, 1, json_toggle, "json"),
    cmd!("json.clear", -2, WRITE, 1, 1, 1, json_clear, "json"),
    cmd!("json.arrappend", -4, WRITE | DENYOOM, 1, 1, 1, json_arrappend, "json"),
    cmd!("json.arrindex", -4, READONLY, 1, 1, 1, json_arrindex, "json"),
    cmd!("json.arrinsert", -5, WRITE | DENYOOM, 1, 1, 1, json_arrinsert, "json"),
    cmd!("json.arrlen", -2, READONLY | FAST, 1, 1, 1, json_arrlen, "json"),
    cmd!("json.arrpop", -2, WRITE, 1, 1, 1, json_arrpop, "json"),
    cmd!("json.arrtrim", 5, WRITE, 1, 1, 1, json_arrtrim, "json"),
    cmd!("json.objkeys", -2, READONLY, 1, 1, 1, json_objkeys, "json"),
    cmd!("json.objlen", -2, READONLY | FAST, 1, 1, 1, json_objlen, "json"),
    cmd!("json.resp", -2, READONLY, 1, 1, 1, json_resp, "json"),
    cmd!("json.debug", -2, READONLY, 2, 2, 1, json_debug, "json"),
];

type Loc = Vec<Seg>;

// ---- helpers -------------------------------------------------------------------------------

fn resp3(ctx: &Ctx) -> bool {
    ctx.session.protocol == Protocol::Resp3
}

/// The document at `key`, as a shared handle so the context stays free. Drop it before
/// [`Ctx::get_json_mut`], or the write would copy the whole document.
fn load(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Arc<Json>>> {
    match ctx.lookup(key) {
        None => Ok(None),
        Some(Value::Json(j)) => Ok(Some(j.clone())),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The document for a command that needs one.
fn load_existing(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Arc<Json>> {
    load(ctx, key)?.ok_or_else(no_key)
}

fn no_key() -> CmdError {
    CmdError::err("could not perform this operation on a key that doesn't exist")
}

fn expected(what: &str, found: &Json) -> CmdError {
    CmdError::Other(format!("WRONGTYPE wrong type of path value - expected {what} but found {}", found.type_name()))
}

fn missing_or(path: &Path, what: &str) -> CmdError {
    CmdError::err(format!("Path '{}' does not exist or {what}", path.fixed()))
}

fn too_deep(depth: usize, v: &Json) -> CmdResult<()> {
    if depth + v.depth() > MAX_DEPTH {
        return Err(CmdError::err("recursion limit exceeded"));
    }
    Ok(())
}

fn path_arg(a: &[Bytes], i: usize) -> CmdResult<Path> {
    Path::parse(a.get(i).map_or(&b"."[..], |p| &p[..]))
}

fn bulk(v: &Json) -> Reply {
    Reply::Bulk(Bytes::from(v.to_bytes()))
}

fn number_text(v: &Json) -> Bytes {
    Bytes::from(v.to_bytes())
}

/// Runs `f` on the stored document (which must exist) and counts the write.
fn write<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Json) -> R) -> CmdResult<R> {
    let doc = ctx.get_json_mut(key)?.ok_or_else(no_key)?;
    let r = f(doc);
    ctx.dirty(1);
    Ok(r)
}

/// Keeps only the outermost of nested locations (writing an ancestor replaces its descendants).
fn outermost(locs: Vec<Loc>) -> Vec<Loc> {
    let all: HashSet<&[Seg]> = locs.iter().map(|l| &l[..]).collect();
    let keep: Vec<bool> = locs.iter().map(|l| !(0..l.len()).any(|n| all.contains(&l[..n]))).collect();
    locs.into_iter().zip(keep).filter_map(|(l, k)| k.then_some(l)).collect()
}

/// The order in which to mutate `locs` so that no mutation moves a location still to be
/// visited: descendants before ancestors, higher array indexes before lower ones.
/// Applies `f` to the array at each location (in [`mutation_order`]), one reply per location
/// (nil where there is no array).
fn write_arrays(ctx: &mut Ctx, key: &[u8], locs: &[Option<Loc>], mut f: impl FnMut(&mut Vec<Json>) -> Reply) -> CmdResult<Vec<Reply>> {
    let order = mutation_order(locs);
    write(ctx, key, |d| {
        let mut results = vec![Reply::Nil; locs.len()];
        for i in order {
            if let Some(Json::Array(arr)) = locs[i].as_ref().and_then(|l| d.at_mut(l)) {
                results[i] = f(arr);
            }
        }
        results
    })
}

fn mutation_order(locs: &[Option<Loc>]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..locs.len()).filter(|&i| locs[i].is_some()).collect();
    idx.sort_by(|&x, &y| {
        let (a, b) = (locs[x].as_deref().unwrap_or(&[]), locs[y].as_deref().unwrap_or(&[]));
        for (s, t) in a.iter().zip(b) {
            let o = match (s, t) {
                (Seg::Idx(i), Seg::Idx(j)) => i.cmp(j),
                (Seg::Key(i), Seg::Key(j)) => i.cmp(j),
                (Seg::Key(_), Seg::Idx(_)) => std::cmp::Ordering::Less,
                (Seg::Idx(_), Seg::Key(_)) => std::cmp::Ordering::Greater,
            };
            if o.is_ne() {
                return o.reverse();
            }
        }
        b.len().cmp(&a.len())
    });
    idx
}

/// Locations of every match, `None` for matches `want` rejects (JSONPath replies give nil).
fn typed_locs(path: &Path, doc: &Json, want: impl Fn(&Json) -> bool) -> Vec<Option<Loc>> {
    path.eval(doc).into_iter().map(|(l, v)| want(v).then_some(l)).collect()
}

fn is_array(v: &Json) -> bool {
    matches!(v, Json::Array(_))
}

/// Legacy commands act on every match of the right type and reply for the last; none is an error.
fn legacy_targets(locs: Vec<Option<Loc>>, path: &Path, what: &str) -> CmdResult<Vec<Option<Loc>>> {
    let locs: Vec<Option<Loc>> = locs.into_iter().filter(Option::is_some).collect();
    if locs.is_empty() {
        return Err(missing_or(path, what));
    }
    Ok(locs)
}

/// The reply for a write command: JSONPath → array (nil where skipped), legacy → last result.
fn per_match(path: &Path, results: Vec<Reply>) -> Reply {
    if path.is_legacy() {
        results.into_iter().last().unwrap_or(Reply::Nil)
    } else {
        Reply::Array(results)
    }
}

// ---- JSON.SET / MSET / MERGE ----------------------------------------------------------------

/// What a `JSON.SET` or `JSON.MERGE` on an existing document will do.
enum SetPlan {
    /// Replace (or merge into) these existing values.
    Existing(Vec<Loc>),
    /// Add member `1` to these objects.
    Add(Vec<Loc>, String),
    /// Nothing to do (reply nil).
    Nothing,
    /// The parent of the new member does not exist: JSON.SET and JSON.MSET answer an error there
    /// (the hosted service's rule; RedisJSON answers nil), JSON.MERGE nil.
    MissingParent,
}

fn plan_set(doc: &Json, path: &Path, value: &Json, nx: bool, xx: bool) -> CmdResult<SetPlan> {
    if !nx {
        let found: Vec<Loc> = path.eval(doc).into_iter().map(|(l, _)| l).collect();
        if !found.is_empty() {
            let found = outermost(found);
            for l in &found {
                too_deep(l.len(), value)?;
            }
            return Ok(SetPlan::Existing(found));
        }
    }
    if xx {
        return Ok(SetPlan::Nothing);
    }
    let Some((parent, last)) = path.split_last() else {
        return Err(CmdError::Other("Err wrong static path".into()));
    };
    match last {
        Last::Key(k) => {
            let found = parent.eval(doc);
            if found.is_empty() {
                return Ok(SetPlan::MissingParent);
            }
            let parents: Vec<Loc> =
                found.into_iter().filter(|(_, v)| matches!(v, Json::Object(o) if !o.contains_key(k.as_str()))).map(|(l, _)| l).collect();
            for l in &parents {
                too_deep(l.len() + 1, value)?;
            }
            Ok(if parents.is_empty() { SetPlan::Nothing } else { SetPlan::Add(parents, k) })
        }
        Last::Index(_) if path.eval(doc).is_empty() => Err(CmdError::err("array index out of range")),
        Last::Index(_) => Ok(SetPlan::Nothing),
    }
}

/// `JSON.SET` of one path: true if something was written.
fn set_one(ctx: &mut Ctx, key: &[u8], path: &Path, value: Json, nx: bool, xx: bool) -> CmdResult<bool> {
    let Some(doc) = load(ctx, key)? else {
        if xx {
            return Ok(false);
        }
        if !path.is_root() {
            return Err(CmdError::err("new objects must be created at the root"));
        }
        ctx.set(key, Value::Json(Arc::new(value)), 0);
        ctx.dirty(1);
        return Ok(true);
    };
    if path.is_root() {
        if nx {
            return Ok(false);
        }
        drop(doc);
        write(ctx, key, |d| *d = value)?; // in place: the key keeps its TTL
        return Ok(true);
    }
    let plan = plan_set(&doc, path, &value, nx, xx)?;
    drop(doc);
    match plan {
        SetPlan::Nothing => Ok(false),
        SetPlan::MissingParent => Err(path.missing()),
        SetPlan::Existing(locs) => write(ctx, key, |d| {
            for l in &locs {
                if let Some(slot) = d.at_mut(l) {
                    *slot = value.clone();
                }
            }
            true
        }),
        SetPlan::Add(parents, k) => write(ctx, key, |d| {
            for l in &parents {
                if let Some(Json::Object(o)) = d.at_mut(l) {
                    o.insert(k.clone(), value.clone());
                }
            }
            true
        }),
    }
}

fn json_set(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = Path::parse(&a[2])?;
    let value = json::parse(&a[3])?;
    let (mut nx, mut xx) = (false, false);
    for opt in &a[4..] {
        if args::is(opt, "NX") && !nx && !xx {
            nx = true;
        } else if args::is(opt, "XX") && !nx && !xx {
            xx = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(if set_one(ctx, &a[1], &path, value, nx, xx)? { Reply::Ok } else { Reply::Nil })
}

fn json_mset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !(a.len() - 1).is_multiple_of(3) {
        return Err(CmdError::WrongArgs("json.mset".into()));
    }
    // Validate every triplet before writing anything.
    let mut triplets = Vec::with_capacity(a.len() / 3);
    let mut created: HashSet<&[u8]> = HashSet::new();
    for t in a[1..].chunks(3) {
        let (key, path, value) = (&t[0], Path::parse(&t[1])?, json::parse(&t[2])?);
        match load(ctx, key)? {
            Some(doc) if !path.is_root() => {
                if let SetPlan::MissingParent = plan_set(&doc, &path, &value, false, false)? {
                    return Err(path.missing());
                }
            }
            None if !path.is_root() && !created.contains(&key[..]) => {
                return Err(CmdError::err("new objects must be created at the root"));
            }
            _ => {
                created.insert(&key[..]);
            }
        }
        triplets.push((key, path, value));
    }
    // A triplet that an earlier one made impossible (validation saw the document before it)
    // is skipped and makes the reply nil, as in RedisJSON: never an error after a write.
    let mut all = true;
    for (key, path, value) in triplets {
        all &= set_one(ctx, key, &path, value, false, false).unwrap_or(false);
    }
    Ok(if all { Reply::Ok } else { Reply::Nil })
}

fn json_merge(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let (key, path, patch) = (&a[1], Path::parse(&a[2])?, json::parse(&a[3])?);
    let Some(doc) = load(ctx, key)? else {
        if !path.is_root() {
            return Err(CmdError::err("new objects must be created at the root"));
        }
        let mut v = Json::Null;
        v.merge(&patch);
        ctx.set(key, Value::Json(Arc::new(v)), 0);
        ctx.dirty(1);
        return Ok(Reply::Ok);
    };
    if path.is_root() {
        drop(doc);
        write(ctx, key, |d| d.merge(&patch))?;
        return Ok(Reply::Ok);
    }
    let plan = plan_set(&doc, &path, &patch, false, false)?;
    drop(doc);
    let done = match plan {
        SetPlan::Nothing | SetPlan::MissingParent => false,
        SetPlan::Existing(locs) => write(ctx, key, |d| {
            for l in &locs {
                if matches!(patch, Json::Null) {
                    d.remove_at(l);
                } else if let Some(slot) = d.at_mut(l) {
                    slot.merge(&patch);
                }
            }
            true
        })?,
        SetPlan::Add(parents, k) => {
            let mut v = Json::Null;
            v.merge(&patch);
            write(ctx, key, |d| {
                for l in &parents {
                    if let Some(Json::Object(o)) = d.at_mut(l) {
                        o.insert(k.clone(), v.clone());
                    }
                }
                true
            })?
        }
    };
    Ok(if done { Reply::Ok } else { Reply::Nil })
}

// ---- JSON.GET / MGET / TYPE / RESP ----------------------------------------------------------

fn json_get(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut indent, mut newline, mut space) = (Bytes::new(), Bytes::new(), Bytes::new());
    let mut paths = Vec::new();
    let mut i = 2;
    while i < a.len() {
        let arg = &a[i];
        let slot = if args::is(arg, "INDENT") {
            Some(&mut indent)
        } else if args::is(arg, "NEWLINE") {
            Some(&mut newline)
        } else if args::is(arg, "SPACE") {
            Some(&mut space)
        } else {
            None
        };
        if let Some(slot) = slot {
            *slot = a.get(i + 1).cloned().ok_or_else(|| CmdError::WrongArgs("json.get".into()))?;
            i += 2;
            continue;
        }
        if args::is(arg, "FORMAT") {
            if !resp3(ctx) {
                return Err(CmdError::err("FORMAT argument is not supported on RESP2"));
            }
            match a.get(i + 1) {
                Some(f) if args::is(f, "STRING") => {}
                Some(_) => return Err(CmdError::err("wrong reply format")),
                None => return Err(CmdError::WrongArgs("json.get".into())),
            }
            i += 2;
            continue;
        }
        if !args::is(arg, "NOESCAPE") {
            paths.push(Path::parse(arg)?);
        }
        i += 1;
    }
    if paths.is_empty() {
        paths.push(Path::parse(b".")?);
    }
    let Some(doc) = load(ctx, &a[1])? else { return Ok(Reply::Nil) };
    let layout = Layout { indent: &indent, newline: &newline, space: &space };
    let legacy = paths.iter().all(Path::is_legacy);
    let result = if paths.len() == 1 {
        if legacy {
            paths[0].first(&doc)?.1.clone()
        } else {
            Json::Array(paths[0].values(&doc).into_iter().cloned().collect())
        }
    } else {
        let mut o = json::Object::default();
        for p in &paths {
            let v = if legacy {
                let Some(v) = p.values(&doc).into_iter().next() else {
                    return Err(CmdError::err(format!("Path '{}' does not exist", p.original())));
                };
                v.clone()
            } else {
                Json::Array(p.values(&doc).into_iter().cloned().collect())
            };
            o.insert(p.original().to_owned(), v);
        }
        Json::Object(Box::new(o))
    };
    let mut out = Vec::new();
    result.write(&mut out, &layout, 0);
    Ok(Reply::Bulk(Bytes::from(out)))
}

fn json_mget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = Path::parse(&a[a.len() - 1])?;
    let mut out = Vec::with_capacity(a.len() - 2);
    for key in &a[1..a.len() - 1] {
        let doc = match ctx.lookup(key) {
            Some(Value::Json(j)) => j,
            _ => {
                out.push(Reply::Nil);
                continue;
            }
        };
        let vals = path.values(doc);
        out.push(if path.is_legacy() {
            vals.first().map_or(Reply::Nil, |v| bulk(v))
        } else {
            bulk(&Json::Array(vals.into_iter().cloned().collect()))
        });
    }
    Ok(Reply::Array(out))
}

fn json_type(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = path_arg(a, 2)?;
    let name = |v: &Json| Reply::bulk(Bytes::from_static(v.type_name().as_bytes()));
    let r = match load(ctx, &a[1])? {
        None => Reply::Nil,
        Some(doc) if path.is_legacy() => path.values(&doc).first().map_or(Reply::Nil, |v| name(v)),
        Some(doc) => Reply::Array(path.values(&doc).into_iter().map(name).collect()),
    };
    Ok(if resp3(ctx) { Reply::Array(vec![r]) } else { r })
}

fn resp_form(v: &Json) -> Reply {
    match v {
        Json::Null => Reply::Nil,
        Json::Bool(b) => Reply::status(if *b { "true" } else { "false" }),
        Json::Int(n) => Reply::Int(*n),
        Json::Float(f) => Reply::Double(*f),
        Json::Str(s) => Reply::Bulk(Bytes::copy_from_slice(s.as_bytes())),
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len() + 1);
            out.push(Reply::status("["));
            out.extend(items.iter().map(resp_form));
            Reply::Array(out)
        }
        Json::Object(o) => {
            let mut out = Vec::with_capacity(o.len() * 2 + 1);
            out.push(Reply::status("{"));
            for (k, v) in o.iter() {
                out.push(Reply::Bulk(Bytes::copy_from_slice(k.as_bytes())));
                out.push(resp_form(v));
            }
            Reply::Array(out)
        }
    }
}

fn json_resp(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = path_arg(a, 2)?;
    let Some(doc) = load(ctx, &a[1])? else { return Ok(Reply::Nil) };
    Ok(if path.is_legacy() { resp_form(path.first(&doc)?.1) } else { Reply::Array(path.values(&doc).into_iter().map(resp_form).collect()) })
}

/// `JSON.DEBUG MEMORY <key> [path]` (estimated bytes per match) and `JSON.DEBUG HELP`.
fn json_debug(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if args::is(&a[1], "HELP") && a.len() == 2 {
        return Ok(Reply::bulks([
            Bytes::from_static(b"MEMORY <key> [path] - reports memory usage"),
            Bytes::from_static(b"HELP                - this message"),
        ]));
    }
    if !args::is(&a[1], "MEMORY") || !(3..=4).contains(&a.len()) {
        return Err(CmdError::err("unknown subcommand - try `JSON.DEBUG HELP`"));
    }
    let path = path_arg(a, 3)?;
    let doc = load(ctx, &a[2])?;
    Ok(match doc {
        None if path.is_legacy() => Reply::Int(0),
        None => Reply::Array(Vec::new()),
        Some(doc) if path.is_legacy() => Reply::Int(path.first(&doc)?.1.approx_size() as i64),
        Some(doc) => Reply::Array(path.values(&doc).into_iter().map(|v| Reply::Int(v.approx_size() as i64)).collect()),
    })
}

// ---- JSON.DEL / CLEAR / TOGGLE --------------------------------------------------------------

fn json_del(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::WrongArgs(args::text(&a[0]).to_lowercase()));
    }
    let path = path_arg(a, 2)?;
    let Some(doc) = load(ctx, &a[1])? else { return Ok(Reply::Int(0)) };
    if path.is_root() {
        drop(doc);
        ctx.delete(&a[1]);
        ctx.dirty(1);
        return Ok(Reply::Int(1));
    }
    let locs: Vec<Option<Loc>> = outermost(path.eval(&doc).into_iter().map(|(l, _)| l).collect()).into_iter().map(Some).collect();
    drop(doc);
    if locs.is_empty() {
        return Ok(Reply::Int(0));
    }
    let order = mutation_order(&locs);
    let n = write(ctx, &a[1], |d| order.iter().filter(|&&i| locs[i].as_ref().is_some_and(|l| d.remove_at(l).is_some())).count())?;
    Ok(Reply::Int(n as i64))
}

fn json_clear(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::WrongArgs("json.clear".into()));
    }
    let path = path_arg(a, 2)?;
    let doc = load_existing(ctx, &a[1])?;
    let clearable = |v: &Json| match v {
        Json::Array(x) => !x.is_empty(),
        Json::Object(o) => !o.is_empty(),
        Json::Int(n) => *n != 0,
        Json::Float(f) => *f != 0.0,
        _ => false,
    };
    let locs: Vec<Loc> = path.eval(&doc).into_iter().filter(|(_, v)| clearable(v)).map(|(l, _)| l).collect();
    drop(doc);
    if locs.is_empty() {
        return Ok(Reply::Int(0));
    }
    let n = write(ctx, &a[1], |d| {
        let mut n = 0;
        for l in &locs {
            let Some(v) = d.at_mut(l) else { continue };
            if !clearable(v) {
                continue;
            }
            match v {
                Json::Array(x) => x.clear(),
                Json::Object(o) => o.clear(),
                _ => *v = Json::Int(0),
            }
            n += 1;
        }
        n
    })?;
    Ok(Reply::Int(n))
}

fn json_toggle(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = Path::parse(&a[2])?;
    let doc = load_existing(ctx, &a[1])?;
    let mut locs = typed_locs(&path, &doc, |v| matches!(v, Json::Bool(_)));
    drop(doc);
    if path.is_legacy() {
        locs = legacy_targets(locs, &path, "not a bool")?;
    }
    if locs.iter().all(Option::is_none) {
        return Ok(Reply::Array(vec![Reply::Nil; locs.len()]));
    }
    let legacy = path.is_legacy();
    let results = write(ctx, &a[1], |d| {
        locs.iter()
            .map(|l| match l.as_ref().and_then(|l| d.at_mut(l)) {
                Some(Json::Bool(b)) => {
                    *b = !*b;
                    if legacy {
                        Reply::bulk(if *b { &b"true"[..] } else { &b"false"[..] })
                    } else {
                        Reply::Int(*b as i64)
                    }
                }
                _ => Reply::Nil,
            })
            .collect()
    })?;
    Ok(per_match(&path, results))
}

// ---- numbers ------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum NumOp {
    Incr,
    Mult,
}

fn num_op(ctx: &mut Ctx, a: &[Bytes], op: NumOp) -> CmdResult {
    let path = Path::parse(&a[2])?;
    let by = match json::parse(&a[3])? {
        n @ (Json::Int(_) | Json::Float(_)) => n,
        _ => return Err(CmdError::err("bad input number")),
    };
    let doc = load_existing(ctx, &a[1])?;
    // Compute every result first: an overflow or a non-finite result changes nothing.
    let mut plan: Vec<Option<(Loc, Json)>> = Vec::new();
    for (loc, v) in path.eval(&doc) {
        let r = match (v, &by) {
            (Json::Int(x), Json::Int(y)) => {
                let exact = match op {
                    NumOp::Incr => x.checked_add(*y),
                    NumOp::Mult => x.checked_mul(*y),
                };
                match exact {
                    Some(n) => Some(Json::Int(n)),
                    None => Some(float_result(op, *x as f64, *y as f64)?),
                }
            }
            (Json::Int(_) | Json::Float(_), _) => Some(float_result(op, as_f64(v), as_f64(&by))?),
            _ => None,
        };
        plan.push(r.map(|r| (loc, r)));
    }
    drop(doc);
    if path.is_legacy() {
        plan.retain(Option::is_some);
        if plan.is_empty() {
            return Err(missing_or(&path, "does not contains a number"));
        }
    }
    if plan.iter().any(Option::is_some) {
        write(ctx, &a[1], |d| {
            for (loc, r) in plan.iter().flatten() {
                if let Some(slot) = d.at_mut(loc) {
                    *slot = r.clone();
                }
            }
        })?;
    }
    let results: Vec<Option<Json>> = plan.into_iter().map(|p| p.map(|(_, r)| r)).collect();
    if resp3(ctx) {
        return Ok(Reply::Array(
            results
                .iter()
                .map(|r| match r {
                    Some(Json::Int(n)) => Reply::Int(*n),
                    Some(Json::Float(f)) => Reply::Double(*f),
                    _ => Reply::Nil,
                })
                .collect(),
        ));
    }
    Ok(if path.is_legacy() {
        results.last().cloned().flatten().map_or(Reply::Nil, |r| Reply::Bulk(number_text(&r)))
    } else {
        bulk(&Json::Array(results.into_iter().map(Option::unwrap_or_default).collect()))
    })
}

fn as_f64(v: &Json) -> f64 {
    match v {
        Json::Int(n) => *n as f64,
        Json::Float(f) => *f,
        _ => 0.0,
    }
}

fn float_result(op: NumOp, x: f64, y: f64) -> CmdResult<Json> {
    let r = match op {
        NumOp::Incr => x + y,
        NumOp::Mult => x * y,
    };
    if r.is_finite() {
        Ok(Json::Float(r))
    } else {
        Err(CmdError::err("result is not a number"))
    }
}

fn json_numincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    num_op(ctx, a, NumOp::Incr)
}

fn json_nummultby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    num_op(ctx, a, NumOp::Mult)
}

// ---- strings ------------------------------------------------------------------------------

/// The JSONPath form of STRLEN/ARRLEN/OBJLEN: per match its length, nil for the wrong type.
fn path_lengths(ctx: &mut Ctx, key: &[u8], path: &Path, len: fn(&Json) -> Option<usize>) -> CmdResult {
    let doc = load_existing(ctx, key)?;
    Ok(Reply::Array(path.values(&doc).into_iter().map(|v| len(v).map_or(Reply::Nil, |n| Reply::Int(n as i64))).collect()))
}

fn json_strlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = path_arg(a, 2)?;
    if path.is_legacy() {
        let Some(doc) = load(ctx, &a[1])? else { return Ok(Reply::Nil) };
        return match path.first(&doc)?.1 {
            Json::Str(s) => Ok(Reply::Int(s.len() as i64)),
            v => Err(expected("string", v)),
        };
    }
    path_lengths(ctx, &a[1], &path, |v| match v {
        Json::Str(s) => Some(s.len()),
        _ => None,
    })
}

fn json_strappend(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (path, value) = match a.len() {
        3 => (Path::parse(b".")?, &a[2]),
        4 => (Path::parse(&a[2])?, &a[3]),
        _ => return Err(CmdError::WrongArgs("json.strappend".into())),
    };
    let Json::Str(suffix) = json::parse(value)? else {
        return Err(CmdError::Other(format!("WRONGTYPE wrong type of path value - expected string but found {}", args::text(value))));
    };
    let doc = load_existing(ctx, &a[1])?;
    let mut locs = typed_locs(&path, &doc, |v| matches!(v, Json::Str(_)));
    drop(doc);
    if path.is_legacy() {
        locs = legacy_targets(locs, &path, "not a string")?;
    }
    if locs.iter().all(Option::is_none) {
        return Ok(Reply::Array(vec![Reply::Nil; locs.len()]));
    }
    let results = write(ctx, &a[1], |d| {
        locs.iter()
            .map(|l| match l.as_ref().and_then(|l| d.at_mut(l)) {
                Some(Json::Str(s)) => {
                    s.push_str(&suffix);
                    Reply::Int(s.len() as i64)
                }
                _ => Reply::Nil,
            })
            .collect()
    })?;
    Ok(per_match(&path, results))
}

// ---- arrays -------------------------------------------------------------------------------

fn parse_values(a: &[Bytes]) -> CmdResult<Vec<Json>> {
    a.iter().map(|v| json::parse(v)).collect()
}

fn json_arrappend(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = Path::parse(&a[2])?;
    let values = parse_values(&a[3..])?;
    let doc = load_existing(ctx, &a[1])?;
    let mut locs = typed_locs(&path, &doc, is_array);
    drop(doc);
    if path.is_legacy() {
        locs = legacy_targets(locs, &path, "not an array")?;
    }
    for l in locs.iter().flatten() {
        for v in &values {
            too_deep(l.len() + 1, v)?;
        }
    }
    if locs.iter().all(Option::is_none) {
        return Ok(Reply::Array(vec![Reply::Nil; locs.len()]));
    }
    let results = write(ctx, &a[1], |d| {
        locs.iter()
            .map(|l| match l.as_ref().and_then(|l| d.at_mut(l)) {
                Some(Json::Array(arr)) => {
                    arr.extend(values.iter().cloned());
                    Reply::Int(arr.len() as i64)
                }
                _ => Reply::Nil,
            })
            .collect()
    })?;
    Ok(per_match(&path, results))
}

fn json_arrinsert(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = Path::parse(&a[2])?;
    let index = args::int(&a[3])?;
    let values = parse_values(&a[4..])?;
    let doc = load_existing(ctx, &a[1])?;
    let mut locs = typed_locs(&path, &doc, is_array);
    if path.is_legacy() {
        locs = legacy_targets(locs, &path, "not an array")?;
    }
    for l in locs.iter().flatten() {
        let len = match doc.at(l) {
            Some(Json::Array(arr)) => arr.len() as i64,
            _ => 0,
        };
        let at = if index < 0 { len + index } else { index };
        if !(0..=len).contains(&at) {
            return Err(CmdError::err("index out of bounds"));
        }
        for v in &values {
            too_deep(l.len() + 1, v)?;
        }
    }
    drop(doc);
    if locs.iter().all(Option::is_none) {
        return Ok(Reply::Array(vec![Reply::Nil; locs.len()]));
    }
    let results = write_arrays(ctx, &a[1], &locs, |arr| {
        let len = arr.len() as i64;
        let at = (if index < 0 { len + index } else { index }).clamp(0, len) as usize;
        arr.splice(at..at, values.iter().cloned());
        Reply::Int(arr.len() as i64)
    })?;
    Ok(per_match(&path, results))
}

fn json_arrlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = path_arg(a, 2)?;
    if path.is_legacy() {
        let Some(doc) = load(ctx, &a[1])? else { return Ok(Reply::Nil) };
        return match path.first(&doc)?.1 {
            Json::Array(arr) => Ok(Reply::Int(arr.len() as i64)),
            _ => Err(missing_or(&path, "not an array")),
        };
    }
    path_lengths(ctx, &a[1], &path, |v| match v {
        Json::Array(x) => Some(x.len()),
        _ => None,
    })
}

/// RedisJSON's start normalization: negative from the end (floored at 0), capped at `len - 1`.
fn norm_start(i: i64, len: i64) -> i64 {
    if i < 0 {
        0.max(len + i)
    } else {
        i.min(len - 1)
    }
}

fn json_arrindex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 6 {
        return Err(CmdError::WrongArgs("json.arrindex".into()));
    }
    let path = Path::parse(&a[2])?;
    let needle = json::parse(&a[3])?;
    let start = a.get(4).map_or(Ok(0), |v| args::int(v))?;
    let stop = a.get(5).map_or(Ok(0), |v| args::int(v))?;
    let doc = load_existing(ctx, &a[1])?;
    let find = |arr: &[Json]| -> i64 {
        let len = arr.len() as i64;
        if len == 0 {
            return -1;
        }
        let s = norm_start(start, len);
        let e = match stop {
            0 => len,
            e if e < 0 => 0.max(len + e),
            e => e.min(len),
        };
        (s..e).find(|&i| arr.get(i as usize) == Some(&needle)).unwrap_or(-1)
    };
    if path.is_legacy() {
        return match path.first(&doc)?.1 {
            Json::Array(arr) => Ok(Reply::Int(find(arr))),
            v => Err(expected("array", v)),
        };
    }
    let out = path
        .values(&doc)
        .into_iter()
        .map(|v| match v {
            Json::Array(arr) => Reply::Int(find(arr)),
            _ => Reply::Nil,
        })
        .collect();
    Ok(Reply::Array(out))
}

fn json_arrpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 4 {
        return Err(CmdError::WrongArgs("json.arrpop".into()));
    }
    let path = path_arg(a, 2)?;
    let index = a.get(3).map_or(Ok(-1), |v| args::int(v))?;
    let doc = load_existing(ctx, &a[1])?;
    let mut locs = typed_locs(&path, &doc, is_array);
    if path.is_legacy() {
        locs = legacy_targets(locs, &path, "not an array")?;
    }
    let any_pop = locs.iter().flatten().any(|l| matches!(doc.at(l), Some(Json::Array(arr)) if !arr.is_empty()));
    drop(doc);
    if !any_pop {
        return Ok(per_match(&path, vec![Reply::Nil; locs.len()]));
    }
    let results = write_arrays(ctx, &a[1], &locs, |arr| {
        if arr.is_empty() {
            return Reply::Nil;
        }
        let at = norm_start(index, arr.len() as i64) as usize;
        bulk(&arr.remove(at))
    })?;
    Ok(per_match(&path, results))
}

fn json_arrtrim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = Path::parse(&a[2])?;
    let (start, stop) = (args::int(&a[3])?, args::int(&a[4])?);
    let doc = load_existing(ctx, &a[1])?;
    let mut locs = typed_locs(&path, &doc, is_array);
    drop(doc);
    if path.is_legacy() {
        locs = legacy_targets(locs, &path, "not an array")?;
    }
    if locs.iter().all(Option::is_none) {
        return Ok(Reply::Array(vec![Reply::Nil; locs.len()]));
    }
    let results = write_arrays(ctx, &a[1], &locs, |arr| {
        let len = arr.len() as i64;
        let stop = norm_start(stop, len);
        let start = if start < 0 || start < len { norm_start(start, len) } else { stop + 1 };
        if start > stop || len == 0 {
            arr.clear();
        } else {
            arr.truncate(stop as usize + 1);
            arr.drain(..start as usize);
        }
        Reply::Int(arr.len() as i64)
    })?;
    Ok(per_match(&path, results))
}

// ---- objects ------------------------------------------------------------------------------

fn keys_reply(o: &json::Object) -> Reply {
    Reply::Array(o.keys().map(|k| Reply::Bulk(Bytes::copy_from_slice(k.as_bytes()))).collect())
}

fn json_objkeys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = path_arg(a, 2)?;
    if path.is_legacy() {
        let Some(doc) = load(ctx, &a[1])? else { return Ok(Reply::Nil) };
        return match path.values(&doc).first() {
            None => Ok(Reply::Nil),
            Some(Json::Object(o)) => Ok(keys_reply(o)),
            Some(_) => Err(missing_or(&path, "not an object")),
        };
    }
    let doc = load_existing(ctx, &a[1])?;
    let out = path
        .values(&doc)
        .into_iter()
        .map(|v| match v {
            Json::Object(o) => keys_reply(o),
            _ => Reply::Nil,
        })
        .collect();
    Ok(Reply::Array(out))
}

fn json_objlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let path = path_arg(a, 2)?;
    if path.is_legacy() {
        let Some(doc) = load(ctx, &a[1])? else { return Ok(Reply::Nil) };
        return match path.values(&doc).first() {
            None => Ok(Reply::Nil),
            Some(Json::Object(o)) => Ok(Reply::Int(o.len() as i64)),
            Some(v) => Err(expected("object", v)),
        };
    }
    path_lengths(ctx, &a[1], &path, |v| match v {
        Json::Object(o) => Some(o.len()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use crate::testkit::{arr, b, T, WRONGTYPE};
    use crate::Reply;

    fn ints(v: &[Option<i64>]) -> Reply {
        Reply::Array(v.iter().map(|x| x.map_or(Reply::Nil, Reply::Int)).collect())
    }

    fn get(t: &mut T, key: &str, path: &str) -> Reply {
        t.ok(&["JSON.GET", key, path])
    }

    const NO_KEY: &str = "ERR could not perform this operation on a key that doesn't exist";

    #[test]
    fn regex_filters_match_strings() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "k", "$", r#"[{"name":"joe"},{"name":"Jane"},{"name":"bob"},{"name":5}]"#]);
        assert_eq!(t.ok(&["JSON.GET", "k", r#"$[?(@.name =~ "^j")]"#]), b(r#"[{"name":"joe"}]"#));
        assert_eq!(t.ok(&["JSON.GET", "k", r#"$[?(@.name =~ "(?i)^j")].name"#]), b(r#"["joe","Jane"]"#));
        assert_eq!(t.ok(&["JSON.GET", "k", r#"$[?(@.name =~ "[")]"#]), b("[]"));
        assert_eq!(t.ok(&["JSON.GET", "k", r#"$[?(@.name =~ "o" && @.name != "bob")].name"#]), b(r#"["joe"]"#));
    }

    #[test]
    fn set_get_basics() {
        let mut t = T::new();
        assert_eq!(t.ok(&["JSON.SET", "d", "$", r#"{"a":2,"b":{"a":4,"c":[1,2]},"s":"x"}"#]), Reply::Ok);
        assert_eq!(t.ok(&["TYPE", "d"]), Reply::status("json"));
        assert_eq!(t.ok(&["OBJECT", "ENCODING", "d"]), b("raw"));
        assert_eq!(t.ok(&["JSON.GET", "d"]), b(r#"{"a":2,"b":{"a":4,"c":[1,2]},"s":"x"}"#));
        assert_eq!(get(&mut t, "d", "$.a"), b("[2]"));
        assert_eq!(get(&mut t, "d", ".a"), b("2"));
        assert_eq!(get(&mut t, "d", "b.c"), b("[1,2]"));
        assert_eq!(get(&mut t, "d", "$..a"), b("[4,2]"));
        assert_eq!(get(&mut t, "d", "$.nope"), b("[]"));
        assert_eq!(t.err(&["JSON.GET", "d", ".nope"]), "ERR Path '$.nope' does not exist");
        assert_eq!(t.ok(&["JSON.GET", "d", ".a", ".s"]), b(r#"{".a":2,".s":"x"}"#));
        assert_eq!(t.ok(&["JSON.GET", "d", "$.a", ".s"]), b(r#"{"$.a":[2],".s":["x"]}"#));
        assert_eq!(t.err(&["JSON.GET", "d", ".a", ".nope"]), "ERR Path '.nope' does not exist");
        assert_eq!(
            t.ok(&["JSON.GET", "d", "INDENT", "\t", "NEWLINE", "\n", "SPACE", " ", "$.b"]),
            b("[\n\t{\n\t\t\"a\": 4,\n\t\t\"c\": [\n\t\t\t1,\n\t\t\t2\n\t\t]\n\t}\n]")
        );
        assert_eq!(t.ok(&["JSON.GET", "missing"]), Reply::Nil);
        // Creation rules, NX/XX.
        assert_eq!(t.err(&["JSON.SET", "n", "$.a", "1"]), "ERR new objects must be created at the root");
        assert_eq!(t.ok(&["JSON.SET", "n", "$", "1", "XX"]), Reply::Nil);
        assert_eq!(t.ok(&["EXISTS", "n"]), Reply::Int(0));
        assert_eq!(t.ok(&["JSON.SET", "d", "$.new", r#""v""#]), Reply::Ok);
        assert_eq!(t.ok(&["JSON.SET", "d", "$.new", "1", "NX"]), Reply::Nil);
        assert_eq!(t.ok(&["JSON.SET", "d", "$.new2", "1", "XX"]), Reply::Nil);
        assert_eq!(t.ok(&["JSON.SET", "d", "$.new", "true", "XX"]), Reply::Ok);
        // The hosted service refuses a member under a missing parent (RedisJSON answers nil).
        assert_eq!(t.err(&["JSON.SET", "d", "$.x.y", "1"]), "ERR Path '$.x.y' does not exist");
        assert_eq!(t.err(&["JSON.MSET", "d", "$.x.y", "1"]), "ERR Path '$.x.y' does not exist");
        assert_eq!(t.ok(&["JSON.SET", "d", "$..a", "0"]), Reply::Ok);
        assert_eq!(get(&mut t, "d", "$..a"), b("[0,0]"));
        assert_eq!(t.err(&["JSON.SET", "d", "$..zz", "0"]), "Err wrong static path");
        assert_eq!(t.err(&["JSON.SET", "d", "$.b.c[5]", "0"]), "ERR array index out of range");
        assert_eq!(t.ok(&["JSON.SET", "d", "$.b.c[-1]", "9"]), Reply::Ok);
        assert_eq!(get(&mut t, "d", "$.b.c"), b("[[1,9]]"));
        assert_eq!(t.ok(&["JSON.SET", "d", "$", "[]", "NX"]), Reply::Nil);
        assert_eq!(t.err(&["JSON.SET", "d", "$", "1", "NX", "XX"]), "ERR syntax error");
        // Bad input changes nothing.
        assert_eq!(t.err(&["JSON.SET", "d", "$.a", "{bad"]), "ERR key must be a string at line 1 column 2");
        assert_eq!(t.err(&["JSON.SET", "d", "$", "nope"]), "ERR expected ident at line 1 column 2");
        assert!(t.err(&["JSON.SET", "d", "$[", "1"]).starts_with("Error occurred on position 2"));
        assert_eq!(get(&mut t, "d", "$.a"), b("[0]"));
        // Root replacement keeps the TTL; other types are WRONGTYPE.
        t.ok(&["EXPIRE", "d", "100"]);
        t.ok(&["JSON.SET", "d", ".", r#"{"z":1.50}"#]);
        assert_eq!(t.ok(&["TTL", "d"]), Reply::Int(100));
        assert_eq!(t.ok(&["JSON.GET", "d"]), b(r#"{"z":1.5}"#));
        t.ok(&["SET", "str", "x"]);
        assert_eq!(t.err(&["JSON.SET", "str", "$", "1"]), WRONGTYPE);
        assert_eq!(t.err(&["JSON.GET", "str"]), WRONGTYPE);
        assert_eq!(t.err(&["GET", "d"]), WRONGTYPE);
    }

    #[test]
    fn filters_and_unicode() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "f", "$", r#"{"items":[{"x":1,"n":"a"},{"x":3,"n":"b"},{"x":2.5,"n":"é"}]}"#]);
        assert_eq!(get(&mut t, "f", "$.items[?(@.x > 1)].n"), b(r#"["b","é"]"#));
        assert_eq!(get(&mut t, "f", "$.items[?(@.n == 'a' || @.x == 3)].x"), b("[1,3]"));
        assert_eq!(t.ok(&["JSON.SET", "f", "$.items[?(@.x < 2)].x", "10"]), Reply::Ok);
        assert_eq!(get(&mut t, "f", "$.items[*].x"), b("[10,3,2.5]"));
        assert_eq!(t.ok(&["JSON.STRLEN", "f", "$.items[2].n"]), Reply::Array(vec![Reply::Int(2)]));
    }

    #[test]
    fn mget_mset_merge() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "a", "$", r#"{"v":1,"o":{"v":2}}"#]);
        t.ok(&["JSON.SET", "b", "$", r#"{"v":3}"#]);
        t.ok(&["SET", "s", "x"]);
        assert_eq!(t.ok(&["JSON.MGET", "a", "b", "c", "s", "$..v"]), Reply::Array(vec![b("[2,1]"), b("[3]"), Reply::Nil, Reply::Nil]));
        assert_eq!(t.ok(&["JSON.MGET", "a", "b", ".o"]), Reply::Array(vec![b(r#"{"v":2}"#), Reply::Nil]));
        assert_eq!(t.ok(&["JSON.MSET", "a", "$.v", "10", "n", "$", "[]", "a", "$.w", "[2]"]), Reply::Ok);
        assert_eq!(get(&mut t, "a", "$.v"), b("[10]"));
        assert_eq!(t.ok(&["JSON.GET", "n"]), b("[]"));
        // Validation happens before any write.
        assert_eq!(t.err(&["JSON.MSET", "a", "$.v", "11", "zz", "$.x", "1"]), "ERR new objects must be created at the root");
        assert_eq!(t.err(&["JSON.MSET", "a", "$.v", "11", "s", "$", "1"]), WRONGTYPE);
        assert_eq!(t.err(&["JSON.MSET", "a", "$.v", "11", "b", "$", "{"]), "ERR EOF while parsing an object at line 1 column 1");
        assert_eq!(t.err(&["JSON.MSET", "a", "$.v", "11", "b"]), "ERR wrong number of arguments for 'json.mset' command");
        assert_eq!(get(&mut t, "a", "$.v"), b("[10]"));
        // A triplet made impossible by an earlier one is skipped (nil), the rest applied.
        t.ok(&["JSON.SET", "l", "$", "[[1,2,3,4]]"]);
        assert_eq!(t.ok(&["JSON.MSET", "l", "$[0]", "1", "l", "$[0][3]", "5", "a", "$.v", "12"]), Reply::Nil);
        assert_eq!(t.ok(&["JSON.GET", "l"]), b("[1]"));
        assert_eq!(get(&mut t, "a", "$.v"), b("[12]"));
        // Merge (RFC 7396).
        t.ok(&["JSON.SET", "m", "$", r#"{"a":{"b":1,"c":2},"d":[1,2],"e":1}"#]);
        assert_eq!(t.ok(&["JSON.MERGE", "m", "$", r#"{"a":{"b":null,"x":{"y":null,"z":1}},"d":[3],"e":null}"#]), Reply::Ok);
        assert_eq!(t.ok(&["JSON.GET", "m"]), b(r#"{"a":{"c":2,"x":{"z":1}},"d":[3]}"#));
        assert_eq!(t.ok(&["JSON.MERGE", "m", "$.a.c", "null"]), Reply::Ok);
        assert_eq!(t.ok(&["JSON.MERGE", "m", "$.a.n", r#"{"k":null,"j":1}"#]), Reply::Ok);
        assert_eq!(t.ok(&["JSON.GET", "m"]), b(r#"{"a":{"x":{"z":1},"n":{"j":1}},"d":[3]}"#));
        assert_eq!(t.ok(&["JSON.MERGE", "m", "$.q.r", "1"]), Reply::Nil);
        assert_eq!(t.err(&["JSON.MERGE", "new", "$.a", "1"]), "ERR new objects must be created at the root");
        assert_eq!(t.ok(&["JSON.MERGE", "new", "$", r#"{"a":1,"b":null}"#]), Reply::Ok);
        assert_eq!(t.ok(&["JSON.GET", "new"]), b(r#"{"a":1}"#));
    }

    #[test]
    fn del_type_resp_clear_toggle() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "d", "$", r#"{"a":1,"nested":{"a":2,"b":[1,2,3]},"t":true,"f":1.5,"n":null,"s":"x"}"#]);
        assert_eq!(t.ok(&["JSON.TYPE", "d"]), b("object"));
        assert_eq!(t.ok(&["JSON.TYPE", "d", "$..a"]), arr(&["integer", "integer"]));
        assert_eq!(t.ok(&["JSON.TYPE", "d", ".f"]), b("number"));
        assert_eq!(t.ok(&["JSON.TYPE", "d", ".zz"]), Reply::Nil);
        assert_eq!(t.ok(&["JSON.TYPE", "nokey"]), Reply::Nil);
        assert_eq!(
            t.ok(&["JSON.RESP", "d", "$.nested"]),
            Reply::Array(vec![Reply::Array(vec![
                Reply::status("{"),
                b("a"),
                Reply::Int(2),
                b("b"),
                Reply::Array(vec![Reply::status("["), Reply::Int(1), Reply::Int(2), Reply::Int(3)]),
            ])])
        );
        assert_eq!(t.ok(&["JSON.RESP", "d", ".t"]), Reply::status("true"));
        assert_eq!(t.ok(&["JSON.RESP", "d", ".f"]), Reply::Double(1.5));
        assert_eq!(t.ok(&["JSON.RESP", "d", ".n"]), Reply::Nil);
        assert!(matches!(t.ok(&["JSON.DEBUG", "MEMORY", "d"]), Reply::Int(n) if n > 100));
        assert!(matches!(t.ok(&["JSON.DEBUG", "MEMORY", "d", "$..a"]), Reply::Array(v) if v.len() == 2));
        assert_eq!(t.ok(&["JSON.DEBUG", "MEMORY", "nokey"]), Reply::Int(0));
        assert!(matches!(t.ok(&["JSON.DEBUG", "HELP"]), Reply::Array(v) if v.len() == 2));
        assert_eq!(t.err(&["JSON.DEBUG", "NOPE"]), "ERR unknown subcommand - try `JSON.DEBUG HELP`");
        assert_eq!(t.ok(&["JSON.TOGGLE", "d", "$.t"]), ints(&[Some(0)]));
        assert_eq!(t.ok(&["JSON.TOGGLE", "d", ".t"]), b("true"));
        assert_eq!(t.ok(&["JSON.TOGGLE", "d", "$.s"]), ints(&[None]));
        assert_eq!(t.err(&["JSON.TOGGLE", "d", ".s"]), "ERR Path '$.s' does not exist or not a bool");
        assert_eq!(t.err(&["JSON.TOGGLE", "nokey", "$"]), NO_KEY);
        assert_eq!(t.ok(&["JSON.DEL", "d", "$..a"]), Reply::Int(2));
        assert_eq!(t.ok(&["JSON.DEL", "d", "$..a"]), Reply::Int(0));
        assert_eq!(t.ok(&["JSON.FORGET", "d", "$.nested.b[0]"]), Reply::Int(1));
        assert_eq!(t.ok(&["JSON.DEL", "d", "$.nested.b[*]"]), Reply::Int(2));
        assert_eq!(get(&mut t, "d", "$.nested"), b(r#"[{"b":[]}]"#));
        t.ok(&["JSON.SET", "d", "$.nested.b", "[1,[2,3],{\"x\":4}]"]);
        assert_eq!(t.ok(&["JSON.CLEAR", "d", "$.nested.*"]), Reply::Int(1));
        assert_eq!(t.ok(&["JSON.CLEAR", "d", "$.f"]), Reply::Int(1));
        assert_eq!(t.ok(&["JSON.GET", "d", "$.f"]), b("[0]"));
        assert_eq!(t.ok(&["JSON.CLEAR", "d"]), Reply::Int(1));
        assert_eq!(t.ok(&["JSON.GET", "d"]), b("{}"));
        assert_eq!(t.err(&["JSON.CLEAR", "nokey"]), NO_KEY);
        assert_eq!(t.ok(&["JSON.DEL", "d"]), Reply::Int(1));
        assert_eq!(t.ok(&["EXISTS", "d"]), Reply::Int(0));
        assert_eq!(t.ok(&["JSON.DEL", "d"]), Reply::Int(0));
    }

    #[test]
    fn numbers() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "n", "$", r#"{"a":"b","b":[{"a":2},{"a":5},{"a":"c"}],"i":1,"f":2.5}"#]);
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", "$.a", "2"]), b("[null]"));
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", "$..a", "2"]), b("[4,7,null,null]"));
        assert_eq!(t.ok(&["JSON.NUMMULTBY", "n", "$..a", "2"]), b("[8,14,null,null]"));
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", "$.i", "1.5"]), b("[2.5]"));
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", ".f", "1"]), b("3.5"));
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", ".f", "0.5"]), b("4.0"));
        assert_eq!(t.ok(&["JSON.TYPE", "n", ".f"]), b("number"));
        t.ok(&["JSON.SET", "n", "$.i", "3"]);
        assert_eq!(t.ok(&["JSON.NUMMULTBY", "n", ".i", "3"]), b("9"));
        assert_eq!(t.ok(&["JSON.TYPE", "n", ".i"]), b("integer"));
        assert_eq!(t.err(&["JSON.NUMINCRBY", "n", ".a", "1"]), "ERR Path '$.a' does not exist or does not contains a number");
        assert_eq!(t.err(&["JSON.NUMINCRBY", "n", "$.i", "x"]), "ERR expected value at line 1 column 1");
        assert_eq!(t.err(&["JSON.NUMINCRBY", "n", "$.i", "\"1\""]), "ERR bad input number");
        assert_eq!(t.err(&["JSON.NUMMULTBY", "n", "$.f", "1e308"]), "ERR result is not a number");
        assert_eq!(t.err(&["JSON.NUMINCRBY", "nokey", "$", "1"]), NO_KEY);
        t.ok(&["JSON.SET", "n", "$.i", "9223372036854775807"]);
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", "$.i", "1"]), b("[9.223372036854776e18]"));
        assert_eq!(t.ok(&["JSON.GET", "n", ".f"]), b("4.0"));
        // RESP3: numbers, and JSON.TYPE wrapped in an array.
        t.ok(&["HELLO", "3"]);
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", "$.b[*].a", "1"]), Reply::Array(vec![Reply::Int(9), Reply::Int(15), Reply::Nil]));
        assert_eq!(t.ok(&["JSON.NUMINCRBY", "n", ".f", "1"]), Reply::Array(vec![Reply::Double(5.0)]));
        assert_eq!(t.ok(&["JSON.TYPE", "n", ".f"]), Reply::Array(vec![b("number")]));
    }

    #[test]
    fn strings() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "s", "$", r#"{"a":"foo","n":{"a":"héllo"},"x":1}"#]);
        assert_eq!(t.ok(&["JSON.STRLEN", "s", "$..a"]), ints(&[Some(6), Some(3)]));
        assert_eq!(t.ok(&["JSON.STRLEN", "s", ".a"]), Reply::Int(3));
        assert_eq!(t.ok(&["JSON.STRLEN", "s", "$.x"]), ints(&[None]));
        assert_eq!(t.err(&["JSON.STRLEN", "s", ".x"]), "WRONGTYPE wrong type of path value - expected string but found integer");
        assert_eq!(t.ok(&["JSON.STRLEN", "nokey", ".a"]), Reply::Nil);
        assert_eq!(t.err(&["JSON.STRLEN", "nokey", "$.a"]), NO_KEY);
        assert_eq!(t.ok(&["JSON.STRAPPEND", "s", "$..a", r#""baz""#]), ints(&[Some(9), Some(6)]));
        assert_eq!(t.ok(&["JSON.STRAPPEND", "s", ".a", r#""!""#]), Reply::Int(7));
        assert_eq!(t.ok(&["JSON.STRAPPEND", "s", "$.x", r#""!""#]), ints(&[None]));
        assert_eq!(t.err(&["JSON.STRAPPEND", "s", ".x", r#""!""#]), "ERR Path '$.x' does not exist or not a string");
        assert_eq!(t.err(&["JSON.STRAPPEND", "s", ".a", "1"]), "WRONGTYPE wrong type of path value - expected string but found 1");
        assert_eq!(get(&mut t, "s", "$..a"), b(r#"["héllobaz","foobaz!"]"#));
        t.ok(&["JSON.SET", "r", "$", r#""root""#]);
        assert_eq!(t.ok(&["JSON.STRAPPEND", "r", r#""s""#]), Reply::Int(5));
        assert_eq!(t.ok(&["JSON.STRLEN", "r"]), Reply::Int(5));
    }

    #[test]
    fn arrays() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "a", "$", r#"{"a":[1],"n":{"a":[1,2,3]},"s":"x","e":[]}"#]);
        assert_eq!(t.ok(&["JSON.ARRAPPEND", "a", "$..a", "2", r#""t""#]), ints(&[Some(5), Some(3)]));
        assert_eq!(t.ok(&["JSON.ARRAPPEND", "a", "$.s", "2"]), ints(&[None]));
        assert_eq!(t.ok(&["JSON.ARRAPPEND", "a", ".a", "null"]), Reply::Int(4));
        assert_eq!(t.err(&["JSON.ARRAPPEND", "a", ".s", "1"]), "ERR Path '$.s' does not exist or not an array");
        assert_eq!(t.err(&["JSON.ARRAPPEND", "a", "$.a", "[1"]), "ERR EOF while parsing a list at line 1 column 2");
        assert_eq!(get(&mut t, "a", "$.a"), b(r#"[[1,2,"t",null]]"#));
        assert_eq!(t.ok(&["JSON.ARRLEN", "a", "$..a"]), ints(&[Some(5), Some(4)]));
        assert_eq!(t.ok(&["JSON.ARRLEN", "a", "$.s"]), ints(&[None]));
        assert_eq!(t.ok(&["JSON.ARRLEN", "a", ".n.a"]), Reply::Int(5));
        assert_eq!(t.ok(&["JSON.ARRLEN", "nokey", ".a"]), Reply::Nil);
        assert_eq!(t.err(&["JSON.ARRLEN", "nokey", "$.a"]), NO_KEY);
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", "$..a", "2"]), ints(&[Some(1), Some(1)]));
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", "$..a", r#""t""#, "2"]), ints(&[Some(4), Some(2)]));
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", "$.n.a", "3", "0", "2"]), ints(&[Some(-1)]));
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", "$.n.a", "3", "-3", "-1"]), ints(&[Some(2)]));
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", "$.n.a", "2.0"]), ints(&[Some(-1)]));
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", "$.s", "1"]), ints(&[None]));
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", ".a", "null"]), Reply::Int(3));
        assert_eq!(t.ok(&["JSON.ARRINDEX", "a", "$.e", "1"]), ints(&[Some(-1)]));
        assert_eq!(t.err(&["JSON.ARRINDEX", "a", ".s", "1"]), "WRONGTYPE wrong type of path value - expected array but found string");
        assert_eq!(t.ok(&["JSON.ARRINSERT", "a", "$..a", "0", "0"]), ints(&[Some(6), Some(5)]));
        assert_eq!(t.ok(&["JSON.ARRINSERT", "a", ".a", "-1", "8", "9"]), Reply::Int(7));
        assert_eq!(t.err(&["JSON.ARRINSERT", "a", "$..a", "7", "0"]), "ERR index out of bounds");
        assert_eq!(get(&mut t, "a", "$.a"), b(r#"[[0,1,2,"t",8,9,null]]"#));
        assert_eq!(t.ok(&["JSON.ARRPOP", "a", "$..a"]), Reply::Array(vec![b(r#""t""#), b("null")]));
        assert_eq!(t.ok(&["JSON.ARRPOP", "a", ".a", "0"]), b("0"));
        assert_eq!(t.ok(&["JSON.ARRPOP", "a", "$.e"]), Reply::Array(vec![Reply::Nil]));
        assert_eq!(t.ok(&["JSON.ARRPOP", "a", ".e"]), Reply::Nil);
        assert_eq!(t.ok(&["JSON.ARRPOP", "a", "$.s"]), Reply::Array(vec![Reply::Nil]));
        assert_eq!(t.ok(&["JSON.ARRPOP", "a", "$.n.a", "99"]), Reply::Array(vec![b("2")]));
        assert_eq!(t.err(&["JSON.ARRPOP", "nokey"]), NO_KEY);
        assert_eq!(get(&mut t, "a", "$..a"), b(r#"[[0,1,2,3],[1,2,"t",8,9]]"#));
        assert_eq!(t.ok(&["JSON.ARRTRIM", "a", "$..a", "1", "2"]), ints(&[Some(2), Some(2)]));
        assert_eq!(get(&mut t, "a", "$..a"), b(r#"[[1,2],[2,"t"]]"#));
        assert_eq!(t.ok(&["JSON.ARRTRIM", "a", ".a", "-1", "99"]), Reply::Int(1));
        assert_eq!(t.ok(&["JSON.ARRTRIM", "a", "$.n.a", "5", "10"]), ints(&[Some(0)]));
        assert_eq!(t.ok(&["JSON.ARRTRIM", "a", "$.s", "0", "1"]), ints(&[None]));
        assert_eq!(get(&mut t, "a", "$..a"), b(r#"[[],["t"]]"#));
        // Nested arrays mutated together: inner ones first, so locations stay valid.
        t.ok(&["JSON.SET", "x", "$", r#"{"x":[[1,2],[3,4]]}"#]);
        let nil = Reply::Nil;
        assert_eq!(
            t.ok(&["JSON.ARRPOP", "x", "$..*", "0"]),
            Reply::Array(vec![nil.clone(), nil.clone(), nil.clone(), nil, b("1"), b("3"), b("[2]")])
        );
        assert_eq!(t.ok(&["JSON.GET", "x"]), b(r#"{"x":[[4]]}"#));
    }

    #[test]
    fn objects() {
        let mut t = T::new();
        t.ok(&["JSON.SET", "o", "$", r#"{"b":1,"a":{"z":1,"y":2},"s":"x"}"#]);
        assert_eq!(t.ok(&["JSON.OBJKEYS", "o"]), arr(&["b", "a", "s"]));
        assert_eq!(
            t.ok(&["JSON.OBJKEYS", "o", "$..*"]),
            Reply::Array(vec![Reply::Nil, Reply::Nil, Reply::Nil, arr(&["z", "y"]), Reply::Nil])
        );
        assert_eq!(t.ok(&["JSON.OBJKEYS", "o", ".zz"]), Reply::Nil);
        assert_eq!(t.err(&["JSON.OBJKEYS", "o", ".s"]), "ERR Path '$.s' does not exist or not an object");
        assert_eq!(t.ok(&["JSON.OBJLEN", "o", "$.a"]), ints(&[Some(2)]));
        assert_eq!(t.ok(&["JSON.OBJLEN", "o"]), Reply::Int(3));
        assert_eq!(t.ok(&["JSON.OBJLEN", "o", "$.s"]), ints(&[None]));
        assert_eq!(t.err(&["JSON.OBJLEN", "o", ".s"]), "WRONGTYPE wrong type of path value - expected object but found string");
        assert_eq!(t.ok(&["JSON.OBJLEN", "nokey"]), Reply::Nil);
        assert_eq!(t.ok(&["JSON.OBJKEYS", "nokey"]), Reply::Nil);
    }

    #[test]
    fn logged_as_received_and_generic_key_commands() {
        let mut t = T::new();
        let (_, fx, d) = t.logged_text(&["JSON.SET", "k", "$", r#"{"a":[1]}"#]);
        assert_eq!((fx, d), (vec![vec!["JSON.SET".to_string(), "k".into(), "$".into(), r#"{"a":[1]}"#.into()]], 1));
        let (_, fx, d) = t.logged_text(&["JSON.ARRAPPEND", "k", "$.a", "2"]);
        assert_eq!((fx.len(), d), (1, 1));
        let (_, fx, d) = t.logged_text(&["JSON.SET", "k", "$.a", "1", "NX"]);
        assert_eq!((fx.len(), d), (0, 0));
        let (_, fx, d) = t.logged_text(&["JSON.TOGGLE", "k", "$.a"]);
        assert_eq!((fx.len(), d), (0, 0));
        assert_eq!(t.ok(&["COPY", "k", "k2"]), Reply::Int(1));
        t.ok(&["JSON.ARRAPPEND", "k2", "$.a", "3"]);
        assert_eq!(t.ok(&["JSON.GET", "k"]), b(r#"{"a":[1,2]}"#));
        assert_eq!(t.ok(&["JSON.GET", "k2"]), b(r#"{"a":[1,2,3]}"#));
        assert_eq!(t.ok(&["RENAME", "k2", "k3"]), Reply::Ok);
        let Reply::Array(scan) = t.ok(&["SCAN", "0", "TYPE", "json"]) else { panic!() };
        let Reply::Array(mut keys) = scan[1].clone() else { panic!() };
        keys.sort_by_key(|k| format!("{k:?}"));
        assert_eq!(Reply::Array(keys), arr(&["k", "k3"]));
        assert!(matches!(t.ok(&["MEMORY", "USAGE", "k"]), Reply::Int(n) if n > 0));
        // Depth limit.
        let deep = format!("{}{}", "[".repeat(120), "]".repeat(120));
        t.ok(&["JSON.SET", "deep", "$", &deep]);
        let mut path = String::from("$");
        for _ in 0..119 {
            path.push_str("[0]");
        }
        assert_eq!(t.err(&["JSON.SET", "deep", &path, &deep]), "ERR recursion limit exceeded");
    }
}
