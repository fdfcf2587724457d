//! The engine: the locked keyspace plus the dispatcher that checks and runs commands.
//!
//! Every face calls [`Engine::execute`] (or [`Engine::execute_batch`]) with a [`Session`]; the
//! keyspace lock is held for the whole command (or MULTI/EXEC), which makes each atomic.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard, RwLock};
use tokio::sync::Notify;

use crate::aof::Aof;
use crate::clock::Clock;
use crate::command::{self, flags, CommandSpec};
use crate::config::RuntimeConfig;
use crate::ctx::{Ctx, Effect};
use crate::error::CmdError;
use crate::keyspace::Keyspace;
use crate::notify;
use crate::session::{Face, Session};
use crate::Reply;

/// The configured credentials: the standard token (user `default`'s password) and the
/// read-only token (user `default_ro`'s). See [`crate::acl`].
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Full-access token; `None` means no authentication is required.
    pub full: Option<String>,
    /// Read-only token.
    pub readonly: Option<String>,
}

/// What `CLIENT LIST` shows of a connection.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Peer address.
    pub addr: String,
    /// Local address.
    pub laddr: String,
    /// `CLIENT SETNAME`.
    pub name: String,
    /// `CLIENT SETINFO LIB-NAME`.
    pub lib_name: String,
    /// `CLIENT SETINFO LIB-VER`.
    pub lib_ver: String,
    /// Selected db.
    pub db: usize,
    /// Connection time (ms).
    pub created_ms: u64,
    /// Last command time (ms).
    pub last_ms: u64,
    /// Last command name.
    pub last_cmd: &'static str,
    /// The ACL user it acts as.
    pub user: String,
    /// Protocol version.
    pub resp: u8,
    /// Closes the connection (`CLIENT KILL`); set by the face that owns the socket.
    pub killer: Option<Killer>,
}

/// Something that closes a client's connection from elsewhere.
#[derive(Clone)]
pub struct Killer(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Killer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Killer")
    }
}

/// Static facts about the running server, for `INFO` and `CONFIG GET`.
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    /// RESP port.
    pub tcp_port: u16,
    /// HTTP port.
    pub http_port: u16,
    /// Bind address.
    pub bind: String,
    /// Data directory (empty when in memory).
    pub data_dir: String,
    /// Path of the config file, if any.
    pub config_file: String,
    /// Whether `DEBUG` is enabled.
    pub debug_enabled: bool,
    /// Keeps a standard token set by `CONFIG SET requirepass` where the server stores its tokens
    /// (called with the data directory and the new token).
    pub on_requirepass: Option<fn(&str, &str)>,
    /// Hands the allocator's free memory back to the OS (`MEMORY PURGE`), if the server has a way.
    pub release_memory: Option<fn()>,
}

/// Server-wide counters reported by `INFO` (updated without the keyspace lock).
#[derive(Debug, Default)]
pub struct Counters {
    /// RESP connections accepted since start.
    pub connections_received: AtomicU64,
    /// Connections refused because of `maxclients`.
    pub rejected_connections: AtomicU64,
    /// Commands per second over the last second (set by the server's cron).
    pub ops_per_sec: AtomicU64,
    /// Highest resident size seen (set by the server's cron).
    pub peak_rss: AtomicU64,
}

