//! Command errors. Each variant renders to the exact text Redis sends; faces render them once.

use thiserror::Error;

/// Why a command failed. `Display` is the full error line (with its `ERR`/`WRONGTYPE`... prefix).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CmdError {
    /// Arity check failed.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArgs(String),
    /// No such command.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand {
        /// The command name as sent.
        name: String,
        /// The first arguments, quoted as Redis does.
        args: String,
    },
    /// Unknown subcommand of a container command.
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand {
        /// The subcommand as sent.
        sub: String,
        /// The container command, upper case.
        cmd: String,
    },
    /// Operation against a key holding the wrong kind of value.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// Generic syntax error.
    #[error("ERR syntax error")]
    Syntax,
    /// Argument is not an integer or out of range.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// Argument is not a valid float.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// INCR family overflow.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// No such key (RENAME and friends).
    #[error("ERR no such key")]
    NoSuchKey,
    /// Index out of range (LSET).
    #[error("ERR index out of range")]
    IndexOutOfRange,
    /// Invalid DB index for SELECT/MOVE/COPY.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// Authentication required.
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    /// Wrong token.
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    /// Read-only token used for a write command.
    #[error("NOPERM User {user} has no permissions to run the '{cmd}' command")]
    NoPerm {
        /// ACL user name.
        user: String,
        /// The refused command, lower case.
        cmd: String,
    },
    /// Nested MULTI.
    #[error("ERR MULTI calls can not be nested")]
    NestedMulti,
    /// EXEC/DISCARD without MULTI.
    #[error("ERR {0} without MULTI")]
    WithoutMulti(&'static str),
    /// WATCH inside MULTI.
    #[error("ERR WATCH inside MULTI is not allowed")]
    WatchInMulti,
    /// EXEC after a queued command failed.
    #[error("EXECABORT Transaction discarded because of previous errors.")]
    ExecAbort,
    /// A command not allowed in this context (e.g. SUBSCRIBE in MULTI).
    #[error("ERR Command not allowed inside a transaction")]
    NotInMulti,
    /// Timeout argument invalid.
    #[error("ERR timeout is not a float or out of range")]
    BadTimeout,
    /// Negative timeout.
    #[error("ERR timeout is negative")]
    NegativeTimeout,
    /// Invalid expire time argument.
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(String),
    /// A value would exceed the configured size limit.
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    TooBig,
    /// The data is still being recovered at start-up.
    #[error("LOADING stashd is loading the dataset in memory")]
    Loading,
    /// Any other error, with its full text (including prefix).
    #[error("{0}")]
    Other(String),
}

impl CmdError {
    /// An `ERR <msg>` error.
    pub fn err(msg: impl std::fmt::Display) -> Self {
        CmdError::Other(format!("ERR {msg}"))
    }
}

/// Shorthand for handler results.
pub type CmdResult<T = crate::Reply> = Result<T, CmdError>;
