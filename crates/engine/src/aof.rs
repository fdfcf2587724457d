//! The append-only log of effects, with `appendfsync always|everysec|no`, group commit,
//! background rewrite (compaction) and crash recovery.
//!
//! # Files (in the data directory)
//! * `manifest` — which files make up the state, in order: an optional `base <file>` snapshot then
//!   `incr <file>` logs. Replaced atomically (write, fsync, rename).
//! * `base.<n>.aof`, `incr.<n>.aof` — sequences of records.
//!
//! # Record format
//! `[u32 LE payload length][u32 LE CRC-32 of payload][payload]`, the payload being one or more
//! `[u8 db][RESP multibulk command]`. One record holds the effects of one command (or one whole
//! MULTI/EXEC), so a transaction is replayed entirely or not at all. Commands are logged with
//! absolute expiry times, so replay is deterministic.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::{Condvar, Mutex};
use thiserror::Error;
use tokio::sync::watch;

use crate::config::FsyncPolicy;
use crate::ctx::Effect;
use crate::keyspace::Keyspace;
use crate::value::Value;

const HEADER: usize = 8;
/// How often the writer hands queued records to the OS under `everysec`/`no` (what a process
/// crash can lose; a power loss can lose up to the fsync interval).
const FLUSH_INTERVAL: Duration = Duration::from_millis(10);
/// Longest sleep of an idle writer (it still fsyncs pending data about every second).
const IDLE_WAIT: Duration = Duration::from_millis(250);
/// A record larger than this is treated as corruption when read back.
const MAX_RECORD: usize = 1 << 30;

/// Persistence failures.
#[derive(Debug, Error)]
pub enum AofError {
    /// I/O failure on a log file.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record before the end of the log does not check out: the log is corrupt.
    #[error("corrupt record in {path} at byte {offset}: {reason}; refusing to start (move the file aside or truncate it at that offset to recover what precedes it)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The manifest cannot be parsed.
    #[error("invalid manifest {path}: {reason}")]
    Manifest {
        /// The manifest path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AofError + '_ {
    move |source| AofError::Io { path: path.to_path_buf(), source }
}

/// The list of files that make up the persisted state.
#[derive(Debug, Clone, Default, PartialEq)]
struct Manifest {
    base: Option<String>,
    incrs: Vec<String>,
    next_seq: u64,
}

impl Manifest {
    fn parse(text: &str, path: &Path) -> Result<Self, AofError> {
        let mut m = Manifest::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let bad = |reason: &str| AofError::Manifest { path: path.to_path_buf(), reason: format!("{reason}: {line:?}") };
            let (kind, rest) = line.split_once(' ').ok_or_else(|| bad("malformed line"))?;
            match kind {
                "base" => m.base = Some(rest.to_string()),
                "incr" => m.incrs.push(rest.to_string()),
                "seq" => m.next_seq = rest.parse().map_err(|_| bad("bad seq"))?,
                _ => return Err(bad("unknown entry")),
            }
        }
        Ok(m)
    }

    fn render(&self) -> String {
        let mut s = format!("# stashd append-only log manifest\nseq {}\n", self.next_seq);
        if let Some(b) = &self.base {
            s.push_str(&format!("base {b}\n"));
        }
        for i in &self.incrs {
            s.push_str(&format!("incr {i}\n"));
        }
        s
    }

    fn save(&self, dir: &Path) -> Result<(), AofError> {
        let tmp = dir.join("manifest.tmp");
        let path = dir.join("manifest");
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(self.render().as_bytes()).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(dir)
    }
}

fn sync_dir(dir: &Path) -> Result<(), AofError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// The effects of one command (or transaction) encoded as a record payload: for each effect
/// `[u8 db][RESP multibulk]`. Commands encode their arguments straight in; nothing is cloned.
#[derive(Debug, Default)]
pub struct EffectLog {
    buf: Vec<u8>,
}

