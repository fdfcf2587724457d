//! Start-up and shutdown: resolve settings, recover the data, bind the listeners, run the
//! background tasks (active expiry, log rewrite, blocked-client cleanup), stop on SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use stashd_engine::clock::Clock;
use stashd_engine::config::RuntimeConfig;
use stashd_engine::engine::ServerFacts;
use stashd_engine::keyspace::Keyspace;
use stashd_engine::{Engine, Tokens};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Cli, ConfigError, Settings};
use crate::rest_face::RestState;

/// Why the server could not run.
#[derive(Debug, Error)]
pub enum RunError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be recovered.
    #[error("cannot recover data: {0}")]
    Recover(#[from] stashd_engine::aof::AofError),
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The ACL users file could not be read or written.
    #[error("cannot load the ACL users: {0}")]
    Users(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// QStash could not start (its store, its HTTP client).
    #[error("cannot start QStash: {0}")]
    Qstash(String),
    /// Vector could not start (its model, its indexes).
    #[error("cannot start Vector: {0}")]
    Vector(String),
}

/// Runs the server until a termination signal.
pub fn run(cli: Cli) -> Result<(), RunError> {
    let mut settings = Settings::resolve(cli)?;
    init_tracing(&settings.log);
    settings.ensure_tokens()?;
    // One thread: a current-thread runtime (Redis's model, no work-stealing overhead).
    let mut builder = match settings.threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(t) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(t.max(1));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = builder.enable_all().build().map_err(RunError::Runtime)?;
    rt.block_on(serve(settings))
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

async fn bind(host: &str, port: u16) -> Result<TcpListener, RunError> {
    let addr = format!("{host}:{port}");
    TcpListener::bind(&addr).await.map_err(|source| RunError::Bind { addr, source })
}

async fn serve(s: Settings) -> Result<(), RunError> {
    let config = RuntimeConfig { appendfsync: s.appendfsync, ..RuntimeConfig::default() };
    let tokens = Tokens { full: s.redis_token.clone(), readonly: s.redis_readonly_token.clone() };
    let facts = ServerFacts {
        tcp_port: s.port,
        http_port: s.http_port,
        bind: s.bind.clone(),
        data_dir: s.data_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
        config_file: s.config_file.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
        debug_enabled: s.enable_debug_command,
        release_memory: Some(crate::alloc::release_free_memory),
        on_requirepass: if s.tokens_generated { Some(crate::config::store_requirepass) } else { None },
    };
    // Bind first so a port conflict is reported before any recovery work. In `dev` (which the
    // QStash SDK may spawn beside a Redis on 6379) a busy RESP port only turns the RESP face off.
    let resp_listener = match bind(&s.bind, s.port).await {
        Ok(l) => Some(l),
        Err(e) if s.dev => {
            tracing::warn!(error = %e, "RESP face off in dev mode (choose another port with --resp-port)");
            None
        }
        Err(e) => return Err(e),
    };
    let http_listener = bind(&s.bind, s.http_port).await?;
    // One clock for the engine, the store and QStash's workers.
    let clock = Arc::new(Clock::system());
    // The engine starts empty; with a data directory it answers LOADING until recovery is done.
    let engine = Engine::new(Keyspace::default(), clock.clone(), config, None, tokens.clone(), facts);
    if let Some(dir) = &s.data_dir {
        stashd_engine::persist::attach_users(&engine, dir, &tokens).map_err(RunError::Users)?;
    }
    if s.data_dir.is_some() {
        engine.shared.loading.store(true, Ordering::Release);
    } else {
        tracing::info!("running in memory: nothing is persisted");
    }
    let resp_addr: Option<SocketAddr> = resp_listener.as_ref().and_then(|l| l.local_addr().ok());
    let http_addr: SocketAddr = http_listener.local_addr().map_err(|source| RunError::Bind { addr: s.bind.clone(), source })?;
    tracing::info!(resp = ?resp_addr, http = %http_addr, "stashd listening");

    let (stop_tx, stop_rx) = watch::channel(false);
    let resp_task = resp_listener.map(|l| tokio::spawn(crate::resp_face::serve(l, engine.clone(), stop_rx.clone())));
    let rest = RestState { engine: engine.clone(), max_request_size: s.max_request_size };
    let qstash_slot: crate::qstash_face::QstashSlot = Arc::new(OnceLock::new());
    let vector_slot: crate::vector_face::VectorSlot = Arc::new(OnceLock::new());
    let state = crate::http::HttpState { rest, qstash: qstash_slot.clone(), vector: vector_slot.clone() };
    let http_task = tokio::spawn(crate::http::serve(http_listener, state, stop_rx.clone()));
    let products: Arc<OnceLock<stashd_store::Embedded>> = Arc::new(OnceLock::new());
    let cron = tokio::spawn(cron(engine.clone(), products.clone(), stop_rx.clone()));
    let store = match start_qstash(&s, clock.clone(), &qstash_slot, stop_rx.clone()).await {
        Ok(store) => {
            let _ = products.set(store.clone());
            store
        }
        Err(e) => {
            let _ = stop_tx.send(true);
            return Err(e);
        }
    };
    if let Err(e) = start_vector(&s, &store, http_addr, &vector_slot).await {
        let _ = stop_tx.send(true);
        store.shutdown();
        return Err(e);
    }
    print_banner(&s, http_addr, qstash_slot.get(), vector_slot.get());

    if let Some(dir) = s.data_dir.clone() {
        let e = engine.clone();
        let started = std::time::Instant::now();
        let recovered = tokio::task::spawn_blocking(move || stashd_engine::persist::recover_into(&e, &dir)).await;
        match recovered {
            Ok(Ok(report)) => {
                let keys: usize = engine.shared.ks.lock().dbs.iter().map(|d| d.len()).sum();
                tracing::info!(
                    records = report.records,
                    keys,
                    ms = started.elapsed().as_millis() as u64,
                    appendfsync = s.appendfsync.as_str(),
                    "recovered data; serving"
                );
            }
            Ok(Err(e)) => {
                let _ = stop_tx.send(true);
                return Err(RunError::Recover(e));
            }
            Err(join) => {
                let _ = stop_tx.send(true);
                return Err(RunError::Runtime(std::io::Error::other(join.to_string())));
            }
        }
    }

    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        if let Some(t) = resp_task {
            let _ = t.await;
        }
        let _ = http_task.await;
        let _ = cron.await;
    })
    .await;
    store.shutdown();
    if let Some(aof) = engine.shared.aof() {
        aof.shutdown();
        tracing::info!("append-only log flushed");
    }
    Ok(())
}

