//! The `rwin` binary: parse the command line, build the runtime, run, and turn the outcome into
//! an exit code. This is the only place the process exits.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = rwin::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return rwin::ExitStatus::Failure.into();
        }
    };
    let status = runtime.block_on(rwin::commands::run(cli));
    // Pending SSH sessions and Docker streams are dropped, not awaited: the outcome is known.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    status.into()
}
