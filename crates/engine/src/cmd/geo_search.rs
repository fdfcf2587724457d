//! Geo searches (Redis `geo.c` `georadiusGeneric`, `geohash_helper.c`): GEOSEARCH,
//! GEOSEARCHSTORE, GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO]. The candidate cells (the center
//! cell and its eight neighbours at a step chosen from the radius) and their scan order follow
//! Redis exactly, so even unsorted results come in Redis's order.

use std::ops::Bound;

use bytes::Bytes;

use super::geo::{cell, decode, distance, encode_step, human, position, unit, EARTH_RADIUS, LAT_MAX, LAT_MIN, STEP};
use crate::args::{float, int, is};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::{Ctx, Reply};

/// Geo search rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("geosearch", -7, READONLY, 1, 1, 1, geosearch, "geo"),
    cmd!("geosearchstore", -8, WRITE | DENYOOM | WRITES_FIRST_KEY, 1, 2, 1, geosearchstore, "geo"),
    cmd!("georadius", -6, WRITE | DENYOOM, 1, 1, 1, georadius, "geo"),
    cmd!("georadius_ro", -6, READONLY, 1, 1, 1, georadius_ro, "geo"),
    cmd!("georadiusbymember", -5, WRITE | DENYOOM, 1, 1, 1, georadiusbymember, "geo"),
    cmd!("georadiusbymember_ro", -5, READONLY, 1, 1, 1, georadiusbymember_ro, "geo"),
];

const MERCATOR_MAX: f64 = 20037726.37;

#[derive(Debug, Clone, Copy)]
enum Shape {
    Radius(f64),
    Box(f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    None,
    Asc,
    Desc,
}

struct Search {
    center: (f64, f64),
    shape: Shape,
    /// Meters per unit of the query.
    conversion: f64,
    order: Order,
    count: usize,
    any: bool,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    store: Option<(Bytes, bool)>,
}

/// `geohashEstimateStepsByRadius`.
fn steps_for(mut range: f64, lat: f64) -> u32 {
    if range == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u32
}

fn move_x(bits: u64, step: u32, d: i8) -> u64 {
    let x = bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - step * 2);
    let x = if d > 0 { x.wrapping_add(zz + 1) } else { (x | zz).wrapping_sub(zz + 1) };
    (x & (0xaaaa_aaaa_aaaa_aaaau64 >> (64 - step * 2))) | y
}

fn move_y(bits: u64, step: u32, d: i8) -> u64 {
    let x = bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - step * 2);
    let y = if d > 0 { y.wrapping_add(zz + 1) } else { (y | zz).wrapping_sub(zz + 1) };
    x | (y & (0x5555_5555_5555_5555u64 >> (64 - step * 2)))
}

/// The cells to scan, in Redis's order (center, N, S, E, W, NE, NW, SE, SW); `None` for
/// neighbours excluded as useless.
fn cells(s: &Search) -> (u32, [Option<u64>; 9]) {
    let (lon, lat) = s.center;
    let (half_h, half_w) = match s.shape {
        Shape::Radius(r) => (r * s.conversion, r * s.conversion),
        Shape::Box(w, h) => (h / 2.0 * s.conversion, w / 2.0 * s.conversion),
    };
    let lat_delta = (half_h / EARTH_RADIUS).to_degrees();
    let lon_delta_top = (half_w / EARTH_RADIUS / (lat + lat_delta).to_radians().cos()).to_degrees();
    let lon_delta_bottom = (half_w / EARTH_RADIUS / (lat - lat_delta).to_radians().cos()).to_degrees();
    let south = lat < 0.0;
    let min_lon = if south { lon - lon_delta_bottom } else { lon - lon_delta_top };
    let max_lon = if south { lon + lon_delta_bottom } else { lon + lon_delta_top };
    let (min_lat, max_lat) = (lat - lat_delta, lat + lat_delta);
    let radius = match s.shape {
        Shape::Radius(r) => r,
        Shape::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
    } * s.conversion;
    let mut step = steps_for(radius, lat);
    let around = |step: u32| {
        let h = encode_step(lon, lat, (LAT_MIN, LAT_MAX), step).unwrap_or(0);
        [
            h,
            move_y(h, step, 1),
            move_y(h, step, -1),
            move_x(h, step, 1),
            move_x(h, step, -1),
            move_y(move_x(h, step, 1), step, 1),
            move_y(move_x(h, step, -1), step, 1),
            move_y(move_x(h, step, 1), step, -1),
            move_y(move_x(h, step, -1), step, -1),
        ]
    };
    let mut n = around(step);
    let (north, south_c, east, west) = (cell(n[1], step), cell(n[2], step), cell(n[3], step), cell(n[4], step));
    if step > 1 && (north.3 < max_lat || south_c.2 > min_lat || east.1 < max_lon || west.0 > min_lon) {
        step -= 1;
        n = around(step);
    }
    let area = cell(n[0], step);
    let mut out = n.map(Some);
    if step >= 2 {
        let mut drop = |idx: &[usize]| idx.iter().for_each(|&i| out[i] = None);
        if area.2 < min_lat {
            drop(&[2, 8, 7]);
        }
        if area.3 > max_lat {
            drop(&[1, 5, 6]);
        }
        if area.0 < min_lon {
            drop(&[4, 8, 6]);
        }
        if area.1 > max_lon {
            drop(&[3, 7, 5]);
        }
    }
    (step, out)
}

