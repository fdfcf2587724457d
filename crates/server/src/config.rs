//! Start-up configuration: flags, then `STASHD_*` environment variables, then an optional TOML
//! file, then defaults — in that order of precedence.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use serde::Deserialize;
use stashd_engine::config::FsyncPolicy;
use thiserror::Error;

/// Configuration problems, reported before the server starts.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The TOML file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML file does not parse.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid value for {name}: {value:?} ({hint})")]
    Invalid {
        /// Setting name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        hint: &'static str,
    },
    /// Token file problems.
    #[error("cannot store generated tokens in {path}: {source}")]
    Tokens {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Command-line interface. Every flag also reads a `STASHD_*` variable.
#[derive(Debug, Parser, Default)]
#[command(name = "stashd", version, about = "Self-hosted Upstash: Redis over RESP and REST, durable by default.")]
pub struct Cli {
    /// Mode to run in.
    #[command(subcommand)]
    pub mode: Option<Mode>,
    /// Address to listen on (both listeners).
    #[arg(long, env = "STASHD_BIND", global = true)]
    pub bind: Option<String>,
    /// RESP (Redis protocol) port (in `stashd dev`: give it as --resp-port; --port is then the HTTP port).
    #[arg(long, env = "STASHD_PORT", global = true)]
    pub port: Option<u16>,
    /// HTTP port (Upstash REST API).
    #[arg(long, env = "STASHD_HTTP_PORT", global = true)]
    pub http_port: Option<u16>,
    /// Data directory for the append-only log.
    #[arg(long, env = "STASHD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory: no data directory, nothing survives a restart.
    #[arg(long, env = "STASHD_IN_MEMORY", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub in_memory: Option<bool>,
    /// When the log is fsynced: always, everysec or no.
    #[arg(long, env = "STASHD_APPENDFSYNC", global = true)]
    pub appendfsync: Option<String>,
    /// Full-access token (REST bearer token and RESP password).
    #[arg(long, env = "STASHD_REDIS_TOKEN", global = true, hide_env_values = true)]
    pub redis_token: Option<String>,
    /// Read-only token.
    #[arg(long, env = "STASHD_REDIS_READONLY_TOKEN", global = true, hide_env_values = true)]
    pub redis_readonly_token: Option<String>,
    /// Largest HTTP request body in bytes.
    #[arg(long, env = "STASHD_MAX_REQUEST_SIZE", global = true)]
    pub max_request_size: Option<usize>,
    /// Allow the DEBUG command (test hooks such as DEBUG JUMP-CLOCK).
    #[arg(long, env = "STASHD_ENABLE_DEBUG_COMMAND", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub enable_debug_command: Option<bool>,
    /// Worker threads for the async runtime (default: number of cores).
    #[arg(long, env = "STASHD_THREADS", global = true)]
    pub threads: Option<usize>,
    /// Optional TOML config file.
    #[arg(long, env = "STASHD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Log filter (tracing syntax), e.g. `info` or `stashd=debug`.
    #[arg(long, env = "STASHD_LOG", global = true)]
    pub log: Option<String>,
    /// QStash API token (Bearer or `?qstash_token=`); generated and kept in the data directory when unset.
    #[arg(long, env = "STASHD_QSTASH_TOKEN", global = true, hide_env_values = true)]
    pub qstash_token: Option<String>,
    /// QStash signing key that signs deliveries; generated and kept when unset.
    #[arg(long, env = "STASHD_QSTASH_CURRENT_SIGNING_KEY", global = true, hide_env_values = true)]
    pub qstash_current_signing_key: Option<String>,
    /// QStash signing key receivers also accept (the next `current`).
    #[arg(long, env = "STASHD_QSTASH_NEXT_SIGNING_KEY", global = true, hide_env_values = true)]
    pub qstash_next_signing_key: Option<String>,
    /// Destination rewrite FROM=TO (URL prefixes; repeatable; env: comma-separated pairs).
    #[arg(long, env = "STASHD_QSTASH_REWRITE", global = true, value_delimiter = ',')]
    pub qstash_rewrite: Vec<String>,
    /// Destinations deliveries may always reach: hosts, `*.suffix`, addresses, CIDRs, `loopback`, `private` (comma-separated).
    #[arg(long, env = "STASHD_QSTASH_ALLOW", global = true)]
    pub qstash_allow: Option<String>,
    /// Destinations deliveries never reach (same syntax; wins over the allow list).
    #[arg(long, env = "STASHD_QSTASH_DENY", global = true)]
    pub qstash_deny: Option<String>,
    /// Largest QStash message body in bytes (default 1 MB).
    #[arg(long, env = "STASHD_QSTASH_MAX_BODY", global = true)]
    pub qstash_max_body: Option<usize>,
    /// Directory of the dense text embedding model for Vector (config.json, tokenizer.json,
    /// model.safetensors; scripts/fetch-embedding-model.sh fetches all-MiniLM-L6-v2).
    #[arg(long, env = "STASHD_EMBEDDING_MODEL_DIR", global = true)]
    pub embedding_model_dir: Option<PathBuf>,
    /// Token of the Vector Developer API (`/v2/vector/index...`); generated and kept when unset.
    #[arg(long, env = "STASHD_VECTOR_ADMIN_TOKEN", global = true, hide_env_values = true)]
    pub vector_admin_token: Option<String>,
}

/// In `stashd dev`, the port flags mean what they mean to the QStash CLI's `qstash dev`
/// (which `@upstash/qstash` spawns as `<bin> dev --port <http-port>`): `--port N`, `-port N` and
/// the Go-style `-port=N` set the **HTTP** port, and the RESP port has its own flag,
/// `--resp-port`. Outside `dev` the arguments are left alone.
pub fn dev_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let is_dev = args.iter().skip(1).find(|a| !a.to_string_lossy().starts_with('-')).is_some_and(|a| a == "dev");
    if !is_dev {
        return args;
    }
    args.into_iter()
        .map(|a| {
            let s = a.to_string_lossy().into_owned();
            let mapped = match s.as_str() {
                "--port" | "-port" => "--http-port".to_string(),
                "--resp-port" | "-resp-port" => "--port".to_string(),
                _ => {
                    if let Some(v) = s.strip_prefix("-port=").or_else(|| s.strip_prefix("--port=")) {
                        format!("--http-port={v}")
                    } else if let Some(v) = s.strip_prefix("-resp-port=").or_else(|| s.strip_prefix("--resp-port=")) {
                        format!("--port={v}")
                    } else {
                        return a;
                    }
                }
            };
            std::ffi::OsString::from(mapped)
        })
        .collect()
}