/// Opens the store (recovering it from `<data-dir>/store/`), then QStash over it, and starts
/// QStash's worker and the store's upkeep. The QStash face answers 503 until this is done.
async fn start_qstash(
    s: &Settings,
    clock: Arc<Clock>,
    slot: &crate::qstash_face::QstashSlot,
    stop: watch::Receiver<bool>,
) -> Result<stashd_store::Embedded, RunError> {
    let store = match &s.data_dir {
        Some(dir) => {
            let dir = dir.clone();
            let c = clock.clone();
            tokio::task::spawn_blocking(move || stashd_store::Embedded::open(&dir, c))
                .await
                .map_err(|e| RunError::Qstash(e.to_string()))?
                .map_err(|e| RunError::Qstash(e.to_string()))?
        }
        None => stashd_store::Embedded::in_memory(clock),
    };
    let q = &s.qstash;
    let egress = stashd_qstash::egress::Egress {
        allow: stashd_qstash::egress::Rule::parse_list(&q.allow).map_err(RunError::Qstash)?,
        deny: stashd_qstash::egress::Rule::parse_list(&q.deny).map_err(RunError::Qstash)?,
        allow_loopback: q.allow_loopback,
    };
    let cfg = stashd_qstash::Config {
        token: q.token.clone().unwrap_or_default(),
        max_body: q.max_body,
        rewrites: q.rewrites.clone(),
        signing_keys: q.signing_keys.clone().map(|(current, next)| stashd_qstash::signing::SigningKeys { current, next }),
        ..stashd_qstash::Config::default()
    };
    let transport = stashd_qstash::http_client::HttpTransport::new(egress, cfg.max_response_body).map_err(RunError::Qstash)?;
    let shared: stashd_store::SharedStore = Arc::new(store.clone());
    let qstash = stashd_qstash::Qstash::open(shared, cfg, Arc::new(transport)).await.map_err(|e| RunError::Qstash(e.message))?;
    tokio::spawn(qstash.clone().run_worker(stop.clone()));
    tokio::spawn(store.clone().maintain(stop));
    let _ = slot.set(qstash);
    Ok(store)
}

