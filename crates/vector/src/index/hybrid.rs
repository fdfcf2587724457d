//! Fusion of ranked dense and sparse result lists (hybrid queries).
//!
//! Both functions take ranked lists (best first, as the indexes return them) and return one list
//! sorted by fused score, descending, ties by id. An id may appear in any subset of the lists; a
//! list that lacks it contributes nothing. Only the first occurrence of an id within one list
//! counts.
//!
//! * **RRF** (reciprocal rank fusion, the default): `Σ 1 / (rank + 60)` with the 0-based rank in
//!   each list. Upstash's verified values: first in both lists → `2/60 = 0.033333335`; first in one
//!   and third in the other → `1/60 + 1/62 = 0.032795697`.
//! * **DBSF** (distribution-based score fusion): each list's scores are normalised by
//!   `(s − (μ − 3σ)) / (6σ)`, with μ the mean and σ the **sample** standard deviation (n − 1) of
//!   that list, then summed. A list whose σ is 0 (one score, or all equal) maps every score to
//!   0.5. Values are not clamped to [0, 1] (the reference gives no clamp).
//!
//! The candidate lists should go deeper than the final `top_k` (a hit ranked low in one list can
//! win by appearing in both); how deep is the caller's choice.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::Hit;

/// The RRF constant `k` of `1 / (rank + k)`.
pub const RRF_K: f64 = 60.0;

/// A fusion algorithm (`fusionAlgorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fusion {
    /// Reciprocal rank fusion (the default).
    #[default]
    Rrf,
    /// Distribution-based score fusion.
    Dbsf,
}

impl fmt::Display for Fusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fusion::Rrf => "RRF",
            Fusion::Dbsf => "DBSF",
        })
    }
}

/// The error of parsing an unknown fusion algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown fusion algorithm: {0}")]
pub struct UnknownFusion(pub String);

impl FromStr for Fusion {
    type Err = UnknownFusion;

    /// Parses `RRF` or `DBSF`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "RRF" => Ok(Fusion::Rrf),
            "DBSF" => Ok(Fusion::Dbsf),
            _ => Err(UnknownFusion(s.to_string())),
        }
    }
}

/// Fuses ranked lists with `fusion` and keeps the best `top_k`.
pub fn fuse(fusion: Fusion, lists: &[&[Hit]], top_k: usize) -> Vec<Hit> {
    let mut fused = match fusion {
        Fusion::Rrf => rrf(lists),
        Fusion::Dbsf => dbsf(lists),
    };
    fused.truncate(top_k);
    fused
}

/// Reciprocal rank fusion of ranked lists (see the module docs).
pub fn rrf(lists: &[&[Hit]]) -> Vec<Hit> {
    accumulate(lists, |list| list.iter().enumerate().map(|(rank, _)| 1.0 / (rank as f64 + RRF_K)).collect())
}