/// Run modes.
#[derive(Debug, Subcommand, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Development mode: in memory, with the well-known development credentials. Here
    /// `--port`/`-port=N` is the HTTP port (as for `qstash dev`) and `--resp-port` the RESP port.
    Dev,
}

/// The same settings as the flags, read from a TOML file (keys use underscores).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    bind: Option<String>,
    port: Option<u16>,
    http_port: Option<u16>,
    data_dir: Option<PathBuf>,
    in_memory: Option<bool>,
    appendfsync: Option<String>,
    redis_token: Option<String>,
    redis_readonly_token: Option<String>,
    max_request_size: Option<usize>,
    enable_debug_command: Option<bool>,
    threads: Option<usize>,
    log: Option<String>,
    qstash_token: Option<String>,
    qstash_current_signing_key: Option<String>,
    qstash_next_signing_key: Option<String>,
    qstash_rewrite: Option<Vec<String>>,
    qstash_allow: Option<String>,
    qstash_deny: Option<String>,
    qstash_max_body: Option<usize>,
    vector: Option<VectorFile>,
}

/// The `[vector]` table of the TOML file.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    embedding_model_dir: Option<PathBuf>,
    embedding_model: Option<String>,
    admin_token: Option<String>,
    #[serde(default)]
    indexes: Vec<IndexFile>,
}

/// One `[[vector.indexes]]` entry.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct IndexFile {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    dimension: Option<usize>,
    similarity: Option<String>,
    dense_model: Option<String>,
    sparse_model: Option<String>,
    token: Option<String>,
    readonly_token: Option<String>,
}

/// Vector settings.
#[derive(Debug, Clone, Default)]
pub struct VectorSettings {
    /// Model directory of the dense embedder.
    pub model_dir: Option<PathBuf>,
    /// The name the dense model answers to.
    pub model_name: String,
    /// Developer API token.
    pub admin_token: Option<String>,
    /// The admin token was generated (print it).
    pub admin_token_generated: bool,
    /// Indexes declared in the file.
    pub indexes: Vec<stashd_vector::IndexSpec>,
}

