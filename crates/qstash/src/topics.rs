//! URL groups (topics): endpoints added and removed, list, get, delete.

use serde::Deserialize;
use serde_json::Value as Json;
use stashd_store::cmd;

use crate::core::{check_name, to_json, Qstash};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::model::{Endpoint, Topic};
use crate::options::check_url;

/// One endpoint in a request body.
#[derive(Debug, Deserialize)]
pub struct EndpointIn {
    /// URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `{"endpoints": [...]}`.
#[derive(Debug, Deserialize)]
pub struct EndpointsIn {
    /// The endpoints.
    pub endpoints: Vec<EndpointIn>,
}

impl Qstash {
    /// `POST /v2/topics/{name}/endpoints`: adds endpoints, creating the group.
    pub async fn add_endpoints(&self, name: &str, add: EndpointsIn) -> ApiResult<()> {
        check_name("url group name", name)?;
        if add.endpoints.is_empty() {
            return Err(ApiError::bad("endpoints must not be empty"));
        }
        let mut new = Vec::new();
        for e in add.endpoints {
            let url = e.url.ok_or_else(|| ApiError::bad("every endpoint needs a url"))?;
            new.push(Endpoint { name: e.name.filter(|n| !n.is_empty()), url: check_url(&url, "endpoint")? });
        }
        let _g = self.inner.lock.lock().await;
        let now = self.now();
        let mut t = self.load_topic(name).await?.unwrap_or_else(|| Topic { name: name.into(), created_at: now, ..Topic::default() });
        for e in new {
            if let Some(existing) = t.endpoints.iter_mut().find(|x| x.url == e.url) {
                if e.name.is_some() {
                    existing.name = e.name;
                }
            } else {
                t.endpoints.push(e);
            }
        }
        t.updated_at = now;
        self.store().apply_durable(vec![cmd!["HSET", keys::TOPICS, name, to_json(&t)]]).await?;
        Ok(())
    }

    /// `DELETE /v2/topics/{name}/endpoints`: removes endpoints by url or name; the group goes
    /// with its last endpoint.
    pub async fn remove_endpoints(&self, name: &str, remove: EndpointsIn) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let mut t = self.load_topic(name).await?.ok_or_else(|| ApiError::not_found(format!("url group {name} not found")))?;
        for r in &remove.endpoints {
            if r.url.is_none() && r.name.is_none() {
                return Err(ApiError::bad("every endpoint to remove needs a url or a name"));
            }
        }
        t.endpoints.retain(|e| {
            !remove.endpoints.iter().any(|r| r.url.as_deref().is_some_and(|u| u == e.url) || (r.name.is_some() && r.name == e.name))
        });
        t.updated_at = self.now();
        let c = if t.endpoints.is_empty() { cmd!["HDEL", keys::TOPICS, name] } else { cmd!["HSET", keys::TOPICS, name, to_json(&t)] };
        self.store().apply_durable(vec![c]).await?;
        Ok(())
    }

    /// Sets a group's default `Upstash-*` headers (replacing the previous ones).
    pub async fn set_topic_defaults(&self, name: &str, headers: crate::model::HeaderList) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let mut t = self.load_topic(name).await?.ok_or_else(|| ApiError::not_found(format!("url group {name} not found")))?;
        t.headers = headers;
        t.updated_at = self.now();
        self.store().apply_durable(vec![cmd!["HSET", keys::TOPICS, name, to_json(&t)]]).await?;
        Ok(())
    }

    /// A group's default headers (`None` when the group does not exist).
    pub async fn get_topic_defaults(&self, name: &str) -> ApiResult<Option<crate::model::HeaderList>> {
        Ok(self.load_topic(name).await?.map(|t| t.headers))
    }

    /// `GET /v2/topics`.
    pub async fn list_topics(&self) -> ApiResult<Json> {
        let all = self.store().one(cmd!["HGETALL", keys::TOPICS]).await?.into_bytes_list()?;
        let mut topics: Vec<Topic> = Vec::new();
        for pair in all.chunks(2) {
            if let [_, v] = pair {
                topics.push(crate::core::from_json(v)?);
            }
        }
        topics.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
        Ok(Json::Array(topics.iter().map(Topic::to_json).collect()))
    }

    /// `GET /v2/topics/{name}`.
    pub async fn get_topic(&self, name: &str) -> ApiResult<Json> {
        Ok(self.load_topic(name).await?.ok_or_else(|| ApiError::not_found(format!("url group {name} not found")))?.to_json())
    }

    /// `DELETE /v2/topics/{name}`.
    pub async fn delete_topic(&self, name: &str) -> ApiResult<()> {
        let _g = self.inner.lock.lock().await;
        let n = self.store().apply_durable(vec![cmd!["HDEL", keys::TOPICS, name]]).await?;
        if n.into_iter().next().map(|v| v.into_int().unwrap_or(0)).unwrap_or(0) == 0 {
            return Err(ApiError::not_found(format!("url group {name} not found")));
        }
        Ok(())
    }
}