/// State shared by all clients.
pub struct Shared {
    /// The keyspace behind the one lock.
    pub ks: Mutex<Keyspace>,
    /// The time source.
    pub clock: Arc<Clock>,
    /// Runtime settings (`CONFIG GET/SET`).
    pub config: RwLock<RuntimeConfig>,
    /// The append-only log: absent with `--in-memory`, attached once recovery finished.
    aof: OnceLock<Aof>,
    /// True while the data is being recovered: commands not flagged `OK_LOADING` answer `LOADING`.
    pub loading: AtomicBool,
    /// Users and their permissions (the tokens are users).
    pub acl: crate::acl::Acl,
    /// Connected clients.
    pub clients: Mutex<BTreeMap<u64, ClientInfo>>,
    /// Facts for INFO.
    pub facts: ServerFacts,
    next_client_id: AtomicU64,
    /// Process start.
    pub started: Instant,
    /// Process start in Unix ms (by the engine clock).
    pub started_ms: u64,
    /// Random 40-hex-digit id of this run (`INFO run_id`).
    pub run_id: String,
    /// Counters for `INFO`.
    pub counters: Counters,
    /// Pub/sub channels and patterns.
    pub pubsub: crate::pubsub::Hub,
    /// The script running right now (BUSY answers, SCRIPT/FUNCTION KILL).
    pub script_run: Arc<crate::scripting::ScriptRun>,
    /// The keyspace's write counter as of the last command (read without the lock).
    dirty: AtomicU64,
    /// `notify-keyspace-events` classes (see [`crate::notify`]), read on every write.
    pub notify_flags: AtomicU32,
    /// `slowlog-log-slower-than` (µs), read after every command.
    pub slowlog_threshold: std::sync::atomic::AtomicI64,
    /// `CLIENT PAUSE` (read by the RESP face before each command, and by expiry).
    pub pause: crate::pause::Pause,
    /// Clients parked in blocking commands (`CLIENT UNBLOCK`).
    pub parked: crate::pause::ParkedClients,
    /// Client-side caching tables (`CLIENT TRACKING`).
    pub tracking: crate::tracking::Tracking,
}

impl Shared {
    /// The append-only log, if one is attached.
    pub fn aof(&self) -> Option<&Aof> {
        self.aof.get()
    }

    /// Attaches the log once recovery is done. Returns false if one was already attached.
    pub fn attach_aof(&self, aof: Aof) -> bool {
        self.aof.set(aof).is_ok()
    }
}

/// The result of running a command.
#[derive(Debug)]
pub enum Outcome {
    /// A reply (or error) to send now.
    Done(Result<Reply, CmdError>),
    /// The client must wait until `notify` fires or `timeout_ms` passes, then re-run `args`.
    Blocked {
        /// The command to run again.
        args: Vec<Bytes>,
        /// Fired when one of the awaited keys changes.
        notify: Arc<Notify>,
        /// Timeout in ms (0 = forever).
        timeout_ms: u64,
        /// What to answer on timeout.
        timeout_reply: Reply,
    },
}

/// A handle to the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    /// The shared state.
    pub shared: Arc<Shared>,
}

impl Engine {
    /// An engine over an existing keyspace (as recovered from disk).
    pub fn new(
        ks: Keyspace,
        clock: impl Into<Arc<Clock>>,
        config: RuntimeConfig,
        aof: Option<Aof>,
        tokens: Tokens,
        facts: ServerFacts,
    ) -> Self {
        let clock: Arc<Clock> = clock.into();
        let started_ms = clock.now_ms();
        let script_run = ks.scripting.as_ref().map(|s| s.run_state()).unwrap_or_default();
        let dirty = AtomicU64::new(ks.dirty);
        let slowlog_threshold = std::sync::atomic::AtomicI64::new(config.slowlog_log_slower_than);
        Engine {
            shared: Arc::new(Shared {
                ks: Mutex::new(ks),
                clock,
                config: RwLock::new(config),
                aof: aof.map(OnceLock::from).unwrap_or_default(),
                loading: AtomicBool::new(false),
                acl: crate::acl::Acl::new(tokens.full.as_deref(), tokens.readonly.as_deref()),
                clients: Mutex::new(BTreeMap::new()),
                facts,
                next_client_id: AtomicU64::new(1),
                started: Instant::now(),
                started_ms,
                run_id: (0..40).map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0')).collect(),
                counters: Counters::default(),
                pubsub: Default::default(),
                script_run,
                dirty,
                notify_flags: AtomicU32::new(0),
                slowlog_threshold,
                pause: Default::default(),
                parked: Default::default(),
                tracking: Default::default(),
            }),
        }
    }

    /// An in-memory engine with no password, for tests.
    pub fn in_memory(clock: Clock) -> Self {
        Engine::new(Keyspace::default(), clock, RuntimeConfig::default(), None, Tokens::default(), ServerFacts::default())
    }