/// The development token used by `stashd dev` (like the hosted service's local dev server).
pub const DEV_TOKEN: &str = "stashd-dev-token";
/// The development read-only token used by `stashd dev`.
pub const DEV_READONLY_TOKEN: &str = "stashd-dev-readonly-token";
/// The QStash development token (`base64({"UserID":"defaultUser","Password":"defaultPassword"})`),
/// the one `@upstash/qstash` forces in dev mode.
pub const DEV_QSTASH_TOKEN: &str = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=";
/// The QStash development signing keys.
pub const DEV_QSTASH_SIGNING_KEYS: (&str, &str) = ("sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r", "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs");

/// QStash settings.
#[derive(Debug, Clone, Default)]
pub struct QstashSettings {
    /// API token.
    pub token: Option<String>,
    /// Signing keys (current, next) given by configuration.
    pub signing_keys: Option<(String, String)>,
    /// Destination rewrites (from, to).
    pub rewrites: Vec<(String, String)>,
    /// Allow list text.
    pub allow: String,
    /// Deny list text.
    pub deny: String,
    /// Loopback destinations allowed without a rule (dev).
    pub allow_loopback: bool,
    /// Largest message body.
    pub max_body: usize,
    /// The token was generated (print it).
    pub token_generated: bool,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bind address.
    pub bind: String,
    /// RESP port.
    pub port: u16,
    /// HTTP port.
    pub http_port: u16,
    /// Data directory, `None` when in memory.
    pub data_dir: Option<PathBuf>,
    /// fsync policy.
    pub appendfsync: FsyncPolicy,
    /// Full token (None = no auth).
    pub redis_token: Option<String>,
    /// Read-only token.
    pub redis_readonly_token: Option<String>,
    /// HTTP body limit.
    pub max_request_size: usize,
    /// DEBUG allowed.
    pub enable_debug_command: bool,
    /// Runtime threads.
    pub threads: Option<usize>,
    /// Config file used.
    pub config_file: Option<PathBuf>,
    /// Log filter.
    pub log: String,
    /// Whether tokens were generated (and should be printed).
    pub tokens_generated: bool,
    /// `stashd dev`.
    pub dev: bool,
    /// QStash.
    pub qstash: QstashSettings,
    /// Vector.
    pub vector: VectorSettings,
}