/// Whether `(lon, lat)` is in the shape; its distance from the center (in meters) if so.
fn within(s: &Search, lon: f64, lat: f64) -> Option<f64> {
    let (x1, y1) = s.center;
    match s.shape {
        Shape::Radius(r) => {
            let d = distance(x1, y1, lon, lat);
            (d <= r * s.conversion).then_some(d)
        }
        Shape::Box(w, h) => {
            if EARTH_RADIUS * (y1.to_radians() - lat.to_radians()).abs() > h * s.conversion / 2.0 {
                return None;
            }
            if distance(lon, lat, x1, lat) > w * s.conversion / 2.0 {
                return None;
            }
            Some(distance(x1, y1, lon, lat))
        }
    }
}

/// Members found, with their distance in meters and score, in Redis's order.
fn search(ctx: &mut Ctx, key: &[u8], s: &Search) -> CmdResult<Vec<(Bytes, f64, f64)>> {
    let Some(z) = ctx.get_zset(key)? else { return Ok(Vec::new()) };
    let (step, cells) = cells(s);
    let mut found = Vec::new();
    let mut last: Option<u64> = None;
    'cells: for c in cells.into_iter().flatten() {
        if last == Some(c) {
            continue;
        }
        last = Some(c);
        let shift = (STEP - step) * 2;
        let (min, max) = ((c << shift) as f64, ((c + 1) << shift) as f64);
        for (m, score) in z.range_by_score(Bound::Included(min), Bound::Excluded(max)) {
            let (lon, lat) = decode(score as u64);
            if let Some(d) = within(s, lon, lat) {
                found.push((m.clone(), d, score));
                if s.any && found.len() >= s.count {
                    break 'cells;
                }
            }
        }
    }
    match s.order {
        Order::Asc => found.sort_by(|a, b| a.1.total_cmp(&b.1)),
        Order::Desc => found.sort_by(|a, b| b.1.total_cmp(&a.1)),
        Order::None => {}
    }
    if s.count > 0 {
        found.truncate(s.count);
    }
    Ok(found)
}

/// One option common to every form at `a[i]`: the number of arguments it took, `None` if
/// `a[i]` is not one. `store_ok` allows STORE/STOREDIST (GEORADIUS) or STOREDIST (GEOSEARCHSTORE).
fn option(a: &[Bytes], i: usize, s: &mut Search, georadius: bool, store_ok: bool, have_count: &mut bool) -> CmdResult<Option<usize>> {
    let o = &a[i];
    if is(o, "WITHDIST") {
        s.with_dist = true;
    } else if is(o, "WITHHASH") {
        s.with_hash = true;
    } else if is(o, "WITHCOORD") {
        s.with_coord = true;
    } else if is(o, "ANY") {
        s.any = true;
    } else if is(o, "ASC") {
        s.order = Order::Asc;
    } else if is(o, "DESC") {
        s.order = Order::Desc;
    } else if is(o, "COUNT") && i + 1 < a.len() {
        let n = int(&a[i + 1])?;
        if n <= 0 {
            return Err(CmdError::err("COUNT must be > 0"));
        }
        s.count = n as usize;
        *have_count = true;
        return Ok(Some(2));
    } else if georadius && store_ok && (is(o, "STORE") || is(o, "STOREDIST")) && i + 1 < a.len() {
        s.store = Some((a[i + 1].clone(), is(o, "STOREDIST")));
        return Ok(Some(2));
    } else if !georadius && store_ok && is(o, "STOREDIST") {
        if let Some((_, dist)) = s.store.as_mut() {
            *dist = true;
        }
    } else {
        return Ok(None);
    }
    Ok(Some(1))
}

