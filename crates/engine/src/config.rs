//! Runtime settings visible through `CONFIG GET` and changeable with `CONFIG SET` where Redis allows.

use crate::error::{CmdError, CmdResult};

/// When the append-only log is fsynced (Redis's `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fsync before acknowledging each write (group commit).
    Always,
    /// fsync once per second.
    #[default]
    EverySec,
    /// Leave flushing to the OS.
    No,
}

impl FsyncPolicy {
    /// Parses `always|everysec|no`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "no" => Some(FsyncPolicy::No),
            _ => None,
        }
    }
    /// The config text.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

/// Settings that may change while running.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// fsync policy of the log.
    pub appendfsync: FsyncPolicy,
    /// Active-expiry frequency (cycles per second).
    pub hz: u32,
    /// Largest accepted bulk argument / string value.
    pub proto_max_bulk_len: i64,
    /// Rewrite the log when it grew by this percentage since the last rewrite (0 = never).
    pub auto_aof_rewrite_percentage: u64,
    /// ... and is at least this large.
    pub auto_aof_rewrite_min_size: u64,
    /// Maximum number of connected clients.
    pub maxclients: u64,
    /// After a script ran this many ms, other clients get BUSY (`busy-reply-threshold`, alias `lua-time-limit`).
    pub busy_reply_threshold: u64,
    /// Keyspace notification classes (`notify-keyspace-events`, see [`crate::notify`]).
    pub notify_keyspace_events: u32,
    /// Commands taking at least this many µs enter the slow log (negative: none, 0: all).
    pub slowlog_log_slower_than: i64,
    /// Entries the slow log keeps.
    pub slowlog_max_len: u64,
    /// Entries per stream listpack node, deleted ones included (`stream-node-max-entries`, 0 = no limit).
    pub stream_node_max_entries: u64,
    /// Bytes per stream listpack node (`stream-node-max-bytes`, 0 = no limit).
    pub stream_node_max_bytes: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            appendfsync: FsyncPolicy::EverySec,
            hz: 10,
            proto_max_bulk_len: stashd_resp::DEFAULT_MAX_BULK_LEN,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            maxclients: 10000,
            busy_reply_threshold: 5000,
            notify_keyspace_events: 0,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            stream_node_max_entries: 100,
            stream_node_max_bytes: 4096,
        }
    }
}

/// Read-only settings that `CONFIG GET` reports (name, value), filled from the server facts.
pub fn static_params(facts: &crate::engine::ServerFacts, aof: bool) -> Vec<(&'static str, String)> {
    vec![
        ("port", facts.tcp_port.to_string()),
        ("bind", facts.bind.clone()),
        ("dir", facts.data_dir.clone()),
        ("databases", crate::keyspace::NUM_DBS.to_string()),
        ("appendonly", if aof { "yes".into() } else { "no".into() }),
        ("save", String::new()),
        ("maxmemory", "0".into()),
        ("maxmemory-policy", "noeviction".into()),
        ("timeout", "0".into()),
        // The latency monitor is not offered: fixed at 0 (off), Redis's default.
        ("latency-monitor-threshold", "0".into()),
    ]
}

impl RuntimeConfig {
    /// Changeable settings as (name, value).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("appendfsync", self.appendfsync.as_str().into()),
            ("hz", self.hz.to_string()),
            ("proto-max-bulk-len", self.proto_max_bulk_len.to_string()),
            ("auto-aof-rewrite-percentage", self.auto_aof_rewrite_percentage.to_string()),
            ("auto-aof-rewrite-min-size", self.auto_aof_rewrite_min_size.to_string()),
            ("maxclients", self.maxclients.to_string()),
            ("busy-reply-threshold", self.busy_reply_threshold.to_string()),
            ("lua-time-limit", self.busy_reply_threshold.to_string()),
            ("notify-keyspace-events", crate::notify::flags_to_string(self.notify_keyspace_events)),
            ("slowlog-log-slower-than", self.slowlog_log_slower_than.to_string()),
            ("slowlog-max-len", self.slowlog_max_len.to_string()),
            ("stream-node-max-entries", self.stream_node_max_entries.to_string()),
            ("stream-node-max-bytes", self.stream_node_max_bytes.to_string()),
        ]
    }

    /// Applies `CONFIG SET name value`.
    pub fn set(&mut self, name: &str, value: &str) -> CmdResult<()> {
        let bad = || {
            CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument '{name}') - argument couldn't be parsed into an integer"
            ))
        };
        let num = |v: &str| parse_mem(v).ok_or_else(bad);
        match name {
            "appendfsync" => {
                self.appendfsync = FsyncPolicy::parse(value)
                    .ok_or_else(|| CmdError::err(format!("CONFIG SET failed (possibly related to argument '{name}') - argument(s) must be one of the following: always, everysec, no")))?
            }
            "hz" => self.hz = num(value)?.clamp(1, 500) as u32,
            "proto-max-bulk-len" => self.proto_max_bulk_len = num(value)?.max(1024 * 1024) as i64,
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage = num(value)?,
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size = num(value)?,
            "maxclients" => self.maxclients = num(value)?.max(1),
            "busy-reply-threshold" | "lua-time-limit" => self.busy_reply_threshold = num(value)?,
            "notify-keyspace-events" => {
                self.notify_keyspace_events = crate::notify::parse_flags(value).ok_or_else(|| {
                    CmdError::err(format!("CONFIG SET failed (possibly related to argument '{name}') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."))
                })?
            }
            "slowlog-log-slower-than" => self.slowlog_log_slower_than = value.parse::<i64>().map_err(|_| bad())?,
            "slowlog-max-len" => self.slowlog_max_len = num(value)?,
            "stream-node-max-entries" => self.stream_node_max_entries = value.parse::<u64>().ok().filter(|n| *n <= i64::MAX as u64).ok_or_else(bad)?,
            "stream-node-max-bytes" => self.stream_node_max_bytes = num(value)?.min(i64::MAX as u64),
            _ => return Err(CmdError::err(format!("Unknown option or number of arguments for CONFIG SET - '{name}'"))),
        }
        Ok(())
    }
}

/// Parses a number with Redis's memory units (`1gb`, `64mb`, `100k`).
pub fn parse_mem(v: &str) -> Option<u64> {
    let l = v.to_ascii_lowercase();
    let (num, mul) = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1)]
        .iter()
        .find_map(|(suf, m)| l.strip_suffix(suf).map(|n| (n.to_string(), *m)))
        .unwrap_or((l, 1u64));
    num.parse::<u64>().ok()?.checked_mul(mul)
}
