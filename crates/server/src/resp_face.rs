//! The RESP face: a TCP listener speaking RESP2/RESP3. Each connection decodes every complete
//! command in its read buffer, runs them under one keyspace lock, and writes all replies at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use stashd_engine::config::FsyncPolicy;
use stashd_engine::pubsub::Delivery;
use stashd_engine::{Engine, Face, Outcome};
use stashd_resp::{encode, Decoder, ProtocolError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::render;

/// What woke an idle connection.
enum Input {
    /// Bytes read from the socket (0 = closed).
    Read(usize),
    /// A pub/sub message (None = the hub dropped this subscriber).
    Message(Option<Delivery>),
    /// The client stayed idle longer than `timeout`.
    Idle,
}

/// Accepts connections until `shutdown` flips to true.
pub async fn serve(listener: TcpListener, engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let live = Arc::new(AtomicUsize::new(0));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let engine = engine.clone();
                let live = live.clone();
                let max = engine.shared.config.read().maxclients as usize;
                tokio::spawn(async move {
                    if live.fetch_add(1, Ordering::AcqRel) >= max {
                        engine.shared.counters.rejected_connections.fetch_add(1, Ordering::Relaxed);
                        let mut s = stream;
                        let _ = s.write_all(b"-ERR max number of clients reached\r\n").await;
                    } else {
                        handle(stream, peer.to_string(), engine).await;
                    }
                    live.fetch_sub(1, Ordering::AcqRel);
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn handle(mut stream: TcpStream, peer: String, engine: Engine) {
    let _ = stream.set_nodelay(true);
    let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut session = engine.open_session(Face::Resp, &peer, &laddr);
    // CLIENT KILL shuts the socket down through a duplicate of its descriptor; the read in
    // progress then ends and the connection closes as if the peer had left.
    if let Ok(fd) = std::os::fd::AsFd::as_fd(&stream).try_clone_to_owned() {
        let sock = std::net::TcpStream::from(fd);
        engine.set_killer(
            session.id,
            std::sync::Arc::new(move || {
                let _ = sock.shutdown(std::net::Shutdown::Both);
            }),
        );
    }
    let mut conn = Conn {
        engine: &engine,
        rbuf: BytesMut::with_capacity(16 * 1024),
        wbuf: BytesMut::with_capacity(16 * 1024),
        queue: VecDeque::new(),
        outs: Vec::new(),
        decoder: Decoder::new(engine.shared.config.read().proto_max_bulk_len),
        inbox: None,
    };
    let r = conn.run(&mut stream, &mut session).await;
    if let Err(e) = r {
        tracing::debug!(peer, error = %e, "connection ended with an I/O error");
    }
    engine.close_session(&mut session);
}

struct Conn<'a> {
    engine: &'a Engine,
    rbuf: BytesMut,
    wbuf: BytesMut,
    queue: VecDeque<Vec<Bytes>>,
    /// Outcomes of the batch being run (kept to reuse its allocation).
    outs: Vec<Outcome>,
    decoder: Decoder,
    /// Pub/sub messages for this client, once it subscribed to something.
    inbox: Option<mpsc::Receiver<Delivery>>,
}

impl Conn<'_> {
    async fn run(&mut self, stream: &mut TcpStream, session: &mut stashd_engine::Session) -> std::io::Result<()> {
        loop {
            let proto_err = self.decode_all();
            if !self.queue.is_empty() {
                if !self.execute(stream, session).await? {
                    self.flush(stream, session).await?;
                    return Ok(());
                }
                self.flush(stream, session).await?;
            }
            if let Some(e) = proto_err {
                render::resp_error_text(&mut self.wbuf, &format!("ERR {e}"));
                self.flush(stream, session).await?;
                return Ok(());
            }
            if self.inbox.is_none() {
                self.inbox = session.subs.inbox.take();
            }
            if self.rbuf.capacity() - self.rbuf.len() < 4096 {
                self.rbuf.reserve(16 * 1024);
            }
            // `timeout`: an idle client is closed, but not a subscriber or a MONITOR client (as
            // in Redis; a blocked client waits in `park`, not here).
            let idle_secs = self.engine.shared.config.read().timeout;
            let idle_deadline = (idle_secs > 0 && !session.subs.active() && !session.subs.monitoring)
                .then(|| Instant::now() + Duration::from_secs(idle_secs));
            let got = match self.inbox.as_mut() {
                None => tokio::select! {
                    n = stream.read_buf(&mut self.rbuf) => Input::Read(n?),
                    _ = sleep_until(idle_deadline) => Input::Idle,
                },
                Some(inbox) => tokio::select! {
                    n = stream.read_buf(&mut self.rbuf) => Input::Read(n?),
                    m = inbox.recv() => Input::Message(m),
                    _ = sleep_until(idle_deadline) => Input::Idle,
                },
            };
            match got {
                Input::Read(0) | Input::Idle => return Ok(()),
                Input::Read(_) => {}
                Input::Message(Some(first)) => {
                    self.deliver(first, session);
                    // Batch whatever else is already queued into the same write.
                    while let Some(m) = self.inbox.as_mut().and_then(|i| i.try_recv().ok()) {
                        self.deliver(m, session);
                        if self.wbuf.len() > 64 * 1024 {
                            break;
                        }
                    }
                    self.flush(stream, session).await?;
                    if session.subs.evicted.load(std::sync::atomic::Ordering::Acquire) {
                        return Ok(());
                    }
                }
                Input::Message(None) => self.inbox = None,
            }
        }
    }

    /// Renders one pub/sub message as a push (a MONITOR line as a status), straight into the
    /// write buffer: this runs once per subscriber per message, so it builds no `Reply`.
    fn deliver(&mut self, m: Delivery, session: &stashd_engine::Session) {
        let out = &mut self.wbuf;
        if m.monitor {
            encode::simple(out, &m.payload);
            return;
        }
        if m.invalidate {
            // Client-side caching: a RESP3 push, or for a subscribed RESP2 client (a REDIRECT
            // target) a message on __redis__:invalidate; nothing for other RESP2 clients.
            let resp3 = session.protocol == stashd_resp::Protocol::Resp3;
            if resp3 {
                out.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
            } else if session.subs.active() {
                out.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
            } else {
                return;
            }
            match (m.payload.is_empty(), resp3) {
                (false, _) => out.extend_from_slice(&m.payload),
                (true, true) => out.extend_from_slice(b"_\r\n"),
                (true, false) => out.extend_from_slice(b"$-1\r\n"),
            }
            return;
        }
        let frame = m.resp2();
        if session.protocol == stashd_resp::Protocol::Resp3 {
            out.extend_from_slice(b">");
            out.extend_from_slice(&frame[1..]);
        } else {
            out.extend_from_slice(frame);
        }
    }

    /// Decodes every complete command in the read buffer into the queue.
    fn decode_all(&mut self) -> Option<ProtocolError> {
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(args)) if args.is_empty() => continue,
                Ok(Some(args)) => self.queue.push_back(args),
                Ok(None) => return None,
                Err(e) => return Some(e),
            }
        }
    }

    /// Runs the queue, parking on blocking commands. Returns false when the connection must close
    /// (QUIT, or the client went away while blocked).
    async fn execute(&mut self, stream: &mut TcpStream, session: &mut stashd_engine::Session) -> std::io::Result<bool> {
        let mut outs = std::mem::take(&mut self.outs);
        while !self.queue.is_empty() {
            outs.clear();
            self.engine.execute_batch(session, &mut self.queue, &mut outs);
            for o in outs.drain(..) {
                match o {
                    Outcome::Done(r) => self.render(&r, session),
                    Outcome::Blocked { args, notify, timeout_ms, timeout_reply } => {
                        self.flush(stream, session).await?;
                        if !self.park(stream, session, args, notify, timeout_ms, timeout_reply).await? {
                            return Ok(false);
                        }
                    }
                }
            }
            if session.close_after_reply {
                return Ok(false);
            }
            if !self.wait_for_pause(stream, session).await? {
                return Ok(false);
            }
        }
        self.outs = outs;
        Ok(true)
    }

    /// While `CLIENT PAUSE` holds the next queued command, sends what is ready and waits for
    /// `CLIENT UNPAUSE` or the pause's end. Returns false if the client went away meanwhile.
    async fn wait_for_pause(&mut self, stream: &mut TcpStream, session: &mut stashd_engine::Session) -> std::io::Result<bool> {
        let pause = &self.engine.shared.pause;
        loop {
            let Some(front) = self.queue.front() else { return Ok(true) };
            if self.engine.held_by_pause(session, front).is_none() {
                return Ok(true);
            }
            self.flush(stream, session).await?;
            let lifted = pause.lifted.notified();
            tokio::pin!(lifted);
            lifted.as_mut().enable();
            // Checked again once registered for the wake-up, so an UNPAUSE in between is seen.
            let Some(ms) = self.queue.front().and_then(|f| self.engine.held_by_pause(session, f)) else { return Ok(true) };
            tokio::select! {
                _ = &mut lifted => {}
                _ = tokio::time::sleep(Duration::from_millis(ms.max(1))) => {}
                n = stream.read_buf(&mut self.rbuf) => {
                    // More commands wait in the buffer; EOF ends the connection.
                    if n? == 0 {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Waits for a blocked command's keys to change (re-running it) or its timeout.
    /// Returns false if the client went away meanwhile.
    async fn park(
        &mut self,
        stream: &mut TcpStream,
        session: &mut stashd_engine::Session,
        args: Vec<Bytes>,
        mut notify: Arc<tokio::sync::Notify>,
        timeout_ms: u64,
        timeout_reply: stashd_engine::Reply,
    ) -> std::io::Result<bool> {
        let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
        let parked = &self.engine.shared.parked;
        let mut unblock = parked.park(session.id, notify.clone());
        let r = self.park_loop(stream, session, args, &mut notify, &mut unblock, deadline, timeout_reply).await;
        parked.unpark(session.id);
        r
    }

    #[allow(clippy::too_many_arguments)]
    async fn park_loop(
        &mut self,
        stream: &mut TcpStream,
        session: &mut stashd_engine::Session,
        args: Vec<Bytes>,
        notify: &mut Arc<tokio::sync::Notify>,
        unblock: &mut Arc<std::sync::atomic::AtomicU8>,
        deadline: Option<Instant>,
        timeout_reply: stashd_engine::Reply,
    ) -> std::io::Result<bool> {
        use stashd_engine::pause::{ParkedClients, UnblockReason};
        loop {
            let woke = tokio::select! {
                _ = notify.notified() => true,
                _ = sleep_until(deadline) => false,
                n = stream.read_buf(&mut self.rbuf) => {
                    // Data that arrives while blocked waits in the buffer; EOF ends the connection.
                    if n? == 0 {
                        return Ok(false);
                    }
                    continue;
                }
            };
            match ParkedClients::reason(unblock) {
                Some(UnblockReason::Timeout) => {
                    self.render(&Ok(timeout_reply), session);
                    return Ok(true);
                }
                Some(UnblockReason::Error) => {
                    let e = stashd_engine::CmdError::Other("UNBLOCKED client unblocked via CLIENT UNBLOCK".into());
                    self.render(&Err(e), session);
                    return Ok(true);
                }
                None => {}
            }
            if !woke {
                self.render(&Ok(timeout_reply), session);
                return Ok(true);
            }
            match self.engine.execute(session, args.clone()) {
                Outcome::Done(r) => {
                    self.render(&r, session);
                    return Ok(true);
                }
                Outcome::Blocked { notify: n, .. } => {
                    *unblock = self.engine.shared.parked.park(session.id, n.clone());
                    *notify = n;
                }
            }
        }
    }

    fn render(&mut self, r: &Result<stashd_engine::Reply, stashd_engine::CmdError>, session: &stashd_engine::Session) {
        match r {
            Ok(reply) => render::resp(&mut self.wbuf, reply, session.protocol),
            Err(e) => render::resp_error(&mut self.wbuf, e),
        }
    }

    /// Writes pending replies, first waiting for durability under `appendfsync always`.
    async fn flush(&mut self, stream: &mut TcpStream, session: &stashd_engine::Session) -> std::io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        if let Some(aof) = self.engine.shared.aof() {
            if session.last_write_offset > aof.durable_offset() && self.engine.shared.config.read().appendfsync == FsyncPolicy::Always {
                aof.wait_durable(session.last_write_offset).await;
            }
        }
        if self.inbox.is_some() {
            // A subscriber that stops reading blocks this write; once the hub evicts it for
            // being too slow, give up on the connection instead of waiting forever.
            let evicted = session.subs.evicted.clone();
            let write = stream.write_all(&self.wbuf);
            tokio::pin!(write);
            loop {
                tokio::select! {
                    r = &mut write => { r?; break; }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        if evicted.load(std::sync::atomic::Ordering::Acquire) {
                            return Err(std::io::Error::other("pub/sub client evicted: output queue limit reached"));
                        }
                    }
                }
            }
        } else {
            stream.write_all(&self.wbuf).await?;
        }
        self.wbuf.clear();
        if self.wbuf.capacity() > 1 << 20 {
            self.wbuf = BytesMut::with_capacity(16 * 1024);
        }
        Ok(())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
