//! ACL categories and the units permissions are granted on: a command, or one subcommand of a
//! container command (`client|kill`), as Redis's ACL sees them. The categories of every unit
//! come from `categories.tsv` (Redis's own `COMMAND` reply, plus the commands Redis added later).

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::command::{self, CommandSpec};
use crate::error::CmdError;

/// Redis's ACL categories (`ACL CAT`), then the two stashd serves as modules do (`json`, `array`).
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
    "json",
    "array",
];

/// The bit of category `name` (without `@`), if it is one.
pub fn category_bit(name: &str) -> Option<u32> {
    CATEGORIES.iter().position(|c| c.eq_ignore_ascii_case(name)).map(|i| 1 << i)
}

/// The `@name`s of the categories in `bits`, in `ACL CAT` order.
pub fn names_of(bits: u32) -> impl Iterator<Item = &'static str> {
    CATEGORIES.iter().enumerate().filter(move |(i, _)| bits & (1 << i) != 0).map(|(_, c)| *c)
}

/// One thing a permission is granted on.
#[derive(Debug)]
pub struct Unit {
    /// `get`, or `client|kill` for a subcommand.
    pub name: &'static str,
    /// Category bits.
    pub categories: u32,
    /// The command row it runs.
    pub spec: &'static CommandSpec,
}

/// Every unit, numbered, with the lookups the ACL needs.
#[derive(Debug)]
pub struct Units {
    /// Units by id (sorted by name).
    pub list: Vec<Unit>,
    by_name: HashMap<&'static str, usize>,
    /// Container command name -> ids of its subcommands.
    subcommands: HashMap<&'static str, Vec<usize>>,
}

const DATA: &str = include_str!("categories.tsv");

/// The unit table, built once from the command table and `categories.tsv`.
pub fn units() -> &'static Units {
    static UNITS: OnceLock<Units> = OnceLock::new();
    UNITS.get_or_init(build)
}

fn build() -> Units {
    let mut rows: Vec<(&'static str, u32)> = Vec::new();
    for line in DATA.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let mut cols = line.split('\t');
        let (Some(name), Some(cats)) = (cols.next(), cols.next()) else { continue };
        let bits = cats.split_whitespace().filter_map(|c| c.strip_prefix('@')).filter_map(category_bit).fold(0, |a, b| a | b);
        rows.push((name, bits));
    }
    rows.sort_by_key(|r| r.0);
    let mut list = Vec::new();
    let mut by_name = HashMap::new();
    let mut subcommands: HashMap<&'static str, Vec<usize>> = HashMap::new();
    for (name, categories) in rows {
        let parent = name.split('|').next().unwrap_or(name);
        // Rows for commands this build does not serve are skipped (the table decides).
        let Some(spec) = command::lookup(parent.as_bytes()) else { continue };
        let id = list.len();
        list.push(Unit { name, categories, spec });
        by_name.insert(name, id);
        if name.contains('|') {
            subcommands.entry(spec.name).or_default().push(id);
        }
    }
    Units { list, by_name, subcommands }
}

impl Units {
    /// A unit by its name (`get`, `client|kill`).
    pub fn id(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The subcommand units of a container command (empty for a plain command).
    pub fn subcommands_of(&self, command: &str) -> &[usize] {
        self.subcommands.get(command).map_or(&[], |v| v.as_slice())
    }

    /// True if `command` is a container (has subcommands).
    pub fn is_container(&self, command: &str) -> bool {
        self.subcommands.contains_key(command)
    }

    /// The unit a call runs: the command, or for a container its subcommand. An unknown
    /// subcommand answers Redis's error for it.
    pub fn resolve(&self, spec: &'static CommandSpec, args: &[Bytes]) -> Result<usize, CmdError> {
        if self.is_container(spec.name) {
            if let Some(sub) = args.get(1) {
                let full = format!("{}|{}", spec.name, String::from_utf8_lossy(sub).to_ascii_lowercase());
                return self.id(&full).ok_or_else(|| CmdError::UnknownSubcommand {
                    sub: String::from_utf8_lossy(sub).chars().take(128).collect(),
                    cmd: spec.name.to_ascii_uppercase(),
                });
            }
        }
        self.id(spec.name).ok_or_else(|| CmdError::err(format!("command '{}' has no ACL categories", spec.name)))
    }

    /// Ids of the units in the categories of `bits`.
    pub fn in_categories(&self, bits: u32) -> impl Iterator<Item = usize> + '_ {
        self.list.iter().enumerate().filter(move |(_, u)| u.categories & bits != 0).map(|(i, _)| i)
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True if there are no units (never, with a command table).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command of the table, and every subcommand its container serves, has its
    /// categories: a new command without a row in categories.tsv fails here.
    #[test]
    fn every_command_has_categories() {
        let units = units();
        for spec in command::table().values() {
            let has_row = units.id(spec.name).is_some() || units.is_container(spec.name);
            assert!(has_row, "command '{}' has no row in acl/categories.tsv", spec.name);
            if let Some(id) = units.id(spec.name) {
                assert_ne!(units.list[id].categories, 0, "'{}' has no category", spec.name);
            }
        }
        for u in &units.list {
            assert_ne!(u.categories, 0, "'{}' has no category", u.name);
        }
    }

    #[test]
    fn resolves_subcommands() {
        let units = units();
        let client = command::lookup(b"client").unwrap();
        let id = units.resolve(client, &[Bytes::from("CLIENT"), Bytes::from("Kill")]).unwrap();
        assert_eq!(units.list[id].name, "client|kill");
        let bits = units.list[id].categories;
        assert_ne!(bits & category_bit("dangerous").unwrap(), 0);
        let e = units.resolve(client, &[Bytes::from("client"), Bytes::from("nope")]).unwrap_err();
        assert_eq!(e.to_string(), "ERR unknown subcommand 'nope'. Try CLIENT HELP.");
        let get = command::lookup(b"get").unwrap();
        assert_eq!(units.list[units.resolve(get, &[Bytes::from("get"), Bytes::from("k")]).unwrap()].name, "get");
    }
}
