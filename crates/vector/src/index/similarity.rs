//! Similarity functions and Upstash's dense score formulas.
//!
//! | similarity    | score                         |
//! |---------------|-------------------------------|
//! | `COSINE`      | `(1 + cos(a, b)) / 2`         |
//! | `EUCLIDEAN`   | `1 / (1 + squared_distance)`  |
//! | `DOT_PRODUCT` | `(1 + a·b) / 2`               |
//!
//! The kernels ([`dot`], [`l2_squared`]) use AVX2 and FMA on x86_64 when the processor has them
//! (detected once at run time, then called through a cached function pointer), and otherwise
//! plain loops over fixed-width chunks with one accumulator per lane, which the compiler
//! vectorises for the baseline target (SSE2 on x86_64, NEON on aarch64). Both kernels are
//! deterministic: the same inputs give the same bits on every call of a process.
//!
//! Cosine is computed from the raw vectors and their self dot products, `a·b / sqrt((a·a)(b·b))`,
//! with the division in f64 and the cosine clamped to [-1, 1]. The self dot product is computed
//! once at insert. A query identical to a stored vector yields `d / sqrt(d·d)` with the same `d` on
//! both sides, which is exactly 1 in IEEE arithmetic, so its score is exactly 1 (clients compare
//! `score == 1`). A zero vector has no direction; its cosine with anything is taken as 0.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

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

/// A distance kernel: two slices in, one sum out (over the shorter length). `unsafe` because the
/// SIMD kernels need processor features; [`Kernels`] only holds ones this processor has.
type Kernel = unsafe fn(&[f32], &[f32]) -> f32;

/// The kernels picked for this processor. Held by value in hot loops, so that each comparison is
/// one indirect call straight into the kernel.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    dot: Kernel,
    l2: Kernel,
    /// What they use (`avx2+fma` or `scalar`).
    name: &'static str,
}

impl Kernels {
    /// Inner product.
    #[inline(always)]
    pub fn dot(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: `detect` installs a SIMD kernel only after run-time detection found the
        // features it is compiled for; the scalar ones have no requirement.
        unsafe { (self.dot)(a, b) }
    }

    /// Squared Euclidean distance.
    #[inline(always)]
    pub fn l2(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as in `dot`.
        unsafe { (self.l2)(a, b) }
    }
}

/// The scalar kernels as [`Kernel`]s.
unsafe fn dot_scalar_kernel(a: &[f32], b: &[f32]) -> f32 {
    dot_scalar(a, b)
}

/// See [`dot_scalar_kernel`].
unsafe fn l2_scalar_kernel(a: &[f32], b: &[f32]) -> f32 {
    l2_squared_scalar(a, b)
}

/// The best kernels for this processor, detected on first use and cached.
#[inline]
pub(crate) fn kernels() -> Kernels {
    static KERNELS: OnceLock<Kernels> = OnceLock::new();
    *KERNELS.get_or_init(detect)
}

fn detect() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Kernels { dot: x86::dot_avx2, l2: x86::l2_avx2, name: "avx2+fma" };
        }
    }
    Kernels { dot: dot_scalar_kernel, l2: l2_scalar_kernel, name: "scalar" }
}

/// The name of the kernels in use (`avx2+fma` or `scalar`), for logs and benchmarks.
pub fn kernel_name() -> &'static str {
    kernels().name
}

/// The inner product of two slices (over the shorter length).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    kernels().dot(a, b)
}

/// The squared Euclidean distance of two slices (over the shorter length).
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    kernels().l2(a, b)
}

/// [`dot`] without SIMD intrinsics (the fallback, and the reference in tests).
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
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