/// Loads the dense embedding model (when configured) and opens Vector on the shared store:
/// its catalog, the configured indexes and every index's vectors, rebuilt in memory.
async fn start_vector(
    s: &Settings,
    store: &stashd_store::Embedded,
    http: SocketAddr,
    slot: &crate::vector_face::VectorSlot,
) -> Result<(), RunError> {
    let vs = &s.vector;
    let dense: Option<Arc<dyn stashd_vector::embed::DenseEmbedder>> = match &vs.model_dir {
        Some(dir) => {
            let dir = dir.clone();
            let started = std::time::Instant::now();
            let loaded = tokio::task::spawn_blocking(move || stashd_vector::embed::BertEmbedder::load(&dir))
                .await
                .map_err(|e| RunError::Vector(e.to_string()))?
                .map_err(|e| RunError::Vector(format!("embedding model: {e}")))?;
            tracing::info!(ms = started.elapsed().as_millis() as u64, model = %vs.model_name, "embedding model loaded");
            Some(Arc::new(loaded))
        }
        None => None,
    };
    let mut indexes = vs.indexes.clone();
    if s.dev && indexes.is_empty() {
        // `stashd dev`: the default index answers to the well-known development tokens.
        indexes.push(stashd_vector::IndexSpec {
            name: "default".into(),
            dimension: Some(dense.as_ref().map_or(stashd_vector::service::DEFAULT_MODEL_DIMENSION, |m| m.dimension())),
            dense_model: dense.as_ref().map(|_| vs.model_name.clone()),
            token: s.redis_token.clone(),
            readonly_token: s.redis_readonly_token.clone(),
            ..Default::default()
        });
    }
    let models = stashd_vector::Models { dense, dense_name: vs.model_name.clone(), bm25: Arc::new(stashd_vector::embed::Bm25::new()) };
    let cfg = stashd_vector::VectorConfig { admin_token: vs.admin_token.clone().unwrap_or_default(), models, indexes };
    let shared: stashd_store::SharedStore = Arc::new(store.clone());
    let v = stashd_vector::Vector::open(shared, cfg).await.map_err(RunError::Vector)?;
    let host = if http.ip().is_unspecified() { "127.0.0.1".to_string() } else { http.ip().to_string() };
    v.set_public_base(format!("{host}:{}", http.port()));
    let _ = slot.set(v);
    Ok(())
}

