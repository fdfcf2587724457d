//! The longest single insert while a map grows from empty to N entries: IndexMap (what the
//! keyspace used before issue 12) against the incrementally rehashed `Dict`, with the keyspace's
//! key and entry sizes. Run by bench/stalls.sh:
//! `cargo run --release -p stashd-engine --example grow_stalls -- 1000000`.

use std::time::Instant;

use stashd_engine::compact::CompactBytes;
use stashd_engine::dict::Dict;

/// An entry the size of the keyspace's (`Entry`: 40 bytes).
#[derive(Clone)]
#[allow(dead_code)] // only its size matters
struct Payload([u64; 5]);

fn measure(name: &str, n: usize, mut insert: impl FnMut(CompactBytes, Payload)) {
    let mut times: Vec<u64> = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let key = CompactBytes::from_slice(format!("key:{i:012}").as_bytes());
        let t = Instant::now();
        insert(key, Payload([i as u64; 5]));
        times.push(t.elapsed().as_nanos() as u64);
    }
    let total = start.elapsed();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    let pct = |p: f64| sorted[((n as f64 * p) as usize).min(n - 1)];
    let over = |ns: u64| times.iter().filter(|&&t| t > ns).count();
    println!(
        "{name}: {n} inserts in {:.0} ms; per insert p50 {} ns, p99 {} ns, p99.9 {} ns, p99.99 {} ns, max {:.3} ms; inserts over 100 µs: {}, over 1 ms: {}",
        total.as_secs_f64() * 1e3,
        pct(0.5),
        pct(0.99),
        pct(0.999),
        pct(0.9999),
        sorted[n - 1] as f64 / 1e6,
        over(100_000),
        over(1_000_000)
    );
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    // A second argument `indexmap` or `dict` runs only that one, once (for callgrind counts).
    let only = std::env::args().nth(2).unwrap_or_default();
    let rounds = if only.is_empty() { 2 } else { 1 };
    for round in 0..rounds {
        println!("round {}", round + 1);
        if only != "dict" {
            let mut im: indexmap::IndexMap<CompactBytes, Payload, ahash::RandomState> = Default::default();
            measure("IndexMap", n, |k, v| {
                im.insert(k, v);
            });
        }
        if only != "indexmap" {
            let mut d: Dict<CompactBytes, Payload> = Dict::default();
            measure("Dict    ", n, |k, v| {
                d.insert(k, v);
            });
        }
    }
}
