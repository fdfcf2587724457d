//! One ACL user: Redis's rule language (`ACL SETUSER`) applied to a user, and described back
//! (`ACL LIST`, `ACL GETUSER`) in Redis 7.2's words.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::categories::{category_bit, units, CATEGORIES};

/// Key permission bits of a `%R~`/`%W~`/`~` pattern.
pub const KEY_READ: u8 = 1;
/// Write permission on matching keys.
pub const KEY_WRITE: u8 = 2;

/// A key pattern with the access it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    /// The glob pattern.
    pub pattern: Bytes,
    /// [`KEY_READ`] | [`KEY_WRITE`].
    pub access: u8,
}

/// Why a rule was refused; `Display` is Redis's text after `Error in ACL SETUSER modifier '..': `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `+nosuch`, `+@nosuch`.
    #[error("Unknown command or category name in ACL")]
    UnknownCommand,
    /// Anything not a rule.
    #[error("Syntax error")]
    Syntax,
    /// `~x` after `allkeys`.
    #[error(
        "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
    )]
    KeyAfterAll,
    /// `&x` after `allchannels`.
    #[error(
        "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
    )]
    ChannelAfterAll,
    /// `<pass` / `!hash` of a password the user does not have.
    #[error("The password you are trying to remove from the user does not exist")]
    NoSuchPassword,
    /// `#hash` that is not 64 lowercase hex digits.
    #[error("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    BadHash,
    /// `(...)` selectors.
    #[error("Selectors are not supported by stashd")]
    Selectors,
    /// `+cmd|arg` on a command that has no subcommands (Redis's deprecated first-argument rules).
    #[error("Allowing first-arg of a command is not supported by stashd: only container subcommands (e.g. +client|id)")]
    FirstArg,
}

/// One user.
#[derive(Debug, Clone)]
pub struct User {
    /// The name.
    pub name: String,
    /// `on`/`off`.
    pub enabled: bool,
    /// `nopass`: any password is accepted.
    pub nopass: bool,
    /// SHA-256 of each password.
    pub passwords: Vec<[u8; 32]>,
    /// Allowed units (see [`super::categories::Units`]), one bit each.
    allowed: Vec<u64>,
    /// The command rules as applied after the last `+@all`/`-@all` (for `ACL LIST`).
    command_rules: Vec<String>,
    /// Whether the rules started from every command (`+@all`) or from none.
    base_all: bool,
    /// Key patterns.
    pub keys: Vec<KeyPattern>,
    /// Channel patterns.
    pub channels: Vec<Bytes>,
}

