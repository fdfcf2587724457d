//! `CONFIG GET/SET/RESETSTAT/REWRITE`: the runtime settings of [`crate::config`].

use bytes::Bytes;

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::CommandSpec;
use crate::error::{CmdError, CmdResult};
use crate::{Ctx, Reply};

/// The CONFIG command row.
pub static COMMANDS: &[CommandSpec] = &[cmd!("config", -2, ADMIN | NOSCRIPT | OK_LOADING, 0, 0, 0, config, "dangerous")];

fn config(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" => {
            if a.len() < 3 {
                return Err(CmdError::WrongArgs("config|get".into()));
            }
            let mut params = crate::config::static_params(&ctx.shared.facts, ctx.shared.aof().is_some());
            params.extend(ctx.shared.config.read().params());
            params.push(("requirepass", ctx.shared.acl.requirepass()));
            let mut out = Vec::new();
            for (name, value) in params {
                if a[2..].iter().any(|p| crate::glob::matches_nocase(p, name.as_bytes())) {
                    out.push((Reply::Bulk(Bytes::from_static(name.as_bytes())), Reply::Bulk(Bytes::from(value))));
                }
            }
            Ok(Reply::Map(out))
        }
        "set" => {
            if a.len() < 4 || !a.len().is_multiple_of(2) {
                return Err(CmdError::WrongArgs("config|set".into()));
            }
            let statics = crate::config::static_params(&ctx.shared.facts, ctx.shared.aof().is_some());
            let mut cfg = ctx.shared.config.read().clone();
            let mut requirepass = None;
            let mut seen = Vec::new();
            for pair in a[2..].chunks(2) {
                let name = args::text(&pair[0]).to_ascii_lowercase();
                let key = crate::config::canonical(&name).to_string();
                if seen.contains(&key) {
                    return Err(CmdError::err(format!("CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter")));
                }
                seen.push(key);
                if name == "requirepass" {
                    requirepass = Some(pair[1].clone());
                    continue;
                }
                if statics.iter().any(|(n, _)| *n == name) {
                    return Err(CmdError::err(format!(
                        "CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                    )));
                }
                cfg.set(&name, &args::text(&pair[1]))?;
            }
            if let Some(aof) = ctx.shared.aof() {
                aof.set_policy(cfg.appendfsync);
            }
            ctx.shared.notify_flags.store(cfg.notify_keyspace_events, std::sync::atomic::Ordering::Relaxed);
            ctx.shared.slowlog_threshold.store(cfg.slowlog_log_slower_than, std::sync::atomic::Ordering::Relaxed);
            ctx.ks.slowlog.truncate(cfg.slowlog_max_len as usize);
            *ctx.shared.config.write() = cfg;
            if let Some(pass) = requirepass {
                // The standard token is user default's password (and so the REST bearer token).
                ctx.shared.acl.set_requirepass(&pass)?;
                if let Some(hook) = ctx.shared.facts.on_requirepass {
                    hook(&ctx.shared.facts.data_dir, &args::text(&pass));
                }
            }
            Ok(Reply::Ok)
        }
        "resetstat" => {
            ctx.ks.stats = Default::default();
            Ok(Reply::Ok)
        }
        "rewrite" => {
            Err(CmdError::err("CONFIG REWRITE is not supported by stashd; settings come from flags, STASHD_* variables and the TOML file"))
        }
        "help" => Ok(Reply::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "SET <directive> <value>",
                "RESETSTAT",
                "HELP",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        )),
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "CONFIG".into() }),
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    #[test]
    fn config_get_set() {
        let mut t = T::new();
        let Reply::Map(m) = t.ok(&["CONFIG", "GET", "appendfsync"]) else { panic!() };
        assert_eq!(m, vec![(b("appendfsync"), b("everysec"))]);
        assert_eq!(t.ok(&["CONFIG", "SET", "appendfsync", "always"]), Reply::Ok);
        assert!(t.err(&["CONFIG", "SET", "port", "1"]).contains("can't set immutable config"));
        assert!(t.err(&["CONFIG", "SET", "appendfsync", "sometimes"]).contains("must be one of"));
    }
}
