//! Flow-control management: list, get, pause, resume, pin, unpin, reset the rate; global
//! parallelism.

use serde_json::{json, Value as Json};
use stashd_store::cmd;

use crate::core::{to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::model::FlowState;

impl Qstash {
    async fn flow_json(&self, key: &str) -> ApiResult<Json> {
        let st = self.load_flow(key).await?;
        let wait = self.store().one(cmd!["LLEN", keys::flow_wait(key)]).await?.into_int()?;
        let now = self.now();
        // Rolled on a copy: reading a key must not start its first rate period (which then
        // counted from the read rather than from the first start).
        let (active, count, start) = {
            let mut rt = self.inner.flows.lock().get(key).cloned().unwrap_or_default();
            rt.roll(&st, now);
            (rt.active, rt.count, rt.window_start)
        };
        Ok(json!({
            "flowControlKey": key,
            "waitListSize": wait,
            "parallelismMax": st.parallelism,
            "parallelismCount": active,
            "rateMax": st.rate,
            "rateCount": count,
            "ratePeriod": st.period,
            "ratePeriodStart": start / 1000,
            "isPaused": st.paused,
            "isPinnedParallelism": st.pinned_parallelism,
            "isPinnedRate": st.pinned_rate,
        }))
    }

    async fn known_flow(&self, key: &str) -> ApiResult<()> {
        let known = self.store().one(cmd!["ZSCORE", keys::FLOW_KEYS, key]).await?;
        if known == stashd_store::Value::Nil {
            return Err(ApiError::not_found(format!("flow control key {key} not found")));
        }
        Ok(())
    }

    /// `GET /v2/flowControl` (optionally only keys containing `search`).
    pub async fn list_flows(&self, search: Option<&str>) -> ApiResult<Json> {
        let keys_list = self.store().one(cmd!["ZRANGE", keys::FLOW_KEYS, 0, -1]).await?.into_bytes_list()?;
        let mut out = Vec::new();
        for k in keys_list {
            let k = String::from_utf8_lossy(&k).into_owned();
            if search.is_none_or(|s| k.contains(s)) {
                out.push(self.flow_json(&k).await?);
            }
        }
        Ok(Json::Array(out))
    }

    /// `GET /v2/flowControl/{key}`.
    pub async fn get_flow(&self, key: &str) -> ApiResult<Json> {
        self.known_flow(key).await?;
        self.flow_json(key).await
    }

    async fn update_flow(&self, key: &str, f: impl FnOnce(&mut FlowState)) -> ApiResult<()> {
        self.known_flow(key).await?;
        {
            let _g = self.inner.lock.lock().await;
            let mut st = self.load_flow(key).await?;
            f(&mut st);
            self.store().apply_durable(vec![cmd!["SET", keys::flow(key), to_json(&st)]]).await?;
        }
        self.promote_flow(key).await?;
        self.wake();
        Ok(())
    }

    /// Pause or resume.
    pub async fn set_flow_paused(&self, key: &str, paused: bool) -> ApiResult<()> {
        self.update_flow(key, |st| st.paused = paused).await
    }

    /// Pins parallelism and/or rate (the messages' own settings are then ignored); resets
    /// the rate count and period.
    pub async fn pin_flow(&self, key: &str, parallelism: Option<u32>, rate: Option<u32>, period: Option<u64>) -> ApiResult<()> {
        if parallelism.is_none() && rate.is_none() && period.is_none() {
            return Err(ApiError::bad("give parallelism, rate or period to pin"));
        }
        self.update_flow(key, |st| {
            if let Some(p) = parallelism {
                st.parallelism = p;
                st.pinned_parallelism = true;
            }
            if rate.is_some() || period.is_some() {
                if let Some(r) = rate {
                    st.rate = r;
                }
                if let Some(p) = period {
                    st.period = p.max(1);
                }
                st.pinned_rate = true;
            }
        })
        .await?;
        self.reset_flow_rate(key).await
    }

    /// Unpins; the last settings stay until a message brings new ones.
    pub async fn unpin_flow(&self, key: &str, parallelism: bool, rate: bool) -> ApiResult<()> {
        self.update_flow(key, |st| {
            if parallelism {
                st.pinned_parallelism = false;
            }
            if rate {
                st.pinned_rate = false;
            }
        })
        .await
    }

    /// Clears the rate count; the period restarts now.
    pub async fn reset_flow_rate(&self, key: &str) -> ApiResult<()> {
        self.known_flow(key).await?;
        let now = self.now();
        {
            let mut flows = self.inner.flows.lock();
            let rt = flows.entry(key.to_string()).or_default();
            rt.count = 0;
            rt.window_start = now;
        }
        self.promote_flow(key).await?;
        self.wake();
        Ok(())
    }

    /// `GET /v2/globalParallelism`.
    pub fn global_parallelism(&self) -> Json {
        json!({"parallelismMax": self.config().global_parallelism, "parallelismCount": self.inflight()})
    }
}
