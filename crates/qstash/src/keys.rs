//! Where QStash keeps its state in the store: every key in one place.
//!
//! Cluster rule: each key carries one hash tag. Per-queue and per-flow-control-key state uses
//! the queue's (`{q:NAME}`) or the key's (`{fc:KEY}`) own tag, so a future cluster store can
//! spread queues and flow-control keys over slots; the message table, the due index, the
//! event log, the DLQ and the schedules share the `{qs}` tag, so a delivery's state change is
//! one single-slot batch.

/// The message record: hash with `meta` (JSON) and `body` (raw bytes).
pub fn message(id: &str) -> String {
    format!("qs:{{qs}}:m:{id}")
}
/// Messages waiting for their delivery time: zset, score = due time (ms).
pub const DUE: &str = "qs:{qs}:due";
/// Attempts in flight: zset, score = when the attempt started (ms). Moved back to `DUE` at start-up.
pub const ACTIVE: &str = "qs:{qs}:active";
/// Deduplication ids: string → message id, expiring after the window.
pub fn dedup(key: &str) -> String {
    format!("qs:{{qs}}:dd:{key}")
}
/// The event log: a stream of JSON events.
pub const EVENTS: &str = "qs:{qs}:events";
/// The DLQ: a stream whose entry ids are the DLQ ids, fields `meta` (JSON) and `body`.
pub const DLQ: &str = "qs:{qs}:dlq";
/// Every message not yet done: zset, score = creation time (for cancel filters).
pub const PENDING: &str = "qs:{qs}:pending";
/// Schedules by next run time: zset.
pub const SCHEDULES_DUE: &str = "qs:{qs}:sch:due";
/// All schedule ids: zset by creation time.
pub const SCHEDULES: &str = "qs:{qs}:sch";
/// A schedule: hash with `meta` and `body`.
pub fn schedule(id: &str) -> String {
    format!("qs:{{qs}}:sch:{id}")
}
/// The signing keys: hash with `current` and `next`.
pub const SIGNING_KEYS: &str = "qs:{qs}:keys";
/// URL groups: hash name → JSON.
pub const TOPICS: &str = "qs:{qs}:topics";
/// Queue names: zset by creation time.
pub const QUEUES: &str = "qs:{qs}:queues";
/// A queue's settings (JSON string).
pub fn queue(name: &str) -> String {
    format!("qs:{{q:{name}}}:meta")
}
/// A queue's messages in FIFO order: list of ids (a message leaves it when it is done).
pub fn queue_list(name: &str) -> String {
    format!("qs:{{q:{name}}}:list")
}
/// Flow-control keys known: zset by first use.
pub const FLOW_KEYS: &str = "qs:{qs}:fc";
/// A flow-control key's settings and pause/pin state (JSON string).
pub fn flow(key: &str) -> String {
    format!("qs:{{fc:{key}}}:state")
}
/// Messages waiting for a flow-control slot: list of ids.
pub fn flow_wait(key: &str) -> String {
    format!("qs:{{fc:{key}}}:wait")
}
/// A workflow run (JSON).
pub fn run(id: &str) -> String {
    format!("qs:{{qs}}:wf:{id}")
}
/// A run's step log: list of raw steps (JSON), in order.
pub fn run_steps(id: &str) -> String {
    format!("qs:{{qs}}:wfsteps:{id}")
}
/// Runs by creation time: zset.
pub const RUNS: &str = "qs:{qs}:wfruns";
/// The waiters of an event: hash run id → waiter (JSON).
pub fn waiters(event_id: &str) -> String {
    format!("qs:{{qs}}:wait:{event_id}")
}
/// Wait deadlines: zset, member `<run id>\n<event id>`, score = deadline (ms).
pub const WAIT_DUE: &str = "qs:{qs}:waitdue";
/// The events a run waits for: set.
pub fn run_waits(run_id: &str) -> String {
    format!("qs:{{qs}}:runwaits:{run_id}")
}
/// An event notified for a run before its wait (lookback), expiring.
pub fn lookback(run_id: &str, event_id: &str) -> String {
    format!("qs:{{qs}}:lookback:{run_id}:{event_id}")
}
