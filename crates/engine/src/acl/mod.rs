//! Access control, as Redis's ACL: users with passwords and rules over commands (by name and
//! by category), keys and channels. The hosted service's tokens are users: the standard token
//! is user `default`'s password, the read-only token user `default_ro`'s, and `ACL RESTTOKEN`
//! derives a REST bearer token for any user. [`authorize`] is the one check every path calls.

pub mod categories;
pub mod keys;
pub mod log;
pub mod user;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};

use crate::command::{flags, CommandSpec};
use crate::error::CmdError;
use crate::session::Session;
pub use log::{AclLog, LogContext, LogReason};
pub use user::{RuleError, User};

/// The read-only token's rules: the `@read` category less the keyspace-wide and dangerous
/// reads (`KEYS`, `SCAN`, `RANDOMKEY`, `SORT_RO`...), plus subscribing, read-only scripts
/// (each command inside is checked again), transactions and the connection commands a browser
/// client needs (and `ACL WHOAMI`).
pub const READONLY_RULES: &[&str] = &[
    "on",
    "~*",
    "&*",
    "-@all",
    "+@read",
    "-@dangerous",
    "-scan",
    "-randomkey",
    "+subscribe",
    "+psubscribe",
    "+ssubscribe",
    "+unsubscribe",
    "+punsubscribe",
    "+sunsubscribe",
    "+eval_ro",
    "+evalsha_ro",
    "+fcall_ro",
    "+multi",
    "+exec",
    "+discard",
    "+watch",
    "+unwatch",
    "+ping",
    "+echo",
    "+hello",
    "+auth",
    "+select",
    "+client|setname",
    "+client|setinfo",
    "+client|getname",
    "+client|id",
    "+acl|whoami",
    "+quit",
    "+reset",
];

/// The aclfile line (a comment to Redis) that keeps the key REST tokens are derived with.
const REST_KEY_LINE: &str = "# stashd-resttoken-key";

/// The full-access user's rules (less its password).
pub const FULL_RULES: &[&str] = &["on", "~*", "&*", "+@all"];

/// A denied call: what was refused, for the error and the `ACL LOG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The command (its unit name, `get` or `client|kill`).
    Command(&'static str),
    /// The key at this argument position.
    Key(usize),
    /// The channel at this argument position.
    Channel(usize),
}

impl Denied {
    /// The error a client gets at the top level (Redis 7.2's texts).
    pub fn error(&self, user: &str) -> CmdError {
        match self {
            Denied::Command(name) => CmdError::NoPerm { user: user.to_string(), cmd: name.to_string() },
            Denied::Key(_) => CmdError::Other("NOPERM No permissions to access a key".into()),
            Denied::Channel(_) => CmdError::Other("NOPERM No permissions to access a channel".into()),
        }
    }

    /// The error a script's `redis.call` gets.
    pub fn script_error(&self, user: &str) -> CmdError {
        let msg = self.error(user).to_string();
        let msg = msg.strip_prefix("NOPERM ").unwrap_or(&msg).to_string();
        CmdError::err(format!("ACL failure in script: {msg}"))
    }

    /// `ACL DRYRUN`'s words.
    pub fn verbose(&self, user: &str, args: &[Bytes]) -> String {
        let arg = |i: &usize| String::from_utf8_lossy(args.get(*i).map_or(&b""[..], |a| a)).into_owned();
        match self {
            Denied::Command(name) => format!("User {user} has no permissions to run the '{name}' command"),
            Denied::Key(i) => format!("No permissions to access the '{}' key", arg(i)),
            Denied::Channel(i) => format!("No permissions to access the '{}' channel", arg(i)),
        }
    }
}