/// The checks Redis makes once every option is read, in its order; `from`/`by` tell whether
/// GEOSEARCH got its center and shape (always true for GEORADIUS).
fn check_options(a: &[Bytes], s: &mut Search, georadius: bool, have_count: bool, from: bool, by: bool) -> CmdResult<()> {
    if s.store.is_some() && (s.with_dist || s.with_hash || s.with_coord) {
        let what = if georadius { "STORE option in GEORADIUS" } else { "GEOSEARCHSTORE" };
        return Err(CmdError::err(format!("{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")));
    }
    let name = String::from_utf8_lossy(&a[0]);
    if !from {
        return Err(CmdError::err(format!("exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")));
    }
    if !by {
        return Err(CmdError::err(format!("exactly one of BYRADIUS and BYBOX can be specified for {name}")));
    }
    if s.any && !have_count {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    if s.count > 0 && s.order == Order::None && !s.any {
        s.order = Order::Asc;
    }
    Ok(())
}

impl Default for Search {
    /// Every field is set while the arguments are read; these are the values before that.
    fn default() -> Self {
        Search {
            center: (0.0, 0.0),
            shape: Shape::Radius(0.0),
            conversion: 1.0,
            order: Order::None,
            count: 0,
            any: false,
            with_dist: false,
            with_hash: false,
            with_coord: false,
            store: None,
        }
    }
}

fn lonlat(lon: &[u8], lat: &[u8]) -> CmdResult<(f64, f64)> {
    let (lon, lat) = (float(lon)?, float(lat)?);
    if !(-180.0..=180.0).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(CmdError::err(format!("invalid longitude,latitude pair {lon:.6},{lat:.6}")));
    }
    Ok((lon, lat))
}

