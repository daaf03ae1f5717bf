//! rwin provisions container clusters of Linux and Windows hosts from one `cluster.yml`:
//! config → plan → phases → transports. `run` is the single entry point used by the binary.

pub mod ask;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docker;
mod exit;
pub mod os;
pub mod outcome;
pub mod phases;
pub mod plan;
pub mod powershell;
pub mod secret;
pub mod settings;
pub mod state;
pub mod transport;
pub mod ui;

pub use exit::ExitStatus;

/// Run one invocation of rwin and report how it ended.
pub async fn run(cli: cli::Cli) -> ExitStatus {
    let settings = settings::Settings::from_cli(&cli);
    let ui = std::sync::Arc::new(ui::Ui::new(&settings));
    let work = commands::dispatch(cli.command, &settings, &ui);
    tokio::select! {
        outcome = work => match outcome {
            Ok(status) => status,
            Err(err) => {
                ui.clear_progress();
                ui.error(&format!("{err:#}"));
                ExitStatus::Failure
            }
        },
        _ = tokio::signal::ctrl_c() => {
            ui.clear_progress();
            ui.error("interrupted: stopped before finishing. The state file holds everything done so far; run the same command again to converge.");
            ExitStatus::Interrupted
        }
    }
}