impl EffectLog {
    /// Adds one effect.
    pub fn push<A: AsRef<[u8]>>(&mut self, db: usize, args: &[A]) {
        let mut n = itoa::Buffer::new();
        self.buf.push(db as u8);
        self.buf.push(b'*');
        self.buf.extend_from_slice(n.format(args.len()).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
        for a in args {
            let a = a.as_ref();
            self.buf.push(b'$');
            self.buf.extend_from_slice(n.format(a.len()).as_bytes());
            self.buf.extend_from_slice(b"\r\n");
            self.buf.extend_from_slice(a);
            self.buf.extend_from_slice(b"\r\n");
        }
    }
    /// True if nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// The encoded payload.
    pub fn payload(&self) -> &[u8] {
        &self.buf
    }
    /// The effects decoded again (for tests and tools).
    pub fn decode(&self) -> Vec<Effect> {
        decode_payload(&self.buf).unwrap_or_default()
    }
}

/// Appends `payload` framed as one record (length, CRC-32, payload) to `out`.
fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends the encoding of `effects` as one record to `out`.
pub fn encode_record(effects: &[Effect], out: &mut Vec<u8>) {
    let mut log = EffectLog::default();
    for (db, args) in effects {
        log.push(*db, args);
    }
    frame(log.payload(), out);
}

fn decode_payload(payload: &[u8]) -> Option<Vec<Effect>> {
    let mut buf = BytesMut::from(payload);
    let mut out = Vec::new();
    let mut dec = stashd_resp::Decoder::new(i64::MAX);
    while !buf.is_empty() {
        let db = buf[0] as usize;
        let _ = buf.split_to(1);
        let args = dec.decode(&mut buf).ok()??;
        if args.is_empty() || db >= crate::keyspace::NUM_DBS {
            return None;
        }
        out.push((db, args));
    }
    Some(out)
}

/// What the loader found.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Records replayed.
    pub records: u64,
    /// Bytes dropped from a torn last record (0 if none).
    pub truncated_bytes: u64,
}

/// Reads every record of `path`, calling `apply` for each. A bad record at the very end of the
/// last file is a torn write: the file is truncated there and loading succeeds. Anywhere else it
/// is corruption.
fn load_file(path: &Path, is_last: bool, report: &mut LoadReport, apply: &mut dyn FnMut(Vec<Effect>)) -> Result<(), AofError> {
    let mut data = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut data)).map_err(io_err(path))?;
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = data.len() - pos;
        let bad = if rest < HEADER {
            Some(("incomplete record header".to_string(), true))
        } else {
            let len = u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
            let crc = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
            if rest < HEADER + len {
                // Runs past the end of the file: a write cut short (whatever its header says).
                Some((format!("record needs {len} bytes but only {} remain", rest - HEADER), true))
            } else if len > MAX_RECORD {
                Some((format!("record length {len} is implausible"), false))
            } else {
                let payload = &data[pos + HEADER..pos + HEADER + len];
                if crc32fast::hash(payload) != crc {
                    Some(("checksum mismatch".to_string(), pos + HEADER + len == data.len()))
                } else if let Some(effects) = decode_payload(payload) {
                    apply(effects);
                    report.records += 1;
                    pos += HEADER + len;
                    None
                } else {
                    Some(("payload is not a valid command sequence".to_string(), false))
                }
            }
        };
        if let Some((reason, at_end)) = bad {
            if is_last && at_end {
                let dropped = (data.len() - pos) as u64;
                tracing::warn!(file = %path.display(), offset = pos, dropped_bytes = dropped, %reason,
                    "append-only log ends with a torn record (crash during write); truncating it and continuing");
                let f = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
                f.set_len(pos as u64).map_err(io_err(path))?;
                f.sync_all().map_err(io_err(path))?;
                report.truncated_bytes = dropped;
                return Ok(());
            }
            return Err(AofError::Corrupt { path: path.to_path_buf(), offset: pos as u64, reason });
        }
    }
    Ok(())
}

enum Item {
    Data(Vec<u8>),
    /// Start writing to a new incr file (a rewrite began).
    Switch(String),
}

struct Queue {
    items: Vec<Item>,
    /// Emptied buffers handed back by the writer, reused by `append`.
    spare: Vec<Vec<u8>>,
    appended: u64,
    shutdown: bool,
    fsync_now: bool,
}

