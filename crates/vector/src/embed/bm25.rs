//! Upstash's BM25 sparse embedder for English text.
//!
//! Text is lowercased and split on every character that is not alphanumeric; English stop words
//! are dropped, and the remaining tokens are reduced with the Snowball English stemmer. Each stem
//! maps to a term id, the FNV-1a 32-bit hash of the stem masked to 31 bits (so ids are valid
//! non-negative `i32`s as well as `u32`s). Ids that collide are merged into one entry.
//!
//! A document is weighted by the BM25 term-frequency part
//!
//! ```text
//! w_t = tf · (k1 + 1) / (tf + k1 · (1 − b + b · dl / avgdl))     k1 = 1.2, b = 0.75, avgdl = 32
//! ```
//!
//! with `dl` the number of kept tokens. A query gets weight 1 for each of its distinct terms; the
//! inverse document frequency is applied by the sparse index at query time
//! ([`Weighting::Idf`](crate::index::sparse::Weighting::Idf)).

use std::collections::{BTreeMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};

/// BM25 term-frequency saturation.
pub const BM25_K1: f64 = 1.2;
/// BM25 document-length normalisation.
pub const BM25_B: f64 = 0.75;
/// The average document length BM25 assumes (in kept tokens).
pub const BM25_AVGDL: f64 = 32.0;

/// English stop words: NLTK's list, less its entries with an apostrophe (tokens never contain
/// one, since text is split on every non-alphanumeric character; their pieces, such as `don` and
/// `t`, are in the list).
#[rustfmt::skip]
pub const ENGLISH_STOP_WORDS: [&str; 153] = [
    "a", "about", "above", "after", "again", "against", "ain", "all", "am", "an", "and", "any",
    "are", "aren", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "couldn", "d", "did", "didn", "do", "does", "doesn", "doing",
    "don", "down", "during", "each", "few", "for", "from", "further", "had", "hadn", "has", "hasn",
    "have", "haven", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his",
    "how", "i", "if", "in", "into", "is", "isn", "it", "its", "itself", "just", "ll", "m", "ma",
    "me", "mightn", "more", "most", "mustn", "my", "myself", "needn", "no", "nor", "not", "now",
    "o", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out",
    "over", "own", "re", "s", "same", "shan", "she", "should", "shouldn", "so", "some", "such",
    "t", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "ve", "very", "was",
    "wasn", "we", "were", "weren", "what", "when", "where", "which", "while", "who", "whom", "why",
    "will", "with", "won", "wouldn", "y", "you", "your", "yours", "yourself", "yourselves",
];

/// Upstash's BM25 embedder: text to sparse `(indices, values)`, for documents and for queries.
pub struct Bm25 {
    stemmer: Stemmer,
    stop_words: HashSet<&'static str>,
}

impl Default for Bm25 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Bm25 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25").finish_non_exhaustive()
    }
}

impl Bm25 {
    /// An English BM25 embedder (k1 = 1.2, b = 0.75, avgdl = 32).
    pub fn new() -> Bm25 {
        Bm25 { stemmer: Stemmer::create(Algorithm::English), stop_words: ENGLISH_STOP_WORDS.iter().copied().collect() }
    }

    /// The sparse vector of a document to store: per distinct term id, the BM25 term-frequency
    /// weight. Indices are strictly increasing; text without any kept token gives empty lists.
    pub fn document(&self, text: &str) -> (Vec<u32>, Vec<f32>) {
        let counts = self.term_counts(text);
        let dl: u32 = counts.values().sum();
        let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * f64::from(dl) / BM25_AVGDL);
        counts
            .into_iter()
            .map(|(id, tf)| {
                let tf = f64::from(tf);
                (id, (tf * (BM25_K1 + 1.0) / (tf + norm)) as f32)
            })
            .unzip()
    }

    /// The sparse vector of a query: each distinct term id with weight 1 (IDF is applied by the
    /// index). Indices are strictly increasing; text without any kept token gives empty lists.
    pub fn query(&self, text: &str) -> (Vec<u32>, Vec<f32>) {
        self.term_counts(text).into_keys().map(|id| (id, 1.0)).unzip()
    }

    /// The kept, stemmed tokens of `text`, in order.
    pub fn terms(&self, text: &str) -> Vec<String> {
        text.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|token| !token.is_empty() && !self.stop_words.contains(token))
            .map(|token| self.stemmer.stem(token).into_owned())
            .collect()
    }

    /// Occurrences per term id, ordered by id.
    fn term_counts(&self, text: &str) -> BTreeMap<u32, u32> {
        let mut counts = BTreeMap::new();
        for term in self.terms(text) {
            *counts.entry(term_id(&term)).or_insert(0) += 1;
        }
        counts
    }
}

