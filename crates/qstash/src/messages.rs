//! Messages: read one, cancel one, cancel many (by ids or by filters).

use serde_json::{json, Value as Json};
use stashd_store::{cmd, Cmd};

use crate::core::Qstash;
use crate::error::{ApiError, ApiResult};
use crate::events::{Event, Filter};
use crate::keys;
use crate::model::{message_json, MsgState};

/// Most messages one bulk cancel touches when it names no count.
pub const CANCEL_ALL_LIMIT: usize = 100_000;

impl Qstash {
    /// `GET /v2/messages/{id}`.
    pub async fn get_message(&self, id: &str) -> ApiResult<Json> {
        let (m, body) = self.load_message(id).await?.ok_or_else(|| ApiError::not_found(format!("message {id} not found")))?;
        Ok(Json::Object(message_json(&m, &body)))
    }

    /// Cancels message `id`: at once when no attempt is in flight, else when the attempt
    /// ends. Returns whether the message existed.
    pub async fn cancel(&self, id: &str) -> ApiResult<bool> {
        let guard = self.inner.lock.lock().await;
        let Some((mut m, body)) = self.load_message(id).await? else { return Ok(false) };
        let now = self.now();
        let mut cmds: Vec<Cmd> = Vec::new();
        if m.state == MsgState::Active {
            m.state = MsgState::CancelRequested;
            cmds.push(Qstash::save_meta(&m));
            cmds.push(self.event_cmd(&Event::new("CANCEL_REQUESTED", &m, &body, now)));
            self.store().apply_durable(cmds).await?;
            return Ok(true);
        }
        if m.state == MsgState::CancelRequested {
            // Asked before, while an attempt was in flight. If that attempt is still open, its
            // end cancels the message; deleting it now made that end find nothing, so the
            // flow-control slot was never given back and the queue moved on under the open
            // attempt. (Not in flight: it was put back in line by a restart, and goes now.)
            if self.store().one(cmd!["ZSCORE", keys::ACTIVE, id]).await? != stashd_store::Value::Nil {
                return Ok(true);
            }
        } else {
            cmds.push(self.event_cmd(&Event::new("CANCEL_REQUESTED", &m, &body, now)));
        }
        cmds.push(self.event_cmd(&Event::new("CANCELED", &m, &body, now)));
        cmds.extend(Qstash::delete_cmds(id));
        let applied = self.store().apply(cmds).await?;
        drop(guard);
        self.after_done(&m).await?;
        self.store().wait_durable(applied.durability).await?;
        Ok(true)
    }

    /// Cancels the pending messages named by `ids`, or else those `filter` matches (all when
    /// it is empty), at most `limit`. Returns how many were canceled.
    pub async fn cancel_many(&self, ids: &[String], filter: &Filter, limit: Option<usize>) -> ApiResult<u64> {
        let targets: Vec<String> = if !ids.is_empty() {
            ids.to_vec()
        } else {
            let all = self.store().one(cmd!["ZRANGE", keys::PENDING, 0, -1]).await?.into_bytes_list()?;
            let mut out = Vec::new();
            let limit = limit.unwrap_or(CANCEL_ALL_LIMIT);
            for id in all {
                if out.len() >= limit {
                    break;
                }
                let id = String::from_utf8_lossy(&id).into_owned();
                if filter.is_empty() {
                    out.push(id);
                    continue;
                }
                if let Some((m, _)) = self.load_message(&id).await? {
                    let state = match m.state {
                        MsgState::Active => "ACTIVE",
                        MsgState::Retry => "RETRY",
                        MsgState::CancelRequested => "CANCEL_REQUESTED",
                        MsgState::Created => "CREATED",
                    };
                    if filter.matches(&m, Some(state), m.created_at) {
                        out.push(id);
                    }
                }
            }
            out
        };
        let mut n = 0;
        for id in targets {
            if self.cancel(&id).await? {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// `{"cancelled": n}`.
pub fn cancelled_json(n: u64) -> Json {
    json!({ "cancelled": n })
}
