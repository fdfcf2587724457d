//! Sorted set: a member→score map plus an ordered index of (score, member).

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::Bytes;

use crate::value::Map;

/// A score with a total order (NaN never stored; Redis rejects it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// A Redis sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    scores: Map<Bytes, f64>,
    index: BTreeSet<(Score, Bytes)>,
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    /// Score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }
    /// Position (in the member map) and score of `member`, for [`ZSet::set_score_at`].
    pub fn locate(&self, member: &[u8]) -> Option<(usize, f64)> {
        self.scores.get_full(member).map(|(i, _, s)| (i, *s))
    }
    /// Gives the member at position `at` (from [`ZSet::locate`]) a new score, without hashing it again.
    pub fn set_score_at(&mut self, at: usize, score: f64) {
        let score = if score == 0.0 { 0.0 } else { score }; // normalise -0
        if let Some((member, old)) = self.scores.get_index_mut(at) {
            if *old != score {
                let prev = std::mem::replace(old, score);
                let member = member.clone();
                self.index.remove(&(Score(prev), member.clone()));
                self.index.insert((Score(score), member));
            }
        }
    }
    /// Adds a member known to be absent (one hash lookup instead of two).
    pub fn insert_new(&mut self, member: Bytes, score: f64) {
        let score = if score == 0.0 { 0.0 } else { score };
        if let (_, Some(old)) = self.scores.insert_full(member.clone(), score) {
            // It was there after all: keep the index consistent.
            self.index.remove(&(Score(old), member.clone()));
        }
        self.index.insert((Score(score), member));
    }
    /// Inserts or updates; returns the previous score.
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let score = if score == 0.0 { 0.0 } else { score }; // normalise -0
        match self.scores.get_mut(&member) {
            Some(old) => {
                let prev = *old;
                if prev != score {
                    self.index.remove(&(Score(prev), member.clone()));
                    *old = score;
                    self.index.insert((Score(score), member));
                }
                Some(prev)
            }
            None => {
                self.scores.insert(member.clone(), score);
                self.index.insert((Score(score), member));
                None
            }
        }
    }
    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (m, s) = self.scores.swap_remove_entry(member)?;
        self.index.remove(&(Score(s), m));
        Some(s)
    }
    /// Members in ascending (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
        self.index.iter().map(|(s, m)| (m, s.0))
    }
    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let s = self.score(member)?;
        let key = (Score(s), Bytes::copy_from_slice(member));
        Some(self.index.range(..key).count())
    }
    /// Members whose score lies within the bounds, in ascending order (reversible).
    pub fn range_by_score(&self, min: Bound<f64>, max: Bound<f64>) -> Box<dyn DoubleEndedIterator<Item = (&Bytes, f64)> + '_> {
        let empty = Bytes::new();
        // The empty member sorts first among equal scores, so (score, "") is the first slot of a score.
        let lo = match min {
            Bound::Included(v) => Bound::Included((Score(v), empty.clone())),
            Bound::Excluded(v) if v == f64::INFINITY => return Box::new(std::iter::empty()),
            Bound::Excluded(v) => Bound::Included((Score(v.next_up()), empty.clone())),
            Bound::Unbounded => Bound::Unbounded,
        };
        let hi = match max {
            Bound::Included(v) if v == f64::INFINITY => Bound::Unbounded,
            Bound::Included(v) => Bound::Excluded((Score(v.next_up()), empty)),
            Bound::Excluded(v) => Bound::Excluded((Score(v), empty)),
            Bound::Unbounded => Bound::Unbounded,
        };
        if let (Bound::Included(l), Bound::Included(h) | Bound::Excluded(h)) = (&lo, &hi) {
            if l >= h {
                return Box::new(std::iter::empty());
            }
        }
        Box::new(self.index.range((lo, hi)).map(|(s, m)| (m, s.0)))
    }
    /// Member at position `i` of the insertion-ordered map (for random picks).
    pub fn get_index(&self, i: usize) -> Option<(&Bytes, f64)> {
        self.scores.get_index(i).map(|(m, s)| (m, *s))
    }
    /// Lowest (score, member).
    pub fn first(&self) -> Option<(&Bytes, f64)> {
        self.index.first().map(|(s, m)| (m, s.0))
    }
    /// Highest (score, member).
    pub fn last(&self) -> Option<(&Bytes, f64)> {
        self.index.last().map(|(s, m)| (m, s.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_update_rank_range() {
        let mut z = ZSet::new();
        assert_eq!(z.insert(Bytes::from("a"), 1.0), None);
        z.insert(Bytes::from("b"), 2.0);
        z.insert(Bytes::from("c"), 2.0);
        assert_eq!(z.insert(Bytes::from("a"), 3.0), Some(1.0));
        let order: Vec<_> = z.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(order, vec!["b", "c", "a"]);
        assert_eq!(z.rank(b"a"), Some(2));
        let r: Vec<_> = z.range_by_score(Bound::Excluded(2.0), Bound::Unbounded).map(|(m, _)| m.clone()).collect();
        assert_eq!(r, vec!["a"]);
        assert_eq!(z.remove(b"b"), Some(2.0));
        assert_eq!(z.len(), 2);
    }
}