/// [`l2_squared`] without SIMD intrinsics (the fallback, and the reference in tests).
pub fn l2_squared_scalar(a: &[f32], b: &[f32]) -> f32 {
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

/// Asks the processor to start loading the cache lines of `v` (at most the first four, which
/// covers 64 floats); a hint with no effect on results.
#[inline]
pub(crate) fn prefetch(v: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(v);
        let p = v.as_ptr().cast::<i8>();
        let mut off = 0;
        while off < bytes && off < 256 {
            // SAFETY: SSE is part of the x86_64 baseline, and a prefetch never faults; the address
            // is inside `v` (off < its size in bytes).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// AVX2 + FMA kernels; only installed in [`kernels`] after run-time detection.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Inner product with AVX2 + FMA (tests only; the index calls [`dot_avx2`] through
    /// `Kernels`).
    #[cfg(test)]
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        assert!(available());
        // SAFETY: avx2 and fma were just detected.
        unsafe { dot_avx2(a, b) }
    }

    /// Squared distance with AVX2 + FMA (tests only).
    #[cfg(test)]
    pub(super) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        assert!(available());
        // SAFETY: avx2 and fma were just detected.
        unsafe { l2_avx2(a, b) }
    }

    /// Sum of the 8 lanes, in a fixed order.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }

    /// # Safety
    /// The processor must support avx2 and fma. Loads stay within the shorter slice: every
    /// 8-float load at `i` happens only when `i + 8 <= n`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut s0, mut s1, mut s2, mut s3) = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 32 <= n {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)), s1);
            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 16)), _mm256_loadu_ps(pb.add(i + 16)), s2);
            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 24)), _mm256_loadu_ps(pb.add(i + 24)), s3);
            i += 32;
        }
        while i + 8 <= n {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        while i < n {
            sum = (*pa.add(i)).mul_add(*pb.add(i), sum);
            i += 1;
        }
        sum
    }

    /// # Safety
    /// As for [`dot_avx2`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut s0, mut s1, mut s2, mut s3) = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 32 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)));
            let d2 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i + 16)), _mm256_loadu_ps(pb.add(i + 16)));
            let d3 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i + 24)), _mm256_loadu_ps(pb.add(i + 24)));
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
            s2 = _mm256_fmadd_ps(d2, d2, s2);
            s3 = _mm256_fmadd_ps(d3, d3, s3);
            i += 32;
        }
        while i + 8 <= n {
            let d = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            s0 = _mm256_fmadd_ps(d, d, s0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        while i < n {
            let d = *pa.add(i) - *pb.add(i);
            sum = d.mul_add(d, sum);
            i += 1;
        }
        sum
    }

    /// True when this processor can run the kernels above.
    #[cfg(test)]
    pub(super) fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
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
            let diff: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
            for (d, l2) in [(dot(&a, &b), l2_squared(&a, &b)), (dot_scalar(&a, &b), l2_squared_scalar(&a, &b))] {
                assert!((f64::from(d) - naive_dot(&a, &b)).abs() < 1e-5, "n={n}");
                assert!((f64::from(l2) - naive_dot(&diff, &diff)).abs() < 1e-5, "n={n}");
            }
        }
    }

    /// Pseudo-random values in [-1, 1) with a fixed seed.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn simd_kernels_match_scalar_on_odd_lengths() {
        #[cfg(target_arch = "x86_64")]
        {
            if !x86::available() {
                eprintln!("no avx2+fma here: only the scalar kernels are in use");
                assert_eq!(kernel_name(), "scalar");
                return;
            }
            assert_eq!(kernel_name(), "avx2+fma");
            for n in 1..=67 {
                for seed in [1u32, 77, 1234] {
                    let a = values(n, seed);
                    let b = values(n + 3, seed.wrapping_mul(31) + 5);
                    // Tolerance relative to the sum of magnitudes: the kernels add in different orders.
                    let mag: f64 = a.iter().zip(&b).map(|(x, y)| f64::from((x * y).abs())).sum::<f64>() + 1e-6;
                    let (d, ds) = (x86::dot(&a, &b), dot_scalar(&a, &b));
                    assert!(f64::from((d - ds).abs()) <= mag * 1e-5, "dot n={n}: {d} vs {ds}");
                    assert!((f64::from(d) - naive_dot(&a, &b[..n])).abs() <= mag * 1e-5, "dot n={n}");
                    let dist: f64 = a.iter().zip(&b).map(|(x, y)| f64::from((x - y) * (x - y))).sum::<f64>() + 1e-6;
                    let (l, ls) = (x86::l2_squared(&a, &b), l2_squared_scalar(&a, &b));
                    assert!(f64::from((l - ls).abs()) <= dist * 1e-5, "l2 n={n}: {l} vs {ls}");
                    // Over the shorter length, whichever side is longer.
                    assert_eq!(x86::dot(&a, &b), x86::dot(&a, &b[..n]));
                    assert_eq!(x86::l2_squared(&b, &a), x86::l2_squared(&b[..n], &a));
                    // Identical inputs: distance exactly 0, dot deterministic.
                    assert_eq!(x86::l2_squared(&a, &a), 0.0);
                    assert_eq!(x86::dot(&a, &a), x86::dot(&a, &a));
                }
            }
            assert_eq!(x86::dot(&[], &[1.0]), 0.0);
            // The public functions go through the detected kernels.
            let (a, b) = (values(50, 9), values(50, 10));
            assert_eq!(dot(&a, &b), x86::dot(&a, &b));
            assert_eq!(l2_squared(&a, &b), x86::l2_squared(&a, &b));
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(kernel_name(), "scalar");
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
