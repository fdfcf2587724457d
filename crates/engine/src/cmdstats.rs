//! Per-command statistics and the slow log: calls, time, failures and a latency histogram for
//! `INFO commandstats`/`latencystats` and `LATENCY HISTOGRAM`; the slowest commands for
//! `SLOWLOG`. Kept in the keyspace (updated under its lock, like everything a command does).

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;

use crate::reply::Reply;

/// Histogram buckets: bucket `i` counts durations in (2^(i-1), 2^i] µs (bucket 0: ≤ 1 µs).
const BUCKETS: usize = 32;

/// Statistics of one command.
#[derive(Debug, Clone, Default)]
pub struct CmdStat {
    /// Times it ran.
    pub calls: u64,
    /// Total run time in µs.
    pub usec: u64,
    /// Runs that answered an error.
    pub failed: u64,
    /// Attempts refused before running (arity, authentication, permissions).
    pub rejected: u64,
    hist: [u64; BUCKETS],
}

fn bucket(usec: u64) -> usize {
    if usec <= 1 {
        0
    } else {
        (64 - (usec - 1).leading_zeros() as usize).min(BUCKETS - 1)
    }
}

impl CmdStat {
    /// `(bucket upper bound in µs, cumulative count)` for buckets where the count grows.
    fn cumulative(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut total = 0;
        for (i, n) in self.hist.iter().enumerate() {
            if *n > 0 {
                total += n;
                out.push((1u64 << i, total));
            }
        }
        out
    }

    /// The duration (bucket upper bound, µs) below which `p` percent of calls fall.
    fn percentile(&self, p: f64) -> u64 {
        let total: u64 = self.hist.iter().sum();
        let want = ((p / 100.0) * total as f64).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.hist.iter().enumerate() {
            seen += n;
            if seen >= want.max(1) {
                return 1 << i;
            }
        }
        0
    }
}

/// Statistics of every command that ran since start-up or `CONFIG RESETSTAT`.
#[derive(Debug, Clone, Default)]
pub struct CommandStats {
    by_name: HashMap<&'static str, CmdStat, crate::value::Hasher>,
    /// Error replies per error code (`INFO errorstats`), sorted as Redis's rax.
    errors: BTreeMap<String, u64>,
    /// Every error reply sent (`total_error_replies`).
    pub error_replies: u64,
}

/// Distinct error codes tracked (Redis's `ERROR_STATS_NUMBER`); later new codes are not added.
const ERROR_CODES: usize = 128;

impl CommandStats {
    /// Records one run of `name` that took `usec` µs.
    pub fn record(&mut self, name: &'static str, usec: u64, failed: bool) {
        let s = self.by_name.entry(name).or_default();
        s.calls += 1;
        s.usec += usec;
        s.failed += failed as u64;
        s.hist[bucket(usec)] += 1;
    }

    /// Records an attempt refused before running.
    pub fn reject(&mut self, name: &'static str) {
        self.by_name.entry(name).or_default().rejected += 1;
    }

    /// Counts one error reply under its code, as Redis's `afterErrorReply`: the text up to the
    /// first space (searched in the first 32 bytes), else `ERR`.
    pub fn error(&mut self, text: &str) {
        self.error_replies += 1;
        let head = &text.as_bytes()[..text.len().min(32)];
        let code = match head.iter().position(|&c| c == b' ') {
            Some(n) if n > 0 => &text[..n],
            _ => "ERR",
        };
        if let Some(n) = self.errors.get_mut(code) {
            *n += 1;
        } else if self.errors.len() < ERROR_CODES {
            self.errors.insert(code.to_string(), 1);
        }
    }

    /// The `# Errorstats` lines of INFO.
    pub fn info_errorstats(&self, out: &mut String) {
        use std::fmt::Write;
        for (code, n) in &self.errors {
            let _ = writeln!(out, "errorstat_{code}:count={n}\r");
        }
    }

    /// Commands that ran or were refused, sorted by name.
    fn sorted(&self) -> Vec<(&'static str, &CmdStat)> {
        let mut v: Vec<_> = self.by_name.iter().map(|(n, s)| (*n, s)).collect();
        v.sort_unstable_by_key(|(n, _)| *n);
        v
    }

    /// The `# Commandstats` lines of INFO.
    pub fn info_commandstats(&self, out: &mut String) {
        use std::fmt::Write;
        for (name, s) in self.sorted() {
            let per = if s.calls == 0 { 0.0 } else { s.usec as f64 / s.calls as f64 };
            let _ = writeln!(
                out,
                "cmdstat_{name}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r",
                s.calls, s.usec, s.rejected, s.failed
            );
        }
    }

    /// The `# Latencystats` lines of INFO (p50, p99, p99.9 from the histogram buckets).
    pub fn info_latencystats(&self, out: &mut String) {
        use std::fmt::Write;
        for (name, s) in self.sorted().into_iter().filter(|(_, s)| s.calls > 0) {
            let _ = writeln!(
                out,
                "latency_percentiles_usec_{name}:p50={:.3},p99={:.3},p99.9={:.3}\r",
                s.percentile(50.0) as f64,
                s.percentile(99.0) as f64,
                s.percentile(99.9) as f64
            );
        }
    }

