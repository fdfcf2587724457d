//! `ACL` (Redis `acl.c`): users and their rules, the denial log, dry runs, and the hosted
//! service's `ACL RESTTOKEN`, which gives a REST bearer token acting as a user.

use bytes::Bytes;

use crate::acl::categories::{category_bit, units, CATEGORIES};
use crate::acl::check_user;
use crate::args::{self, is};
use crate::cmd;
use crate::command::flags::*;
use crate::command::{self, CommandSpec};
use crate::error::{CmdError, CmdResult};
use crate::{Ctx, Reply};

/// The ACL command row.
pub static COMMANDS: &[CommandSpec] = &[cmd!("acl", -2, NOSCRIPT | OK_LOADING, 0, 0, 0, acl, "server")];

fn help() -> Reply {
    let lines = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "RESTTOKEN <username> <password>",
        "    Return a REST bearer token that acts as <username> (Upstash extension).",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Print this help.",
    ];
    Reply::Array(lines.iter().map(|s| Reply::Status(Bytes::from_static(s.as_bytes()))).collect())
}

fn acl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = args::text(&a[1]).to_ascii_lowercase();
    let wrong = || CmdError::WrongArgs(format!("acl|{sub}"));
    let arity = |ok: bool| if ok { Ok(()) } else { Err(wrong()) };
    let acl = &ctx.shared.acl;
    match sub.as_str() {
        "whoami" => {
            arity(a.len() == 2)?;
            Ok(Reply::Bulk(Bytes::copy_from_slice(ctx.session.user_name().as_bytes())))
        }
        "users" => {
            arity(a.len() == 2)?;
            Ok(Reply::Array(acl.all().iter().map(|u| Reply::Bulk(Bytes::copy_from_slice(u.name.as_bytes()))).collect()))
        }
        "list" => {
            arity(a.len() == 2)?;
            Ok(Reply::Array(acl.all().iter().map(|u| Reply::Bulk(Bytes::from(u.describe()))).collect()))
        }
        "setuser" => {
            arity(a.len() >= 3)?;
            acl.set_user(&args::text(&a[2]), &a[3..])?;
            Ok(Reply::Ok)
        }
        "getuser" => {
            arity(a.len() == 3)?;
            Ok(getuser(ctx, &a[2]))
        }
        "deluser" => {
            arity(a.len() >= 3)?;
            let names: Vec<String> = a[2..].iter().map(|n| args::text(n)).collect();
            let gone = acl.delete(&names)?;
            disconnect_users(ctx, &gone);
            Ok(Reply::Int(gone.len() as i64))
        }
        "cat" => {
            arity(a.len() <= 3)?;
            let Some(cat) = a.get(2) else {
                return Ok(Reply::Array(CATEGORIES.iter().map(|c| Reply::Bulk(Bytes::from_static(c.as_bytes()))).collect()));
            };
            let name = args::text(cat);
            let bit = category_bit(&name).ok_or_else(|| CmdError::err(format!("Unknown category '{name}'")))?;
            let units = units();
            // Containers are listed by subcommand; their parent row only serves `COMMAND` alone.
            let names = units
                .in_categories(bit)
                .map(|id| units.list[id].name)
                .filter(|n| n.contains('|') || !units.is_container(n))
                .map(|n| Reply::Bulk(Bytes::from_static(n.as_bytes())));
            Ok(Reply::Array(names.collect()))
        }
        "genpass" => {
            arity(a.len() <= 3)?;
            let bits = match a.get(2) {
                None => 256,
                Some(b) => match args::int(b) {
                    Ok(n) if (1..=4096).contains(&n) => n as usize,
                    _ => {
                        return Err(CmdError::err(
                            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                        ))
                    }
                },
            };
            let chars = bits.div_ceil(4);
            let hex: String = (0..chars).map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0')).collect();
            Ok(Reply::Bulk(Bytes::from(hex)))
        }
        "log" => {
            arity(a.len() <= 3)?;
            match a.get(2) {
                Some(x) if is(x, "RESET") => {
                    acl.log.lock().reset();
                    Ok(Reply::Ok)
                }
                Some(x) => {
                    let n = args::int(x).map_err(|_| CmdError::err("value is out of range, must be positive"))?;
                    if n < 0 {
                        return Err(CmdError::err("value is out of range, must be positive"));
                    }
                    Ok(acl.log.lock().reply(n as usize, ctx.now))
                }
                None => Ok(acl.log.lock().reply(10, ctx.now)),
            }
        }
        "dryrun" => {
            arity(a.len() >= 4)?;
            dryrun(ctx, &a[2], &a[3..])
        }
        "resttoken" => {
            arity(a.len() == 4)?;
            let name = args::text(&a[2]);
            match acl.rest_token(&name, &a[3]) {
                Some(t) => Ok(Reply::Bulk(Bytes::from(t))),
                None => {
                    let info = crate::cmd::client::client_info_line(ctx.shared, ctx.session.id);
                    acl.log.lock().add(crate::acl::LogReason::Auth, crate::acl::LogContext::TopLevel, "AUTH", &name, info, ctx.now);
                    Err(CmdError::WrongPass)
                }
            }
        }
        "save" => {
            arity(a.len() == 2)?;
            if !acl.has_file() {
                return Err(CmdError::err("This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."));
            }
            acl.save().map_err(|e| {
                CmdError::err(format!(
                    "There was an error trying to save the ACLs. Please check the server logs for more information ({e})"
                ))
            })?;
            Ok(Reply::Ok)
        }
        "load" => {
            arity(a.len() == 2)?;
            acl.reload()?;
            Ok(Reply::Ok)
        }
        "help" => {
            arity(a.len() == 2)?;
            Ok(help())
        }
        _ => Err(CmdError::UnknownSubcommand { sub: args::text(&a[1]), cmd: "ACL".into() }),
    }
}

