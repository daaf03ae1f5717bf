//! `rwin doctor`: check every host and the cluster for what the troubleshooting pages tell a
//! person to check by hand, and give a one-line fix for each failure. Changes nothing
//! (`--probe` starts and removes its own small containers).
//!
//! Here the survey and the order of the rows; `host` checks one host, `components` its
//! containers and services, `probe` the pod-to-pod matrix, `report` prints the outcome.

mod components;
mod host;
mod probe;
mod report;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::cli::DoctorArgs;
use crate::os::Check;
use crate::phases;
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ExitStatus;

pub async fn run(
    args: &DoctorArgs,
    settings: &Settings,
    ui: &Arc<Ui>,
) -> anyhow::Result<ExitStatus> {
    let ctx = match super::prepare(&args.config.config, settings, ui, None)? {
        Ok(ctx) => ctx,
        Err(status) => return Ok(status),
    };
    let hosts = phases::survey(&ctx).await;
    let mut rows: Vec<(String, Check)> = Vec::new();
    for h in &hosts {
        for c in host::checks(&ctx, h).await {
            rows.push((h.node.name.clone(), c));
        }
    }
    let probe = if args.probe {
        Some(probe::run(&ctx, &hosts, args.probe_image.as_deref()).await)
    } else {
        None
    };
    if let Some(p) = &probe {
        for (node, c) in &p.checks {
            rows.push((node.clone(), c.clone()));
        }
    }
    ui.clear_progress();
    let failed = report::print(ui, rows, probe.as_ref())?;
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
