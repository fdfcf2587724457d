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

/// Runs one cycle within `budget`; returns the number of keys reclaimed.
pub fn active_cycle(engine: &Engine, budget: Duration) -> usize {
    let start = Instant::now();
    let shared = &engine.shared;
    let mut ks = shared.ks.lock();
    let now = shared.clock.now_ms();
    let mut session = crate::Session::new(0, Face::Resp, crate::Access::Full);
    let mut ctx = Ctx::new(&mut ks, &mut session, shared, now);
    let mut reclaimed = 0;
    let mut rng = rand::thread_rng();
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
    let effects = std::mem::take(&mut ctx.effects);
    drop(ctx);
    if !effects.is_empty() {
        if let Some(aof) = shared.aof() {
            aof.append_log(&effects);
        }
    }
    reclaimed
}
