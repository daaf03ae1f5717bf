//! `rwin plan` (and `up --dry-run`): connect, read every host, and print each change `up` would
//! make. Nothing on any host changes: only the read-only phases run.

use anyhow::Context as _;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::docker::ensure::ContainerChange;
use crate::phases::{self, Host, NetworkChange};
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ExitStatus;

pub async fn run(path: &Path, settings: &Settings, ui: &Arc<Ui>) -> anyhow::Result<ExitStatus> {
    let ctx = match super::prepare(path, settings, ui, None)? {
        Ok(ctx) => ctx,
        Err(status) => return Ok(status),
    };
    let mut hosts = phases::survey(&ctx).await;
    let mut departed = phases::departed_hosts(&ctx);
    phases::survey_departed(&ctx, &mut departed).await;
    for (h, rec) in departed {
        let mut h = h;
        h.departed = Some(departed_line(&h, &rec));
        hosts.push(h);
    }
    ui.clear_progress();
    if ui.json() {
        ui.print(
            &serde_json::to_string_pretty(&PlanJson::new(&ctx.plan.cluster_name, &hosts))
                .context("rendering the plan as JSON")?,
        );
    } else {
        ui.print(&render_text(&hosts));
    }
    Ok(if hosts.iter().all(Host::ok) {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The one change listed for a node that has left cluster.yml: it is removed whole.
fn departed_line(h: &Host, rec: &crate::state::HostRecord) -> String {
    format!(
        "- {} left cluster.yml: remove its {} container(s), network, {} route(s), rules and files; release subnet {}",
        h.node.name,
        rec.components.len(),
        rec.routes.len(),
        h.node.subnet
    )
}

/// Human-readable lines for one host's changes.
pub fn change_lines(h: &Host) -> Vec<String> {
    if let Some(d) = &h.departed {
        return vec![d.clone()];
    }
    let mut lines: Vec<String> = h.changes.host.iter().map(|c| c.to_string()).collect();
    match &h.changes.network {
        Some(NetworkChange::Create) => lines.push(format!(
            "+ container network {} ({} gateway {})",
            crate::docker::spec::POD_NETWORK,
            h.node.subnet,
            h.node.gateway
        )),
        Some(NetworkChange::Recreate { was }) => lines.push(format!(
            "~ container network {}: {} gateway {} (was {was})",
            crate::docker::spec::POD_NETWORK,
            h.node.subnet,
            h.node.gateway
        )),
        None => {}
    }
    for o in &h.changes.remove_orphans {
        lines.push(format!("- container {o} (no component claims it)"));
    }
    for (comp, c) in &h.changes.containers {
        match c {
            ContainerChange::Create => {
                lines.push(format!("+ component {comp}: create container rwin-{comp}"))
            }
            ContainerChange::Replace { reason } => lines.push(format!(
                "~ component {comp}: replace container rwin-{comp} ({reason})"
            )),
            ContainerChange::Start => lines.push(format!(
                "~ component {comp}: start stopped container rwin-{comp}"
            )),
            ContainerChange::Unchanged => {}
        }
    }
    for m in &h.changes.port_mappings {
        lines.push(m.to_string());
    }
    for b in &h.changes.blockers {
        lines.push(format!("! {b}"));
    }
    lines
}

/// Whether the host needs a reboot (its OS says when: `HostOs::reboot_needed`).
fn host_needs_reboot(h: &Host) -> bool {
    h.node
        .host_os
        .reboot_needed(h.facts.as_ref().map(|f| &f.os), &h.changes.host)
}

/// The plan's word on a needed reboot, which is not a change of its own.
fn reboot_note(h: &Host) -> Option<String> {
    if h.departed.is_some() || !host_needs_reboot(h) {
        return None;
    }
    Some(if h.desired.allow_reboot {
        "reboot needed: rwin restarts the host and waits for it (--allow-reboot)".into()
    } else {
        "reboot needed (run with --allow-reboot, or reboot yourself)".into()
    })
}

fn render_text(hosts: &[Host]) -> String {
    let mut out = String::new();
    let mut total = 0;
    for h in hosts {
        let _ = writeln!(
            out,
            "{} ({}, {}, subnet {} via {})",
            h.node.name, h.node.address, h.node.os, h.node.subnet, h.node.internal_address
        );
        if h.node.node.public_address.is_some() || !h.node.node.labels.is_empty() {
            let _ = writeln!(
                out,
                "  public address {}, labels {}",
                h.node.node.public_address.as_deref().unwrap_or("-"),
                crate::ui::labels_text(&h.node.node.labels)
            );
        }
        if let Some(e) = &h.error {
            let _ = writeln!(out, "  ? unknown: {e}");
            continue;
        }
        let lines = change_lines(h);
        total += lines.len();
        if lines.is_empty() {
            let _ = writeln!(out, "  no changes");
        }
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
        if let Some(note) = reboot_note(h) {
            let _ = writeln!(out, "  {note}");
        }
    }
    let unknown = hosts.iter().filter(|h| !h.ok()).count();
    if total == 0 && unknown == 0 {
        out.push_str("\nno changes: every host already matches cluster.yml\n");
    } else {
        let changed = hosts
            .iter()
            .filter(|h| h.ok() && !change_lines(h).is_empty())
            .count();
        let _ = write!(out, "\n{total} change(s) on {changed} host(s)");
        if unknown > 0 {
            let _ = write!(
                out,
                "; {unknown} host(s) could not be read, so their changes are unknown"
            );
        }
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct PlanJson<'a> {
    cluster: &'a str,
    changes: usize,
    hosts: Vec<HostJson<'a>>,
}

#[derive(Serialize)]
struct HostJson<'a> {
    node: &'a str,
    address: &'a str,
    os: String,
    subnet: String,
    gateway: String,
    route_ip: String,
    public_address: Option<&'a str>,
    labels: &'a std::collections::BTreeMap<String, String>,
    reachable: bool,
    error: Option<&'a str>,
    changes: &'a phases::HostChanges,
    summary: Vec<String>,
    /// A Windows host needs a reboot (see `reboot_note`).
    reboot_needed: bool,
    notes: Vec<String>,
}

impl<'a> PlanJson<'a> {
    fn new(cluster: &'a str, hosts: &'a [Host]) -> Self {
        let hosts: Vec<HostJson> = hosts
            .iter()
            .map(|h| HostJson {
                node: &h.node.name,
                address: &h.node.address,
                os: h.node.os.to_string(),
                subnet: h.node.subnet.to_string(),
                gateway: h.node.gateway.to_string(),
                route_ip: h.node.internal_address.to_string(),
                public_address: h.node.node.public_address.as_deref(),
                labels: &h.node.node.labels,
                reachable: h.ok(),
                error: h.error.as_ref().map(|e| e.message.as_str()),
                changes: &h.changes,
                summary: change_lines(h),
                reboot_needed: h.departed.is_none() && host_needs_reboot(h),
                notes: reboot_note(h).into_iter().collect(),
            })
            .collect();
        PlanJson {
            cluster,
            changes: hosts.iter().map(|h| h.summary.len()).sum(),
            hosts,
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
