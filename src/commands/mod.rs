//! One file per verb: settle settings, build the plan, run phases, print the result.

mod completions;
mod doctor;
mod plan;
mod remove_host;
mod up;
mod validate;

#[cfg(test)]
mod test_support;

use std::path::Path;
use std::sync::Arc;

use crate::cli::Command;
use crate::config::Config;
use crate::phases::RunContext;
use crate::settings::Settings;
use crate::state::{State, StateLock, StateStore};
use crate::ui::Ui;
use crate::ExitStatus;

pub async fn dispatch(
    command: Command,
    settings: &Settings,
    ui: &Arc<Ui>,
) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Validate(a) => Ok(validate::run(&a.config, ui)),
        Command::Plan(a) => plan::run(&a.config, settings, ui).await,
        Command::Up(a) if a.dry_run => plan::run(&a.config.config, settings, ui).await,
        Command::Up(a) => up::run(&a.config.config, settings, ui).await,
        Command::Completions(a) => Ok(completions::run(a.shell, ui)),
        Command::RemoveHost(a) => remove_host::run(&a, settings, ui).await,
        Command::Doctor(a) => doctor::run(&a, settings, ui).await,
    }
}

/// Load and check the config; on any error print every diagnostic and give the exit status.
pub(crate) fn load_config(path: &Path, ui: &Ui) -> Result<Config, ExitStatus> {
    match crate::config::load(path) {
        Ok((config, warnings)) => {
            if !warnings.diagnostics.is_empty() {
                ui.diagnostics(&warnings.render());
            }
            Ok(config)
        }
        Err(report) => {
            ui.diagnostics(&report.render());
            ui.error(&format!(
                "{}: {} problem(s) found; nothing was changed",
                path.display(),
                report.error_count()
            ));
            Err(ExitStatus::Usage)
        }
    }
}

/// Load config and state and build the plan: everything before the first connection. A run
/// that writes the state (`writer`: its command, `rwin up`) first takes the state file's lock
/// and holds it until the context's state store is dropped.
pub(crate) fn prepare(
    path: &Path,
    settings: &Settings,
    ui: &Arc<Ui>,
    writer: Option<&str>,
) -> anyhow::Result<Result<RunContext, ExitStatus>> {
    let config = match load_config(path, ui) {
        Ok(c) => c,
        Err(status) => return Ok(Err(status)),
    };
    let state_path = crate::state::path_for(path);
    let lock = match writer.map(|command| StateLock::acquire(&state_path, command)) {
        None => None,
        Some(Ok(lock)) => Some(lock),
        Some(Err(e)) => {
            ui.error(&e.to_string());
            return Ok(Err(ExitStatus::Usage));
        }
    };
    let state = match State::load(&state_path, &config.cluster_name) {
        Ok(s) => s,
        Err(e) => {
            ui.error(&e.to_string());
            return Ok(Err(ExitStatus::Usage));
        }
    };
    let options = crate::plan::PlanOptions {
        allow_reboot: settings.allow_reboot,
    };
    let plan = match crate::plan::build_with(&config, &state, options) {
        Ok(p) => p,
        Err(e) => {
            ui.error(&format!("{}: {e}", path.display()));
            return Ok(Err(ExitStatus::Usage));
        }
    };
    Ok(Ok(RunContext {
        settings: settings.clone(),
        ui: ui.clone(),
        config,
        plan,
        state: Arc::new(match lock {
            Some(lock) => StateStore::locked(state_path, state, lock),
            None => StateStore::new(state_path, state),
        }),
    }))
}

/// Run one invocation of rwin and report how it ended.
pub async fn run(cli: crate::cli::Cli) -> ExitStatus {
    let settings = Settings::from_cli(&cli);
    let ui = Arc::new(Ui::new(&settings));
    let work = dispatch(cli.command, &settings, &ui);
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