impl Settings {
    /// Merges flags/env over the file over defaults. Tokens are not generated here.
    pub fn resolve(cli: Cli) -> Result<Settings, ConfigError> {
        let file = match &cli.config {
            Some(p) => load_file(p)?,
            None => FileConfig::default(),
        };
        let dev = cli.mode == Some(Mode::Dev);
        let qstash = qstash_settings(&cli, &file, dev)?;
        let vector = vector_settings(&cli, &file, dev)?;
        let in_memory = cli.in_memory.or(file.in_memory).unwrap_or(dev);
        let fsync_text = cli.appendfsync.or(file.appendfsync).unwrap_or_else(|| "everysec".into());
        let appendfsync = FsyncPolicy::parse(&fsync_text).ok_or(ConfigError::Invalid {
            name: "appendfsync",
            value: fsync_text.clone(),
            hint: "always, everysec or no",
        })?;
        let mut redis_token = cli.redis_token.or(file.redis_token).filter(|t| !t.is_empty());
        let mut redis_readonly_token = cli.redis_readonly_token.or(file.redis_readonly_token).filter(|t| !t.is_empty());
        if dev && redis_token.is_none() {
            redis_token = Some(DEV_TOKEN.into());
            redis_readonly_token = redis_readonly_token.or(Some(DEV_READONLY_TOKEN.into()));
        }
        let max_request_size = cli.max_request_size.or(file.max_request_size).unwrap_or(10 * 1024 * 1024);
        if max_request_size < 1024 {
            return Err(ConfigError::Invalid {
                name: "max_request_size",
                value: max_request_size.to_string(),
                hint: "at least 1024 bytes",
            });
        }
        Ok(Settings {
            dev,
            qstash,
            vector,
            bind: cli.bind.or(file.bind).unwrap_or_else(|| "127.0.0.1".into()),
            port: cli.port.or(file.port).unwrap_or(6379),
            http_port: cli.http_port.or(file.http_port).unwrap_or(8080),
            data_dir: if in_memory { None } else { Some(cli.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("./stashd-data"))) },
            appendfsync,
            redis_token,
            redis_readonly_token,
            max_request_size,
            enable_debug_command: cli.enable_debug_command.or(file.enable_debug_command).unwrap_or(false),
            threads: cli.threads.or(file.threads),
            config_file: cli.config,
            log: cli.log.or(file.log).unwrap_or_else(|| "info".into()),
            tokens_generated: false,
        })
    }

    /// When no token is configured and data is durable, generates tokens once and keeps them in
    /// `<data-dir>/tokens.toml`, so they survive restarts.
    pub fn ensure_tokens(&mut self) -> Result<(), ConfigError> {
        self.ensure_redis_tokens()?;
        self.ensure_qstash_token()?;
        self.ensure_vector_admin_token()
    }

    /// The Vector Developer API token: configured, or kept in `<data-dir>/tokens.toml`, or
    /// generated for this run when in memory.
    fn ensure_vector_admin_token(&mut self) -> Result<(), ConfigError> {
        if self.vector.admin_token.is_none() {
            self.vector.admin_token_generated = true;
            self.vector.admin_token = Some(kept_token(self.data_dir.as_deref(), "vector_admin_token")?);
        }
        Ok(())
    }

    /// The QStash token: configured, or kept in `<data-dir>/tokens.toml` (added to the file when
    /// it lacks one), or generated for this run when in memory.
    fn ensure_qstash_token(&mut self) -> Result<(), ConfigError> {
        if self.qstash.token.is_none() {
            self.qstash.token_generated = true;
            self.qstash.token = Some(kept_token(self.data_dir.as_deref(), "qstash_token")?);
        }
        Ok(())
    }

    fn ensure_redis_tokens(&mut self) -> Result<(), ConfigError> {
        if self.redis_token.is_some() {
            return Ok(());
        }
        let generated = || generate_token();
        let Some(dir) = &self.data_dir else {
            self.redis_token = Some(generated());
            self.redis_readonly_token = self.redis_readonly_token.take().or_else(|| Some(generated()));
            self.tokens_generated = true;
            return Ok(());
        };
        let path = dir.join("tokens.toml");
        #[derive(Deserialize)]
        struct Stored {
            redis_token: String,
            redis_readonly_token: String,
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(s) = toml::from_str::<Stored>(&text) {
                self.redis_token = Some(s.redis_token);
                self.redis_readonly_token = self.redis_readonly_token.take().or(Some(s.redis_readonly_token));
                self.tokens_generated = true;
                return Ok(());
            }
        }
        let full = generated();
        let ro = self.redis_readonly_token.clone().unwrap_or_else(generated);
        let text =
            format!("# Generated by stashd on first start. Keep secret.\nredis_token = \"{full}\"\nredis_readonly_token = \"{ro}\"\n");
        let err = |source| ConfigError::Tokens { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(err)?;
        write_private(&path, &text).map_err(err)?;
        self.redis_token = Some(full);
        self.redis_readonly_token = Some(ro);
        self.tokens_generated = true;
        Ok(())
    }
}

/// The token kept under `key` in `<dir>/tokens.toml`, generated and added to the file when it
/// lacks one; without a data directory, a fresh token for this run.
fn kept_token(dir: Option<&Path>, key: &str) -> Result<String, ConfigError> {
    let Some(dir) = dir else { return Ok(generate_token()) };
    let path = dir.join("tokens.toml");
    let mut table = std::fs::read_to_string(&path).ok().and_then(|t| t.parse::<toml::Table>().ok()).unwrap_or_default();
    if let Some(toml::Value::String(t)) = table.get(key) {
        return Ok(t.clone());
    }
    let token = generate_token();
    table.insert(key.into(), toml::Value::String(token.clone()));
    let err = |source| ConfigError::Tokens { path: path.clone(), source };
    std::fs::create_dir_all(dir).map_err(err)?;
    write_private(&path, &format!("# Generated by stashd on first start. Keep secret.\n{table}")).map_err(err)?;
    Ok(token)
}

