//! QStash on stashd: durable HTTP messaging (publish, queues, schedules, URL groups, DLQ, flow
//! control), delivered with retries and signed with HS256 JWTs. State lives behind
//! `stashd_store::Store`; nothing here names an engine type.

pub mod parse;