/// `ACL GETUSER`: flags, password hashes, command/key/channel rules, selectors (none).
fn getuser(ctx: &Ctx, name: &[u8]) -> Reply {
    let Some(u) = ctx.shared.acl.get(&args::text(name)) else { return Reply::Nil };
    let s = |t: &'static str| Reply::Bulk(Bytes::from_static(t.as_bytes()));
    let text = |t: String| Reply::Bulk(Bytes::from(t));
    Reply::Map(vec![
        (s("flags"), Reply::Array(u.flags().into_iter().map(s).collect())),
        (s("passwords"), Reply::Array(u.passwords.iter().map(|p| text(crate::acl::user::hex(p))).collect())),
        (s("commands"), text(u.describe_commands())),
        (s("keys"), text(u.describe_keys())),
        (s("channels"), text(u.describe_channels())),
        (s("selectors"), Reply::Array(Vec::new())),
    ])
}

/// `ACL DRYRUN user command args...`: whether the user could run it, without running it.
fn dryrun(ctx: &Ctx, name: &[u8], call: &[Bytes]) -> CmdResult {
    let name = args::text(name);
    let user = ctx.shared.acl.get(&name).ok_or_else(|| CmdError::err(format!("User '{name}' not found")))?;
    let spec = command::lookup(&call[0]).ok_or_else(|| CmdError::err(format!("Command '{}' not found", args::text(&call[0]))))?;
    if !spec.arity_ok(call.len()) {
        return Err(CmdError::WrongArgs(spec.name.to_string()));
    }
    match check_user(&user, spec, call) {
        Ok(()) => Ok(Reply::Ok),
        Err(Ok(denied)) => Ok(Reply::Bulk(Bytes::from(denied.verbose(&name, call)))),
        Err(Err(e)) => Err(e),
    }
}

/// Closes the connections of deleted users (as Redis does).
fn disconnect_users(ctx: &mut Ctx, names: &[String]) {
    let me = ctx.session.id;
    let victims: Vec<(u64, Option<crate::engine::Killer>)> =
        ctx.shared.clients.lock().iter().filter(|(_, c)| names.contains(&c.user)).map(|(id, c)| (*id, c.killer.clone())).collect();
    for (id, killer) in victims {
        if id == me {
            ctx.session.close_after_reply = true;
        } else if let Some(k) = killer {
            (k.0)();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{b, T};
    use crate::Reply;

    #[test]
    fn users_rules_and_dryrun() {
        let mut t = T::new();
        assert_eq!(t.ok(&["ACL", "WHOAMI"]), b("default"));
        assert_eq!(t.ok(&["ACL", "SETUSER", "bob", "on", ">pw", "~k*", "&ch", "+get", "+publish"]), Reply::Ok);
        assert_eq!(t.ok(&["ACL", "DRYRUN", "bob", "get", "k1"]), Reply::Ok);
        assert_eq!(t.ok(&["ACL", "DRYRUN", "bob", "get", "x"]), b("No permissions to access the 'x' key"));
        assert_eq!(t.ok(&["ACL", "DRYRUN", "bob", "set", "k1", "v"]), b("User bob has no permissions to run the 'set' command"));
        assert_eq!(t.ok(&["ACL", "DRYRUN", "bob", "publish", "other", "m"]), b("No permissions to access the 'other' channel"));
        assert_eq!(t.ok(&["ACL", "DRYRUN", "bob", "publish", "ch", "m"]), Reply::Ok);
        assert_eq!(t.err(&["ACL", "DRYRUN", "nobody", "get", "x"]), "ERR User 'nobody' not found");
        assert_eq!(t.err(&["ACL", "DRYRUN", "bob", "nocmd", "x"]), "ERR Command 'nocmd' not found");
        assert_eq!(t.err(&["ACL", "DRYRUN", "bob", "get"]), "ERR wrong number of arguments for 'get' command");
        // A bad rule changes nothing, not even the rules before it.
        let before = t.ok(&["ACL", "LIST"]);
        assert_eq!(t.err(&["ACL", "SETUSER", "bob", "+set", "bogus"]), "ERR Error in ACL SETUSER modifier 'bogus': Syntax error");
        assert_eq!(
            t.err(&["ACL", "SETUSER", "carol", "on", "+nosuch"]),
            "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
        );
        assert_eq!(t.ok(&["ACL", "LIST"]), before);
        assert_eq!(t.ok(&["ACL", "USERS"]), Reply::Array(vec![b("bob"), b("default")]));
        assert_eq!(t.err(&["ACL", "DELUSER", "default"]), "ERR The 'default' user cannot be removed");
        assert_eq!(t.ok(&["ACL", "DELUSER", "bob", "nobody"]), Reply::Int(1));
        assert_eq!(t.ok(&["ACL", "GETUSER", "bob"]), Reply::Nil);
        let Reply::Bulk(p) = t.ok(&["ACL", "GENPASS"]) else { panic!() };
        assert_eq!(p.len(), 64);
        let Reply::Bulk(p) = t.ok(&["ACL", "GENPASS", "5"]) else { panic!() };
        assert_eq!(p.len(), 2);
        assert!(t.err(&["ACL", "GENPASS", "0"]).contains("up to 4096"));
        assert_eq!(t.err(&["ACL", "CAT", "nope"]), "ERR Unknown category 'nope'");
        let Reply::Array(geo) = t.ok(&["ACL", "CAT", "geo"]) else { panic!() };
        assert!(geo.contains(&b("geoadd")));
        assert_eq!(t.err(&["ACL", "NOPE"]), "ERR unknown subcommand 'NOPE'. Try ACL HELP.");
    }
}