/// Distribution-based score fusion of ranked lists (see the module docs).
pub fn dbsf(lists: &[&[Hit]]) -> Vec<Hit> {
    accumulate(lists, |list| {
        let n = list.len();
        if n == 0 {
            return Vec::new();
        }
        let mean = list.iter().map(|h| f64::from(h.score)).sum::<f64>() / n as f64;
        let var = if n > 1 { list.iter().map(|h| (f64::from(h.score) - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
        let sigma = var.sqrt();
        list.iter()
            .map(|h| if sigma > 0.0 && sigma.is_finite() { (f64::from(h.score) - (mean - 3.0 * sigma)) / (6.0 * sigma) } else { 0.5 })
            .collect()
    })
}

/// Sums per-list contributions (one per position, from `contrib`) by id; sorted by the sum,
/// descending, ties by id.
fn accumulate(lists: &[&[Hit]], contrib: impl Fn(&[Hit]) -> Vec<f64>) -> Vec<Hit> {
    let mut sums: HashMap<&str, f64> = HashMap::new();
    for list in lists {
        let values = contrib(list);
        let mut seen: HashMap<&str, ()> = HashMap::with_capacity(list.len());
        for (hit, value) in list.iter().zip(values) {
            if seen.insert(hit.id.as_str(), ()).is_none() {
                *sums.entry(hit.id.as_str()).or_insert(0.0) += value;
            }
        }
    }
    let mut out: Vec<(f64, &str)> = sums.into_iter().map(|(id, s)| (s, id)).collect();
    out.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    out.into_iter().map(|(s, id)| Hit { id: id.to_string(), score: s as f32 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(&str, f32)]) -> Vec<Hit> {
        items.iter().map(|(id, s)| Hit::new(*id, *s)).collect()
    }

    #[test]
    fn rrf_reference_values() {
        // First in both lists: 2/60.
        let dense = list(&[("a", 0.9), ("b", 0.8), ("c", 0.7)]);
        let sparse = list(&[("a", 5.0), ("d", 4.0), ("b", 1.0)]);
        let fused = rrf(&[&dense, &sparse]);
        assert_eq!(fused[0], Hit::new("a", 0.033_333_335));
        assert_eq!(fused[0].score.to_string(), "0.033333335");
        // b: ranks 1 and 2; d: rank 1 only; c: rank 2 only.
        assert_eq!(fused[1], Hit::new("b", (1.0f64 / 61.0 + 1.0 / 62.0) as f32));
        assert_eq!(fused[2], Hit::new("d", (1.0f64 / 61.0) as f32));
        assert_eq!(fused[3], Hit::new("c", (1.0f64 / 62.0) as f32));
        assert_eq!(fuse(Fusion::Rrf, &[&dense, &sparse], 2).len(), 2);
        // First in one list and third in the other: 1/60 + 1/62.
        let dense = list(&[("p", 0.9), ("q", 0.8), ("r", 0.7)]);
        let sparse = list(&[("r", 3.0)]);
        let fused = rrf(&[&dense, &sparse]);
        assert_eq!(fused[0], Hit::new("r", 0.032_795_697));
        assert_eq!(fused[0].score.to_string(), "0.032795697");
    }

    #[test]
    fn rrf_ties_break_by_id_and_duplicates_count_once() {
        let x = list(&[("z", 1.0), ("y", 0.5)]);
        let y = list(&[("y", 1.0), ("z", 0.5), ("y", 0.1)]);
        let fused = rrf(&[&x, &y]);
        assert_eq!(fused.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["y", "z"]);
        assert_eq!(fused[0].score, fused[1].score);
        assert!(rrf(&[]).is_empty());
    }

    #[test]
    fn dbsf_reference_values() {
        // Two scores with the sample σ: the top one maps to 0.5 + √2/12 = 0.617851 (the
        // population σ would give 0.6667), the other to 0.5 − √2/12.
        let two = list(&[("a", 0.9), ("b", 0.7)]);
        let fused = dbsf(&[&two, &[]]);
        assert_eq!(fused[0].id, "a");
        assert!((fused[0].score - 0.617_851).abs() < 1e-6, "{}", fused[0].score);
        assert!((fused[1].score - 0.382_149).abs() < 1e-6, "{}", fused[1].score);
        // The ratio does not depend on the scale of the scores.
        let scaled = list(&[("a", 900.0), ("b", 12.0)]);
        assert_eq!(dbsf(&[&scaled])[0].score, fused[0].score);
        // A single score (σ = 0) maps to 0.5.
        assert_eq!(dbsf(&[&list(&[("only", 0.3)])]), [Hit::new("only", 0.5)]);
        assert_eq!(dbsf(&[&list(&[("p", 2.0), ("q", 2.0)])]), [Hit::new("p", 0.5), Hit::new("q", 0.5)]);
    }

    #[test]
    fn dbsf_sums_across_lists() {
        // Dense: mean 0.6, sample σ 0.1 → a 0.6667, b 0.5, c 0.3333 (× 1/(6σ) spacing).
        let dense = list(&[("a", 0.7), ("b", 0.6), ("c", 0.5)]);
        // Sparse: mean 4, σ 2 → c 0.6667, a 0.5, d 0.3333.
        let sparse = list(&[("c", 6.0), ("a", 4.0), ("d", 2.0)]);
        let fused = dbsf(&[&dense, &sparse]);
        let get = |id: &str| fused.iter().find(|h| h.id == id).unwrap().score;
        assert!((get("a") - (4.0 / 6.0 + 0.5) as f32).abs() < 1e-6);
        assert!((get("c") - (2.0 / 6.0 + 4.0 / 6.0) as f32).abs() < 1e-6);
        assert!((get("b") - 0.5).abs() < 1e-6);
        assert!((get("d") - (2.0 / 6.0) as f32).abs() < 1e-6);
        assert_eq!(fused.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["a", "c", "b", "d"]);
        assert_eq!(fuse(Fusion::Dbsf, &[&dense, &sparse], 1), [fused[0].clone()]);
    }

    #[test]
    fn fusion_names() {
        assert_eq!("dbsf".parse::<Fusion>(), Ok(Fusion::Dbsf));
        assert_eq!("RRF".parse::<Fusion>(), Ok(Fusion::Rrf));
        assert_eq!(Fusion::default(), Fusion::Rrf);
        assert_eq!(Fusion::Dbsf.to_string(), "DBSF");
        assert!("LINEAR".parse::<Fusion>().is_err());
    }
}