impl User {
    /// A new user as `ACL SETUSER name` makes it: off, no passwords, no commands, no keys, no channels.
    pub fn new(name: &str) -> Self {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            allowed: vec![0; units().len().div_ceil(64)],
            command_rules: Vec::new(),
            base_all: false,
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// A user built from rules (each must be valid).
    pub fn with_rules(name: &str, rules: &[&str]) -> Result<Self, (String, RuleError)> {
        let mut u = User::new(name);
        for r in rules {
            u.apply(r.as_bytes()).map_err(|e| (r.to_string(), e))?;
        }
        Ok(u)
    }

    /// True if every command is allowed (`+@all` and nothing taken away since).
    pub fn all_commands(&self) -> bool {
        self.base_all && self.command_rules.is_empty()
    }

    /// True if the user may touch every key (`~*` / `allkeys`).
    pub fn all_keys(&self) -> bool {
        self.keys.iter().any(|k| k.pattern.as_ref() == b"*" && k.access == KEY_READ | KEY_WRITE)
    }

    /// True if the user may use every channel (`&*` / `allchannels`).
    pub fn all_channels(&self) -> bool {
        self.channels.iter().any(|c| c.as_ref() == b"*")
    }

    /// True if the user may run anything on any key and channel (the checks can be skipped).
    pub fn unrestricted(&self) -> bool {
        self.all_commands() && self.all_keys() && self.all_channels()
    }

    /// True if unit `id` is allowed.
    pub fn allows_unit(&self, id: usize) -> bool {
        self.allowed.get(id / 64).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_unit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.allowed.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
            }
        }
    }

    /// True if `pass` is one of the user's passwords (or the user has `nopass`). Compares
    /// SHA-256 digests in constant time.
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        self.digest_ok(&Sha256::digest(pass).into())
    }

    /// True if `digest` (SHA-256 of a password) is one of the user's passwords, in constant
    /// time (`nopass` is not considered).
    pub fn digest_ok(&self, digest: &[u8; 32]) -> bool {
        self.passwords.iter().fold(false, |ok, p| ok | constant_time_eq(p, digest))
    }

    /// Applies one rule, or changes nothing and says why.
    pub fn apply(&mut self, rule: &[u8]) -> Result<(), RuleError> {
        let text = std::str::from_utf8(rule).map_err(|_| RuleError::Syntax)?;
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "allkeys" => self.keys = vec![KeyPattern { pattern: Bytes::from_static(b"*"), access: KEY_READ | KEY_WRITE }],
            "resetkeys" => self.keys.clear(),
            "allchannels" => self.channels = vec![Bytes::from_static(b"*")],
            "resetchannels" => self.channels.clear(),
            "allcommands" | "+@all" => self.set_all_commands(true),
            "nocommands" | "-@all" => self.set_all_commands(false),
            "reset" => {
                self.nopass = false;
                self.passwords.clear();
                self.keys.clear();
                self.channels.clear();
                self.enabled = false;
                self.set_all_commands(false);
            }
            "clearselectors" | "sanitize-payload" | "skip-sanitize-payload" => {}
            _ => return self.apply_pattern(rule, text),
        }
        Ok(())
    }

    fn apply_pattern(&mut self, rule: &[u8], text: &str) -> Result<(), RuleError> {
        match rule.first() {
            Some(b'>') => {
                let digest: [u8; 32] = Sha256::digest(&rule[1..]).into();
                self.add_password(digest);
            }
            Some(b'#') => self.add_password(parse_hash(&text[1..])?),
            Some(b'<') => {
                let digest: [u8; 32] = Sha256::digest(&rule[1..]).into();
                self.remove_password(&digest)?;
            }
            Some(b'!') => self.remove_password(&parse_hash(&text[1..])?)?,
            Some(b'~') => self.add_key(Bytes::copy_from_slice(&rule[1..]), KEY_READ | KEY_WRITE)?,
            Some(b'%') => {
                let (perm, pattern) = text[1..].split_once('~').ok_or(RuleError::Syntax)?;
                let mut access = 0;
                for c in perm.chars() {
                    access |= match c.to_ascii_uppercase() {
                        'R' => KEY_READ,
                        'W' => KEY_WRITE,
                        _ => return Err(RuleError::Syntax),
                    };
                }
                if access == 0 {
                    return Err(RuleError::Syntax);
                }
                self.add_key(Bytes::copy_from_slice(pattern.as_bytes()), access)?;
            }
            Some(b'&') => {
                if self.all_channels() {
                    return Err(RuleError::ChannelAfterAll);
                }
                let ch = Bytes::copy_from_slice(&rule[1..]);
                if ch.as_ref() == b"*" {
                    self.channels = vec![ch];
                } else if !self.channels.contains(&ch) {
                    self.channels.push(ch);
                }
            }
            Some(b'(') => return Err(RuleError::Selectors),
            Some(&sign @ (b'+' | b'-')) => self.apply_command_rule(sign == b'+', &text[1..].to_ascii_lowercase())?,
            _ => return Err(RuleError::Syntax),
        }
        Ok(())
    }

    fn add_password(&mut self, digest: [u8; 32]) {
        self.nopass = false;
        if !self.passwords.contains(&digest) {
            self.passwords.push(digest);
        }
    }

    fn remove_password(&mut self, digest: &[u8; 32]) -> Result<(), RuleError> {
        let before = self.passwords.len();
        self.passwords.retain(|p| p != digest);
        if self.passwords.len() == before {
            return Err(RuleError::NoSuchPassword);
        }
        Ok(())
    }

    fn add_key(&mut self, pattern: Bytes, access: u8) -> Result<(), RuleError> {
        if self.all_keys() {
            return Err(RuleError::KeyAfterAll);
        }
        if pattern.as_ref() == b"*" && access == KEY_READ | KEY_WRITE {
            self.keys = vec![KeyPattern { pattern, access }];
            return Ok(());
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(k) => k.access |= access,
            None => self.keys.push(KeyPattern { pattern, access }),
        }
        Ok(())
    }

    fn set_all_commands(&mut self, on: bool) {
        let fill = if on { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = fill);
        self.base_all = on;
        self.command_rules.clear();
    }

    /// `+name`, `-name`, `+@cat`, `-@cat`, `+container|sub`.
    fn apply_command_rule(&mut self, allow: bool, name: &str) -> Result<(), RuleError> {
        let units = units();
        let ids: Vec<usize> = if let Some(cat) = name.strip_prefix('@') {
            let bits = if cat == "all" { u32::MAX } else { category_bit(cat).ok_or(RuleError::UnknownCommand)? };
            units.in_categories(bits).collect()
        } else if let Some((cmd, _sub)) = name.split_once('|') {
            if crate::command::lookup(cmd.as_bytes()).is_none() {
                return Err(RuleError::UnknownCommand);
            }
            if !units.is_container(cmd) {
                return Err(RuleError::FirstArg);
            }
            vec![units.id(name).ok_or(RuleError::UnknownCommand)?]
        } else {
            let spec = crate::command::lookup(name.as_bytes()).ok_or(RuleError::UnknownCommand)?;
            let mut v: Vec<usize> = units.subcommands_of(spec.name).to_vec();
            v.extend(units.id(spec.name));
            v
        };
        for id in ids {
            self.set_unit(id, allow);
        }
        let rule = format!("{}{}", if allow { '+' } else { '-' }, name);
        // A later rule on the same command supersedes the earlier ones (as Redis 7.2 prints them).
        if !name.starts_with('@') {
            self.command_rules.retain(|r| r[1..] != *name);
        }
        self.command_rules.push(rule);
        Ok(())
    }

    /// The command rules as `ACL GETUSER` shows them (`+@all`, `-@all +get`).
    pub fn describe_commands(&self) -> String {
        let mut s = String::from(if self.base_all { "+@all" } else { "-@all" });
        for r in &self.command_rules {
            s.push(' ');
            s.push_str(r);
        }
        s
    }

    /// The key patterns as `ACL GETUSER` shows them (`~*`, `~a* %R~b*`).
    pub fn describe_keys(&self) -> String {
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                let p = String::from_utf8_lossy(&k.pattern);
                match k.access {
                    KEY_READ => format!("%R~{p}"),
                    KEY_WRITE => format!("%W~{p}"),
                    _ => format!("~{p}"),
                }
            })
            .collect();
        parts.join(" ")
    }

    /// The channel patterns as `ACL GETUSER` shows them (`&*`, `&a*`).
    pub fn describe_channels(&self) -> String {
        self.channels.iter().map(|c| format!("&{}", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
    }

    /// The user as one `ACL LIST` line (also the aclfile format): it recreates the user when
    /// its rules are applied to a new user.
    pub fn describe(&self) -> String {
        let mut s = format!("user {} {}", self.name, if self.enabled { "on" } else { "off" });
        if self.nopass {
            s.push_str(" nopass");
        }
        for p in &self.passwords {
            s.push_str(" #");
            s.push_str(&hex(p));
        }
        let keys = self.describe_keys();
        if !keys.is_empty() {
            s.push(' ');
            s.push_str(&keys);
        }
        if !self.all_channels() {
            s.push_str(" resetchannels");
        }
        let channels = self.describe_channels();
        if !channels.is_empty() {
            s.push(' ');
            s.push_str(&channels);
        }
        s.push(' ');
        s.push_str(&self.describe_commands());
        s
    }

    /// Flags as `ACL GETUSER` lists them.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        f
    }
}