/// The term id of a stemmed term: FNV-1a 32 of its UTF-8 bytes, masked to 31 bits.
pub fn term_id(term: &str) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let hash = term.bytes().fold(OFFSET, |h, b| (h ^ u32::from(b)).wrapping_mul(PRIME));
    hash & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(tf: f64, dl: f64) -> f32 {
        (tf * (BM25_K1 + 1.0) / (tf + BM25_K1 * (1.0 - BM25_B + BM25_B * dl / BM25_AVGDL))) as f32
    }

    #[test]
    fn stop_word_list_is_sorted_and_unique() {
        assert!(ENGLISH_STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(ENGLISH_STOP_WORDS.iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
    }

    #[test]
    fn stop_words_are_dropped() {
        let bm25 = Bm25::new();
        assert_eq!(bm25.terms("The cat is on the mat"), vec!["cat", "mat"]);
        assert_eq!(bm25.terms("Don't you THINK so?"), vec!["think"]);
        assert_eq!(bm25.document("the and of it is"), (vec![], vec![]));
        assert_eq!(bm25.query("the and of it is"), (vec![], vec![]));
        assert_eq!(bm25.document(""), (vec![], vec![]));
        assert_eq!(bm25.query(" ,;- "), (vec![], vec![]));
    }

    #[test]
    fn tokenizes_lowercase_on_non_alphanumerics() {
        let bm25 = Bm25::new();
        assert_eq!(bm25.terms("hello-World_upstash42,HELLO"), vec!["hello", "world", "upstash42", "hello"]);
        assert_eq!(bm25.terms("Crème brûlée"), vec!["crème", "brûlée"]);
    }

    #[test]
    fn stemming_merges_inflections() {
        let bm25 = Bm25::new();
        assert_eq!(bm25.terms("running runs run"), vec!["run", "run", "run"]);
        let (ids, values) = bm25.document("running runs");
        assert_eq!(ids, vec![term_id("run")]);
        assert_eq!(values, vec![weight(2.0, 2.0)]);
        assert_eq!(bm25.query("Running RUNS"), (vec![term_id("run")], vec![1.0]));
    }

    #[test]
    fn document_weights_follow_the_formula() {
        let bm25 = Bm25::new();
        // Kept tokens: hello, world, hello, upstash → dl = 4.
        let (ids, values) = bm25.document("Hello world, hello to Upstash!");
        let mut expected =
            vec![(term_id("hello"), weight(2.0, 4.0)), (term_id("world"), weight(1.0, 4.0)), (term_id("upstash"), weight(1.0, 4.0))];
        expected.sort_by_key(|e| e.0);
        let (eids, evalues): (Vec<u32>, Vec<f32>) = expected.into_iter().unzip();
        assert_eq!(ids, eids);
        assert_eq!(values, evalues);
        // A document of exactly avgdl tokens with tf = 1 weighs 1.
        let text = (0..32).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let (ids, values) = bm25.document(&text);
        assert_eq!(ids.len(), 32);
        assert!(values.iter().all(|v| (v - 1.0).abs() < 1e-6), "{values:?}");
        // Longer documents weigh a single occurrence less.
        let long = format!("{text} {text}");
        let (_, long_values) = bm25.document(&long);
        assert!(long_values.iter().all(|v| *v > 1.0)); // tf = 2 each
        let (_, short) = bm25.document("alpha");
        let (_, diluted) = bm25.document("alpha beta gamma delta epsilon zeta eta theta iota kappa");
        assert!(short[0] > diluted[0]);
    }

    #[test]
    fn ids_are_stable_sorted_and_non_negative() {
        // FNV-1a 32 reference values: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
        assert_eq!(term_id(""), 0x811c_9dc5 & 0x7fff_ffff);
        assert_eq!(term_id("a"), 0xe40c_292c & 0x7fff_ffff);
        assert_eq!(term_id("foobar"), 0xbf9c_f968 & 0x7fff_ffff);
        let bm25 = Bm25::new();
        let text = "stashd stores vectors, sparse vectors and hybrid indexes quickly and reliably";
        let (ids, values) = bm25.document(text);
        assert_eq!((ids.clone(), values.clone()), Bm25::new().document(text));
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|id| i32::try_from(*id).is_ok()));
        assert_eq!(ids.len(), values.len());
        let (qids, qvalues) = bm25.query(text);
        assert_eq!(qids, ids);
        assert!(qvalues.iter().all(|v| *v == 1.0));
    }

    #[test]
    fn bm25_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Bm25>();
    }

    #[test]
    fn vectors_fit_the_sparse_index() {
        let bm25 = Bm25::new();
        let (ids, values) = bm25.document("hello world upstash, hello again world");
        let v = crate::index::sparse::SparseVector::new(ids, values);
        assert!(v.is_ok());
    }
}
