//! `stashd`: self-hosted Upstash Redis (RESP + REST) in one binary.

use clap::Parser;

/// mimalloc instead of the system allocator: small allocations (Lua strings and tables, reply
/// buffers, request arguments) dominate, and it serves them markedly faster (see bench/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = stashd_server::config::Cli::parse();
    match stashd_server::run::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stashd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
