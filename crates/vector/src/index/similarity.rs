//! Similarity functions and Upstash's dense score formulas.
//!
//! | similarity    | score                         |
//! |---------------|-------------------------------|
//! | `COSINE`      | `(1 + cos(a, b)) / 2`         |
//! | `EUCLIDEAN`   | `1 / (1 + squared_distance)`  |
//! | `DOT_PRODUCT` | `(1 + a·b) / 2`               |
//!
//! The kernels ([`dot`], [`l2_squared`]) are plain loops over fixed-width chunks with one
//! accumulator per lane, which the compiler turns into SIMD code without `unsafe`.
//!
//! Cosine is computed from the raw vectors and their self dot products, `a·b / sqrt((a·a)(b·b))`,
//! with the division in f64 and the cosine clamped to [-1, 1]. The self dot product is computed
//! once at insert. A query identical to a stored vector yields `d / sqrt(d·d)` with the same `d` on
//! both sides, which is exactly 1 in IEEE arithmetic, so its score is exactly 1 (clients compare
//! `score == 1`). A zero vector has no direction; its cosine with anything is taken as 0.

use std::fmt;
use std::str::FromStr;

/// Number of independent accumulators in the kernels (two 128-bit or one 256-bit register).
const LANES: usize = 8;

/// How two dense vectors are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Similarity {
    /// Angle only: `(1 + cos) / 2`, in [0, 1].
    #[default]
    Cosine,
    /// Distance: `1 / (1 + |a - b|²)`, in (0, 1].
    Euclidean,
    /// Inner product: `(1 + a·b) / 2`, in [0, 1] for unit-length vectors.
    DotProduct,
}

impl Similarity {
    /// The wire name (`COSINE`, `EUCLIDEAN`, `DOT_PRODUCT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Similarity::Cosine => "COSINE",
            Similarity::Euclidean => "EUCLIDEAN",
            Similarity::DotProduct => "DOT_PRODUCT",
        }
    }

    /// The score of `b` for the query `a` (the vectors must have the same length).
    pub fn score(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Similarity::Cosine => cosine_score(dot(a, b), dot(a, a), dot(b, b)),
            Similarity::Euclidean => euclidean_score(l2_squared(a, b)),
            Similarity::DotProduct => dot_product_score(dot(a, b)),
        }
    }
}

impl fmt::Display for Similarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown similarity name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown similarity function: {0}")]
pub struct UnknownSimilarity(pub String);

impl FromStr for Similarity {
    type Err = UnknownSimilarity;

    /// Parses the wire name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "COSINE" => Ok(Similarity::Cosine),
            "EUCLIDEAN" => Ok(Similarity::Euclidean),
            "DOT_PRODUCT" | "DOTPRODUCT" => Ok(Similarity::DotProduct),
            _ => Err(UnknownSimilarity(s.to_string())),
        }
    }
}

/// The inner product of two slices (over the shorter length).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    reduce(acc) + tail
}

/// The squared Euclidean distance of two slices (over the shorter length).
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| {
            let d = x - y;
            d * d
        })
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            let d = x - y;
            *s += d * d;
        }
    }
    reduce(acc) + tail
}

/// Pairwise sum of the lanes (a fixed order, so results are reproducible).
#[inline]
fn reduce(acc: [f32; LANES]) -> f32 {
    let a = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]];
    (a[0] + a[2]) + (a[1] + a[3])
}

