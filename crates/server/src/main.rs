//! `stashd`: self-hosted Upstash (Redis over RESP and REST, QStash) in one binary.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = stashd_server::config::dev_args(std::env::args_os().collect());
    let cli = stashd_server::config::Cli::parse_from(args);
    match stashd_server::run::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stashd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