/// Checks `user`'s rules for one call of `spec` (the command, then its keys, then its channels).
/// `AUTH`, `HELLO`, `QUIT` and `RESET` are always allowed, as in Redis.
pub fn check_user(user: &User, spec: &'static CommandSpec, args: &[Bytes]) -> Result<(), Result<Denied, CmdError>> {
    if spec.has(flags::NO_AUTH) {
        return Ok(());
    }
    let units = categories::units();
    if !user.all_commands() {
        let unit = units.resolve(spec, args).map_err(Err)?;
        if !user.allows_unit(unit) {
            return Err(Ok(Denied::Command(units.list[unit].name)));
        }
    }
    if !user.all_keys() {
        for (i, access) in keys::keys_of(spec, args) {
            let Some(key) = args.get(i) else { continue };
            let ok = user.keys.iter().any(|p| p.access & access == access && crate::glob::matches(&p.pattern, key));
            // A key needing read and write may be granted by two patterns.
            let split_ok = access == user::KEY_READ | user::KEY_WRITE
                && [user::KEY_READ, user::KEY_WRITE]
                    .iter()
                    .all(|&a| user.keys.iter().any(|p| p.access & a != 0 && crate::glob::matches(&p.pattern, key)));
            if !ok && !split_ok {
                return Err(Ok(Denied::Key(i)));
            }
        }
    }
    if !user.all_channels() {
        match keys::channels_of(spec, args) {
            keys::Channels::None => {}
            keys::Channels::Literal(range) => {
                for i in range {
                    if !user.channels.iter().any(|p| crate::glob::matches(p, &args[i])) {
                        return Err(Ok(Denied::Channel(i)));
                    }
                }
            }
            keys::Channels::Patterns(range) => {
                for i in range {
                    if !user.channels.iter().any(|p| p == &args[i]) {
                        return Err(Ok(Denied::Channel(i)));
                    }
                }
            }
        }
    }
    Ok(())
}

/// True if a command's arguments may carry passwords (`AUTH`, `HELLO ... AUTH`, `ACL SETUSER`,
/// `ACL RESTTOKEN`, `MIGRATE ... AUTH`): MONITOR and the slow log show them redacted.
pub fn carries_secrets(name: &str) -> bool {
    matches!(name, "auth" | "hello" | "acl" | "migrate")
}

/// True if a call is administrative (`@admin`, as its categories say): MONITOR never shows it.
pub fn is_admin(spec: &'static CommandSpec, args: &[Bytes]) -> bool {
    let units = categories::units();
    let admin = categories::category_bit("admin").unwrap_or(0);
    spec.has(flags::ADMIN) || units.resolve(spec, args).is_ok_and(|id| units.list[id].categories & admin != 0)
}

/// The users, the ACL log and the REST tokens derived from users' passwords.
pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    /// Bumped on every change, so sessions refresh the user they act as.
    epoch: AtomicU64,
    /// Denied commands and failed authentications (`ACL LOG`).
    pub log: Mutex<AclLog>,
    /// The aclfile (`users.acl` in the data directory), if users persist.
    file: Mutex<Option<PathBuf>>,
    /// Key of the HMAC that derives REST tokens from a user's password (random, kept in the
    /// aclfile so tokens survive restarts).
    rest_key: RwLock<[u8; 32]>,
    /// The standard token as last configured (`CONFIG GET requirepass`).
    requirepass: RwLock<String>,
    /// SHA-256 of each derivable REST token -> user name.
    rest_tokens: RwLock<HashMap<[u8; 32], String>>,
    /// The user replay of the log and internal sessions act as (every permission).
    superuser: Arc<User>,
}

impl std::fmt::Debug for Acl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Acl {{ users: {} }}", self.users.read().len())
    }
}

fn rules_with_password(base: &[&str], password: Option<&str>) -> Vec<String> {
    let mut rules: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    rules.push(match password {
        Some(p) => format!(">{p}"),
        None => "nopass".into(),
    });
    rules
}

fn build_user(name: &str, rules: &[String]) -> Result<User, CmdError> {
    let mut u = User::new(name);
    for r in rules {
        u.apply(r.as_bytes()).map_err(|e| CmdError::err(format!("Error in ACL SETUSER modifier '{r}': {e}")))?;
    }
    Ok(u)
}