/// Lowercase hex of bytes.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses 64 lowercase hex digits.
pub fn parse_hash(h: &str) -> Result<[u8; 32], RuleError> {
    if h.len() != 64 || !h.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return Err(RuleError::BadHash);
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).map_err(|_| RuleError::BadHash)?;
    }
    Ok(out)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Names of all categories, as `ACL CAT` lists them.
pub fn category_names() -> &'static [&'static str] {
    CATEGORIES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_descriptions_match_redis() {
        let mut u = User::new("bob");
        for r in ["on", ">pw", "~foo*", "%R~bar*", "%W~baz", "&ch*", "+@read", "-keys", "+client|setname", "+set", "-get"] {
            u.apply(r.as_bytes()).unwrap();
        }
        assert_eq!(
            u.describe(),
            "user bob on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~foo* %R~bar* %W~baz resetchannels &ch* -@all +@read -keys +client|setname +set -get"
        );
        assert_eq!(u.describe_keys(), "~foo* %R~bar* %W~baz");
        assert!(u.password_ok(b"pw"));
        assert!(!u.password_ok(b"pw2"));
        let units = units();
        assert!(u.allows_unit(units.id("hget").unwrap()));
        assert!(!u.allows_unit(units.id("get").unwrap()));
        assert!(u.allows_unit(units.id("set").unwrap()));
        assert!(!u.allows_unit(units.id("keys").unwrap()));
        assert!(u.allows_unit(units.id("client|setname").unwrap()));
        assert!(!u.allows_unit(units.id("client|kill").unwrap()));
        assert_eq!(User::new("alice").describe(), "user alice off resetchannels -@all");
        let d = User::with_rules("default", &["on", "nopass", "allkeys", "allchannels", "+@all"]).unwrap();
        assert_eq!(d.describe(), "user default on nopass ~* &* +@all");
        assert!(d.all_commands() && d.all_keys() && d.all_channels());
    }

    #[test]
    fn bad_rules_are_refused() {
        let mut u = User::with_rules("u", &["allkeys", "allchannels"]).unwrap();
        assert_eq!(u.apply(b"~x"), Err(RuleError::KeyAfterAll));
        assert_eq!(u.apply(b"&x"), Err(RuleError::ChannelAfterAll));
        assert_eq!(u.apply(b"<nope"), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply(b"#abc"), Err(RuleError::BadHash));
        assert_eq!(u.apply(b"+nosuch"), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"+@nosuch"), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"bogus"), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"%X~a"), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"+get|x"), Err(RuleError::FirstArg));
        assert!(u.apply(b"+client").is_ok());
        assert!(u.allows_unit(units().id("client|kill").unwrap()));
        assert!(u.apply(b"-client|kill").is_ok());
        assert!(!u.allows_unit(units().id("client|kill").unwrap()));
    }
}
