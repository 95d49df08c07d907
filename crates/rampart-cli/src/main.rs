//! `rampart`: parse arguments, dispatch, map errors to exit codes (0 ok, 1 failed, 2 usage).

mod bgp;
mod cli;
mod commands;
mod csp;
mod js;
mod train;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: the proxy allocates and frees a body-sized read buffer
/// per request, and glibc kept handing those pages back (`madvise`) only to fault them in again
/// (BENCHMARKS.md, reverse proxy).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(commands::Failure::Usage(message)) => {
            eprintln!("rampart: {message}");
            ExitCode::from(2)
        }
        // `rampart js diff … | head`: the reader left; that is not a failure.
        Err(commands::Failure::Run(error))
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(commands::Failure::Run(error)) => {
            eprintln!("rampart: {error:#}");
            ExitCode::from(1)
        }
    }
}