fn radius_arg(arg: &[u8]) -> CmdResult<f64> {
    let r = float(arg).map_err(|_| CmdError::err("need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok(r)
}

fn member_center(ctx: &mut Ctx, key: &[u8], member: &[u8]) -> CmdResult<(f64, f64)> {
    position(ctx, key, member)?.ok_or_else(|| CmdError::err("could not decode requested zset member"))
}

/// GEOSEARCH / GEOSEARCHSTORE arguments from `a[i..]`, read in order as Redis does (so the
/// first problem met is the one reported). On a missing source key the center stays unset.
fn parse_search(ctx: &mut Ctx, a: &[Bytes], src: &[u8], mut i: usize, store: Option<Bytes>) -> CmdResult<Search> {
    let exists = ctx.get_zset(src)?.is_some();
    let (mut from_member, mut from_loc, mut by_radius, mut by_box) = (false, false, false, false);
    let mut s = Search::default();
    let store_ok = store.is_some();
    s.store = store.map(|k| (k, false));
    let mut have_count = false;
    while i < a.len() {
        let o = &a[i];
        if is(o, "FROMMEMBER") && i + 1 < a.len() && !from_loc {
            if exists {
                s.center = member_center(ctx, src, &a[i + 1])?;
            }
            from_member = true;
            i += 2;
        } else if is(o, "FROMLONLAT") && i + 2 < a.len() && !from_member {
            s.center = lonlat(&a[i + 1], &a[i + 2])?;
            from_loc = true;
            i += 3;
        } else if is(o, "BYRADIUS") && i + 2 < a.len() && !by_box {
            s.shape = Shape::Radius(radius_arg(&a[i + 1])?);
            s.conversion = unit(&a[i + 2])?;
            by_radius = true;
            i += 3;
        } else if is(o, "BYBOX") && i + 3 < a.len() && !by_radius {
            let w = float(&a[i + 1]).map_err(|_| CmdError::err("need numeric width"))?;
            let h = float(&a[i + 2]).map_err(|_| CmdError::err("need numeric height"))?;
            if w < 0.0 || h < 0.0 {
                return Err(CmdError::err("height or width cannot be negative"));
            }
            s.shape = Shape::Box(w, h);
            s.conversion = unit(&a[i + 3])?;
            by_box = true;
            i += 4;
        } else {
            i += option(a, i, &mut s, false, store_ok, &mut have_count)?.ok_or(CmdError::Syntax)?;
        }
    }
    check_options(a, &mut s, false, have_count, from_member || from_loc, by_radius || by_box)?;
    Ok(s)
}

/// What a search of a missing key answers: STORE deletes the destination and counts 0.
fn missing_source(ctx: &mut Ctx, s: &Search) -> CmdResult {
    match &s.store {
        Some((dst, _)) => {
            if ctx.delete(dst) {
                ctx.signal(dst);
                ctx.dirty(1);
            }
            Ok(Reply::Int(0))
        }
        None => Ok(Reply::Array(Vec::new())),
    }
}

/// Replies with or stores the result.
fn finish(ctx: &mut Ctx, s: &Search, found: Vec<(Bytes, f64, f64)>) -> CmdResult {
    if let Some((dst, dist)) = &s.store {
        let n = found.len();
        let existed = ctx.delete(dst);
        if n > 0 {
            let mut pairs = Vec::with_capacity(n * 2);
            for (m, d, score) in &found {
                let v = if *dist { d / s.conversion } else { *score };
                pairs.push(Bytes::from(crate::reply::format_double(v)));
                pairs.push(m.clone());
            }
            crate::cmd::zsets::zadd_flags(ctx, dst, false, false, false, &pairs)?;
        }
        if existed || n > 0 {
            ctx.signal(dst);
            ctx.dirty(1);
        }
        return Ok(Reply::Int(n as i64));
    }
    let plain = !(s.with_dist || s.with_hash || s.with_coord);
    Ok(Reply::Array(
        found
            .into_iter()
            .map(|(m, d, score)| {
                if plain {
                    return Reply::Bulk(m);
                }
                let mut item = vec![Reply::Bulk(m)];
                if s.with_dist {
                    item.push(Reply::Bulk(Bytes::from(format!("{:.4}", d / s.conversion))));
                }
                if s.with_hash {
                    item.push(Reply::Int(score as i64));
                }
                if s.with_coord {
                    let (lon, lat) = decode(score as u64);
                    item.push(Reply::Array(vec![Reply::DoubleText(Bytes::from(human(lon))), Reply::DoubleText(Bytes::from(human(lat)))]));
                }
                Reply::Array(item)
            })
            .collect(),
    ))
}

fn geosearch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let s = parse_search(ctx, a, &a[1].clone(), 2, None)?;
    if ctx.get_zset(&a[1])?.is_none() {
        return missing_source(ctx, &s);
    }
    let found = search(ctx, &a[1], &s)?;
    finish(ctx, &s, found)
}

fn geosearchstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let s = parse_search(ctx, a, &a[2].clone(), 3, Some(a[1].clone()))?;
    if ctx.get_zset(&a[2])?.is_none() {
        return missing_source(ctx, &s);
    }
    let found = search(ctx, &a[2], &s)?;
    finish(ctx, &s, found)
}

/// GEORADIUS / GEORADIUSBYMEMBER: `by_member` picks the center form.
fn radius_generic(ctx: &mut Ctx, a: &[Bytes], by_member: bool, read_only: bool) -> CmdResult {
    let exists = ctx.get_zset(&a[1])?.is_some();
    let mut s = Search::default();
    let first_option = if !by_member {
        s.center = lonlat(&a[2], &a[3])?;
        s.shape = Shape::Radius(radius_arg(&a[4])?);
        s.conversion = unit(&a[5])?;
        6
    } else {
        // On a missing key Redis skips the member and the distance and only reads the options.
        if exists {
            s.center = member_center(ctx, &a[1], &a[2])?;
            s.shape = Shape::Radius(radius_arg(&a[3])?);
            s.conversion = unit(&a[4])?;
        }
        5
    };
    let (mut j, mut have_count) = (first_option, false);
    while j < a.len() {
        j += option(a, j, &mut s, true, !read_only, &mut have_count)?.ok_or(CmdError::Syntax)?;
    }
    check_options(a, &mut s, true, have_count, true, true)?;
    if !exists {
        return missing_source(ctx, &s);
    }
    let found = search(ctx, &a[1], &s)?;
    finish(ctx, &s, found)
}

fn georadius(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    radius_generic(ctx, a, false, false)
}

fn georadius_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    radius_generic(ctx, a, false, true)
}

fn georadiusbymember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    radius_generic(ctx, a, true, false)
}

fn georadiusbymember_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    radius_generic(ctx, a, true, true)
}