/// After `CONFIG SET requirepass`: if the standard token lives in `<data-dir>/tokens.toml`,
/// the new one replaces it there, so the next start uses it (a token given by flag, variable
/// or TOML file is that configuration's business and stays as configured).
pub fn store_requirepass(data_dir: &str, token: &str) {
    if data_dir.is_empty() {
        return;
    }
    let path = Path::new(data_dir).join("tokens.toml");
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    let Ok(mut table) = text.parse::<toml::Table>() else { return };
    table.insert("redis_token".into(), toml::Value::String(token.to_string()));
    let body = format!("# Generated by stashd on first start. Keep secret.\n{table}");
    if let Err(e) = write_private(&path, &body) {
        tracing::error!(error = %e, path = %path.display(), "cannot keep the new standard token");
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    let mut f = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?
    };
    #[cfg(not(unix))]
    let mut f = std::fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// A random 43-character alphanumeric token (about 256 bits). Alphanumeric so it never starts
/// with `-` (which command lines read as an option) and needs no escaping in `?_token=`.
pub fn generate_token() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
}

/// Resolves the QStash settings (flags > env > file > defaults; `dev` brings the development
/// token and keys and allows loopback destinations).
fn qstash_settings(cli: &Cli, file: &FileConfig, dev: bool) -> Result<QstashSettings, ConfigError> {
    let mut token = cli.qstash_token.clone().or(file.qstash_token.clone()).filter(|t| !t.is_empty());
    let current = cli.qstash_current_signing_key.clone().or(file.qstash_current_signing_key.clone()).filter(|t| !t.is_empty());
    let next = cli.qstash_next_signing_key.clone().or(file.qstash_next_signing_key.clone()).filter(|t| !t.is_empty());
    let mut signing_keys = match (current, next) {
        (Some(c), Some(n)) => Some((c, n)),
        (None, None) => None,
        (Some(c), None) | (None, Some(c)) => {
            return Err(ConfigError::Invalid {
                name: "qstash signing keys",
                value: c,
                hint: "give both --qstash-current-signing-key and --qstash-next-signing-key",
            })
        }
    };
    if dev {
        token = token.or(Some(DEV_QSTASH_TOKEN.into()));
        signing_keys = signing_keys.or(Some((DEV_QSTASH_SIGNING_KEYS.0.into(), DEV_QSTASH_SIGNING_KEYS.1.into())));
    }
    let rewrite_list =
        if cli.qstash_rewrite.is_empty() { file.qstash_rewrite.clone().unwrap_or_default() } else { cli.qstash_rewrite.clone() };
    let mut rewrites = Vec::new();
    for r in rewrite_list.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        let (from, to) =
            r.split_once('=').ok_or(ConfigError::Invalid { name: "qstash_rewrite", value: r.into(), hint: "FROM=TO, two URL prefixes" })?;
        let ok = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        if !ok(from.trim()) || !ok(to.trim()) {
            return Err(ConfigError::Invalid {
                name: "qstash_rewrite",
                value: r.into(),
                hint: "both sides must start with http:// or https://",
            });
        }
        rewrites.push((from.trim().to_string(), to.trim().to_string()));
    }
    let allow = cli.qstash_allow.clone().or(file.qstash_allow.clone()).unwrap_or_default();
    let deny = cli.qstash_deny.clone().or(file.qstash_deny.clone()).unwrap_or_default();
    for (name, list) in [("qstash_allow", &allow), ("qstash_deny", &deny)] {
        if let Err(_e) = stashd_qstash::egress::Rule::parse_list(list) {
            return Err(ConfigError::Invalid {
                name,
                value: list.clone(),
                hint: "hosts, *.suffix, addresses, CIDRs, loopback or private, comma-separated",
            });
        }
    }
    let max_body = cli.qstash_max_body.or(file.qstash_max_body).unwrap_or(1024 * 1024);
    if max_body < 1024 {
        return Err(ConfigError::Invalid { name: "qstash_max_body", value: max_body.to_string(), hint: "at least 1024 bytes" });
    }
    Ok(QstashSettings { token, signing_keys, rewrites, allow, deny, allow_loopback: dev, max_body, token_generated: false })
}

/// The development token of the Vector Developer API in `stashd dev`.
pub const DEV_VECTOR_ADMIN_TOKEN: &str = "stashd-dev-vector-admin-token";

