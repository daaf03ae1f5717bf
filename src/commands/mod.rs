//! One file per verb: settle settings, build the plan, run phases, print the result.

mod completions;
mod doctor;
mod plan;
mod remove_host;
mod up;
mod validate;

use std::path::Path;
use std::sync::Arc;

use crate::cli::Command;
use crate::config::Config;
use crate::settings::Settings;
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