    /// Opens a session for a new client of `face`.
    pub fn open_session(&self, face: Face, addr: &str, laddr: &str) -> Session {
        let id = self.shared.next_client_id.fetch_add(1, Ordering::Relaxed);
        let acl = &self.shared.acl;
        let user = if matches!(face, Face::Loading | Face::Internal) { Some(acl.superuser()) } else { acl.initial_user() };
        if face == Face::Resp {
            self.shared.counters.connections_received.fetch_add(1, Ordering::Relaxed);
            let now = self.shared.clock.now_ms();
            self.shared.clients.lock().insert(
                id,
                ClientInfo {
                    addr: addr.into(),
                    laddr: laddr.into(),
                    created_ms: now,
                    last_ms: now,
                    resp: 2,
                    user: user.as_ref().map_or_else(|| "default".into(), |u| u.name.clone()),
                    ..Default::default()
                },
            );
        }
        let mut session = Session::new(id, face, user);
        session.acl_epoch = acl.epoch();
        session.addr = addr.into();
        session
    }

    /// Lets `CLIENT KILL` close client `id`'s connection with `kill`.
    pub fn set_killer(&self, id: u64, kill: Arc<dyn Fn() + Send + Sync>) {
        if let Some(c) = self.shared.clients.lock().get_mut(&id) {
            c.killer = Some(Killer(kill));
        }
    }

    /// Closes a session: drops its WATCHes, tracking and its `CLIENT LIST` row.
    pub fn close_session(&self, session: &mut Session) {
        if let Some(t) = session.tracking.take() {
            self.shared.tracking.disable(session.id, &t);
        }
        self.shared.pubsub.unsubscribe_all(session.id, &mut session.subs);
        if !session.watched.is_empty() {
            let mut ks = self.shared.ks.lock();
            crate::cmd::transactions::unwatch_all(&mut ks, session);
        }
        self.shared.clients.lock().remove(&session.id);
    }