fn print_banner(s: &Settings, http: SocketAddr, qstash: Option<&stashd_qstash::Qstash>, vector: Option<&stashd_vector::Vector>) {
    let host = if http.ip().is_unspecified() { "127.0.0.1".to_string() } else { http.ip().to_string() };
    let url = format!("http://{host}:{}", http.port());
    // One write for the whole block, so a reader (the QStash SDK waiting for the "running at"
    // line, a test) never sees half of it.
    use std::fmt::Write as _;
    let mut out = String::new();
    if s.dev {
        let _ = writeln!(out, "QStash development server is running at {url}");
    }
    if s.tokens_generated || s.dev {
        let _ = writeln!(out, "# stashd generated these credentials; paste them into your app's environment:");
        let _ = writeln!(out, "UPSTASH_REDIS_REST_URL={url}");
        if let Some(t) = &s.redis_token {
            let _ = writeln!(out, "UPSTASH_REDIS_REST_TOKEN={t}");
        }
        if let Some(t) = &s.redis_readonly_token {
            let _ = writeln!(out, "UPSTASH_REDIS_REST_READONLY_TOKEN={t}");
        }
    }
    let _ = writeln!(out, "QSTASH_URL={url}");
    if s.qstash.token_generated || s.dev {
        if let Some(t) = &s.qstash.token {
            let _ = writeln!(out, "QSTASH_TOKEN={t}");
        }
    }
    if let Some(q) = qstash {
        if s.qstash.signing_keys.is_none() || s.dev {
            let k = q.signing_keys();
            let _ = writeln!(out, "QSTASH_CURRENT_SIGNING_KEY={}", k.current);
            let _ = writeln!(out, "QSTASH_NEXT_SIGNING_KEY={}", k.next);
        }
    }
    if let Some(v) = vector {
        for def in v.definitions() {
            let _ = writeln!(out, "# vector index {} ({}, dimension {}, {})", def.name, def.kind.as_str(), def.dimension, def.similarity);
            let _ = writeln!(out, "UPSTASH_VECTOR_REST_URL={url}/vector/{}", def.name);
            let _ = writeln!(out, "UPSTASH_VECTOR_REST_TOKEN={}", def.token);
            let _ = writeln!(out, "UPSTASH_VECTOR_REST_READONLY_TOKEN={}", def.readonly_token);
        }
        if s.vector.admin_token_generated || s.dev {
            let _ = writeln!(out, "# Vector Developer API ({url}/v2/vector/index), Bearer token:");
            let _ = writeln!(out, "UPSTASH_VECTOR_ADMIN_TOKEN={}", v.admin_token());
        }
    }
    if let Some(dir) = &s.data_dir {
        if s.tokens_generated {
            let _ = writeln!(
                out,
                "# (kept in {}/tokens.toml; RESP clients use the token as password: redis-cli -p {} -a <token>)",
                dir.display(),
                s.port
            );
        }
    }
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Periodic work: the active expiry cycle (hz per second), automatic log rewrite, and dropping
/// registrations of clients that stopped waiting.
async fn cron(engine: Engine, products: Arc<OnceLock<stashd_store::Embedded>>, mut stop: watch::Receiver<bool>) {
    let mut tick = 0u64;
    let mut last_ops = 0u64;
    let mut last_product_ops = 0u64;
    loop {
        let hz = engine.shared.config.read().hz.max(1) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(1000 / hz)) => {}
            _ = stop.changed() => return,
        }
        tick += 1;
        if engine.shared.loading.load(Ordering::Acquire) {
            continue;
        }
        let e = engine.clone();
        // Bounded work under the lock: 25% of the tick, like Redis's slow cycle. Everything that
        // takes the lock runs off the async workers, so a long script never stalls them.
        let budget = Duration::from_millis(250 / hz);
        let per_second = tick.is_multiple_of(hz);
        let mut ops = last_ops;
        let store = products.get().cloned();
        let product_ops = store.as_ref().map_or(0, |s| s.commands());
        let product_ran = product_ops.saturating_sub(last_product_ops);
        if per_second {
            last_product_ops = product_ops;
        }
        let done = tokio::task::spawn_blocking(move || {
            e.active_expire_cycle(budget);
            if per_second {
                // QStash's store counts as activity too (a purge under its load cost a tenth of
                // its CPU in page faults).
                let ran = sample_stats(&e, &mut ops) + product_ran;
                maybe_rewrite(&e);
                e.shared.ks.lock().sweep_blocked();
                // Only when (nearly) idle: a busy allocator purges by itself, and a forced collect
                // under load stalled the server for milliseconds each second (HSET -P 16: p99
                // 14-21 ms instead of 2-4 ms, a third less throughput).
                if ran <= IDLE_OPS_PER_SEC {
                    crate::alloc::release_free_memory();
                }
            }
            ops
        })
        .await;
        if let Ok(ops) = done {
            last_ops = ops;
        }
    }
}

/// Once a second: commands per second and peak memory for `INFO`.
/// Commands per second under which the server counts as idle enough to hand memory back.
const IDLE_OPS_PER_SEC: u64 = 100;

/// Samples the once-a-second statistics; returns the commands run in the last second.
fn sample_stats(engine: &Engine, last_ops: &mut u64) -> u64 {
    let ops = engine.shared.ks.lock().stats.commands;
    let c = &engine.shared.counters;
    let ran = ops.saturating_sub(*last_ops);
    c.ops_per_sec.store(ran, Ordering::Relaxed);
    *last_ops = ops;
    c.peak_rss.fetch_max(stashd_engine::cmd::server::rss_bytes(), Ordering::Relaxed);
    ran
}

fn maybe_rewrite(engine: &Engine) {
    if engine.maybe_rewrite() {
        tracing::info!("automatic append-only log rewrite started");
    }
}