struct Inner {
    dir: PathBuf,
    queue: Mutex<Queue>,
    wake: Condvar,
    policy: AtomicU8,
    durable_tx: watch::Sender<u64>,
    written: AtomicU64,
    /// Set by the writer when it found nothing to do and sleeps long; the next append wakes it.
    writer_idle: AtomicBool,
    /// Under `always`: fsync only when a waiter asks ([`Aof::wait_durable`]) or a second has
    /// passed, instead of after every write. For logs whose writers do not all need to wait
    /// (the products' store: a delivery's bookkeeping is redone after a crash anyway).
    on_demand: AtomicBool,
    manifest: Mutex<Manifest>,
    rewriting: AtomicBool,
    /// Bytes in the incr files since the last rewrite, and the base size at that rewrite.
    incr_bytes: AtomicU64,
    base_bytes: AtomicU64,
}

/// Handle to the log; cheap to clone.
#[derive(Clone)]
pub struct Aof {
    inner: Arc<Inner>,
}

fn policy_code(p: FsyncPolicy) -> u8 {
    match p {
        FsyncPolicy::Always => 0,
        FsyncPolicy::EverySec => 1,
        FsyncPolicy::No => 2,
    }
}

impl Aof {
    /// Opens (creating if needed) the log in `dir`, replaying it into `ks` through `apply`.
    pub fn open(dir: &Path, policy: FsyncPolicy, apply: &mut dyn FnMut(Vec<Effect>)) -> Result<(Aof, LoadReport), AofError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mpath = dir.join("manifest");
        let mut manifest = match fs::read_to_string(&mpath) {
            Ok(t) => Manifest::parse(&t, &mpath)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => return Err(AofError::Io { path: mpath, source: e }),
        };
        let mut report = LoadReport::default();
        let files: Vec<String> = manifest.base.iter().chain(manifest.incrs.iter()).cloned().collect();
        for (i, f) in files.iter().enumerate() {
            let p = dir.join(f);
            if !p.exists() {
                return Err(AofError::Manifest { path: mpath, reason: format!("listed file {f} is missing") });
            }
            load_file(&p, i + 1 == files.len(), &mut report, apply)?;
        }
        let base_bytes = manifest.base.as_ref().and_then(|b| fs::metadata(dir.join(b)).ok()).map_or(0, |m| m.len());
        let incr_bytes: u64 = manifest.incrs.iter().filter_map(|f| fs::metadata(dir.join(f)).ok()).map(|m| m.len()).sum();
        let current = match manifest.incrs.last() {
            Some(f) => f.clone(),
            None => {
                let name = format!("incr.{}.aof", manifest.next_seq);
                manifest.next_seq += 1;
                manifest.incrs.push(name.clone());
                File::create(dir.join(&name)).map_err(io_err(dir))?;
                manifest.save(dir)?;
                name
            }
        };
        let path = dir.join(&current);
        let file = OpenOptions::new().append(true).open(&path).map_err(io_err(&path))?;
        let (durable_tx, _) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            queue: Mutex::new(Queue { items: Vec::new(), spare: Vec::new(), appended: 0, shutdown: false, fsync_now: false }),
            wake: Condvar::new(),
            policy: AtomicU8::new(policy_code(policy)),
            durable_tx,
            written: AtomicU64::new(0),
            writer_idle: AtomicBool::new(false),
            on_demand: AtomicBool::new(false),
            manifest: Mutex::new(manifest),
            rewriting: AtomicBool::new(false),
            incr_bytes: AtomicU64::new(incr_bytes),
            base_bytes: AtomicU64::new(base_bytes),
        });
        let w = inner.clone();
        std::thread::Builder::new().name("aof-writer".into()).spawn(move || writer_loop(w, file, path)).map_err(io_err(dir))?;
        Ok((Aof { inner }, report))
    }

    /// Queues `effects` as one record (see [`Aof::append_log`]).
    pub fn append(&self, effects: &[Effect]) -> u64 {
        let mut log = EffectLog::default();
        for (db, args) in effects {
            log.push(*db, args);
        }
        self.append_log(&log)
    }

    /// Queues the effects of one command as a record; returns the log offset after it.
    /// Called with the keyspace lock held, so records are in execution order.
    pub fn append_log(&self, log: &EffectLog) -> u64 {
        let mut q = self.inner.queue.lock();
        if !matches!(q.items.last(), Some(Item::Data(_))) {
            let buf = q.spare.pop().unwrap_or_else(|| Vec::with_capacity(64 * 1024));
            q.items.push(Item::Data(buf));
        }
        let added = match q.items.last_mut() {
            Some(Item::Data(buf)) => {
                let before = buf.len();
                frame(log.payload(), buf);
                (buf.len() - before) as u64
            }
            _ => 0,
        };
        q.appended += added;
        let off = q.appended;
        drop(q);
        // `always` acknowledges only after fsync: wake the writer now (it batches whatever piles
        // up meanwhile: group commit). Otherwise a busy writer picks records up every
        // FLUSH_INTERVAL on its own, so a command costs no thread wake-up; only an idle one is woken.
        let idle = self.inner.writer_idle.swap(false, Ordering::AcqRel);
        if idle || self.inner.policy.load(Ordering::Relaxed) == 0 {
            self.inner.wake.notify_one();
        }
        off
    }

    /// Changes the fsync policy (CONFIG SET appendfsync).
    pub fn set_policy(&self, p: FsyncPolicy) {
        self.inner.policy.store(policy_code(p), Ordering::Relaxed);
    }

    /// Offset known to be on stable storage.
    pub fn durable_offset(&self) -> u64 {
        *self.inner.durable_tx.borrow()
    }

    /// Offset of everything appended so far (queued for the writer, maybe not yet handed to
    /// the OS): what `SAVE` must see durable.
    pub fn appended_offset(&self) -> u64 {
        self.inner.queue.lock().appended
    }

    /// Offset handed to the OS.
    pub fn written_offset(&self) -> u64 {
        self.inner.written.load(Ordering::Acquire)
    }

    /// Waits until `offset` is durable (for `appendfsync always` acknowledgements). With
    /// [`Aof::set_sync_on_demand`], asks the writer for the fsync; concurrent waiters share it.
    pub async fn wait_durable(&self, offset: u64) {
        let mut rx = self.inner.durable_tx.subscribe();
        if *rx.borrow() >= offset {
            return;
        }
        if self.inner.on_demand.load(Ordering::Relaxed) {
            self.inner.queue.lock().fsync_now = true;
            self.inner.wake.notify_one();
        }
        let _ = rx.wait_for(|d| *d >= offset).await;
    }

    /// Under `always`, fsyncs only for waiters (and once a second) from now on.
    pub fn set_sync_on_demand(&self, on: bool) {
        self.inner.on_demand.store(on, Ordering::Relaxed);
    }

    /// Forces an fsync and waits up to `timeout` for `offset` to be durable. Returns whether it is.
    pub fn sync_blocking(&self, offset: u64, timeout: Duration) -> bool {
        {
            let mut q = self.inner.queue.lock();
            q.fsync_now = true;
        }
        self.inner.wake.notify_one();
        let deadline = Instant::now() + timeout;
        loop {
            if self.durable_offset() >= offset {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Flushes and fsyncs everything queued, then stops the writer (graceful shutdown).
    pub fn shutdown(&self) {
        let target = self.inner.queue.lock().appended;
        {
            let mut q = self.inner.queue.lock();
            q.shutdown = true;
        }
        self.inner.wake.notify_one();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.durable_offset() < target && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// True if a rewrite is under way.
    pub fn rewriting(&self) -> bool {
        self.inner.rewriting.load(Ordering::Relaxed)
    }

    /// Size of the incremental logs and of the base at the last rewrite.
    pub fn sizes(&self) -> (u64, u64) {
        (self.inner.incr_bytes.load(Ordering::Relaxed), self.inner.base_bytes.load(Ordering::Relaxed))
    }

    /// Starts a rewrite: must be called with the keyspace lock held (`ks` is cloned there, which
    /// is the only pause); the snapshot is written by a background thread. Returns false if one
    /// is already running.
    pub fn start_rewrite(&self, ks: &Keyspace) -> bool {
        if self.inner.rewriting.swap(true, Ordering::AcqRel) {
            return false;
        }
        let dbs: Vec<_> = ks.dbs.clone();
        let libraries: Vec<Bytes> =
            ks.scripting.as_ref().map(|s| s.functions.libraries.values().map(|l| l.code.clone()).collect()).unwrap_or_default();
        let (base_name, incr_name) = {
            let mut m = self.inner.manifest.lock();
            let seq = m.next_seq;
            m.next_seq += 1;
            (format!("base.{seq}.aof"), format!("incr.{seq}.aof"))
        };
        self.inner.queue.lock().items.push(Item::Switch(incr_name.clone()));
        self.inner.wake.notify_one();
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new().name("aof-rewrite".into()).spawn(move || {
            let started = Instant::now();
            match write_snapshot(&inner.dir, &base_name, &libraries, &dbs) {
                Ok(size) => {
                    if let Err(e) = finish_rewrite(&inner, &base_name, &incr_name, size) {
                        tracing::error!(error = %e, "append-only log rewrite could not install the new base");
                    } else {
                        tracing::info!(base = %base_name, bytes = size, ms = started.elapsed().as_millis() as u64, "append-only log rewritten");
                    }
                }
                Err(e) => tracing::error!(error = %e, "append-only log rewrite failed; keeping the old files"),
            }
            inner.rewriting.store(false, Ordering::Release);
        });
        if spawned.is_err() {
            self.inner.rewriting.store(false, Ordering::Release);
        }
        true
    }
}

/// Waits until the writer has moved to `incr_name`, then installs [base, incr] and deletes old files.
fn finish_rewrite(inner: &Inner, base_name: &str, incr_name: &str, base_size: u64) -> Result<(), AofError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if inner.manifest.lock().incrs.iter().any(|i| i == incr_name) {
            break;
        }
        if Instant::now() > deadline {
            return Err(AofError::Manifest { path: inner.dir.join("manifest"), reason: "writer never switched files".into() });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut m = inner.manifest.lock();
    let old: Vec<String> = m.base.iter().chain(m.incrs.iter()).filter(|f| *f != incr_name).cloned().collect();
    let newm = Manifest { base: Some(base_name.to_string()), incrs: vec![incr_name.to_string()], next_seq: m.next_seq };
    newm.save(&inner.dir)?;
    *m = newm;
    drop(m);
    inner.base_bytes.store(base_size, Ordering::Relaxed);
    let incr_size = fs::metadata(inner.dir.join(incr_name)).map_or(0, |md| md.len());
    inner.incr_bytes.store(incr_size, Ordering::Relaxed);
    for f in old {
        let _ = fs::remove_file(inner.dir.join(f));
    }
    Ok(())
}

/// Serializes function libraries and databases as commands that rebuild them.
fn write_snapshot(dir: &Path, name: &str, libraries: &[Bytes], dbs: &[crate::keyspace::Db]) -> Result<u64, AofError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut rec = Vec::new();
    let mut batch: Vec<Effect> = Vec::new();
    let lit = |s: &'static str| Bytes::from_static(s.as_bytes());
    let flush = |batch: &mut Vec<Effect>, rec: &mut Vec<u8>, w: &mut BufWriter<File>, force: bool| -> Result<(), AofError> {
        if batch.len() >= 256 || (force && !batch.is_empty()) {
            rec.clear();
            encode_record(batch, rec);
            w.write_all(rec).map_err(io_err(&tmp))?;
            batch.clear();
        }
        Ok(())
    };
    for code in libraries {
        batch.push((0, vec![lit("FUNCTION"), lit("LOAD"), lit("REPLACE"), code.clone()]));
    }
    for (dbi, db) in dbs.iter().enumerate() {
        for (key, entry) in db.map.iter() {
            let key = &key.to_bytes();
            let push_chunks = |cmd: &'static str, items: Vec<Bytes>, per: usize, batch: &mut Vec<Effect>| {
                for chunk in items.chunks(64 * per) {
                    let mut args = vec![lit(cmd), key.clone()];
                    args.extend_from_slice(chunk);
                    batch.push((dbi, args));
                }
            };
            match &entry.value {
                Value::Str(v) => batch.push((dbi, vec![lit("SET"), key.clone(), v.to_bytes()])),
                Value::List(l) => push_chunks("RPUSH", l.iter().cloned().collect(), 1, &mut batch),
                Value::Set(s) => push_chunks("SADD", s.iter().cloned().collect(), 1, &mut batch),
                Value::Hash(h) => {
                    push_chunks("HSET", h.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect(), 2, &mut batch);
                    batch.extend(crate::cmd::hashes::rewrite_field_ttls(key, h).into_iter().map(|c| (dbi, c)));
                }
                Value::ZSet(z) => push_chunks(
                    "ZADD",
                    z.iter().flat_map(|(m, s)| [Bytes::from(crate::reply::format_double(s)), m.clone()]).collect(),
                    2,
                    &mut batch,
                ),
                Value::Stream(s) => batch.extend(crate::cmd::streams::rewrite_commands(key, s).into_iter().map(|c| (dbi, c))),
                Value::Json(j) => batch.push((dbi, vec![lit("JSON.SET"), key.clone(), lit("$"), Bytes::from(j.to_bytes())])),
                Value::Array(a) => batch.extend(crate::cmd::arrays::rewrite_commands(key, a).into_iter().map(|c| (dbi, c))),
            }
            if entry.expire_at != 0 {
                batch.push((dbi, vec![lit("PEXPIREAT"), key.clone(), crate::args::int_bytes(entry.expire_at as i64)]));
            }
            flush(&mut batch, &mut rec, &mut w, false)?;
        }
    }
    flush(&mut batch, &mut rec, &mut w, true)?;
    let file = w.into_inner().map_err(|e| AofError::Io { path: tmp.clone(), source: e.into_error() })?;
    file.sync_all().map_err(io_err(&tmp))?;
    let size = file.metadata().map_or(0, |m| m.len());
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir)?;
    Ok(size)
}