    /// Takes the keyspace lock; `None` while a script has been running past
    /// `busy-reply-threshold` (the caller then answers without the lock, see [`Engine::busy_reply`]).
    fn lock_or_busy(&self) -> Option<MutexGuard<'_, Keyspace>> {
        if let Some(ks) = self.shared.ks.try_lock() {
            return Some(ks);
        }
        let wait = || loop {
            if let Some(ks) = self.shared.ks.try_lock() {
                return Some(ks);
            }
            let threshold = Duration::from_millis(self.shared.config.read().busy_reply_threshold);
            if self.shared.script_run.busy_error(threshold).is_some() {
                return None;
            }
            if let Some(ks) = self.shared.ks.try_lock_for(Duration::from_millis(20)) {
                return Some(ks);
            }
        };
        if self.shared.script_run.running() {
            // Already busy: answer at once, without a worker handoff per command.
            let threshold = Duration::from_millis(self.shared.config.read().busy_reply_threshold);
            if self.shared.script_run.busy_error(threshold).is_some() {
                return None;
            }
            // Waiting for a script may take long: let another thread serve the other clients.
            crate::scripting::release_worker(wait)
        } else {
            wait()
        }
    }

    /// The answer to `args` while a script is busy: SCRIPT KILL / FUNCTION KILL act, everything
    /// else gets Redis's BUSY error. The permission check is the same one as everywhere.
    fn busy_reply(&self, session: &mut Session, args: &[Bytes]) -> Outcome {
        let threshold = Duration::from_millis(self.shared.config.read().busy_reply_threshold);
        let run = &self.shared.script_run;
        let spec = command::lookup(&args[0]);
        let kill_target = match (spec.map(|s| s.name), args.get(1)) {
            (Some("script"), Some(sub)) if args.len() == 2 && crate::args::is(sub, "KILL") => Some(false),
            (Some("function"), Some(sub)) if args.len() == 2 && crate::args::is(sub, "KILL") => Some(true),
            _ => None,
        };
        let allowed = |session: &mut Session| match spec {
            Some(spec) => crate::acl::authorize(&self.shared, session, spec, args, crate::acl::LogContext::TopLevel),
            None => Ok(()),
        };
        let result = match kill_target {
            // AUTH needs no keyspace, so it works while a script is busy, as in Redis.
            None if spec.is_some_and(|s| s.name == "auth") => match args.len() {
                2 => crate::cmd::server::authenticate_session(&self.shared, session, None, &args[1]).map(|()| Reply::Ok),
                3 => crate::cmd::server::authenticate_session(&self.shared, session, Some(&args[1]), &args[2]).map(|()| Reply::Ok),
                _ => Err(CmdError::Syntax),
            },
            Some(function) => allowed(session).and_then(|()| run.kill(function)),
            None => allowed(session)
                .and_then(|()| Err(run.busy_error(threshold).unwrap_or_else(|| CmdError::err("the server is busy running a script")))),
        };
        if result.is_err() {
            if let Some(m) = session.multi.as_mut() {
                m.failed = true;
            }
        }
        Outcome::Done(result)
    }

    /// Whether the session's user may run `args` (the same check as every command gets), for
    /// faces that serve a command outside the engine (the REST face's `/monitor` stream).
    pub fn authorize(&self, session: &mut Session, args: &[Bytes]) -> Result<(), CmdError> {
        let spec = command::lookup(&args[0]).ok_or_else(|| unknown_command(args))?;
        crate::acl::authorize(&self.shared, session, spec, args, crate::acl::LogContext::TopLevel)
    }

    /// Starts a log rewrite in the background when the log has grown past
    /// `auto-aof-rewrite-percentage` of its base (and `auto-aof-rewrite-min-size`). Returns
    /// whether one started.
    pub fn maybe_rewrite(&self) -> bool {
        let Some(aof) = self.shared.aof() else { return false };
        if aof.rewriting() {
            return false;
        }
        let (incr, base) = aof.sizes();
        let (pct, min) = {
            let cfg = self.shared.config.read();
            (cfg.auto_aof_rewrite_percentage, cfg.auto_aof_rewrite_min_size)
        };
        if pct == 0 || incr < min || incr * 100 / base.max(1) < pct {
            return false;
        }
        let ks = self.shared.ks.lock();
        aof.start_rewrite(&ks)
    }

    /// Runs one command.
    pub fn execute(&self, session: &mut Session, args: Vec<Bytes>) -> Outcome {
        let Some(mut ks) = self.lock_or_busy() else {
            return self.busy_reply(session, &args);
        };
        let o = self.execute_locked(&mut ks, session, args);
        self.shared.dirty.store(ks.dirty, Ordering::Relaxed);
        drop(ks);
        self.touch_client(session);
        o
    }

    /// Updates the `CLIENT LIST` row (once per batch, off the keyspace lock).
    fn touch_client(&self, session: &Session) {
        if session.face != Face::Resp {
            return;
        }
        if let Some(c) = self.shared.clients.lock().get_mut(&session.id) {
            c.last_ms = self.shared.clock.now_ms();
            c.db = session.db;
            c.last_cmd = session.last_cmd;
        }
    }

    /// Runs queued commands under one lock acquisition until the queue is empty, a command blocks,
    /// or the client asked to quit. Outcomes are appended to `out` in order.
    pub fn execute_batch(&self, session: &mut Session, queue: &mut VecDeque<Vec<Bytes>>, out: &mut Vec<Outcome>) {
        let mut ks = loop {
            if queue.is_empty() {
                return;
            }
            match self.lock_or_busy() {
                Some(ks) => break ks,
                None => {
                    if let Some(args) = queue.pop_front().filter(|a| !a.is_empty()) {
                        out.push(self.busy_reply(session, &args));
                    }
                }
            }
        };
        while let Some(args) = queue.pop_front() {
            if args.is_empty() {
                continue;
            }
            if self.held_by_pause(session, &args).is_some() {
                // The face waits for the pause to end, then runs it (and the rest).
                queue.push_front(args);
                break;
            }
            let o = self.execute_locked(&mut ks, session, args);
            let stop = matches!(o, Outcome::Blocked { .. }) || session.close_after_reply;
            out.push(o);
            if stop {
                break;
            }
        }
        self.shared.dirty.store(ks.dirty, Ordering::Relaxed);
        drop(ks);
        self.touch_client(session);
    }

    /// While `CLIENT PAUSE` holds `args` of this RESP client (see [`crate::pause::Pause::holds`]):
    /// the time in ms until the pause ends by itself. Unknown commands and wrong arities are
    /// answered at once, as in Redis. REST requests are never held (the engine never parks them).
    pub fn held_by_pause(&self, session: &Session, args: &[Bytes]) -> Option<u64> {
        let now = self.shared.clock.now_ms();
        self.shared.pause.active(now)?;
        if session.face != Face::Resp {
            return None;
        }
        let spec = command::lookup(args.first()?)?;
        if !spec.arity_ok(args.len()) || !self.shared.pause.holds(now, session, spec, args) {
            return None;
        }
        Some(self.shared.pause.remaining_ms(now))
    }

    fn execute_locked(&self, ks: &mut Keyspace, session: &mut Session, args: Vec<Bytes>) -> Outcome {
        let now = self.shared.clock.now_ms();
        let mut ctx = Ctx::new(ks, session, &self.shared, now);
        let result = dispatch(&mut ctx, &args);
        let Ctx { effects, block, .. } = ctx;
        let result = if session.reply_mode == crate::session::ReplyMode::On { result } else { session.filter_reply(result) };
        let result = if ks.touched.is_some() || session.tracking.is_some() {
            self.after_tracked_command(ks, session, &args, result, block.is_none())
        } else {
            result
        };
        session.dirty_seen = ks.dirty;
        if !effects.is_empty() {
            if let Some(aof) = self.shared.aof() {
                session.last_write_offset = aof.append_log(&effects);
            }
        }
        if let Some(block) = block {
            if session.face == Face::Resp && session.multi.is_none() {
                if let Ok(timeout_reply) = result {
                    let notify = Arc::new(Notify::new());
                    for k in block.keys {
                        ks.blocked.entry((session.db, k)).or_default().push(notify.clone());
                    }
                    let args = block.rerun.unwrap_or(args);
                    return Outcome::Blocked { args, notify, timeout_ms: block.timeout_ms, timeout_reply };
                }
            }
        }
        Outcome::Done(result)
    }

    /// Replays logged effects at start-up (no auth, no logging, no blocking).
    pub fn replay(&self, ks: &mut Keyspace, effects: &[Effect], session: &mut Session) -> Result<(), CmdError> {
        let now = self.shared.clock.now_ms();
        for (db, args) in effects {
            session.db = *db;
            let mut ctx = Ctx::new(ks, session, &self.shared, now);
            dispatch(&mut ctx, args)?;
        }
        Ok(())
    }

    /// The write counter as of the last command (the REST face's sync token); never waits for
    /// the keyspace lock.
    pub fn dirty(&self) -> u64 {
        self.shared.dirty.load(Ordering::Relaxed)
    }

    /// One active-expiry cycle (Redis's sampling algorithm); returns keys reclaimed.
    pub fn active_expire_cycle(&self, budget: std::time::Duration) -> usize {
        let n = crate::expire::active_cycle(self, budget);
        if n > 0 && self.shared.tracking.active() {
            let mut ks = self.shared.ks.lock();
            let touched = ks.touched.as_mut().map(std::mem::take).unwrap_or_default();
            drop(ks);
            for inv in self.shared.tracking.invalidate(0, &touched) {
                self.shared.pubsub.send_invalidation(inv.to, crate::tracking::keys_frame(&inv.keys));
            }
        }
        n
    }

    /// Client-side caching after a top-level command: resets `CLIENT CACHING`, sends the
    /// invalidations for the keys it wrote (and for FLUSHALL/FLUSHDB), and appends the ones for
    /// this very client (RESP3, no REDIRECT) to its reply, so they follow it as in Redis.
    fn after_tracked_command(
        &self,
        ks: &mut Keyspace,
        session: &mut Session,
        args: &[Bytes],
        result: Result<Reply, CmdError>,
        may_append: bool,
    ) -> Result<Reply, CmdError> {
        let tracking = &self.shared.tracking;
        if session.multi.is_none() && !crate::args::is(&args[0], "client") {
            if let Some(t) = session.tracking.as_mut() {
                t.caching = false;
            }
        }
        let touched = ks.touched.as_mut().map(std::mem::take).unwrap_or_default();
        if !tracking.active() {
            ks.touched = None;
            return result;
        }
        let mut invs = tracking.invalidate(session.id, &touched);
        let flushed = crate::args::is(&args[0], "flushall") || crate::args::is(&args[0], "flushdb");
        if flushed && result.is_ok() && session.multi.is_none() {
            invs.extend(tracking.flush());
        }
        let mut own = Vec::new();
        for inv in invs {
            if inv.to == session.id && may_append && session.protocol == stashd_resp::Protocol::Resp3 {
                let keys = inv.keys.map_or(Reply::Nil, |k| Reply::Array(k.into_iter().map(Reply::Bulk).collect()));
                own.push(Reply::Push(vec![Reply::bulk("invalidate"), keys]));
            } else {
                self.shared.pubsub.send_invalidation(inv.to, crate::tracking::keys_frame(&inv.keys));
            }
        }
        if own.is_empty() {
            return result;
        }
        let first = match result {
            Ok(Reply::Seq(v)) if v.is_empty() => None,
            Ok(r) => Some(r),
            Err(e) => Some(Reply::Error(e.to_string())),
        };
        Ok(Reply::Seq(first.into_iter().chain(own).collect()))
    }
}

