//! A BERT sentence-transformers model on the CPU (candle), as a [`DenseEmbedder`].
//!
//! Texts are tokenized with the model's `tokenizer.json`, truncated to the model's maximum
//! sequence length, padded to the longest text of each batch, run through the BERT encoder, pooled
//! (attention-masked mean of the token states, or the `[CLS]` state, as `1_Pooling/config.json`
//! says) and L2-normalised (in f64).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::{DenseEmbedder, EmbedError};

/// Most texts run through the model at once; longer inputs are split into batches of this size.
const MAX_BATCH: usize = 32;

/// How token states become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The mean of the states of the real (non-padding) tokens.
    Mean,
    /// The state of the first (`[CLS]`) token.
    Cls,
}

/// sentence-transformers' `1_Pooling/config.json` (the modes this embedder reads).
#[derive(Debug, Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    word_embedding_dimension: Option<usize>,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

/// sentence-transformers' `sentence_bert_config.json`.
#[derive(Debug, Deserialize)]
struct SentenceBertConfig {
    #[serde(default)]
    max_seq_length: Option<usize>,
}

/// A BERT sentence embedder loaded from a local model directory.
pub struct BertEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    pooling: Pooling,
    dimension: usize,
    max_tokens: usize,
    pad_id: u32,
    device: Device,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("pooling", &self.pooling)
            .field("dimension", &self.dimension)
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

impl BertEmbedder {
    /// Loads a model from `dir`: `config.json`, `tokenizer.json`, `model.safetensors` and
    /// `1_Pooling/config.json`, plus `sentence_bert_config.json` when present (its
    /// `max_seq_length` bounds the input; otherwise `max_position_embeddings` does).
    pub fn load(dir: &Path) -> Result<BertEmbedder, EmbedError> {
        let config_path = require(dir, "config.json")?;
        let tokenizer_path = require(dir, "tokenizer.json")?;
        let weights_path = require(dir, "model.safetensors")?;
        let pooling_path = require(dir, "1_Pooling/config.json")?;

        let config: Config = read_json(&config_path)?;
        if config.hidden_size == 0 || config.max_position_embeddings == 0 {
            return Err(invalid(&config_path, "hidden_size and max_position_embeddings must be positive"));
        }
        let pooling_config: PoolingConfig = read_json(&pooling_path)?;
        let pooling = pooling_mode(&pooling_config).map_err(|m| invalid(&pooling_path, m))?;
        if let Some(dim) = pooling_config.word_embedding_dimension {
            if dim != config.hidden_size {
                return Err(invalid(
                    &pooling_path,
                    format!("word_embedding_dimension {dim} differs from the model's hidden_size {}", config.hidden_size),
                ));
            }
        }

        let sbert_path = dir.join("sentence_bert_config.json");
        let max_seq_length = if sbert_path.is_file() { read_json::<SentenceBertConfig>(&sbert_path)?.max_seq_length } else { None };
        let max_tokens = max_seq_length.filter(|n| *n > 0).unwrap_or(config.max_position_embeddings).min(config.max_position_embeddings);

        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| invalid(&tokenizer_path, e.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| invalid(&tokenizer_path, e.to_string()))?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > config.vocab_size {
            return Err(invalid(&tokenizer_path, format!("{vocab} tokens, more than the model's vocab_size {}", config.vocab_size)));
        }
        let pad_id = u32::try_from(config.pad_token_id)
            .map_err(|_| invalid(&config_path, format!("pad_token_id {} is too large", config.pad_token_id)))?;

        let weights = std::fs::read(&weights_path).map_err(|source| EmbedError::Read { path: weights_path.clone(), source })?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device).map_err(|e| invalid(&weights_path, e.to_string()))?;
        let model = BertModel::load(vb, &config).map_err(|e| invalid(&weights_path, e.to_string()))?;

