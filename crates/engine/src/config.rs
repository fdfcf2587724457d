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

/// The thresholds that decide which compact encoding Redis would use for a small collection:
/// what `OBJECT ENCODING` reports and whether HSCAN/SSCAN/ZSCAN answer a collection whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encodings {
    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`).
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value`.
    pub hash_max_listpack_value: u64,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: u64,
    /// `set-max-listpack-entries`.
    pub set_max_listpack_entries: u64,
    /// `set-max-listpack-value`.
    pub set_max_listpack_value: u64,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value`.
    pub zset_max_listpack_value: u64,
    /// `list-max-listpack-size` (positive: entries; -1..-5: 4..64 KB).
    pub list_max_listpack_size: i64,
}

impl Default for Encodings {
    fn default() -> Self {
        Encodings {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
        }
    }
}

/// How Redis validates a parameter's value (from `config_table.tsv`).
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `yes` or `no`.
    Bool,
    /// An integer in a range.
    Int(i64, i64),
    /// A byte count in a range, with units (`1gb`).
    Mem(i64, i64),
    /// One of some words.
    Enum(Vec<&'static str>),
    /// Any text.
    Str,
    /// Parsed its own way by Redis (`save`, `notify-keyspace-events`...).
    Special,
    /// Only settable at start-up.
    Immutable,
}

/// One Redis 7 configuration parameter.
#[derive(Debug, Clone)]
pub struct ParamDef {
    /// The name (an alias has its own row, as `CONFIG GET *` lists both).
    pub name: &'static str,
    /// Validation.
    pub kind: Kind,
    /// Redis's default, as `CONFIG GET` shows it.
    pub default: &'static str,
}

/// Every Redis 7 parameter, from `config_table.tsv` (generated from redis-server; see its header).
pub fn table() -> &'static [ParamDef] {
    static TABLE: std::sync::OnceLock<Vec<ParamDef>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("config_table.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (name, kind, extra, default) = (f.next()?, f.next()?, f.next().unwrap_or(""), f.next().unwrap_or(""));
                let range = || {
                    let (lo, hi) = extra.split_once(',')?;
                    Some((lo.parse().ok()?, hi.parse().ok()?))
                };
                let kind = match kind {
                    "bool" => Kind::Bool,
                    "int" => range().map_or(Kind::Int(i64::MIN, i64::MAX), |(lo, hi)| Kind::Int(lo, hi)),
                    "mem" => range().map_or(Kind::Mem(0, i64::MAX), |(lo, hi)| Kind::Mem(lo, hi)),
                    "enum" => Kind::Enum(extra.split(',').collect()),
                    "immutable" => Kind::Immutable,
                    "special" => Kind::Special,
                    _ => Kind::Str,
                };
                Some(ParamDef { name, kind, default })
            })
            .collect()
    })
}

/// The row of parameter `name` (lower case).
pub fn param(name: &str) -> Option<&'static ParamDef> {
    table().iter().find(|p| p.name == name)
}

/// The name a value is kept under: an alias (`hash-max-ziplist-entries`, `slave-priority`,
/// `lua-time-limit`) shares its parameter's value.
pub fn canonical(name: &str) -> &str {
    match name {
        "hash-max-ziplist-entries" => "hash-max-listpack-entries",
        "hash-max-ziplist-value" => "hash-max-listpack-value",
        "zset-max-ziplist-entries" => "zset-max-listpack-entries",
        "zset-max-ziplist-value" => "zset-max-listpack-value",
        "list-max-ziplist-size" => "list-max-listpack-size",
        "lua-time-limit" => "busy-reply-threshold",
        "slaveof" => "replicaof",
        _ if name.contains("slave") => {
            let replica = name.replace("slave", "replica");
            table().iter().find(|p| p.name == replica).map_or(name, |p| p.name)
        }
        _ => name,
    }
}

/// What stashd does with each parameter: `honoured` ones change its behaviour, `fixed` ones
/// show a fact of the running server and cannot be set, the rest are stored and reported only.
pub fn role(name: &str) -> &'static str {
    match canonical(name) {
        "appendfsync"
        | "hz"
        | "proto-max-bulk-len"
        | "auto-aof-rewrite-percentage"
        | "auto-aof-rewrite-min-size"
        | "maxclients"
        | "busy-reply-threshold"
        | "notify-keyspace-events"
        | "slowlog-log-slower-than"
        | "slowlog-max-len"
        | "timeout"
        | "requirepass"
        | "hash-max-listpack-entries"
        | "hash-max-listpack-value"
        | "set-max-intset-entries"
        | "set-max-listpack-entries"
        | "set-max-listpack-value"
        | "zset-max-listpack-entries"
        | "zset-max-listpack-value"
        | "list-max-listpack-size"
        | "stream-node-max-entries"
        | "stream-node-max-bytes" => "honoured",
        "port" | "bind" | "dir" | "databases" | "appendonly" => "fixed",
        _ => "stored",
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
    /// Close a RESP client idle this many seconds (0 = never; not subscribers or blocked clients).
    pub timeout: u64,
    /// Compact-encoding thresholds.
    pub encodings: Encodings,
    /// Values of the parameters stashd only stores, by canonical name (canonical text).
    pub stored: std::collections::BTreeMap<&'static str, String>,
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
            timeout: 0,
            encodings: Encodings::default(),
            stored: Default::default(),
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
    ]
}

/// `CONFIG SET failed (possibly related to argument 'name') - why`.
fn set_failed(name: &str, why: &str) -> CmdError {
    CmdError::err(format!("CONFIG SET failed (possibly related to argument '{name}') - {why}"))
}

/// Checks `value` against a parameter's type as Redis does; returns the text `CONFIG GET` will
/// show (memory values in bytes, words in lower case).
pub fn validate(def: &ParamDef, value: &str) -> CmdResult<String> {
    let name = def.name;
    match &def.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            v @ ("yes" | "no") => Ok(v.to_string()),
            _ => Err(set_failed(name, "argument must be 'yes' or 'no'")),
        },
        Kind::Int(lo, hi) => {
            let n: i64 = value.parse().map_err(|_| set_failed(name, "argument couldn't be parsed into an integer"))?;
            if n < *lo || n > *hi {
                return Err(set_failed(name, &format!("argument must be between {lo} and {hi} inclusive")));
            }
            Ok(n.to_string())
        }
        Kind::Mem(lo, hi) => {
            // Redis reads memory values unsigned: a sign is not a memory value.
            let n =
                parse_mem(value).and_then(|n| i64::try_from(n).ok()).ok_or_else(|| set_failed(name, "argument must be a memory value"))?;
            if n < *lo || n > *hi {
                return Err(set_failed(name, &format!("argument must be between {lo} and {hi} inclusive")));
            }
            Ok(n.to_string())
        }
        Kind::Enum(words) => {
            let l = value.to_ascii_lowercase();
            // Some enums (shutdown-on-sig*) take several words; each must be known.
            if !l.is_empty() && l.split_whitespace().all(|w| words.contains(&w)) {
                Ok(l.split_whitespace().collect::<Vec<_>>().join(" "))
            } else {
                Err(set_failed(name, &format!("argument(s) must be one of the following: {}", words.join(", "))))
            }
        }
        Kind::Immutable => Err(set_failed(name, "can't set immutable config")),
        Kind::Str => Ok(value.to_string()),
        Kind::Special => match name {
            "dir" | "dbfilename" => Err(set_failed(name, "can't set protected config")),
            "save" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let ok = parts.len().is_multiple_of(2) && parts.iter().all(|p| p.parse::<i64>().is_ok_and(|n| n >= 0));
                if ok {
                    Ok(parts.join(" "))
                } else {
                    Err(set_failed(name, "Invalid save parameters"))
                }
            }
            _ => Ok(value.to_string()),
        },
    }
}

impl RuntimeConfig {
    /// The value `CONFIG GET` shows for a parameter stashd acts on, by canonical name.
    fn honoured(&self, name: &str) -> Option<String> {
        let e = &self.encodings;
        Some(match name {
            "appendfsync" => self.appendfsync.as_str().into(),
            "hz" => self.hz.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage.to_string(),
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "busy-reply-threshold" => self.busy_reply_threshold.to_string(),
            "notify-keyspace-events" => crate::notify::flags_to_string(self.notify_keyspace_events),
            "slowlog-log-slower-than" => self.slowlog_log_slower_than.to_string(),
            "slowlog-max-len" => self.slowlog_max_len.to_string(),
            "timeout" => self.timeout.to_string(),
            "stream-node-max-entries" => self.stream_node_max_entries.to_string(),
            "stream-node-max-bytes" => self.stream_node_max_bytes.to_string(),
            "hash-max-listpack-entries" => e.hash_max_listpack_entries.to_string(),
            "hash-max-listpack-value" => e.hash_max_listpack_value.to_string(),
            "set-max-intset-entries" => e.set_max_intset_entries.to_string(),
            "set-max-listpack-entries" => e.set_max_listpack_entries.to_string(),
            "set-max-listpack-value" => e.set_max_listpack_value.to_string(),
            "zset-max-listpack-entries" => e.zset_max_listpack_entries.to_string(),
            "zset-max-listpack-value" => e.zset_max_listpack_value.to_string(),
            "list-max-listpack-size" => e.list_max_listpack_size.to_string(),
            _ => return None,
        })
    }

    /// Every parameter of the table as (name, value), except the fixed ones of
    /// [`static_params`] and `requirepass`, which `CONFIG GET` adds.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        table()
            .iter()
            .filter(|p| role(p.name) != "fixed" && p.name != "requirepass")
            .map(|p| {
                let c = canonical(p.name);
                let v = self.honoured(c).or_else(|| self.stored.get(c).cloned()).unwrap_or_else(|| p.default.to_string());
                (p.name, v)
            })
            .collect()
    }

    /// Applies `CONFIG SET name value` (validated as Redis validates that parameter).
    pub fn set(&mut self, name: &str, value: &str) -> CmdResult<()> {
        let Some(def) = param(name) else {
            return Err(CmdError::err(format!("Unknown option or number of arguments for CONFIG SET - '{name}'")));
        };
        if name == "notify-keyspace-events" {
            self.notify_keyspace_events = crate::notify::parse_flags(value)
                .ok_or_else(|| set_failed(name, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."))?;
            return Ok(());
        }
        let v = validate(def, value)?;
        let int = || v.parse::<i64>().unwrap_or(0);
        let uint = || v.parse::<u64>().unwrap_or(0);
        let e = &mut self.encodings;
        let c = canonical(def.name);
        match c {
            "appendfsync" => self.appendfsync = FsyncPolicy::parse(&v).unwrap_or_default(),
            "hz" => self.hz = int().clamp(1, 500) as u32,
            "proto-max-bulk-len" => self.proto_max_bulk_len = int().max(1024 * 1024),
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage = uint(),
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size = uint(),
            "maxclients" => self.maxclients = uint().max(1),
            "busy-reply-threshold" => self.busy_reply_threshold = uint(),
            "slowlog-log-slower-than" => self.slowlog_log_slower_than = int(),
            "slowlog-max-len" => self.slowlog_max_len = uint(),
            "timeout" => self.timeout = uint(),
            "stream-node-max-entries" => self.stream_node_max_entries = uint(),
            "stream-node-max-bytes" => self.stream_node_max_bytes = uint(),
            "hash-max-listpack-entries" => e.hash_max_listpack_entries = uint(),
            "hash-max-listpack-value" => e.hash_max_listpack_value = uint(),
            "set-max-intset-entries" => e.set_max_intset_entries = uint(),
            "set-max-listpack-entries" => e.set_max_listpack_entries = uint(),
            "set-max-listpack-value" => e.set_max_listpack_value = uint(),
            "zset-max-listpack-entries" => e.zset_max_listpack_entries = uint(),
            "zset-max-listpack-value" => e.zset_max_listpack_value = uint(),
            "list-max-listpack-size" => e.list_max_listpack_size = int(),
            _ => {
                let key = param(c).map_or(def.name, |p| p.name);
                self.stored.insert(key, v);
            }
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

/// What an honoured parameter does in stashd (for docs/config.md).
pub fn honoured_effect(name: &str) -> &'static str {
    match canonical(name) {
        "appendfsync" => "fsync policy of the append-only log",
        "hz" => "active-expiry cycles per second (clamped to 1..500)",
        "proto-max-bulk-len" => "largest bulk argument and string value (at least 1mb)",
        "auto-aof-rewrite-percentage" | "auto-aof-rewrite-min-size" => "when the log is rewritten automatically",
        "maxclients" => "connections beyond it are refused",
        "busy-reply-threshold" => "a script running longer makes other clients get BUSY",
        "notify-keyspace-events" => "keyspace notification classes",
        "slowlog-log-slower-than" | "slowlog-max-len" => "the slow log",
        "timeout" => "closes RESP clients idle this many seconds (0 = never; not subscribers, MONITOR or blocked clients)",
        "requirepass" => "user default's password, the standard token (also over REST)",
        "hash-max-listpack-entries" | "hash-max-listpack-value" => "OBJECT ENCODING of hashes; small hashes scan whole in insertion order",
        "set-max-intset-entries" => "OBJECT ENCODING intset; small integer sets scan whole in ascending order",
        "set-max-listpack-entries" | "set-max-listpack-value" => "OBJECT ENCODING of sets; small sets scan whole in insertion order",
        "zset-max-listpack-entries" | "zset-max-listpack-value" => "OBJECT ENCODING of sorted sets; small ones scan whole by score",
        "list-max-listpack-size" => "OBJECT ENCODING of lists (listpack or quicklist)",
        "stream-node-max-entries" | "stream-node-max-bytes" => "where stream nodes end: `~` trims remove whole nodes only",
        _ => "",
    }
}

/// docs/config.md: every parameter and what it does in stashd.
pub fn config_doc() -> String {
    let mut o = String::from(
        "# Configuration parameters\n\n\
         Generated from `crates/engine/src/config_table.tsv` (Redis 7's parameter table, see its header) by\n\
         `STASHD_WRITE_DOCS=1 cargo test -p stashd-engine config_doc`. `CONFIG GET` reports every parameter and\n\
         `CONFIG SET` accepts each with Redis's validation and error texts, all or nothing.\n\n\
         * **honoured**: changes what stashd does (as described).\n\
         * **fixed**: a fact of the running server (flags, `STASHD_*` variables, TOML); `CONFIG SET` refuses it.\n\
         * **stored**: validated, kept and reported, with no effect in stashd.\n\n\
         | Parameter | Redis type | Default | In stashd |\n|---|---|---|---|\n",
    );
    for p in table() {
        let kind = match &p.kind {
            Kind::Bool => "bool".to_string(),
            Kind::Int(..) => "integer".to_string(),
            Kind::Mem(..) => "memory".to_string(),
            Kind::Enum(w) => w.join(" / "),
            Kind::Str => "string".to_string(),
            Kind::Special => "special".to_string(),
            Kind::Immutable => "immutable".to_string(),
        };
        let part =
            if matches!(p.kind, Kind::Immutable) && role(p.name) == "stored" { "stored (immutable, as in Redis)" } else { role(p.name) };
        let what = match (part, honoured_effect(p.name)) {
            ("honoured", e) => format!("honoured: {e}"),
            ("fixed", _) => "fixed".to_string(),
            (r, _) => r.to_string(),
        };
        let alias = if canonical(p.name) != p.name { format!(" (alias of `{}`)", canonical(p.name)) } else { String::new() };
        let default = if role(p.name) == "fixed" { "(the server's)" } else { p.default };
        o.push_str(&format!("| `{}` | {kind} | `{}` | {what}{alias} |\n", p.name, default.replace('|', "\\|")));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md");
        let doc = config_doc();
        if std::env::var_os("STASHD_WRITE_DOCS").is_some() {
            std::fs::write(path, &doc).unwrap();
        }
        let current = std::fs::read_to_string(path).unwrap_or_default();
        assert!(current == doc, "docs/config.md is stale: run STASHD_WRITE_DOCS=1 cargo test -p stashd-engine config_doc");
    }

    #[test]
    fn table_types_validate_as_redis() {
        assert!(table().len() > 180);
        let mut c = RuntimeConfig::default();
        assert_eq!(c.set("maxmemory", "1gb").map(|_| c.stored.get("maxmemory").cloned()), Ok(Some("1073741824".into())));
        assert!(c.set("maxmemory", "lots").unwrap_err().to_string().ends_with("argument must be a memory value"));
        assert!(c.set("activerehashing", "maybe").unwrap_err().to_string().ends_with("argument must be 'yes' or 'no'"));
        c.set("activerehashing", "NO").unwrap();
        assert!(c.params().contains(&("activerehashing", "no".into())));
        assert!(c.set("hz", "x").unwrap_err().to_string().ends_with("argument couldn't be parsed into an integer"));
        assert!(c.set("maxmemory-policy", "random").unwrap_err().to_string().contains("must be one of the following: volatile-lru,"));
        c.set("maxmemory-policy", "ALLKEYS-LRU").unwrap();
        assert!(c.params().contains(&("maxmemory-policy", "allkeys-lru".into())));
        assert!(c.set("daemonize", "yes").unwrap_err().to_string().ends_with("can't set immutable config"));
        assert!(c.set("nope", "1").unwrap_err().to_string().contains("Unknown option"));
        assert!(c.set("timeout", "-1").unwrap_err().to_string().ends_with("argument must be between 0 and 2147483647 inclusive"));
    }

    #[test]
    fn aliases_share_values() {
        let mut c = RuntimeConfig::default();
        c.set("hash-max-ziplist-entries", "7").unwrap();
        assert_eq!(c.encodings.hash_max_listpack_entries, 7);
        assert!(c.params().contains(&("hash-max-listpack-entries", "7".into())));
        c.set("slave-priority", "5").unwrap();
        assert!(c.params().contains(&("replica-priority", "5".into())));
        assert!(c.params().contains(&("slave-priority", "5".into())));
        c.set("lua-time-limit", "100").unwrap();
        assert_eq!(c.busy_reply_threshold, 100);
    }
}