/// Resolves the Vector settings (flags > env > file > defaults).
fn vector_settings(cli: &Cli, file: &FileConfig, dev: bool) -> Result<VectorSettings, ConfigError> {
    let vf = file.vector.clone().unwrap_or_default();
    let model_dir = cli.embedding_model_dir.clone().or(vf.embedding_model_dir).filter(|p| !p.as_os_str().is_empty());
    let model_name = vf.embedding_model.unwrap_or_else(|| stashd_vector::service::DEFAULT_DENSE_MODEL.to_string());
    let mut admin_token = cli.vector_admin_token.clone().or(vf.admin_token).filter(|t| !t.is_empty());
    if dev {
        admin_token = admin_token.or(Some(DEV_VECTOR_ADMIN_TOKEN.into()));
    }
    let mut indexes = Vec::new();
    for ix in vf.indexes {
        let kind = match &ix.kind {
            None => stashd_vector::model::IndexKind::Dense,
            Some(k) => stashd_vector::model::IndexKind::parse(k).ok_or(ConfigError::Invalid {
                name: "vector.indexes.type",
                value: k.clone(),
                hint: "DENSE, SPARSE or HYBRID",
            })?,
        };
        let similarity = match &ix.similarity {
            None => Default::default(),
            Some(s) => s.parse().map_err(|_| ConfigError::Invalid {
                name: "vector.indexes.similarity",
                value: s.clone(),
                hint: "COSINE, EUCLIDEAN or DOT_PRODUCT",
            })?,
        };
        if !stashd_vector::service::valid_index_name(&ix.name) {
            return Err(ConfigError::Invalid { name: "vector.indexes.name", value: ix.name, hint: "1 to 64 letters, digits, '-' or '_'" });
        }
        if indexes.iter().any(|s: &stashd_vector::IndexSpec| s.name == ix.name) {
            return Err(ConfigError::Invalid { name: "vector.indexes.name", value: ix.name, hint: "each index needs its own name" });
        }
        indexes.push(stashd_vector::IndexSpec {
            name: ix.name,
            kind,
            dimension: ix.dimension,
            similarity,
            dense_model: ix.dense_model.filter(|m| !m.is_empty()),
            sparse_model: ix.sparse_model.filter(|m| !m.is_empty()),
            token: ix.token.filter(|t| !t.is_empty()),
            readonly_token: ix.readonly_token.filter(|t| !t.is_empty()),
        });
    }
    Ok(VectorSettings { model_dir, model_name, admin_token, admin_token_generated: false, indexes })
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_flags_over_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("stashd-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(&f, "port = 7000\nhttp_port = 7001\nappendfsync = \"always\"\n").unwrap();
        let cli = Cli { port: Some(7100), config: Some(f.clone()), ..Default::default() };
        let s = Settings::resolve(cli).unwrap();
        assert_eq!(s.port, 7100);
        assert_eq!(s.http_port, 7001);
        assert_eq!(s.appendfsync, FsyncPolicy::Always);
        assert_eq!(s.bind, "127.0.0.1");
        assert_eq!(s.data_dir.as_deref(), Some(Path::new("./stashd-data")));
        std::fs::write(&f, "prot = 1\n").unwrap();
        assert!(matches!(Settings::resolve(Cli { config: Some(f), ..Default::default() }), Err(ConfigError::Parse { .. })));
        let bad = Cli { appendfsync: Some("sometimes".into()), ..Default::default() };
        assert!(matches!(Settings::resolve(bad), Err(ConfigError::Invalid { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn generated_tokens_persist() {
        let dir = std::env::temp_dir().join(format!("stashd-tok-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = Settings::resolve(Cli { data_dir: Some(dir.clone()), ..Default::default() }).unwrap();
        s.ensure_tokens().unwrap();
        let first = s.redis_token.clone();
        let mut again = Settings::resolve(Cli { data_dir: Some(dir.clone()), ..Default::default() }).unwrap();
        again.ensure_tokens().unwrap();
        assert_eq!(first, again.redis_token);
        assert_ne!(again.redis_token, again.redis_readonly_token);
        assert!(again.redis_token.as_deref().is_some_and(|t| t.len() == 43 && t.bytes().all(|c| c.is_ascii_alphanumeric())));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