        Ok(BertEmbedder { model, tokenizer, pooling, dimension: config.hidden_size, max_tokens, pad_id, device })
    }

    /// How this model pools token states.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Embeds one batch (at most [`MAX_BATCH`] texts).
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut encodings = Vec::with_capacity(texts.len());
        for text in texts {
            let encoding = self.tokenizer.encode(*text, true).map_err(|e| EmbedError::Tokenize(e.to_string()))?;
            encodings.push(encoding);
        }
        let seq_len = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
        let batch = encodings.len();
        let mut ids = Vec::with_capacity(batch * seq_len);
        let mut type_ids = Vec::with_capacity(batch * seq_len);
        let mut mask = Vec::with_capacity(batch * seq_len);
        for (row, encoding) in encodings.iter().enumerate() {
            let end = (row + 1) * seq_len;
            ids.extend_from_slice(encoding.get_ids());
            ids.resize(end, self.pad_id);
            type_ids.extend_from_slice(encoding.get_type_ids());
            type_ids.resize(end, 0);
            mask.extend_from_slice(encoding.get_attention_mask());
            mask.resize(end, 0);
        }
        let pooled = self.forward(batch, seq_len, ids, type_ids, mask).map_err(|e| EmbedError::Inference(e.to_string()))?;
        let rows: Vec<Vec<f32>> = pooled.to_vec2::<f32>().map_err(|e| EmbedError::Inference(e.to_string()))?;
        Ok(rows.into_iter().map(normalize).collect())
    }

    /// The encoder and the pooling: `(batch, hidden)` vectors, not yet normalised.
    fn forward(&self, batch: usize, seq_len: usize, ids: Vec<u32>, type_ids: Vec<u32>, mask: Vec<u32>) -> candle_core::Result<Tensor> {
        let ids = Tensor::from_vec(ids, (batch, seq_len), &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, (batch, seq_len), &self.device)?;
        let mask = Tensor::from_vec(mask, (batch, seq_len), &self.device)?;
        let states = self.model.forward(&ids, &type_ids, Some(&mask))?; // (batch, seq, hidden)
        match self.pooling {
            Pooling::Cls => states.narrow(1, 0, 1)?.squeeze(1),
            Pooling::Mean => {
                let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (batch, seq, 1)
                let sums = states.broadcast_mul(&mask)?.sum(1)?; // (batch, hidden)
                let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (batch, 1)
                sums.broadcast_div(&counts)
            }
        }
    }
}

impl DenseEmbedder for BertEmbedder {
    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(MAX_BATCH) {
            out.extend(self.embed_batch(chunk)?);
        }
        Ok(out)
    }
}