/// Checks a command against the table (existence, arity, auth, ACL, MULTI queueing) and runs it.
pub fn dispatch(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, CmdError> {
    let result = checked_dispatch(ctx, args);
    if let Err(e) = &result {
        if !ctx.counted_error {
            ctx.ks.stats.cmds.error(&e.to_string());
        }
    }
    ctx.counted_error = false;
    result
}

/// [`dispatch`] before counting a refusal in `INFO errorstats` (errors of commands that ran are
/// counted by [`call`]).
fn checked_dispatch(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, CmdError> {
    let Some(spec) = command::lookup(&args[0]) else {
        flag_transaction(ctx);
        return Err(unknown_command(args));
    };
    if !spec.arity_ok(args.len()) {
        flag_transaction(ctx);
        ctx.ks.stats.cmds.reject(spec.name);
        return Err(CmdError::WrongArgs(spec.name.to_string()));
    }
    let context = if ctx.session.multi.is_some() { crate::acl::LogContext::Multi } else { crate::acl::LogContext::TopLevel };
    if let Err(e) = crate::acl::authorize(ctx.shared, ctx.session, spec, args, context) {
        flag_transaction(ctx);
        ctx.ks.stats.cmds.reject(spec.name);
        return Err(e);
    }
    // RESP2 clients in subscribed mode may only manage subscriptions.
    if ctx.session.protocol == stashd_resp::Protocol::Resp2 && ctx.session.subs.active() && !spec.has(flags::PUBSUB_CONTEXT) {
        return Err(CmdError::err(format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        )));
    }
    // As in Redis: existence, arity, authentication, permissions, then the loading state.
    if ctx.shared.loading.load(Ordering::Relaxed) && ctx.session.face != Face::Loading && !spec.has(flags::OK_LOADING) {
        flag_transaction(ctx);
        return Err(CmdError::Loading);
    }
    ctx.session.last_cmd = spec.name;
    if ctx.session.multi.is_some() && spec.has(flags::NO_MULTI) {
        flag_transaction(ctx);
        return Err(CmdError::NotInMulti);
    }
    if ctx.session.multi.is_some() && !spec.has(flags::NO_MULTI_QUEUE) {
        if let Some(m) = ctx.session.multi.as_mut() {
            m.queue.push(args.to_vec());
        }
        return Ok(Reply::status("QUEUED"));
    }
    call(ctx, spec, args)
}

/// Counts a run in the command statistics, and in the slow log if it was slow (outermost
/// commands only, as Redis: an EXEC or a script is one entry).
fn record_stats(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes], usec: u64, failed: bool) {
    ctx.ks.stats.cmds.record(spec.name, usec, failed);
    let threshold = ctx.shared.slowlog_threshold.load(Ordering::Relaxed);
    if ctx.depth == 0 && threshold >= 0 && usec >= threshold as u64 && ctx.session.face != Face::Loading {
        let max_len = ctx.shared.config.read().slowlog_max_len as usize;
        let name = ctx.shared.clients.lock().get(&ctx.session.id).map(|c| c.name.clone()).unwrap_or_default();
        let redacted: Vec<Bytes>;
        let shown = if crate::acl::carries_secrets(spec.name) {
            redacted = args.iter().enumerate().map(|(i, a)| if i == 0 { a.clone() } else { Bytes::from_static(b"(redacted)") }).collect();
            &redacted[..]
        } else {
            args
        };
        ctx.ks.slowlog.push(shown, usec, ctx.now / 1000, &ctx.session.addr, name.as_bytes(), max_len);
    }
}