impl Acl {
    /// The users the tokens stand for: `default` (the standard token, or `nopass` when none is
    /// configured) and `default_ro` (the read-only token, if any).
    pub fn new(full_token: Option<&str>, readonly_token: Option<&str>) -> Acl {
        let mut users = BTreeMap::new();
        let superuser =
            Arc::new(User::with_rules("default", &["on", "nopass", "~*", "&*", "+@all"]).unwrap_or_else(|_| User::new("default")));
        let default = build_user("default", &rules_with_password(FULL_RULES, full_token)).unwrap_or_else(|_| (*superuser).clone());
        users.insert("default".to_string(), Arc::new(default));
        if let Some(ro) = readonly_token {
            if let Ok(u) = build_user("default_ro", &rules_with_password(READONLY_RULES, Some(ro))) {
                users.insert("default_ro".to_string(), Arc::new(u));
            }
        }
        let rest_key: [u8; 32] = rand::random();
        let acl = Acl {
            users: RwLock::new(users),
            epoch: AtomicU64::new(1),
            log: Mutex::new(AclLog::default()),
            file: Mutex::new(None),
            rest_key: RwLock::new(rest_key),
            requirepass: RwLock::new(full_token.unwrap_or_default().to_string()),
            rest_tokens: RwLock::new(HashMap::new()),
            superuser,
        };
        acl.refresh_rest_tokens();
        acl
    }

    /// The all-permission user of replay and internal sessions.
    pub fn superuser(&self) -> Arc<User> {
        self.superuser.clone()
    }

    /// True if `u` is the internal all-permission user.
    pub fn is_superuser(&self, u: &Arc<User>) -> bool {
        Arc::ptr_eq(u, &self.superuser)
    }

    /// The change counter (sessions compare it with the one they saw).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// A user by name.
    pub fn get(&self, name: &str) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    /// The user a new connection acts as before `AUTH`: `default` when it is on and needs no
    /// password (Redis's rule), else nobody.
    pub fn initial_user(&self) -> Option<Arc<User>> {
        self.get("default").filter(|u| u.enabled && u.nopass)
    }

    /// True if a client must authenticate (the `default` user needs a password).
    pub fn auth_required(&self) -> bool {
        self.initial_user().is_none()
    }

    /// `AUTH [user] pass`: the user, if it is on and the password is one of its.
    pub fn authenticate(&self, name: &str, pass: &[u8]) -> Option<Arc<User>> {
        self.get(name).filter(|u| u.enabled && u.password_ok(pass))
    }

    /// The user a REST bearer token stands for: a password of `default` or `default_ro` (the
    /// standard and read-only tokens), or a token from `ACL RESTTOKEN`.
    pub fn bearer(&self, token: &[u8]) -> Option<Arc<User>> {
        // One digest per request, compared with each candidate's passwords.
        let digest: [u8; 32] = Sha256::digest(token).into();
        for name in ["default", "default_ro"] {
            if let Some(u) = self.get(name).filter(|u| u.enabled && !u.nopass && u.digest_ok(&digest)) {
                return Some(u);
            }
        }
        let name = self.rest_tokens.read().get(&digest).cloned()?;
        self.get(&name).filter(|u| u.enabled)
    }