    /// `LATENCY HISTOGRAM [name ...]`: per command `{calls, histogram_usec: {µs: cumulative}}`.
    pub fn histogram_reply(&self, names: &[String]) -> Reply {
        let pick: Vec<(&'static str, &CmdStat)> = if names.is_empty() {
            self.sorted()
        } else {
            let mut v = Vec::new();
            for n in names {
                if let Some((k, s)) = self.by_name.get_key_value(n.as_str()) {
                    if !v.iter().any(|(x, _): &(&str, &CmdStat)| x == k) {
                        v.push((*k, s));
                    }
                }
            }
            v
        };
        Reply::Map(
            pick.into_iter()
                .filter(|(_, s)| s.calls > 0)
                .map(|(name, s)| {
                    let hist = s.cumulative().into_iter().map(|(us, n)| (Reply::Int(us as i64), Reply::Int(n as i64))).collect();
                    (
                        Reply::Bulk(Bytes::from_static(name.as_bytes())),
                        Reply::Map(vec![
                            (Reply::bulk("calls"), Reply::Int(s.calls as i64)),
                            (Reply::bulk("histogram_usec"), Reply::Map(hist)),
                        ]),
                    )
                })
                .collect(),
        )
    }
}

/// One slow-log entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Increasing id.
    pub id: u64,
    /// When it ran (unix seconds).
    pub time_s: u64,
    /// How long it took (µs).
    pub usec: u64,
    /// The arguments, shortened as Redis does.
    pub args: Vec<Bytes>,
    /// The client's address.
    pub addr: String,
    /// The client's name.
    pub name: Bytes,
}

/// The slow log: the most recent commands that took at least `slowlog-log-slower-than` µs.
#[derive(Debug, Clone, Default)]
pub struct SlowLog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

/// Most arguments kept per entry, and bytes per argument (Redis's limits).
const MAX_ARGS: usize = 32;
const MAX_ARG_LEN: usize = 128;

impl SlowLog {
    /// Adds an entry, keeping at most `max_len`.
    pub fn push(&mut self, args: &[Bytes], usec: u64, time_s: u64, addr: &str, name: &[u8], max_len: usize) {
        let mut kept: Vec<Bytes> = Vec::with_capacity(args.len().min(MAX_ARGS));
        for (i, a) in args.iter().enumerate() {
            if i == MAX_ARGS - 1 && args.len() > MAX_ARGS {
                kept.push(Bytes::from(format!("... ({} more arguments)", args.len() - MAX_ARGS + 1)));
                break;
            }
            if a.len() > MAX_ARG_LEN {
                let mut s = a[..MAX_ARG_LEN].to_vec();
                s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes());
                kept.push(Bytes::from(s));
            } else {
                kept.push(a.clone());
            }
        }
        self.entries.push_front(SlowEntry {
            id: self.next_id,
            time_s,
            usec,
            args: kept,
            addr: addr.to_string(),
            name: Bytes::copy_from_slice(name),
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every entry (ids keep increasing).
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Trims to `max_len` entries.
    pub fn truncate(&mut self, max_len: usize) {
        self.entries.truncate(max_len);
    }

    /// The newest `count` entries as `SLOWLOG GET` replies them.
    pub fn get(&self, count: usize) -> Reply {
        Reply::Array(
            self.entries
                .iter()
                .take(count)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.time_s as i64),
                        Reply::Int(e.usec as i64),
                        Reply::Array(e.args.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::Bulk(Bytes::from(e.addr.clone())),
                        Reply::Bulk(e.name.clone()),
                    ])
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        let mut st = CommandStats::default();
        st.error("ERR syntax error");
        st.error("WRONGTYPE Operation against a key holding the wrong kind of value");
        st.error("ERR no such key");
        st.error("NOSPACEATALL");
        let mut out = String::new();
        st.info_errorstats(&mut out);
        assert_eq!(out, "errorstat_ERR:count=3\r\nerrorstat_WRONGTYPE:count=1\r\n");
        assert_eq!(st.error_replies, 4);
        for i in 0..200 {
            st.error(&format!("E{i} x"));
        }
        assert_eq!(st.errors.len(), ERROR_CODES);
        assert_eq!(st.error_replies, 204);
    }

    #[test]
    fn buckets_and_cumulative_counts() {
        assert_eq!([0, 1, 2, 3, 4, 5, 1000].map(bucket), [0, 0, 1, 2, 2, 3, 10]);
        let mut s = CommandStats::default();
        for us in [0, 1, 3, 3, 900] {
            s.record("get", us, false);
        }
        s.record("get", 2, true);
        let st = &s.by_name["get"];
        assert_eq!((st.calls, st.usec, st.failed), (6, 909, 1));
        assert_eq!(st.cumulative(), vec![(1, 2), (2, 3), (4, 5), (1024, 6)]);
        assert_eq!(st.percentile(50.0), 2);
        assert_eq!(st.percentile(99.0), 1024);
    }

    #[test]
    fn slowlog_shortens_and_bounds() {
        let mut l = SlowLog::default();
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(if i == 1 { "x".repeat(200) } else { i.to_string() })).collect();
        l.push(&args, 50, 1, "127.0.0.1:1", b"n", 2);
        l.push(&args[..2], 60, 2, "127.0.0.1:1", b"", 2);
        l.push(&args[..1], 70, 3, "127.0.0.1:1", b"", 2);
        assert_eq!(l.len(), 2);
        let Reply::Array(entries) = l.get(10) else { panic!() };
        let Reply::Array(first) = &entries[1] else { panic!() };
        assert_eq!(first[0], Reply::Int(1));
        let Reply::Array(a) = &first[3] else { panic!() };
        assert_eq!(a.len(), 2);
        assert!(matches!(&a[1], Reply::Bulk(b) if b.ends_with(b"... (72 more bytes)")));
        let mut l = SlowLog::default();
        l.push(&args, 50, 1, "a", b"", 10);
        let Reply::Array(e) = l.get(1) else { panic!() };
        let Reply::Array(e0) = &e[0] else { panic!() };
        let Reply::Array(a) = &e0[3] else { panic!() };
        assert_eq!(a.len(), 32);
        assert_eq!(a[31], Reply::Bulk(Bytes::from("... (9 more arguments)")));
    }
}
