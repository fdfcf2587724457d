//! Per-client state shared by every face: selected db, protocol, identity, MULTI queue and WATCHes.

use std::sync::Arc;

use bytes::Bytes;
use stashd_resp::Protocol;

use crate::acl::{Acl, User};

/// Which face the client uses; decides what blocking and connection commands may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// A RESP/TCP connection.
    Resp,
    /// One Upstash REST request.
    Rest,
    /// Replay of the append-only log at start-up.
    Loading,
    /// A trusted in-process client (the store under QStash): acts as the superuser.
    Internal,
}

/// A queued transaction.
#[derive(Debug, Default)]
pub struct MultiState {
    /// Commands queued since MULTI.
    pub queue: Vec<Vec<Bytes>>,
    /// A queued command was rejected: EXEC must answer EXECABORT.
    pub failed: bool,
}

/// One client's state.
#[derive(Debug)]
pub struct Session {
    /// Unique client id (`CLIENT ID`).
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Protocol version for replies.
    pub protocol: Protocol,
    /// The ACL user the client acts as; `None` until it authenticates (when a password is needed).
    pub user: Option<Arc<User>>,
    /// The ACL change counter `user` was read at.
    pub acl_epoch: u64,
    /// Which face the client uses.
    pub face: Face,
    /// Open transaction, if any.
    pub multi: Option<MultiState>,
    /// WATCHed keys with the version seen at WATCH time.
    pub watched: Vec<(usize, Bytes, u64)>,
    /// Set by QUIT: the face closes the connection after sending the reply.
    pub close_after_reply: bool,
    /// Log offset of this client's last write (for `WAITAOF`).
    pub last_write_offset: u64,
    /// The keyspace write counter right after this client's last command (the REST sync token).
    pub dirty_seen: u64,
    /// Name of the last command run (for `CLIENT LIST`).
    pub last_cmd: &'static str,
    /// Pub/sub subscriptions.
    pub subs: crate::pubsub::Subscriptions,
    /// Peer address (`MONITOR` lines).
    pub addr: String,
    /// `CLIENT REPLY`: which replies the client gets.
    pub reply_mode: ReplyMode,
    /// `CLIENT TRACKING` options while tracking is on.
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
}

/// `CLIENT REPLY ON|OFF|SKIP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    /// Every reply.
    #[default]
    On,
    /// No replies until `CLIENT REPLY ON`.
    Off,
    /// Set by `CLIENT REPLY SKIP`: the next command's reply is dropped.
    SkipNext,
    /// The reply of the command running now is dropped.
    Skip,
}

impl Session {
    /// Applies `CLIENT REPLY` to the reply of the command that just ran: suppressed replies
    /// become an empty sequence (nothing is written).
    pub fn filter_reply(&mut self, r: Result<crate::Reply, crate::CmdError>) -> Result<crate::Reply, crate::CmdError> {
        match self.reply_mode {
            ReplyMode::On => r,
            ReplyMode::Off => Ok(crate::Reply::Seq(Vec::new())),
            ReplyMode::SkipNext => {
                self.reply_mode = ReplyMode::Skip;
                r
            }
            ReplyMode::Skip => {
                self.reply_mode = ReplyMode::On;
                Ok(crate::Reply::Seq(Vec::new()))
            }
        }
    }
}

impl Session {
    /// A new session for `face` acting as `user` (`None`: must authenticate first).
    pub fn new(id: u64, face: Face, user: Option<Arc<User>>) -> Self {
        Session {
            id,
            db: 0,
            protocol: Protocol::Resp2,
            user,
            acl_epoch: 0,
            face,
            multi: None,
            watched: Vec::new(),
            close_after_reply: false,
            last_write_offset: 0,
            dirty_seen: 0,
            last_cmd: "NULL",
            subs: Default::default(),
            addr: String::new(),
            reply_mode: ReplyMode::On,
            tracking: None,
        }
    }
}

impl Session {
    /// The name of the user the client acts as (`default` before authentication, as Redis shows).
    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or("default", |u| u.name.as_str())
    }

    /// Acts as `user` from now on.
    pub fn set_user(&mut self, user: Arc<User>, acl: &Acl) {
        self.user = Some(user);
        self.acl_epoch = acl.epoch();
    }

    /// Re-reads the user after an ACL change (its rules apply at once; a deleted user's client
    /// loses its rights).
    pub fn refresh_user(&mut self, acl: &Acl) {
        self.acl_epoch = acl.epoch();
        if let Some(u) = &self.user {
            if !acl.is_superuser(u) {
                self.user = acl.get(&u.name);
            }
        }
    }
}