fn writer_loop(inner: Arc<Inner>, mut file: File, mut path: PathBuf) {
    let mut last_fsync = Instant::now();
    let mut unsynced_upto = 0u64; // offset written but not fsynced
    let mut written = 0u64;
    let mut emptied: Vec<Vec<u8>> = Vec::new();
    loop {
        let (items, shutdown, fsync_now) = {
            let mut q = inner.queue.lock();
            if q.items.is_empty() && !q.shutdown && !q.fsync_now {
                // Nothing queued: sleep until an append wakes us (or the fsync tick is due).
                inner.writer_idle.store(true, Ordering::Release);
                inner.wake.wait_for(&mut q, IDLE_WAIT);
                inner.writer_idle.store(false, Ordering::Release);
            }
            if !q.items.is_empty() && !q.shutdown && !q.fsync_now && inner.policy.load(Ordering::Relaxed) != 0 {
                // Records are queued: let more arrive, then write them in one go (one write per
                // interval instead of one per command).
                parking_lot::MutexGuard::unlocked(&mut q, || std::thread::sleep(FLUSH_INTERVAL));
            }
            let fs = std::mem::replace(&mut q.fsync_now, false);
            // Hand back a few emptied buffers (big ones are dropped to give memory back).
            q.spare.extend(emptied.drain(..).filter(|b| b.capacity() <= 4 << 20).take(4));
            (std::mem::take(&mut q.items), q.shutdown, fs)
        };
        for item in items {
            match item {
                Item::Data(mut buf) => {
                    if let Err(e) = file.write_all(&buf) {
                        // Without the log we cannot acknowledge durability; stop rather than lie.
                        tracing::error!(file = %path.display(), error = %e, "write to append-only log failed; exiting to avoid losing acknowledged data");
                        std::process::exit(1);
                    }
                    written += buf.len() as u64;
                    inner.incr_bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                    inner.written.store(written, Ordering::Release);
                    buf.clear();
                    emptied.push(buf);
                }
                Item::Switch(name) => {
                    if let Err(e) = file.sync_data() {
                        tracing::error!(error = %e, "fsync failed");
                        std::process::exit(1);
                    }
                    let _ = inner.durable_tx.send_replace(written);
                    let new_path = inner.dir.join(&name);
                    match File::create(&new_path) {
                        Ok(f) => {
                            let mut m = inner.manifest.lock();
                            m.incrs.push(name);
                            if let Err(e) = m.save(&inner.dir) {
                                tracing::error!(error = %e, "manifest update failed");
                                std::process::exit(1);
                            }
                            file = f;
                            path = new_path;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot create new log file");
                            std::process::exit(1);
                        }
                    }
                }
            }
        }
        let policy = inner.policy.load(Ordering::Relaxed);
        let pending = written > unsynced_upto || written > *inner.durable_tx.borrow();
        let due = match policy {
            0 if inner.on_demand.load(Ordering::Relaxed) => pending && last_fsync.elapsed() >= Duration::from_secs(1),
            0 => pending,
            1 => pending && last_fsync.elapsed() >= Duration::from_secs(1),
            _ => false,
        };
        if (due || fsync_now || shutdown) && pending {
            if let Err(e) = file.sync_data() {
                tracing::error!(file = %path.display(), error = %e, "fsync of append-only log failed; exiting");
                std::process::exit(1);
            }
            last_fsync = Instant::now();
            unsynced_upto = written;
            let _ = inner.durable_tx.send_replace(written);
        } else if fsync_now {
            let _ = inner.durable_tx.send_replace(written);
        }
        if shutdown {
            let q = inner.queue.lock();
            if q.items.is_empty() {
                let _ = inner.durable_tx.send_replace(written);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(db: usize, args: &[&str]) -> Effect {
        (db, args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect())
    }

    fn collect(dir: &Path) -> Result<Vec<Effect>, AofError> {
        let mut got = Vec::new();
        let (aof, _) = Aof::open(dir, FsyncPolicy::Always, &mut |e| got.extend(e))?;
        aof.shutdown();
        Ok(got)
    }

    #[test]
    fn roundtrip_torn_tail_and_corrupt_middle() {
        let dir = std::env::temp_dir().join(format!("stashd-aof-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (aof, _) = Aof::open(&dir, FsyncPolicy::Always, &mut |_| {}).unwrap();
        aof.append(&[eff(0, &["SET", "a", "1"])]);
        let off = aof.append(&[eff(3, &["SET", "b", "2"]), eff(3, &["INCR", "b"])]);
        aof.shutdown();
        assert!(aof.durable_offset() >= off);
        let got = collect(&dir).unwrap();
        assert_eq!(got, vec![eff(0, &["SET", "a", "1"]), eff(3, &["SET", "b", "2"]), eff(3, &["INCR", "b"])]);

        // Torn tail: append half a record.
        let incr = dir.join("incr.0.aof");
        let good_len = fs::metadata(&incr).unwrap().len();
        let mut rec = Vec::new();
        encode_record(&[eff(0, &["SET", "c", "3"])], &mut rec);
        OpenOptions::new().append(true).open(&incr).unwrap().write_all(&rec[..rec.len() - 3]).unwrap();
        assert_eq!(collect(&dir).unwrap().len(), 3);
        assert_eq!(fs::metadata(&incr).unwrap().len(), good_len);

        // Corrupt middle: flip a byte in the first record's payload.
        let mut data = fs::read(&incr).unwrap();
        data[HEADER + 2] ^= 0xff;
        fs::write(&incr, &data).unwrap();
        match collect(&dir) {
            Err(AofError::Corrupt { offset, .. }) => assert_eq!(offset, 0),
            other => panic!("expected corruption error, got {other:?}"),
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn manifest_roundtrip() {
        let m = Manifest { base: Some("base.3.aof".into()), incrs: vec!["incr.3.aof".into(), "incr.4.aof".into()], next_seq: 5 };
        assert_eq!(Manifest::parse(&m.render(), Path::new("m")).unwrap(), m);
    }
}
