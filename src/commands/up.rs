//! `rwin up`: survey every host, make the changes, deploy components, print the summary.

use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use tabled::Tabled;

use crate::phases::{self, Host};
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ExitStatus;

pub async fn run(path: &Path, settings: &Settings, ui: &Arc<Ui>) -> anyhow::Result<ExitStatus> {
    let ctx = match super::prepare(path, settings, ui, Some("rwin up"))? {
        Ok(ctx) => ctx,
        Err(status) => return Ok(status),
    };
    let mut hosts = phases::survey(&ctx).await;
    // Nodes taken out of cluster.yml are torn down, as `remove-host` would (RKE users do this).
    let mut departed = phases::departed_hosts(&ctx);
    phases::survey_departed(&ctx, &mut departed).await;
    phases::apply(&ctx, &mut hosts).await;
    phases::teardown(&ctx, &mut departed, false).await;
    ui.clear_progress();
    // WinRM shells are deleted, not left on the hosts until their IdleTimeout.
    futures_util::future::join_all(
        hosts
            .iter()
            .chain(departed.iter().map(|(h, _)| h))
            .filter_map(|h| h.transport.as_ref().map(|t| t.close())),
    )
    .await;
    let hosts: Vec<Host> = hosts
        .into_iter()
        .chain(departed.into_iter().map(|(h, _)| h))
        .collect();
    let ok = hosts.iter().all(Host::ok);
    if ui.json() {
        let rows: Vec<SummaryJson> = hosts.iter().map(SummaryJson::from).collect();
        ui.print(
            &serde_json::to_string_pretty(
                &serde_json::json!({ "cluster": ctx.plan.cluster_name, "ok": ok, "hosts": rows }),
            )
            .context("rendering the summary as JSON")?,
        );
    } else {
        let rows: Vec<SummaryRow> = hosts.iter().map(SummaryRow::from).collect();
        ui.print(&crate::ui::table::render(&rows));
        let failed: Vec<ErrorRow> = hosts
            .iter()
            .filter_map(|h| {
                h.error.as_ref().map(|e| ErrorRow {
                    node: h.node.name.clone(),
                    error: e.message.clone(),
                })
            })
            .collect();
        if !failed.is_empty() {
            ui.print(&crate::ui::table::render(&failed));
            ui.error(&format!(
                "{} of {} hosts failed ({}). What succeeded is recorded in {}; fix the cause and run `rwin up` again to converge.",
                failed.len(),
                hosts.len(),
                failed.iter().map(|f| f.node.as_str()).collect::<Vec<_>>().join(", "),
                ctx.state.path().display()
            ));
        }
    }
    let trips: u64 = hosts
        .iter()
        .filter_map(|h| h.transport.as_ref().map(|t| t.round_trips()))
        .sum();
    ui.debug(&format!(
        "remote round trips: {trips} over {} hosts",
        hosts.len()
    ));
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

#[derive(Tabled)]
struct SummaryRow {
    node: String,
    os: String,
    subnet: String,
    #[tabled(rename = "route ip")]
    route_ip: String,
    #[tabled(rename = "public address")]
    public_address: String,
    labels: String,
    changes: usize,
    components: String,
    result: String,
    time: String,
}

impl From<&Host> for SummaryRow {
    fn from(h: &Host) -> Self {
        SummaryRow {
            node: h.node.name.clone(),
            os: h.node.os.to_string(),
            subnet: h.node.subnet.to_string(),
            route_ip: h.node.internal_address.to_string(),
            public_address: h
                .node
                .node
                .public_address
                .clone()
                .unwrap_or_else(|| "-".into()),
            labels: crate::ui::labels_text(&h.node.node.labels),
            changes: h.applied.len(),
            components: h
                .components
                .iter()
                .map(|c| format!("{} {}", c.component, c.outcome))
                .collect::<Vec<_>>()
                .join(", "),
            result: if h.ok() {
                "✔ ok".into()
            } else {
                "✘ failed".into()
            },
            time: format!("{:.1}s", h.elapsed.as_secs_f64()),
        }
    }
}

#[derive(Tabled)]
struct ErrorRow {
    node: String,
    error: String,
}

#[derive(Serialize)]
struct SummaryJson {
    node: String,
    os: String,
    subnet: String,
    route_ip: String,
    public_address: Option<String>,
    labels: std::collections::BTreeMap<String, String>,
    ok: bool,
    error: Option<String>,
    applied: Vec<String>,
    components: Vec<phases::ComponentResult>,
    seconds: f64,
    /// Remote commands run and streams opened.
    round_trips: u64,
    /// The HTTP requests under those commands (WinRM only).
    wire_requests: Option<u64>,
}

impl From<&Host> for SummaryJson {
    fn from(h: &Host) -> Self {
        SummaryJson {
            node: h.node.name.clone(),
            os: h.node.os.to_string(),
            subnet: h.node.subnet.to_string(),
            route_ip: h.node.internal_address.to_string(),
            public_address: h.node.node.public_address.clone(),
            labels: h.node.node.labels.clone(),
            ok: h.ok(),
            error: h.error.as_ref().map(|e| e.message.clone()),
            applied: h.applied.clone(),
            components: h.components.clone(),
            seconds: h.elapsed.as_secs_f64(),
            round_trips: h.transport.as_ref().map(|t| t.round_trips()).unwrap_or(0),
            wire_requests: h.transport.as_ref().and_then(|t| t.wire_requests()),
        }
    }
}