/// Runs a command whose checks passed, logging its effect and signalling its keys if it wrote.
pub fn call(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes]) -> Result<Reply, CmdError> {
    ctx.ks.stats.commands += 1;
    let dirty_before = ctx.ks.dirty;
    let saved_custom = std::mem::replace(&mut ctx.custom_effects, false);
    let dbi = ctx.session.db;
    let notify_flags = match ctx.shared.notify_flags.load(Ordering::Relaxed) {
        f if f & (notify::KEYSPACE | notify::KEYEVENT) != 0 && ctx.session.face != Face::Loading => f,
        _ => 0,
    };
    let watched = if notify_flags != 0 { key_presence(ctx, spec, args, notify_flags) } else { Vec::new() };
    let saved_events = ctx.events.take();
    let started = Instant::now();
    let errors_before = ctx.ks.stats.cmds.error_replies;
    ctx.depth += 1;
    let result = (spec.handler)(ctx, args);
    ctx.depth -= 1;
    if ctx.session.tracking.is_some() {
        track_reads(ctx, spec, args);
    }
    let usec = started.elapsed().as_micros() as u64;
    record_stats(ctx, spec, args, usec, result.is_err());
    if let Err(e) = &result {
        // As Redis: an error a script raised from a failed redis.call was counted when that
        // command failed, not again as the script's.
        let from_script = matches!(spec.name, "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro")
            && ctx.ks.stats.cmds.error_replies != errors_before;
        if !from_script {
            ctx.ks.stats.cmds.error(&e.to_string());
        }
    }
    // dispatch() must not count what call() did.
    ctx.counted_error = result.is_err();
    let events = std::mem::replace(&mut ctx.events, saved_events);
    let wrote = ctx.ks.dirty != dirty_before;
    if !wrote {
        // Nothing changed: keys a handler signalled must not leak into the next command's events.
        ctx.notify_keys.clear();
    }
    if wrote {
        let only_first = spec.has(flags::WRITES_FIRST_KEY);
        for i in spec.key_indexes(args.len()).take(if only_first { 1 } else { usize::MAX }) {
            ctx.ks.signal_modified(dbi, &args[i]);
        }
        if !ctx.custom_effects && ctx.logging {
            ctx.effects.push(dbi, args);
        }
        for (nth, &(pos, existed)) in watched.iter().enumerate() {
            let exists = key_exists(ctx, dbi, &args[pos]);
            let change = notify::KeyChange { nth, existed, exists };
            let evs = match &events {
                Some(chosen) if nth == 0 => notify::chosen_events(chosen, change),
                _ => notify::command_events(spec.name, spec.group, args, change),
            };
            for (class, event) in evs {
                notify::publish(ctx.shared, notify_flags, class, event, dbi, &args[pos]);
            }
        }
        // Keys the handler signalled beyond its declared ones (LMPOP's list, MOVE's target db).
        for (db, key) in std::mem::take(&mut ctx.notify_keys) {
            if db == dbi && watched.iter().any(|&(pos, _)| args[pos] == key) {
                continue;
            }
            let change = notify::KeyChange { nth: notify::EXTRA_KEY, existed: true, exists: key_exists(ctx, db, &key) };
            for (class, event) in notify::command_events(spec.name, spec.group, args, change) {
                notify::publish(ctx.shared, notify_flags, class, event, db, &key);
            }
        }
    }
    if ctx.shared.pubsub.has_monitors() && ctx.session.face != Face::Loading && !crate::acl::is_admin(spec, args) {
        let origin = if ctx.ks.scripting.is_none() { "lua" } else { ctx.session.addr.as_str() };
        ctx.shared.pubsub.feed_monitors(crate::pubsub::monitor_line(dbi, origin, spec.name, args));
    }
    ctx.custom_effects = saved_custom;
    result
}

