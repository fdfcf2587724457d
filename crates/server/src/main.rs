//! `stashd`: self-hosted Upstash Redis (RESP + REST) in one binary.

use clap::Parser;

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
