//! The command table: one [`CommandSpec`] row per command, declared by each family file.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::ctx::Ctx;
use crate::error::CmdResult;
use crate::Reply;

/// Command flags (a bit set), named after Redis's.
pub mod flags {
    /// Modifies data.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads data.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Not allowed inside scripts.
    pub const NOSCRIPT: u32 = 1 << 4;
    /// Runs in O(1) or O(log n).
    pub const FAST: u32 = 1 << 5;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 6;
    /// Runs immediately even inside MULTI (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET).
    pub const NO_MULTI_QUEUE: u32 = 1 << 7;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 8;
    /// Per-connection command (CLIENT, HELLO, SELECT...).
    pub const CONNECTION: u32 = 1 << 9;
    /// Random output (RANDOMKEY, SPOP...).
    pub const RANDOM: u32 = 1 << 10;
    /// Of the declared keys only the first is written (the *STORE destination); the rest are
    /// sources, so WATCH on them is not invalidated.
    pub const WRITES_FIRST_KEY: u32 = 1 << 11;
    /// Allowed while the data is still loading (INFO, AUTH, HELLO, CONFIG...).
    pub const OK_LOADING: u32 = 1 << 12;
    /// Allowed while a RESP2 client is in subscribed mode.
    pub const PUBSUB_CONTEXT: u32 = 1 << 14;
    /// Refused inside MULTI when queued (Redis's `no_multi`: SAVE), failing the transaction.
    pub const NO_MULTI: u32 = 1 << 15;
}

/// A command handler: parses its arguments (`args[0]` is the name) and returns the reply.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult<Reply>;

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: `n` exactly n arguments (with the name), `-n` at least n.
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Position of the first key (0 = none).
    pub first_key: i32,
    /// Position of the last key (negative counts from the end).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// The implementation.
    pub handler: Handler,
    /// ACL categories reported by `COMMAND INFO` (e.g. `@string`).
    pub group: &'static str,
}

impl CommandSpec {
    /// True if the command has flag `f`.
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// True if the argument count satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// Indexes of the key arguments in `args`, from the table's key positions.
    pub fn key_indexes(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i32;
        let (first, step) = (self.first_key, self.step.max(1));
        let last = if self.last_key < 0 { argc + self.last_key } else { self.last_key };
        let end = if first == 0 { 0 } else { last.min(argc - 1) };
        (first..=end).step_by(step as usize).filter(move |&i| first > 0 && i > 0).map(|i| i as usize)
    }
}

/// Builds a [`CommandSpec`] row tersely: `cmd!("get", 2, READONLY | FAST, 1, 1, 1, get, "string")`.
#[macro_export]
macro_rules! cmd {
    ($name:expr, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $handler:expr, $group:expr) => {
        $crate::command::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            handler: $handler,
            group: $group,
        }
    };
}

/// Every command of every family.
fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    crate::cmd::FAMILIES.iter().flat_map(|f| f.iter())
}

/// The table, indexed by lower-case name.
pub fn table() -> &'static HashMap<&'static str, &'static CommandSpec, crate::value::Hasher> {
    static TABLE: OnceLock<HashMap<&'static str, &'static CommandSpec, crate::value::Hasher>> = OnceLock::new();
    TABLE.get_or_init(|| all_specs().map(|s| (s.name, s)).collect())
}

/// Looks a command up by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > 32 {
        return None;
    }
    let mut buf = [0u8; 32];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let s = std::str::from_utf8(lower).ok()?;
    table().get(s).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_duplicate_names_and_sane_rows() {
        let mut seen = std::collections::HashSet::new();
        for s in all_specs() {
            assert!(seen.insert(s.name), "duplicate command {}", s.name);
            assert_eq!(s.name, s.name.to_ascii_lowercase());
            assert!(s.arity != 0, "{} has arity 0", s.name);
            assert!(!(s.has(flags::WRITE) && s.has(flags::READONLY)), "{} is both write and readonly", s.name);
        }
    }

    #[test]
    fn key_positions() {
        let del = lookup(b"DEL").unwrap();
        assert_eq!(del.key_indexes(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        let mset = lookup(b"mset").unwrap();
        assert_eq!(mset.key_indexes(5).collect::<Vec<_>>(), vec![1, 3]);
        let ping = lookup(b"ping").unwrap();
        assert_eq!(ping.key_indexes(2).count(), 0);
    }
}