/// The path of a required model file, or [`EmbedError::MissingFile`].
fn require(dir: &Path, file: &str) -> Result<PathBuf, EmbedError> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(EmbedError::MissingFile { file: file.to_string(), dir: dir.to_path_buf() })
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> EmbedError {
    EmbedError::Invalid { path: path.to_path_buf(), message: message.into() }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EmbedError> {
    let bytes = std::fs::read(path).map_err(|source| EmbedError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes).map_err(|e| invalid(path, e.to_string()))
}

/// The pooling a sentence-transformers pooling config asks for: mean or CLS (mean when none is
/// set); other modes and combinations are not supported.
fn pooling_mode(config: &PoolingConfig) -> Result<Pooling, String> {
    let unsupported = [
        (config.pooling_mode_max_tokens, "pooling_mode_max_tokens"),
        (config.pooling_mode_mean_sqrt_len_tokens, "pooling_mode_mean_sqrt_len_tokens"),
        (config.pooling_mode_weightedmean_tokens, "pooling_mode_weightedmean_tokens"),
        (config.pooling_mode_lasttoken, "pooling_mode_lasttoken"),
    ];
    if let Some((_, name)) = unsupported.iter().find(|(on, _)| *on) {
        return Err(format!("{name} is not supported (only mean or CLS pooling)"));
    }
    match (config.pooling_mode_mean_tokens, config.pooling_mode_cls_token) {
        (true, true) => Err("mean and CLS pooling together are not supported".to_string()),
        (false, true) => Ok(Pooling::Cls),
        _ => Ok(Pooling::Mean),
    }
}

/// `v / |v|`, the norm in f64; a zero vector stays zero.
fn normalize(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return v;
    }
    v.into_iter().map(|x| (f64::from(x) / norm) as f32).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn model_dir() -> Option<PathBuf> {
        match std::env::var_os("STASHD_EMBEDDING_MODEL_DIR") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => {
                eprintln!("skipping: STASHD_EMBEDDING_MODEL_DIR is not set (scripts/fetch-embedding-model.sh)");
                None
            }
        }
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum::<f64>();
        dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
    }

    #[test]
    fn embedder_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<BertEmbedder>();
        let _: Option<Box<dyn DenseEmbedder>> = None;
    }

    #[test]
    fn pooling_modes() {
        let parse = |json: &str| pooling_mode(&serde_json::from_str::<PoolingConfig>(json).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(parse(r#"{"pooling_mode_mean_tokens": true}"#), Ok(Pooling::Mean));
        assert_eq!(parse(r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#), Ok(Pooling::Cls));
        assert_eq!(parse("{}"), Ok(Pooling::Mean));
        assert!(parse(r#"{"pooling_mode_max_tokens": true}"#).is_err());
        assert!(parse(r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}"#).is_err());
    }

    #[test]
    fn normalize_is_unit_length() {
        let v = normalize(vec![3.0, 4.0]);
        assert_eq!(v, vec![0.6, 0.8]);
        assert_eq!(normalize(vec![0.0, 0.0]), vec![0.0, 0.0]);
    }

    #[test]
    fn missing_files_are_named() {
        let dir = std::env::temp_dir().join(format!("stashd-embed-missing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = BertEmbedder::load(&dir).unwrap_err();
        let message = err.to_string();
        assert!(matches!(&err, EmbedError::MissingFile { file, .. } if file == "config.json"), "{message}");
        assert!(message.contains("config.json") && message.contains(&dir.display().to_string()), "{message}");
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        std::fs::write(dir.join("tokenizer.json"), "{}").unwrap();
        let message = BertEmbedder::load(&dir).unwrap_err().to_string();
        assert!(message.contains("model.safetensors"), "{message}");
        std::fs::write(dir.join("model.safetensors"), "").unwrap();
        let message = BertEmbedder::load(&dir).unwrap_err().to_string();
        assert!(message.contains("1_Pooling/config.json"), "{message}");
        std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        std::fs::write(dir.join("1_Pooling/config.json"), "{}").unwrap();
        let err = BertEmbedder::load(&dir).unwrap_err();
        assert!(matches!(&err, EmbedError::Invalid { path, .. } if path.ends_with("config.json")), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn minilm_embeds() {
        let Some(dir) = model_dir() else { return };
        let started = Instant::now();
        let model = BertEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("loaded {} in {:?}", dir.display(), started.elapsed());
        assert_eq!(model.dimension(), 384);
        assert_eq!(model.max_tokens(), 256);
        assert_eq!(model.pooling(), Pooling::Mean);
        let embedder: &dyn DenseEmbedder = &model;

        let texts = ["testing-plain-text", "testing-plan-text", "The quarterly tax report is due on Friday."];
        let vectors = embedder.embed(&texts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(vectors.len(), 3);
        for v in &vectors {
            assert_eq!(v.len(), 384);
            let norm: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-6, "norm {norm}");
        }

        // Identical text, embedded again: bit-identical, cosine exactly 1.
        let again = embedder.embed(&texts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, vectors);
        assert_eq!(cosine(&vectors[0], &again[0]), 1.0);

        // Similar text scores high, unrelated text lower. The expected values come from an
        // independent f64 numpy implementation of the same model (the brief's hoped-for > 0.8 for
        // the plain/plan pair is not what all-MiniLM-L6-v2 gives: "plain" and "plan" are different
        // wordpieces).
        let similar = cosine(&vectors[0], &vectors[1]);
        let unrelated = cosine(&vectors[0], &vectors[2]);
        eprintln!("similar {similar:.4}, unrelated {unrelated:.4}");
        assert!((similar - 0.666_588).abs() < 1e-4, "{similar}");
        assert!((unrelated - -0.044_880).abs() < 1e-4, "{unrelated}");
        assert!(similar > 0.6 && unrelated < similar - 0.3, "{similar} vs {unrelated}");
        let reference = [0.017_045_06, 0.116_808_07, -0.008_701_63, 0.036_801_22];
        for (got, want) in vectors[0].iter().zip(reference) {
            assert!((f64::from(*got) - want).abs() < 1e-5, "{:?} vs {reference:?}", &vectors[0][..4]);
        }
        let pair = embedder.embed(&["A man is eating food.", "A man is eating a piece of bread."]).unwrap_or_else(|e| panic!("{e}"));
        let paraphrase = cosine(&pair[0], &pair[1]);
        assert!((paraphrase - 0.755_337).abs() < 1e-4, "{paraphrase}");

        // Alone or in a (padded) batch: the same vector within 1e-5.
        for (i, text) in texts.iter().enumerate() {
            let single = embedder.embed(&[text]).unwrap_or_else(|e| panic!("{e}"));
            let diff = single[0].iter().zip(&vectors[i]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            eprintln!("batch vs single, text {i}: max diff {diff:e}");
            assert!(diff < 1e-5, "text {i}: {diff}");
        }

        // Shared between threads: the same bits.
        let threaded: Vec<Vec<Vec<f32>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2).map(|_| scope.spawn(|| embedder.embed(&texts))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| panic!("thread panicked")).unwrap_or_else(|e| panic!("{e}"))).collect()
        });
        assert!(threaded.iter().all(|t| *t == vectors));

        // Empty input and empty text.
        assert!(embedder.embed(&[]).unwrap_or_else(|e| panic!("{e}")).is_empty());
        assert_eq!(embedder.embed(&[""]).unwrap_or_else(|e| panic!("{e}"))[0].len(), 384);
    }

    #[test]
    fn minilm_truncates_long_text() {
        let Some(dir) = model_dir() else { return };
        let model = BertEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        let words = ["vector", "database", "search", "stashd", "embedding", "query"];
        let long: String = (0..3000).map(|i| words[i % words.len()]).collect::<Vec<_>>().join(" ");
        let started = Instant::now();
        let vectors = model.embed(&[&long, "short text"]).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("3000-word text embedded in {:?}", started.elapsed());
        assert_eq!(vectors.len(), 2);
        assert_eq!(vectors[0].len(), 384);
        assert!(vectors[0].iter().all(|x| x.is_finite()));
        // Past the token budget, more text changes nothing.
        let longer = format!("{long} completely different trailing words");
        let v2 = model.embed(&[&longer]).unwrap_or_else(|e| panic!("{e}"));
        let single = model.embed(&[&long]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v2[0], single[0]);
    }

    #[test]
    fn minilm_timing_32_sentences() {
        let Some(dir) = model_dir() else { return };
        let model = BertEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        let sentences: Vec<String> =
            (0..32).map(|i| format!("Sentence number {i} talks about vectors, caches and queues in stashd.")).collect();
        let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
        model.embed(&refs[..1]).unwrap_or_else(|e| panic!("{e}")); // warm up
        let started = Instant::now();
        let vectors = model.embed(&refs).unwrap_or_else(|e| panic!("{e}"));
        let elapsed = started.elapsed();
        assert_eq!(vectors.len(), 32);
        eprintln!("embedded 32 short sentences in {elapsed:?} ({:?} each)", elapsed / 32);
    }
}