    fn derive_rest_token(&self, user: &str, password_digest: &[u8; 32]) -> String {
        use base64::Engine as _;
        let key = *self.rest_key.read();
        let mut mac = match Hmac::<Sha256>::new_from_slice(&key) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(b"stashd-resttoken\0");
        mac.update(user.as_bytes());
        mac.update(b"\0");
        mac.update(password_digest);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn refresh_rest_tokens(&self) {
        let mut map = HashMap::new();
        for u in self.users.read().values() {
            let digests: Vec<[u8; 32]> = if u.nopass { vec![[0; 32]] } else { u.passwords.clone() };
            for d in digests {
                let token = self.derive_rest_token(&u.name, &d);
                map.insert(Sha256::digest(token.as_bytes()).into(), u.name.clone());
            }
        }
        *self.rest_tokens.write() = map;
    }

    /// `ACL RESTTOKEN user pass`: a REST bearer token acting as `user`, valid while the user is
    /// on and keeps that password.
    pub fn rest_token(&self, name: &str, pass: &[u8]) -> Option<String> {
        let u = self.authenticate(name, pass)?;
        let digest: [u8; 32] = if u.nopass { [0; 32] } else { Sha256::digest(pass).into() };
        Some(self.derive_rest_token(name, &digest))
    }

    /// `ACL SETUSER name rules...`: applies every rule to a copy, and keeps it only if all were
    /// valid (nothing changes otherwise).
    pub fn set_user(&self, name: &str, rules: &[Bytes]) -> Result<(), CmdError> {
        if name.is_empty() || name.bytes().any(|c| c == b' ' || c == 0) {
            return Err(CmdError::err("Usernames can't contain spaces or null characters"));
        }
        let mut users = self.users.write();
        let mut u = users.get(name).map(|u| (**u).clone()).unwrap_or_else(|| User::new(name));
        for r in rules {
            u.apply(r).map_err(|e| CmdError::err(format!("Error in ACL SETUSER modifier '{}': {e}", String::from_utf8_lossy(r))))?;
        }
        users.insert(name.to_string(), Arc::new(u));
        drop(users);
        self.changed();
        Ok(())
    }

    /// `ACL DELUSER`: removes the users that exist; returns their names.
    pub fn delete(&self, names: &[String]) -> Result<Vec<String>, CmdError> {
        if names.iter().any(|n| n == "default") {
            return Err(CmdError::err("The 'default' user cannot be removed"));
        }
        let mut users = self.users.write();
        let gone: Vec<String> = names.iter().filter(|n| users.remove(n.as_str()).is_some()).cloned().collect();
        drop(users);
        if !gone.is_empty() {
            self.changed();
        }
        Ok(gone)
    }

    /// Every user, by name.
    pub fn all(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    /// `CONFIG SET requirepass`: the `default` user's only password (none: `nopass`).
    pub fn set_requirepass(&self, pass: &[u8]) -> Result<(), CmdError> {
        let mut rule = b">".to_vec();
        rule.extend_from_slice(pass);
        let rules =
            if pass.is_empty() { vec![Bytes::from_static(b"nopass")] } else { vec![Bytes::from_static(b"resetpass"), Bytes::from(rule)] };
        self.set_user("default", &rules)?;
        *self.requirepass.write() = String::from_utf8_lossy(pass).into_owned();
        Ok(())
    }

    /// The standard token as last set (`CONFIG GET requirepass`).
    pub fn requirepass(&self) -> String {
        self.requirepass.read().clone()
    }

    fn changed(&self) {
        self.refresh_rest_tokens();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.save() {
            tracing::error!(error = %e, "cannot write the ACL file");
        }
    }

    /// Writes the users to the aclfile (atomically: a temporary file renamed over it).
    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = self.file.lock().clone() else { return Ok(()) };
        let mut text = format!("{REST_KEY_LINE} {}\n", user::hex(&*self.rest_key.read()));
        text.extend(self.users.read().values().map(|u| u.describe() + "\n"));
        let tmp = path.with_extension("acl.tmp");
        {
            use std::io::Write;
            let mut f = open_private(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Reads users from an aclfile (Redis's format: `user <name> <rules...>` per line). All or
    /// nothing: a bad line leaves the users as they were.
    pub fn load_text(&self, text: &str) -> Result<(), String> {
        let mut loaded = BTreeMap::new();
        let mut rest_key = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(hex) = line.strip_prefix(REST_KEY_LINE) {
                rest_key = Some(user::parse_hash(hex.trim()).map_err(|_| format!("line {}: bad REST token key", n + 1))?);
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some("user"), Some(name)) = (words.next(), words.next()) else {
                return Err(format!("line {}: should be 'user <name> <rules...>'", n + 1));
            };
            let rules: Vec<String> = words.map(String::from).collect();
            let u = build_user(name, &rules).map_err(|e| format!("line {}: {e}", n + 1))?;
            if loaded.insert(name.to_string(), Arc::new(u)).is_some() {
                return Err(format!("line {}: duplicate user '{name}' found", n + 1));
            }
        }
        if !loaded.contains_key("default") {
            if let Some(d) = self.get("default") {
                loaded.insert("default".into(), d);
            }
        }
        *self.users.write() = loaded;
        if let Some(k) = rest_key {
            *self.rest_key.write() = k;
        }
        self.refresh_rest_tokens();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Attaches the aclfile at `path`: loads the users it holds (if it exists), then makes sure
    /// the configured tokens still open `default` and `default_ro`, and writes it back.
    pub fn attach_file(&self, path: &Path, full_token: Option<&str>, readonly_token: Option<&str>) -> Result<(), String> {
        match std::fs::read_to_string(path) {
            Ok(text) => self.load_text(&text).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
        *self.file.lock() = Some(path.to_path_buf());
        for (name, token, base) in [("default", full_token, FULL_RULES), ("default_ro", readonly_token, READONLY_RULES)] {
            let Some(token) = token else { continue };
            let rule = Bytes::from(format!(">{token}"));
            let result = match self.get(name) {
                Some(u) if u.password_ok(token.as_bytes()) && !u.nopass => Ok(()),
                Some(_) => self.set_user(name, &[rule]),
                None => {
                    let mut rules: Vec<Bytes> = base.iter().map(|r| Bytes::from_static(r.as_bytes())).collect();
                    rules.push(rule);
                    self.set_user(name, &rules)
                }
            };
            result.map_err(|e| e.to_string())?;
        }
        self.save().map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `ACL LOAD`: reads the aclfile again.
    pub fn reload(&self) -> Result<(), CmdError> {
        let Some(path) = self.file.lock().clone() else {
            return Err(CmdError::err("This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."));
        };
        let text = std::fs::read_to_string(&path).map_err(|e| CmdError::err(format!("Error loading ACLs: {e}")))?;
        self.load_text(&text).map_err(|e| CmdError::err(format!("Error loading ACLs, no changes applied: {e}")))
    }

    /// True if users are kept in an aclfile.
    pub fn has_file(&self) -> bool {
        self.file.lock().is_some()
    }
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
    }
    #[cfg(not(unix))]
    std::fs::File::create(path)
}

/// The one authorisation check of every path (RESP, REST, pipelines, MULTI queueing and EXEC,
/// scripts): authentication, then the session user's rules for the command, its keys and its
/// channels. A denial is counted in the `ACL LOG` with the `context` it happened in.
pub fn authorize(
    shared: &crate::engine::Shared,
    session: &mut Session,
    spec: &'static CommandSpec,
    args: &[Bytes],
    context: LogContext,
) -> Result<(), CmdError> {
    let acl = &shared.acl;
    if session.acl_epoch != acl.epoch() {
        session.refresh_user(acl);
    }
    let Some(user) = session.user.as_ref() else {
        if spec.has(flags::NO_AUTH) {
            return Ok(());
        }
        return Err(CmdError::NoAuth);
    };
    if user.unrestricted() {
        return Ok(());
    }
    match check_user(user, spec, args) {
        Ok(()) => Ok(()),
        Err(Err(e)) => Err(e),
        Err(Ok(denied)) => {
            let (reason, object) = match &denied {
                Denied::Command(name) => (LogReason::Command, name.to_string()),
                Denied::Key(i) => (LogReason::Key, String::from_utf8_lossy(&args[*i]).into_owned()),
                Denied::Channel(i) => (LogReason::Channel, String::from_utf8_lossy(&args[*i]).into_owned()),
            };
            let name = user.name.clone();
            let info = crate::cmd::client::client_info_line(shared, session.id);
            shared.acl.log.lock().add(reason, context, &object, &name, info, shared.clock.now_ms());
            Err(if context == LogContext::Lua { denied.script_error(&name) } else { denied.error(&name) })
        }
    }
}
