//! Command families, one file per data type or area (like Redis's `t_*.c`). Each file exports a
//! `COMMANDS` table of [`CommandSpec`](crate::command::CommandSpec) rows.

pub mod acl;
pub mod admin;
pub mod arrays;
pub mod bitmaps;
pub mod client;
pub mod config;
pub mod dump;
pub mod functions;
pub mod geo;
pub mod geo_search;
pub mod hashes;
pub mod hyperloglog;
pub mod introspection;
pub mod json;
pub mod keys;
pub mod lists;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod stream_groups;
pub mod stream_info;
pub mod streams;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::command::CommandSpec;

/// Every family's table; the registry is built from these.
pub static FAMILIES: &[&[CommandSpec]] = &[
    strings::COMMANDS,
    keys::COMMANDS,
    dump::COMMANDS,
    hashes::COMMANDS,
    lists::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
    streams::COMMANDS,
    stream_groups::COMMANDS,
    stream_info::COMMANDS,
    bitmaps::COMMANDS,
    sort::COMMANDS,
    hyperloglog::COMMANDS,
    geo::COMMANDS,
    geo_search::COMMANDS,
    json::COMMANDS,
    arrays::COMMANDS,
    introspection::COMMANDS,
    transactions::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
    pubsub::COMMANDS,
    server::COMMANDS,
    client::COMMANDS,
    config::COMMANDS,
    admin::COMMANDS,
    acl::COMMANDS,
];
