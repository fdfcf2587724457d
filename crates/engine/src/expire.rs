//! Active expiry: Redis's adaptive sampling cycle over each database's keys with a TTL.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::engine::Engine;
use crate::session::Face;
use crate::Ctx;

/// Keys sampled per database per loop (Redis: 20).
const SAMPLE: usize = 20;
/// Loop again while more than this share of the sample had expired (Redis: 10%).
const STALE_PERCENT: usize = 10;
/// Hash fields reclaimed at most per cycle, over all databases (bounds the work of one cycle).
pub(crate) const FIELD_QUOTA: usize = 1000;
/// Key-table buckets each database's incremental rehash moves per cycle (Redis's cron rehashes
/// for up to 1 ms per database; writes move a few buckets each as well).
const REHASH_BUCKETS: usize = 10_000;

/// The hash-field part of a cycle: samples the keys registered as hashes with field TTLs and
/// reclaims their expired fields (deleting hashes left empty), looping like the key cycle while
/// the sample was stale, within `budget` and [`FIELD_QUOTA`]. Keys found without field TTLs (or
/// gone, or no longer hashes) are unregistered. Returns the fields reclaimed.
fn hash_fields_cycle(ctx: &mut Ctx, rng: &mut impl Rng, start: Instant, budget: Duration) -> usize {
    let now = ctx.now;
    let mut quota = FIELD_QUOTA;
    let mut reclaimed = 0;
    for dbi in 0..ctx.ks.dbs.len() {
        loop {
            let n = ctx.ks.dbs[dbi].field_ttl_len();
            if n == 0 || quota == 0 {
                break;
            }
            let checks = n.min(SAMPLE);
            let mut stale = 0;
            for _ in 0..checks {
                let len = ctx.ks.dbs[dbi].field_ttl_len();
                if len == 0 || quota == 0 {
                    break;
                }
                let Some(key) = ctx.ks.dbs[dbi].field_ttl_key(rng.gen_range(0..len)).cloned() else { break };
                let (keep, due, key_expired) = match ctx.ks.dbs[dbi].map.get(&key) {
                    Some(e) => match &e.value {
                        crate::value::Value::Hash(h) => (h.ttl_count() > 0, h.has_expired(now), e.expire_at != 0 && e.expire_at <= now),
                        _ => (false, false, false),
                    },
                    None => (false, false, false),
                };
                if key_expired {
                    // The whole key is past its TTL: reclaim it as the key cycle would.
                    ctx.reclaim_expired(dbi, &key);
                    stale += 1;
                    continue;
                }
                if !keep {
                    ctx.ks.dbs[dbi].untrack_field_ttls(&key);
                    continue;
                }
                if due {
                    let (fields, deleted) = ctx.reclaim_expired_fields(dbi, &key, quota);
                    quota -= fields.min(quota);
                    reclaimed += fields;
                    stale += 1;
                    let left = ctx.ks.dbs[dbi]
                        .map
                        .get(&key)
                        .is_some_and(|e| matches!(&e.value, crate::value::Value::Hash(h) if h.ttl_count() > 0));
                    if !deleted && !left {
                        ctx.ks.dbs[dbi].untrack_field_ttls(&key);
                    }
                }
            }
            if stale * 100 <= checks * STALE_PERCENT || start.elapsed() >= budget {
                break;
            }
        }
    }
    reclaimed
}

/// Runs one cycle within `budget`; returns the number of keys (and hash fields) reclaimed.
pub fn active_cycle(engine: &Engine, budget: Duration) -> usize {
    let start = Instant::now();
    let shared = &engine.shared;
    let mut ks = shared.ks.lock();
    let now = shared.clock.now_ms();
    if !shared.pause.expiry_allowed(now) {
        return 0;
    }
    let mut session = crate::Session::new(0, Face::Resp, Some(shared.acl.superuser()));
    let mut ctx = Ctx::new(&mut ks, &mut session, shared, now);
    let mut reclaimed = 0;
    let mut rng = rand::thread_rng();
    for db in ctx.ks.dbs.iter_mut() {
        db.rehash_some(REHASH_BUCKETS);
    }
    for dbi in 0..ctx.ks.dbs.len() {
        loop {
            let n = ctx.ks.dbs[dbi].ttl_len();
            if n == 0 {
                break;
            }
            let mut expired = 0;
            let checks = n.min(SAMPLE);
            for _ in 0..checks {
                let len = ctx.ks.dbs[dbi].ttl_len();
                if len == 0 {
                    break;
                }
                let i = rng.gen_range(0..len);
                let Some(key) = ctx.ks.dbs[dbi].ttl_key(i).cloned() else { break };
                let due = ctx.ks.dbs[dbi].map.get(&key).is_some_and(|e| e.expire_at != 0 && e.expire_at <= now);
                if due {
                    ctx.reclaim_expired(dbi, &key);
                    expired += 1;
                }
            }
            reclaimed += expired;
            if expired * 100 <= checks * STALE_PERCENT || start.elapsed() >= budget {
                break;
            }
        }
    }
    reclaimed += hash_fields_cycle(&mut ctx, &mut rng, start, budget);
    let effects = std::mem::take(&mut ctx.effects);
    drop(ctx);
    if !effects.is_empty() {
        if let Some(aof) = shared.aof() {
            aof.append_log(&effects);
        }
    }
    reclaimed
}
