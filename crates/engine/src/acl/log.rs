//! `ACL LOG`: denied commands, keys and channels, and failed authentications, grouped as Redis
//! groups them (same reason, context, object and user within 60 seconds count as one entry).

use crate::Reply;

/// Why an entry was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogReason {
    /// A command the user may not run.
    Command,
    /// A key the user may not touch.
    Key,
    /// A channel the user may not use.
    Channel,
    /// A wrong password.
    Auth,
}

impl LogReason {
    fn as_str(self) -> &'static str {
        match self {
            LogReason::Command => "command",
            LogReason::Key => "key",
            LogReason::Channel => "channel",
            LogReason::Auth => "auth",
        }
    }
}

/// Where the denied call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogContext {
    /// Sent by the client.
    TopLevel,
    /// Inside MULTI/EXEC.
    Multi,
    /// From a script or function (`redis.call`).
    Lua,
}

impl LogContext {
    fn as_str(self) -> &'static str {
        match self {
            LogContext::TopLevel => "toplevel",
            LogContext::Multi => "multi",
            LogContext::Lua => "lua",
        }
    }
}

/// One entry.
#[derive(Debug, Clone)]
struct Entry {
    count: u64,
    reason: LogReason,
    context: LogContext,
    object: String,
    username: String,
    client_info: String,
    entry_id: u64,
    created_ms: u64,
    updated_ms: u64,
}

/// The log, newest first, at most `max_len` entries (Redis's `acllog-max-len`, 128).
#[derive(Debug)]
pub struct AclLog {
    entries: std::collections::VecDeque<Entry>,
    next_id: u64,
    /// Most entries kept.
    pub max_len: usize,
}

impl Default for AclLog {
    fn default() -> Self {
        AclLog { entries: Default::default(), next_id: 0, max_len: 128 }
    }
}

/// Entries this close in time with the same reason, context, object and user are merged.
const GROUPING_MS: u64 = 60_000;

impl AclLog {
    /// Records a denial (or adds to a recent matching entry). Objects are cut at 128 bytes.
    pub fn add(&mut self, reason: LogReason, context: LogContext, object: &str, username: &str, client_info: String, now_ms: u64) {
        let object: String = object.chars().take(128).collect();
        if let Some(pos) = self.entries.iter().position(|e| {
            e.reason == reason
                && e.context == context
                && e.object == object
                && e.username == username
                && now_ms.saturating_sub(e.updated_ms) < GROUPING_MS
        }) {
            if let Some(mut e) = self.entries.remove(pos) {
                e.count += 1;
                e.updated_ms = now_ms;
                e.client_info = client_info;
                self.entries.push_front(e);
            }
            return;
        }
        let entry_id = self.next_id;
        self.next_id += 1;
        self.entries.push_front(Entry {
            count: 1,
            reason,
            context,
            object,
            username: username.to_string(),
            client_info,
            entry_id,
            created_ms: now_ms,
            updated_ms: now_ms,
        });
        self.entries.truncate(self.max_len);
    }

    /// Forgets every entry (`ACL LOG RESET`).
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// The newest `count` entries as `ACL LOG` answers them.
    pub fn reply(&self, count: usize, now_ms: u64) -> Reply {
        let s = Reply::bulk;
        Reply::Array(
            self.entries
                .iter()
                .take(count)
                .map(|e| {
                    let age = now_ms.saturating_sub(e.created_ms) as f64 / 1000.0;
                    Reply::Map(vec![
                        (s("count"), Reply::Int(e.count as i64)),
                        (s("reason"), s(e.reason.as_str())),
                        (s("context"), s(e.context.as_str())),
                        (s("object"), Reply::Bulk(e.object.clone().into())),
                        (s("username"), Reply::Bulk(e.username.clone().into())),
                        (s("age-seconds"), Reply::Double(age)),
                        (s("client-info"), Reply::Bulk(e.client_info.clone().into())),
                        (s("entry-id"), Reply::Int(e.entry_id as i64)),
                        (s("timestamp-created"), Reply::Int(e.created_ms as i64)),
                        (s("timestamp-last-updated"), Reply::Int(e.updated_ms as i64)),
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
    fn groups_and_bounds_entries() {
        let mut log = AclLog { max_len: 2, ..Default::default() };
        log.add(LogReason::Command, LogContext::TopLevel, "get", "u", String::new(), 1000);
        log.add(LogReason::Command, LogContext::TopLevel, "get", "u", String::new(), 2000);
        log.add(LogReason::Key, LogContext::Lua, "k", "u", String::new(), 3000);
        log.add(LogReason::Auth, LogContext::TopLevel, "AUTH", "v", String::new(), 4000);
        let Reply::Array(items) = log.reply(10, 5000) else { panic!() };
        assert_eq!(items.len(), 2);
        let Reply::Map(first) = &items[0] else { panic!() };
        assert_eq!(first[1].1, Reply::bulk("auth"));
        log.add(LogReason::Key, LogContext::Lua, "k", "u", String::new(), 6000);
        let Reply::Array(items) = log.reply(1, 7000) else { panic!() };
        let Reply::Map(first) = &items[0] else { panic!() };
        assert_eq!(first[0].1, Reply::Int(2));
        assert_eq!(first[2].1, Reply::bulk("lua"));
    }
}
