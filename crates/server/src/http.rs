//! The HTTP listener shared by every HTTP face: one hyper HTTP/1.1 connection per accepted
//! socket, and the router: `/vector/...` and `/v2/vector/...` go to the Vector face, other
//! `/v2/...` to the QStash face with its raw path, everything else to the Redis REST face. CORS is answered here, per face.
//!
//! hyper is driven directly (no router framework): the REST face routes by hand anyway, because
//! the path form makes any path a potential command, and skipping the framework's layers roughly
//! halves the CPU a small request costs.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{Either, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;

use crate::qstash_face::{self, QstashSlot};
use crate::rest_face::{self, RestState};
use crate::vector_face::{self, VectorSlot};

/// What the HTTP faces need.
#[derive(Clone)]
pub struct HttpState {
    /// The Redis REST face.
    pub rest: RestState,
    /// The QStash face.
    pub qstash: QstashSlot,
    /// The Vector face.
    pub vector: VectorSlot,
}

/// A response body: a whole buffer (every ordinary reply) or a stream of chunks (SSE).
pub type Body = Either<Full<Bytes>, StreamBody<ReceiverStream<Result<Frame<Bytes>, Infallible>>>>;

/// A response of any HTTP face.
pub type HttpResponse = Response<Body>;

/// A whole-buffer response with `status` and `content_type`.
pub fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> HttpResponse {
    let mut resp = Response::new(Either::Left(Full::new(body.into())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Reads a whole request body of at most `limit` bytes (refusing early on a larger
/// `Content-Length`); `None` when it is larger.
pub async fn read_body(headers: &HeaderMap, body: Incoming, limit: usize) -> Option<Bytes> {
    use http_body_util::{BodyExt, Limited};
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return None;
    }
    Limited::new(body, limit).collect().await.ok().map(|b| b.to_bytes())
}

/// Accepts connections until `stop` fires; each connection then finishes its current request.
pub async fn serve(listener: TcpListener, state: HttpState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "HTTP accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Replies are written whole; waiting for more data only adds latency.
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, peer, state.clone(), stop.clone()));
            }
            _ = stop.changed() => return,
        }
    }
}

async fn connection(stream: tokio::net::TcpStream, peer: std::net::SocketAddr, state: HttpState, mut stop: watch::Receiver<bool>) {
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, req, peer).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Answers CORS preflights, hands everything else to the face, and adds the CORS headers a
/// browser needs to read the reply (the read-only token is meant for browsers).
async fn handle(state: &HttpState, req: Request<Incoming>, peer: std::net::SocketAddr) -> HttpResponse {
    let origin = req.headers().get(header::ORIGIN).cloned();
    // `/llm/...` is the deprecated Upstash LLM API of the QStash SDK: the QStash face refuses it
    // in its own terms instead of the REST face reading it as a Redis command.
    let vector = vector_face::owns(req.uri().path());
    let qstash = !vector && (req.uri().path().starts_with("/v2/") || req.uri().path().starts_with("/llm/"));
    if req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        let methods = if qstash || vector { "GET,POST,PUT,PATCH,DELETE,HEAD" } else { "GET,POST,PUT,HEAD" };
        return preflight(req.headers(), origin, methods);
    }
    let (mut resp, exposed) = if vector {
        (vector_face::handle(&state.vector, req, state.rest.max_request_size).await, None)
    } else if qstash {
        (qstash_face::handle(&state.qstash, req, peer).await, None)
    } else {
        (rest_face::handle(&state.rest, req).await, Some("upstash-sync-token"))
    };
    if let Some(origin) = origin {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if let Some(e) = exposed {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(e));
        }
        h.append(header::VARY, HeaderValue::from_static(VARY));
    }
    resp
}

const VARY: &str = "origin, access-control-request-method, access-control-request-headers";

/// The answer to `OPTIONS` with `Access-Control-Request-Method`: any origin, the methods the
/// face serves, whatever headers the browser asks for, cached for a day.
fn preflight(headers: &HeaderMap, origin: Option<HeaderValue>, methods: &'static str) -> HttpResponse {
    let mut resp = Response::new(Either::Left(Full::new(Bytes::new())));
    let h = resp.headers_mut();
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
    if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    h.insert(header::VARY, HeaderValue::from_static(VARY));
    resp
}