/// Whether `key` is live in db `dbi` (present and not past its TTL).
fn key_exists(ctx: &Ctx, dbi: usize, key: &[u8]) -> bool {
    ctx.ks.dbs[dbi].map.get(key).is_some_and(|e| e.expire_at == 0 || e.expire_at > ctx.now)
}

/// For keyspace notifications: the declared keys a write may change, with whether each exists
/// now; for a read, publishes `keymiss` for the keys it will not find.
fn key_presence(ctx: &Ctx, spec: &CommandSpec, args: &[Bytes], flags: u32) -> Vec<(usize, bool)> {
    let dbi = ctx.session.db;
    if spec.has(flags::WRITE) {
        let only_first = spec.has(flags::WRITES_FIRST_KEY);
        let positions = spec.key_indexes(args.len()).take(if only_first { 1 } else { usize::MAX });
        return notify::written_keys(spec.name, args, positions).into_iter().map(|p| (p, key_exists(ctx, dbi, &args[p]))).collect();
    }
    if flags & notify::KEY_MISS != 0 && spec.has(flags::READONLY) {
        for p in spec.key_indexes(args.len()) {
            if !key_exists(ctx, dbi, &args[p]) {
                notify::publish(ctx.shared, flags, notify::KEY_MISS, "keymiss", dbi, &args[p]);
            }
        }
    }
    Vec::new()
}

