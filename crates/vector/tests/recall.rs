//! Recall of the HNSW graph against the exact scan, on seeded random data small enough for a
//! debug build: unfiltered, with a filter keeping 10% of the ids, and after deleting and updating
//! 20% of the vectors, for graphs built by single upserts and by the parallel bulk load. Every
//! check asserts that the graph answered, so a broken graph fails here instead of hiding behind
//! the exact fallback.

use stashd_vector::index::{DenseIndex, DenseParams, Hit, SearchPlan, Similarity};

const N: usize = 3000;
const DIM: usize = 32;
const QUERIES: usize = 100;
const K: usize = 10;
const MIN_RECALL: f64 = 0.95;
/// Candidate list size of the searches: low enough that a poorly linked graph misses neighbours.
const EF: usize = 64;

/// SplitMix64, mapped to floats in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.next()).collect()
    }
}

fn params() -> DenseParams {
    // The graph is built once 1000 vectors are in, so most of the 3000 go through graph inserts.
    DenseParams { exact_threshold: 1000, ef_construction: 48, ..DenseParams::default() }
}

fn filled(sim: Similarity, seed: u64) -> (DenseIndex, Vec<Vec<f32>>) {
    let mut rng = Rng(seed);
    let mut idx = DenseIndex::with_params(DIM, sim, params()).unwrap();
    let vectors: Vec<Vec<f32>> = (0..N).map(|_| rng.vector()).collect();
    for (i, v) in vectors.iter().enumerate() {
        assert!(idx.upsert(&format!("v{i}"), v).unwrap());
    }
    assert!(idx.has_graph(), "{N} vectors past the threshold must have a graph");
    (idx, vectors)
}

fn queries(seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    (0..QUERIES).map(|_| rng.vector()).collect()
}

fn overlap(approx: &[Hit], exact: &[Hit]) -> usize {
    approx.iter().filter(|h| exact.iter().any(|e| e.id == h.id)).count()
}

fn num(id: &str) -> usize {
    id[1..].parse().unwrap()
}

/// Unfiltered recall@10 through `search_explain`, asserting the graph answered every query.
fn unfiltered_recall(idx: &DenseIndex, qs: &[Vec<f32>]) -> f64 {
    let mut found = 0;
    for q in qs {
        let exact = idx.search_exact(q, K, None).unwrap();
        let (approx, plan) = idx.search_explain(q, K, None, Some(EF)).unwrap();
        assert_eq!(plan, SearchPlan::Graph, "an unfiltered search past the threshold walks the graph");
        assert_eq!(approx.len(), K);
        found += overlap(&approx, &exact);
    }
    found as f64 / (qs.len() * K) as f64
}

/// Recall@10 of the graph walk alone (no planner, no exact fallback) under a filter.
fn filtered_graph_recall(idx: &DenseIndex, qs: &[Vec<f32>], f: &dyn Fn(&str) -> bool) -> f64 {
    let mut found = 0;
    for q in qs {
        let exact = idx.search_exact(q, K, Some(f)).unwrap();
        assert_eq!(exact.len(), K);
        let approx = idx.search_graph(q, K, Some(f), Some(EF)).unwrap().expect("the index has a graph");
        assert!(approx.iter().all(|h| f(&h.id)), "a filtered walk returned an id the filter rejects");
        found += overlap(&approx, &exact);
        // What the planner serves is at least as good (exact scan or graph with fallback).
        let served = idx.search(q, K, Some(f)).unwrap();
        assert_eq!(served.len(), K);
        assert!(served.iter().all(|h| f(&h.id)));
    }
    found as f64 / (qs.len() * K) as f64
}

#[test]
fn unfiltered_recall_at_10() {
    for sim in [Similarity::Cosine, Similarity::Euclidean] {
        let (idx, _) = filled(sim, 1);
        let r = unfiltered_recall(&idx, &queries(2));
        eprintln!("{sim}: recall@10 {r:.3}");
        assert!(r >= MIN_RECALL, "{sim}: recall@10 {r} < {MIN_RECALL}");
    }
}

#[test]
fn filtered_recall_at_10_with_a_ten_percent_filter() {
    let (idx, _) = filled(Similarity::Cosine, 3);
    let tenth = |id: &str| num(id) % 10 == 7;
    let r = filtered_graph_recall(&idx, &queries(4), &tenth);
    eprintln!("10% filter: graph recall@10 {r:.3}");
    assert!(r >= MIN_RECALL, "10% filter: recall@10 {r} < {MIN_RECALL}");
}

#[test]
fn recall_after_deleting_and_updating_a_fifth() {
    let (mut idx, _) = filled(Similarity::Cosine, 5);
    let mut rng = Rng(6);
    // 10% deleted, 10% moved to new random positions: 20% of the points change.
    for i in (0..N).step_by(10) {
        assert!(idx.delete(&format!("v{i}")));
        assert!(!idx.upsert(&format!("v{}", i + 1), &rng.vector()).unwrap());
    }
    assert_eq!(idx.len(), N - N / 10);
    assert!(idx.has_graph());
    let qs = queries(7);
    let r = unfiltered_recall(&idx, &qs);
    eprintln!("after deletes and updates: recall@10 {r:.3}, {:?}", idx.stats());
    assert!(r >= MIN_RECALL, "after deletes and updates: recall@10 {r} < {MIN_RECALL}");
    for q in &qs {
        assert!(idx.search(q, K, None).unwrap().iter().all(|h| !num(&h.id).is_multiple_of(10)), "a deleted id came back");
    }
    let tenth = |id: &str| num(id) % 10 == 1;
    let r = filtered_graph_recall(&idx, &qs, &tenth);
    eprintln!("after deletes and updates, 10% filter (all updated ids): graph recall@10 {r:.3}");
    assert!(r >= MIN_RECALL, "after deletes and updates, 10% filter: recall@10 {r} < {MIN_RECALL}");
}

#[test]
fn bulk_load_recall_and_thread_counts_agree() {
    let mut rng = Rng(8);
    let items: Vec<(String, Vec<f32>)> = (0..N).map(|i| (format!("v{i}"), rng.vector())).collect();
    let mut two = DenseIndex::with_params(DIM, Similarity::Cosine, params()).unwrap();
    assert_eq!(two.upsert_many(&items, 2).unwrap(), N);
    assert!(two.has_graph());
    assert_eq!(two.len(), N);
    let qs = queries(9);
    let r = unfiltered_recall(&two, &qs);
    eprintln!("bulk load, 2 threads: recall@10 {r:.3}");
    assert!(r >= MIN_RECALL, "bulk load: recall@10 {r} < {MIN_RECALL}");
    let tenth = |id: &str| num(id) % 10 == 5;
    let r = filtered_graph_recall(&two, &qs, &tenth);
    assert!(r >= MIN_RECALL, "bulk load, 10% filter: recall@10 {r} < {MIN_RECALL}");
    // The graph depends on the data, not on how many threads built it.
    let mut three = DenseIndex::with_params(DIM, Similarity::Cosine, params()).unwrap();
    three.upsert_many(&items, 3).unwrap();
    assert_eq!((two.stats().len, two.stats().graph_nodes), (three.stats().len, three.stats().graph_nodes));
    for q in &qs[..20] {
        assert_eq!(two.search_explain(q, K, None, Some(16)).unwrap(), three.search_explain(q, K, None, Some(16)).unwrap());
    }
}
