//! Geo commands (Redis `geo.c`, `geohash.c`): positions stored in a sorted set as 52-bit
//! interleaved geohashes (latitude limited to ±85.05112878, as in Redis), so GEOADD is a ZADD
//! and every ZSET command works on geo keys. The searches are in `geo_search.rs`.

use bytes::Bytes;

use crate::args::{self, is};
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::{Ctx, Reply};

/// Geo command rows.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("geoadd", -5, WRITE | DENYOOM, 1, 1, 1, geoadd, "geo"),
    cmd!("geopos", -2, READONLY, 1, 1, 1, geopos, "geo"),
    cmd!("geodist", -4, READONLY, 1, 1, 1, geodist, "geo"),
    cmd!("geohash", -2, READONLY, 1, 1, 1, geohash, "geo"),
];

pub(crate) const LAT_MIN: f64 = -85.05112878;
pub(crate) const LAT_MAX: f64 = 85.05112878;
pub(crate) const LON_MIN: f64 = -180.0;
pub(crate) const LON_MAX: f64 = 180.0;
/// Bits per coordinate in a stored score.
pub(crate) const STEP: u32 = 26;
/// Redis's Earth radius for distances, in meters.
pub(crate) const EARTH_RADIUS: f64 = 6372797.560856;

/// Spreads the low 32 bits of `v` to the even bit positions.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// The inverse of [`spread`].
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    (x | (x >> 16)) as u32
}

/// `geohashEncode`: latitude in the even bits, longitude in the odd ones; `None` out of range.
fn encode(lon: f64, lat: f64, lat_range: (f64, f64)) -> Option<u64> {
    encode_step(lon, lat, lat_range, STEP)
}

/// [`encode`] at `step` bits per coordinate.
pub(crate) fn encode_step(lon: f64, lat: f64, lat_range: (f64, f64), step: u32) -> Option<u64> {
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_range.0) / (lat_range.1 - lat_range.0) * scale;
    let lon_off = (lon - LON_MIN) / (LON_MAX - LON_MIN) * scale;
    Some(spread(lat_off as u32) | (spread(lon_off as u32) << 1))
}

/// A geohash cell: (longitude min, max, latitude min, max), as `geohashDecode` computes it.
pub(crate) fn cell(bits: u64, step: u32) -> (f64, f64, f64, f64) {
    let (ilat, ilon) = (squash(bits) as f64, squash(bits >> 1) as f64);
    let scale = (1u64 << step) as f64;
    let (lat_span, lon_span) = (LAT_MAX - LAT_MIN, LON_MAX - LON_MIN);
    (
        LON_MIN + ilon / scale * lon_span,
        LON_MIN + (ilon + 1.0) / scale * lon_span,
        LAT_MIN + ilat / scale * lat_span,
        LAT_MIN + (ilat + 1.0) / scale * lat_span,
    )
}

/// `geohashDecodeToLongLatWGS84`: the center of the cell, clamped to the valid ranges.
pub(crate) fn decode(bits: u64) -> (f64, f64) {
    let (lon_min, lon_max, lat_min, lat_max) = cell(bits, STEP);
    let (lon, lat) = ((lon_min + lon_max) / 2.0, (lat_min + lat_max) / 2.0);
    (lon.clamp(LON_MIN, LON_MAX), lat.clamp(LAT_MIN, LAT_MAX))
}

/// Great-circle distance in meters (`geohashGetDistance`).
pub(crate) fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lon1r, lon2r) = (lon1.to_radians(), lon2.to_radians());
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return EARTH_RADIUS * (lat2.to_radians() - lat1.to_radians()).abs();
    }
    let (lat1r, lat2r) = (lat1.to_radians(), lat2.to_radians());
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

