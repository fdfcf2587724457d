//! ANN benchmark of [`DenseIndex`] on a dataset in files, the Rust side of `bench/vector.sh`.
//!
//! Reads the directory written by `bench/vector/prepare.py`: `meta.json` (`dim`, `n`, `nq`, `k`,
//! `metric`, `filters`), `base.f32` and `query.f32` (little-endian f32 rows), `gt.i32` and
//! `gt_<filter>.i32` (the exact top-k ids per query, little-endian i32 rows). Ids are the row
//! numbers as strings. Prints one JSON object per line:
//!
//! * `{"event":"build",...}`: build seconds, threads, RSS growth and the index's own byte count;
//! * `{"event":"search","filter":"none","ef":..}`: recall@k and single-thread QPS through
//!   [`DenseIndex::search_explain`] (the path a query takes in the server) for every `--ef`: the
//!   best of three rounds of at least 0.5 s each, by wall clock (`qps`) and by the process's CPU
//!   time (`qps_cpu`, less sensitive to other load on the machine);
//! * the same with `"filter":"10pct"` / `"1pct"` (`id % m == r`, evaluated on the id string during
//!   the search, as the server's metadata filter would be) with the plans the index chose.
//!
//! `cargo run --release -p stashd-vector --example ann_bench -- DIR [--m 16] [--efc 200]
//! [--threads 2] [--ef 40,80,160,320] [--no-filters] [--metric cosine|l2|ip]`
//!
//! A hook for an HTTP mode (queries through the server's REST face) is left to the service crate:
//! `bench/vector.sh` runs it when `VECTOR_HTTP_BENCH` names a command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use stashd_vector::index::{similarity, DenseIndex, DenseParams, SearchPlan, Similarity};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    dir: PathBuf,
    m: usize,
    efc: usize,
    threads: usize,
    efs: Vec<usize>,
    filters: bool,
    sim: Option<String>,
}

fn parse_args() -> Res<Args> {
    let mut a = Args { dir: PathBuf::new(), m: 16, efc: 200, threads: 2, efs: vec![40, 80, 160, 320], filters: true, sim: None };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{x} needs a value"));
        match x.as_str() {
            "--m" => a.m = val()?.parse()?,
            "--efc" => a.efc = val()?.parse()?,
            "--threads" => a.threads = val()?.parse()?,
            "--ef" => a.efs = val()?.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--no-filters" => a.filters = false,
            "--metric" => a.sim = Some(val()?),
            _ if x.starts_with("--") => return Err(format!("unknown option {x}").into()),
            _ => a.dir = PathBuf::from(x),
        }
    }
    if a.dir.as_os_str().is_empty() {
        return Err(
            "usage: ann_bench DIR [--m 16] [--efc 200] [--threads 2] [--ef 40,80,160,320] [--no-filters] [--metric cosine|l2|ip]".into()
        );
    }
    Ok(a)
}

fn read_f32(path: &Path, dim: usize) -> Res<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path)?;
    let floats: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(floats.chunks_exact(dim).map(<[f32]>::to_vec).collect())
}

