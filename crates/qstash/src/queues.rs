//! FIFO queues: upsert, list, get, delete, pause, resume. `lag` is the number of messages in
//! the queue that have not started yet.

use serde_json::{json, Value as Json};
use stashd_store::cmd;

use crate::core::{check_name, to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::model::Queue;

/// Most parallelism a queue may ask for.
pub const MAX_PARALLELISM: u32 = 1000;

impl Qstash {
    /// `POST /v2/queues`: creates or updates a queue.
    pub async fn upsert_queue(&self, name: &str, parallelism: Option<u32>, paused: Option<bool>) -> ApiResult<()> {
        check_name("queue name", name)?;
        let par = parallelism.unwrap_or(1);
        if par == 0 || par > MAX_PARALLELISM {
            return Err(ApiError::bad(format!("invalid parallelism {par}: it must be between 1 and {MAX_PARALLELISM}")));
        }
        {
            let _g = self.inner.lock.lock().await;
            let now = self.now();
            let q = match self.load_queue(name).await? {
                Some(mut q) => {
                    q.parallelism = par;
                    q.paused = paused.unwrap_or(q.paused);
                    q.updated_at = now;
                    q
                }
                None => Queue { name: name.into(), created_at: now, updated_at: now, parallelism: par, paused: paused.unwrap_or(false) },
            };
            self.store()
                .apply_durable(vec![cmd!["SET", keys::queue(name), to_json(&q)], cmd!["ZADD", keys::QUEUES, "NX", q.created_at, name]])
                .await?;
        }
        self.promote_queue(name).await
    }

    /// The API shape of a queue.
    async fn queue_json(&self, q: &Queue) -> ApiResult<Json> {
        let ids = self.store().one(cmd!["LRANGE", keys::queue_list(&q.name), 0, -1]).await?.into_bytes_list()?;
        let mut lag = 0u64;
        for id in ids {
            if let Some((m, _)) = self.load_message(&String::from_utf8_lossy(&id)).await? {
                if m.state != crate::model::MsgState::Active {
                    lag += 1;
                }
            }
        }
        Ok(
            json!({"name": q.name, "createdAt": q.created_at, "updatedAt": q.updated_at, "parallelism": q.parallelism, "lag": lag, "paused": q.paused}),
        )
    }

    /// `GET /v2/queues`.
    pub async fn list_queues(&self) -> ApiResult<Json> {
        let names = self.store().one(cmd!["ZRANGE", keys::QUEUES, 0, -1]).await?.into_bytes_list()?;
        let mut out = Vec::new();
        for n in names {
            if let Some(q) = self.load_queue(&String::from_utf8_lossy(&n)).await? {
                out.push(self.queue_json(&q).await?);
            }
        }
        Ok(Json::Array(out))
    }

    /// `GET /v2/queues/{name}`.
    pub async fn get_queue(&self, name: &str) -> ApiResult<Json> {
        let q = self.load_queue(name).await?.ok_or_else(|| ApiError::not_found(format!("queue {name} not found")))?;
        self.queue_json(&q).await
    }

    /// `DELETE /v2/queues/{name}`: the queue goes; its waiting messages are canceled.
    pub async fn delete_queue(&self, name: &str) -> ApiResult<()> {
        if self.load_queue(name).await?.is_none() {
            return Err(ApiError::not_found(format!("queue {name} not found")));
        }
        // Pause first so nothing new starts while the messages are canceled.
        self.set_queue_paused(name, true).await?;
        let ids = self.store().one(cmd!["LRANGE", keys::queue_list(name), 0, -1]).await?.into_bytes_list()?;
        for id in ids {
            self.cancel(&String::from_utf8_lossy(&id)).await?;
        }
        let _g = self.inner.lock.lock().await;
        self.store().apply_durable(vec![cmd!["DEL", keys::queue(name), keys::queue_list(name)], cmd!["ZREM", keys::QUEUES, name]]).await?;
        Ok(())
    }

    /// Pauses or resumes a queue (idempotent).
    pub async fn set_queue_paused(&self, name: &str, paused: bool) -> ApiResult<()> {
        {
            let _g = self.inner.lock.lock().await;
            let mut q = self.load_queue(name).await?.ok_or_else(|| ApiError::not_found(format!("queue {name} not found")))?;
            if q.paused != paused {
                q.paused = paused;
                q.updated_at = self.now();
                self.store().apply_durable(vec![cmd!["SET", keys::queue(name), to_json(&q)]]).await?;
            }
        }
        if !paused {
            self.promote_queue(name).await?;
        }
        Ok(())
    }
}