/// A coordinate as Redis prints it (`ld2string` in human mode: `%.17Lf`, then trailing zeros
/// and a trailing point dropped).
pub(crate) fn human(v: f64) -> String {
    let mut s = format!("{v:.17}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

pub(crate) fn position(ctx: &mut Ctx, key: &[u8], member: &[u8]) -> CmdResult<Option<(f64, f64)>> {
    Ok(ctx.get_zset(key)?.and_then(|z| z.score(member)).map(|s| decode(s as u64)))
}

/// `GEOADD key [NX|XX] [CH] longitude latitude member ...`
fn geoadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut i = 2;
    while i < a.len() {
        if is(&a[i], "NX") {
            nx = true;
        } else if is(&a[i], "XX") {
            xx = true;
        } else if is(&a[i], "CH") {
            ch = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &a[i..];
    // Redis answers both a bad count and NX with XX with a syntax error.
    if rest.is_empty() || !rest.len().is_multiple_of(3) || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    let mut pairs = Vec::with_capacity(rest.len() / 3 * 2);
    for t in rest.chunks(3) {
        let (lon, lat) = (args::float(&t[0])?, args::float(&t[1])?);
        let bits = encode(lon, lat, (LAT_MIN, LAT_MAX))
            .ok_or_else(|| CmdError::err(format!("invalid longitude,latitude pair {lon:.6},{lat:.6}")))?;
        pairs.push(Bytes::from(bits.to_string()));
        pairs.push(t[2].clone());
    }
    crate::cmd::zsets::zadd_flags(ctx, &a[1], nx, xx, ch, &pairs)
}

fn geopos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(a.len() - 2);
    for m in &a[2..] {
        out.push(match position(ctx, &a[1], m)? {
            Some((lon, lat)) => Reply::Array(vec![Reply::DoubleText(Bytes::from(human(lon))), Reply::DoubleText(Bytes::from(human(lat)))]),
            None => Reply::NilArray,
        });
    }
    Ok(Reply::Array(out))
}

/// Meters per unit: m, km, ft, mi.
pub(crate) fn unit(arg: &[u8]) -> CmdResult<f64> {
    match args::text(arg).to_ascii_lowercase().as_str() {
        "m" => Ok(1.0),
        "km" => Ok(1000.0),
        "ft" => Ok(0.3048),
        "mi" => Ok(1609.34),
        _ => Err(CmdError::err("unsupported unit provided. please use M, KM, FT, MI")),
    }
}

fn geodist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let to_meters = match a.len() {
        4 => 1.0,
        5 => unit(&a[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let (Some(p1), Some(p2)) = (position(ctx, &a[1], &a[2])?, position(ctx, &a[1], &a[3])?) else {
        return Ok(Reply::Nil);
    };
    let d = distance(p1.0, p1.1, p2.0, p2.1) / to_meters;
    Ok(Reply::Bulk(Bytes::from(format!("{d:.4}"))))
}

fn geohash(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let mut out = Vec::with_capacity(a.len() - 2);
    for m in &a[2..] {
        // Re-encoded with the standard latitude range (±90) for a standard geohash string.
        let hash = position(ctx, &a[1], m)?.and_then(|(lon, lat)| encode(lon, lat, (-90.0, 90.0)));
        out.push(match hash {
            Some(bits) => {
                let text: String =
                    (0..11).map(|i| if i == 10 { '0' } else { ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize] as char }).collect();
                Reply::Bulk(Bytes::from(text))
            }
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{b, T};

    fn b_(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn redis_documentation_examples() {
        let mut t = T::new();
        assert_eq!(t.ok(&["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]), Reply::Int(2));
        assert_eq!(t.ok(&["GEODIST", "Sicily", "Palermo", "Catania"]), b("166274.1516"));
        assert_eq!(t.ok(&["GEODIST", "Sicily", "Palermo", "Catania", "km"]), b("166.2742"));
        assert_eq!(t.ok(&["GEODIST", "Sicily", "Palermo", "Nope"]), Reply::Nil);
        assert_eq!(
            t.ok(&["GEOPOS", "Sicily", "Palermo", "Nope"]),
            Reply::Array(vec![
                Reply::Array(vec![Reply::DoubleText(b_("13.36138933897018433")), Reply::DoubleText(b_("38.11555639549629859"))]),
                Reply::NilArray
            ])
        );
        assert_eq!(t.ok(&["GEOHASH", "Sicily", "Palermo", "Catania"]), Reply::Array(vec![b("sqc8b49rny0"), b("sqdtr74hyu0")]));
        assert_eq!(t.err(&["GEOADD", "Sicily", "181", "10", "x"]), "ERR invalid longitude,latitude pair 181.000000,10.000000");
        assert_eq!(t.err(&["GEOADD", "Sicily", "1", "2", "x", "3"]), "ERR syntax error");
        assert_eq!(t.ok(&["ZSCORE", "Sicily", "Palermo"]), Reply::Double(3479099956230698.0));
    }

    #[test]
    fn human_matches_redis_ld2string() {
        assert_eq!(human(13.361_389_338_970_184), "13.36138933897018433");
        assert_eq!(human(-0.5), "-0.5");
        assert_eq!(human(100.0), "100");
        assert_eq!(human(0.001), "0.001");
    }
}
