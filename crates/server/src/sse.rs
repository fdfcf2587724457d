//! Pub/sub over HTTP as Server-Sent Events: `POST /subscribe/<channel>...` and
//! `POST /psubscribe/<pattern>...`, in the line format the Upstash SDKs parse:
//! `data: subscribe,<channel>,<count>`, `data: message,<channel>,<payload>`,
//! `data: pmessage,<pattern>,<channel>,<payload>`, with `: ping` comment heartbeats; and
//! `POST /monitor`: `data: "OK"`, then one `data: <MONITOR line>` per command the server runs.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{Either, StreamBody};
use hyper::body::Frame;
use stashd_engine::pubsub::{Delivery, Kind, PubMessage};
use stashd_engine::{Engine, Session};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::http::{full, HttpResponse};

/// How often an idle stream sends a comment line (keeps proxies open, detects gone clients).
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// Events buffered towards a slow HTTP client before the hub's queue takes over.
const STREAM_BUFFER: usize = 64;

fn event(parts: &[&[u8]]) -> Bytes {
    let mut b = BytesMut::with_capacity(16 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    b.put_slice(b"data: ");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            b.put_u8(b',');
        }
        b.put_slice(p);
    }
    b.put_slice(b"\n\n");
    b.freeze()
}

fn message_event(m: &PubMessage) -> Bytes {
    match &m.pattern {
        Some(p) => event(&[b"pmessage", p, &m.channel, &m.payload]),
        None => event(&[b"message", &m.channel, &m.payload]),
    }
}

/// Turns a REST session into a MONITOR client and returns the event-stream response.
pub fn monitor(engine: &Engine, mut session: Session) -> HttpResponse {
    engine.shared.pubsub.monitor(session.id, &mut session.subs);
    let Some(inbox) = session.subs.inbox.take() else {
        return full(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "monitor queue missing");
    };
    stream(engine, session, vec![event(&[b"\"OK\""])], inbox, |m| event(&[&m.payload]))
}

/// Subscribes a REST session to `names` and returns the event-stream response.
pub fn subscribe(engine: &Engine, mut session: Session, kind: Kind, names: Vec<Bytes>) -> HttpResponse {
    let word: &[u8] = if kind == Kind::Pattern { b"psubscribe" } else { b"subscribe" };
    let mut confirmations = Vec::with_capacity(names.len());
    for name in &names {
        engine.shared.pubsub.subscribe(session.id, &mut session.subs, kind, name);
        let count = session.subs.count().to_string();
        confirmations.push(event(&[word, name, count.as_bytes()]));
    }
    let Some(inbox) = session.subs.inbox.take() else {
        let body = Bytes::from_static(br#"{"error":"ERR no channel given: use /subscribe/<channel>"}"#);
        return full(StatusCode::BAD_REQUEST, "application/json", body);
    };
    stream(engine, session, confirmations, inbox, message_event)
}

/// Streams `first`, then each message of `inbox` rendered by `render`, with heartbeats, until
/// the client goes away or the hub evicts it; then closes the session.
fn stream(
    engine: &Engine,
    mut session: Session,
    first: Vec<Bytes>,
    mut inbox: mpsc::Receiver<Delivery>,
    render: fn(&PubMessage) -> Bytes,
) -> HttpResponse {
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(STREAM_BUFFER);
    let engine = engine.clone();
    tokio::spawn(async move {
        let evicted = session.subs.evicted.clone();
        let mut ok = true;
        for c in first {
            ok &= tx.send(Ok(Frame::data(c))).await.is_ok();
        }
        while ok {
            tokio::select! {
                m = inbox.recv() => match m {
                    Some(m) => ok = tx.send(Ok(Frame::data(render(&m)))).await.is_ok(),
                    None => ok = false,
                },
                _ = tokio::time::sleep(HEARTBEAT) => ok = tx.send(Ok(Frame::data(Bytes::from_static(b": ping\n\n")))).await.is_ok(),
                // The client went away (the SDK unsubscribes by aborting the request).
                _ = tx.closed() => ok = false,
            }
            if evicted.load(Ordering::Acquire) {
                ok = false;
            }
        }
        engine.close_session(&mut session);
    });
    let mut resp = Response::new(Either::Right(StreamBody::new(ReceiverStream::new(rx))));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_match_the_sdk_format() {
        assert_eq!(&event(&[b"subscribe", b"ch", b"1"])[..], b"data: subscribe,ch,1\n\n");
        let m = PubMessage {
            pattern: Some(Bytes::from("c*")),
            channel: Bytes::from("ch"),
            payload: Bytes::from("{\"a\":1}"),
            shard: false,
            monitor: false,
            invalidate: false,
            frame: Default::default(),
        };
        assert_eq!(&message_event(&m)[..], b"data: pmessage,c*,ch,{\"a\":1}\n\n");
    }
}