/// The cosine of two vectors from their inner product and self inner products, in f64 and
/// clamped to [-1, 1]; 0 when either vector is zero.
pub fn cosine(dot_ab: f32, dot_aa: f32, dot_bb: f32) -> f64 {
    let denom = (f64::from(dot_aa) * f64::from(dot_bb)).sqrt();
    if denom > 0.0 && denom.is_finite() {
        (f64::from(dot_ab) / denom).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// COSINE score `(1 + cos) / 2` from the inner product and self inner products.
pub fn cosine_score(dot_ab: f32, dot_aa: f32, dot_bb: f32) -> f32 {
    ((1.0 + cosine(dot_ab, dot_aa, dot_bb)) / 2.0) as f32
}

/// EUCLIDEAN score `1 / (1 + d²)` from the squared distance.
pub fn euclidean_score(distance_squared: f32) -> f32 {
    (1.0 / (1.0 + f64::from(distance_squared))) as f32
}

/// DOT_PRODUCT score `(1 + a·b) / 2` from the inner product (not clamped: vectors that are not
/// unit-length may score outside [0, 1], as the formula says).
pub fn dot_product_score(dot_ab: f32) -> f32 {
    ((1.0 + f64::from(dot_ab)) / 2.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
    }

    #[test]
    fn kernels_match_naive_sums_for_all_tail_lengths() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let d = dot(&a, &b);
            assert!((f64::from(d) - naive_dot(&a, &b)).abs() < 1e-5, "n={n}");
            let diff: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
            let l2 = l2_squared(&a, &b);
            assert!((f64::from(l2) - naive_dot(&diff, &diff)).abs() < 1e-5, "n={n}");
        }
    }

    #[test]
    fn cosine_scores_by_hand() {
        // Same direction, opposite, orthogonal, 45 degrees.
        assert_eq!(Similarity::Cosine.score(&[1.0, 0.0], &[2.0, 0.0]), 1.0);
        assert_eq!(Similarity::Cosine.score(&[1.0, 0.0], &[-3.0, 0.0]), 0.0);
        assert_eq!(Similarity::Cosine.score(&[1.0, 0.0], &[0.0, 5.0]), 0.5);
        let s = Similarity::Cosine.score(&[1.0, 0.0], &[1.0, 1.0]);
        assert_eq!(s, ((1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0) as f32);
        // [1,2,3]·[4,5,6] = 32, |a|²=14, |b|²=77: cos = 32/sqrt(1078) = 0.974631846...
        let s = Similarity::Cosine.score(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
        assert!((s - 0.987_315_9).abs() < 1e-6, "{s}");
        // Zero vector: cosine 0.
        assert_eq!(Similarity::Cosine.score(&[0.0, 0.0], &[1.0, 1.0]), 0.5);
    }

    #[test]
    fn identical_vectors_score_exactly_one() {
        let vs: [&[f32]; 4] = [&[0.1, 0.2], &[0.3, 0.1, 0.7, 0.9, 1e-3], &[123.456, -7.5, 0.001], &[0.2; 1536]];
        for v in vs {
            assert_eq!(Similarity::Cosine.score(v, v), 1.0, "{v:?}");
            assert_eq!(Similarity::Euclidean.score(v, v), 1.0, "{v:?}");
        }
        // 1000 pseudo-random vectors of awkward dimensions.
        let mut x = 0x9e37_79b9_u32;
        for dim in [3usize, 17, 384, 769] {
            for _ in 0..250 {
                let v: Vec<f32> = (0..dim)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        (x as f32 / u32::MAX as f32) * 2.0 - 1.0
                    })
                    .collect();
                assert_eq!(Similarity::Cosine.score(&v, &v), 1.0);
            }
        }
    }

    #[test]
    fn euclidean_scores_by_hand() {
        // d² = 3² + 4² = 25 → 1/26.
        assert_eq!(Similarity::Euclidean.score(&[0.0, 0.0], &[3.0, 4.0]), (1.0f64 / 26.0) as f32);
        // d² = 1 → 0.5.
        assert_eq!(Similarity::Euclidean.score(&[1.0, 1.0], &[1.0, 0.0]), 0.5);
        // [0.1,0.2] vs [0.3,0.4]: d² = 0.08 → 1/1.08 = 0.9259259...
        let s = Similarity::Euclidean.score(&[0.1, 0.2], &[0.3, 0.4]);
        assert!((s - 0.925_925_9).abs() < 1e-6, "{s}");
    }

    #[test]
    fn dot_product_scores_by_hand() {
        assert_eq!(Similarity::DotProduct.score(&[1.0, 0.0], &[1.0, 0.0]), 1.0);
        assert_eq!(Similarity::DotProduct.score(&[1.0, 0.0], &[-1.0, 0.0]), 0.0);
        assert_eq!(Similarity::DotProduct.score(&[0.6, 0.8], &[0.8, 0.6]), 0.98);
        // Not clamped for non-unit input: (1 + 32) / 2.
        assert_eq!(Similarity::DotProduct.score(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 16.5);
    }

    #[test]
    fn names_round_trip() {
        for s in [Similarity::Cosine, Similarity::Euclidean, Similarity::DotProduct] {
            assert_eq!(s.as_str().parse::<Similarity>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!("cosine".parse::<Similarity>(), Ok(Similarity::Cosine));
        assert!("MANHATTAN".parse::<Similarity>().is_err());
    }
}