fn flag_transaction(ctx: &mut Ctx) {
    if let Some(m) = ctx.session.multi.as_mut() {
        m.failed = true;
    }
}

fn unknown_command(args: &[Bytes]) -> CmdError {
    let mut list = String::new();
    for a in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        let t = String::from_utf8_lossy(a);
        let t: String = t.chars().take(room).collect();
        list.push_str(&format!("'{t}' "));
    }
    let name: String = String::from_utf8_lossy(&args[0]).chars().take(128).collect();
    CmdError::UnknownCommand { name, args: list }
}

// ---- Client-side caching (CLIENT TRACKING) -------------------------------------------------

/// Remembers the keys a read-only command of a tracking client (default mode) named, as Redis's
/// `trackingRememberKeys`: not for EVAL_RO/EVALSHA_RO/FCALL_RO themselves (the commands their
/// scripts run count), and under OPTIN only after `CLIENT CACHING yes`, under OPTOUT unless
/// `CLIENT CACHING no`.
fn track_reads(ctx: &mut Ctx, spec: &CommandSpec, args: &[Bytes]) {
    let Some(t) = ctx.session.tracking.as_deref() else { return };
    if t.bcast || !spec.has(flags::READONLY) || matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
        return;
    }
    if (t.optin && !t.caching) || (t.optout && t.caching) {
        return;
    }
    let keys = crate::acl::keys::keys_of(spec, args);
    if !keys.is_empty() {
        ctx.shared.tracking.remember(ctx.session.id, keys.into_iter().filter_map(|(p, _)| args.get(p).cloned()));
    }
}