fn read_i32(path: &Path, k: usize) -> Res<Vec<Vec<u32>>> {
    let bytes = std::fs::read(path)?;
    let ids: Vec<u32> = bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u32).collect();
    Ok(ids.chunks_exact(k).map(<[u32]>::to_vec).collect())
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat` (0 where absent).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

fn field(meta: &Value, name: &str) -> Res<usize> {
    meta[name].as_u64().map(|v| v as usize).ok_or_else(|| format!("meta.json: no {name}").into())
}

/// Runs every query at `ef` on one thread; recall@k against `gt` and QPS.
fn run(idx: &DenseIndex, queries: &[Vec<f32>], gt: &[Vec<u32>], k: usize, ef: usize, filter: Option<&dyn Fn(&str) -> bool>) -> Res<Value> {
    // Warm-up: the first 50 queries.
    for q in queries.iter().take(50) {
        idx.search_explain(q, k, filter, Some(ef))?;
    }
    let mut plans: HashMap<&'static str, usize> = HashMap::new();
    let mut results = Vec::with_capacity(queries.len());
    // Three timed rounds of whole passes over the queries, each at least half a second; the
    // fastest round counts (the machine is shared). Recall and plans come from the first pass.
    let (mut qps, mut qps_cpu) = (0.0f64, 0.0f64);
    for round in 0..3 {
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        let mut passes = 0usize;
        while passes == 0 || t.elapsed().as_secs_f64() < 0.5 {
            for q in queries {
                let (hits, plan) = idx.search_explain(q, k, filter, Some(ef))?;
                if round == 0 && passes == 0 {
                    results.push(hits);
                    let name = match plan {
                        SearchPlan::ExactSmall => "exact_small",
                        SearchPlan::Graph => "graph",
                        SearchPlan::ExactSelective => "exact_selective",
                        SearchPlan::ExactAfterGraph => "exact_after_graph",
                    };
                    *plans.entry(name).or_default() += 1;
                }
            }
            passes += 1;
        }
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        let done = (queries.len() * passes) as f64;
        qps = qps.max(done / secs);
        if cpu > 0.0 {
            qps_cpu = qps_cpu.max(done / cpu);
        }
    }
    let mut found = 0usize;
    for (hits, truth) in results.iter().zip(gt) {
        found += hits.iter().filter(|h| h.id.parse::<u32>().is_ok_and(|id| truth.contains(&id))).count();
    }
    Ok(json!({
        "ef": ef,
        "recall": (found as f64 / (gt.len() * k) as f64 * 1e4).round() / 1e4,
        "qps": (qps * 10.0).round() / 10.0,
        "qps_cpu": (qps_cpu * 10.0).round() / 10.0,
        "plans": plans,
    }))
}

fn main() -> Res<()> {
    let a = parse_args()?;
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(a.dir.join("meta.json"))?)?;
    let (dim, n, nq, k) = (field(&meta, "dim")?, field(&meta, "n")?, field(&meta, "nq")?, field(&meta, "k")?);
    let sim = match a.sim.as_deref().or(meta["metric"].as_str()) {
        Some("l2") => Similarity::Euclidean,
        Some("ip") => Similarity::DotProduct,
        _ => Similarity::Cosine,
    };
    let base = read_f32(&a.dir.join("base.f32"), dim)?;
    let queries = read_f32(&a.dir.join("query.f32"), dim)?;
    let gt = read_i32(&a.dir.join("gt.i32"), k)?;
    if base.len() != n || queries.len() != nq || gt.len() != nq {
        return Err("the files do not match meta.json".into());
    }
    let params = DenseParams { m: a.m, ef_construction: a.efc, exact_threshold: 0, ..DenseParams::default() };
    let items: Vec<(String, Vec<f32>)> = base.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect();
    let rss0 = rss_bytes();
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let mut idx = DenseIndex::with_params(dim, sim, params)?;
    idx.upsert_many(&items, a.threads)?;
    let build = t.elapsed().as_secs_f64();
    let build_cpu = cpu_seconds() - cpu0;
    let rss_delta = rss_bytes().saturating_sub(rss0);
    drop(items);
    let stats = idx.stats();
    println!(
        "{}",
        json!({
            "engine": "stashd", "event": "build", "n": n, "dim": dim, "m": a.m, "ef_construction": a.efc,
            "threads": a.threads, "seconds": (build * 100.0).round() / 100.0,
            "cpu_seconds": (build_cpu * 100.0).round() / 100.0, "rss_delta_bytes": rss_delta,
            "index_bytes": stats.memory_bytes, "kernels": similarity::kernel_name(),
        })
    );
    for &ef in &a.efs {
        let mut line = run(&idx, &queries, &gt, k, ef, None)?;
        line["engine"] = json!("stashd");
        line["event"] = json!("search");
        line["filter"] = json!("none");
        println!("{line}");
    }
    if !a.filters {
        return Ok(());
    }
    if let Some(filters) = meta["filters"].as_object() {
        for (name, spec) in filters {
            let (Some(m), Some(r)) = (spec[0].as_u64(), spec[1].as_u64()) else { continue };
            let gt = read_i32(&a.dir.join(format!("gt_{name}.i32")), k)?;
            let f = move |id: &str| id.parse::<u64>().is_ok_and(|i| i % m == r);
            for &ef in &a.efs {
                let mut line = run(&idx, &queries, &gt, k, ef, Some(&f))?;
                line["engine"] = json!("stashd");
                line["event"] = json!("search");
                line["filter"] = json!(name);
                println!("{line}");
            }
        }
    }
    Ok(())
}
