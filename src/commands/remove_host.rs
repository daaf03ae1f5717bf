//! `rwin remove-host NODE`: remove everything rwin made on NODE, the routes to its subnet on
//! every other host, and NODE from the state (its subnet is released). Asks first.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::cli::RemoveHostArgs;
use crate::phases::{self, Host, RunContext};
use crate::settings::Settings;
use crate::state::HostRecord;
use crate::ui::Ui;
use crate::ExitStatus;

pub async fn run(
    args: &RemoveHostArgs,
    settings: &Settings,
    ui: &Arc<Ui>,
) -> anyhow::Result<ExitStatus> {
    let path = args.config.config.as_path();
    // A dry run only reads: it neither waits for nor blocks a run that writes the state.
    let command = format!("rwin remove-host {}", args.node);
    let writer = (!args.dry_run).then_some(command.as_str());
    let full = match super::prepare(path, settings, ui, writer)? {
        Ok(ctx) => ctx,
        Err(status) => return Ok(status),
    };
    let name = args.node.as_str();
    let state = full.state.snapshot();
    let in_config = full
        .config
        .nodes
        .iter()
        .find(|n| n.name == name || n.address == name)
        .cloned();
    let name = in_config
        .as_ref()
        .map(|n| n.name.clone())
        .unwrap_or_else(|| name.to_string());
    let Some(record) = state.hosts.get(&name).cloned() else {
        let known: Vec<&str> = state.hosts.keys().map(String::as_str).collect();
        if in_config.is_some() {
            ui.error(&format!("{name}: nothing to remove: rwin has not set this node up (it is not in {}). Take it out of {} if you no longer want it", full.state.path().display(), path.display()));
        } else {
            ui.error(&format!(
                "{name}: no such node. Nodes rwin has set up: {}",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ));
        }
        return Ok(ExitStatus::Usage);
    };
    let subnet = state.subnets.get(&name).copied();

    // The cluster as it will be without the node: the hosts that stay, and their plan.
    let mut remaining = full.config.clone();
    remaining.nodes.retain(|n| n.name != name);
    let plan = match crate::plan::build(&remaining, &state) {
        Ok(p) => p,
        Err(e) => {
            ui.error(&format!("{}: {e}", path.display()));
            return Ok(ExitStatus::Usage);
        }
    };
    let ctx = RunContext {
        settings: full.settings.clone(),
        ui: full.ui.clone(),
        config: remaining,
        plan,
        state: full.state.clone(),
    };
    // The node's removal plan: built without --allow-reboot, since teardown reports a reboot
    // that removing something needs and never restarts the host.
    let removal = match in_config {
        Some(_) => crate::plan::build(&full.config, &state)
            .ok()
            .and_then(|p| p.node(&name).cloned()),
        None => None,
    };
    let target_node =
        removal.unwrap_or_else(|| crate::plan::departed_node(&ctx.config, &name, &record, subnet));

    let listing = what_will_be_removed(&name, &record, subnet, &ctx);
    ui.print(&listing);
    if args.dry_run {
        return Ok(ExitStatus::Success);
    }
    if !settings.assume_yes {
        if !settings.interactive {
            ui.error("remove-host changes hosts and asks first; there is no terminal to ask on. Re-run with --yes to confirm");
            return Ok(ExitStatus::Usage);
        }
        let asker = ui.asker();
        if !asker.is_some_and(|a| a.confirm(format!("Remove {name} as listed above?"))) {
            ui.info("nothing was changed");
            return Ok(ExitStatus::Success);
        }
    }

    let mut target = vec![(Host::new(&target_node), record.clone())];
    phases::survey_departed(&ctx, &mut target).await;
    if let Some(err) = target[0].0.error.clone() {
        if !args.force {
            ui.clear_progress();
            ui.error(&format!("{err}\n{name} was not changed, nor any other host. If {name} is gone for good, `rwin remove-host {name} --force` cleans the other hosts and the state anyway"));
            return Ok(ExitStatus::Failure);
        }
        ui.warn(&format!("{name} cannot be reached; with --force the other hosts and the state are cleaned, and on {name} itself nothing could be removed: {}", listing_for_dead_host(&record)));
    }
    phases::teardown(&ctx, &mut target, args.force).await;

    let mut others = phases::survey(&ctx).await;
    if let Some(subnet) = subnet {
        phases::remove_routes_to(&ctx, &mut others, subnet).await;
    }
    ui.clear_progress();

    let mut out = String::new();
    for h in std::iter::once(&target[0].0).chain(others.iter()) {
        let _ = writeln!(
            out,
            "{}: {}",
            h.node.name,
            if h.ok() { "ok" } else { "FAILED" }
        );
        for a in &h.applied {
            let _ = writeln!(out, "  {a}");
        }
        if let Some(e) = &h.error {
            let _ = writeln!(out, "  ✘ {e}");
        }
    }
    ui.print(&out);

    let ok = (target[0].0.ok() || args.force) && others.iter().all(Host::ok);
    if in_config.is_some() && ok {
        edit_config(path, &name, args.edit_config, settings, ui);
    }
    if !target[0].0.ok() && !args.force {
        ui.error(&format!("{name} was not removed completely; the state still lists it. Fix the cause and run `rwin remove-host {name}` again"));
    } else if !ok {
        let failed: Vec<&str> = others
            .iter()
            .filter(|h| !h.ok())
            .map(|h| h.node.name.as_str())
            .collect();
        ui.error(&format!(
            "{name} is removed, but its routes could not be taken off {}. Once they are reachable, `rwin up` removes them (they belong to no node now)",
            failed.join(", ")
        ));
    }
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn what_will_be_removed(
    name: &str,
    rec: &HostRecord,
    subnet: Option<ipnet::Ipv4Net>,
    ctx: &RunContext,
) -> String {
    let mut s = format!("On {name} ({}), rwin will remove:\n", rec.address);
    let os = crate::os::host_os(crate::config::Os::from_record(&rec.os));
    let is_service = |c: &str| os.services().is_some_and(|s| s.is_recorded(rec, c));
    for c in rec.components.iter().filter(|c| !is_service(c)) {
        let _ = writeln!(
            s,
            "  - container rwin-{c} (and any other container labelled for cluster {})",
            ctx.plan.cluster_name
        );
    }
    if let Some(n) = &rec.network {
        let _ = writeln!(
            s,
            "  - container network {n}{}",
            subnet.map(|s| format!(" ({s})")).unwrap_or_default()
        );
    }
    for r in &rec.routes {
        let _ = writeln!(s, "  - route {} via {}", r.dest, r.via);
    }
    for line in os.removal_items(rec, &ctx.plan.cluster_name) {
        let _ = writeln!(s, "{line}");
    }
    if let Some(subnet) = subnet {
        for n in ctx.plan.nodes.iter().filter(|n| n.name != name) {
            let _ = writeln!(s, "On {}: the route to {subnet}", n.name);
        }
        let _ = writeln!(
            s,
            "In the state file: {name} and its subnet {subnet} (released)"
        );
    }
    s
}

fn listing_for_dead_host(rec: &HostRecord) -> String {
    let mut v: Vec<String> = rec
        .components
        .iter()
        .map(|c| format!("container rwin-{c}"))
        .collect();
    v.extend(rec.network.iter().map(|n| format!("network {n}")));
    v.extend(rec.routes.iter().map(|r| format!("route {}", r.dest)));
    if rec.masquerade {
        v.push("NAT and firewall rules".into());
    }
    v.extend(rec.sysctl_dropin.clone());
    v.extend(rec.boot_routes_unit.clone());
    v.push("/etc/rwin and /var/lib/rwin".into());
    v.join(", ")
}

fn edit_config(path: &Path, name: &str, edit: bool, settings: &Settings, ui: &Arc<Ui>) {
    ui.warn(&format!(
        "{name} is still in {}: the next `rwin up` would set it up again",
        path.display()
    ));
    let wanted = edit
        || (settings.interactive
            && !settings.assume_yes
            && ui.asker().is_some_and(|a| {
                a.confirm(format!("Take {name}'s entry out of {}?", path.display()))
            }));
    if !wanted {
        ui.info(&format!(
            "remove its entry from {} yourself, or re-run with --edit-config",
            path.display()
        ));
        return;
    }
    let edited = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read {}: {e}", path.display()))
        .and_then(|text| {
            crate::config::edit::remove_node_entry(&text, name).map_err(|e| {
                format!(
                    "could not take {name}'s entry out of {}: {e}; it is unchanged: edit it by hand",
                    path.display()
                )
            })
        })
        .and_then(|text| {
            crate::fsutil::write_atomic(path, text.as_bytes(), crate::fsutil::Access::AsBefore)
                .map_err(|e| format!("could not write {}: {e}; it is unchanged", path.display()))
        });
    match edited {
        Ok(()) => ui.info(&format!(
            "{name}'s entry was taken out of {}",
            path.display()
        )),
        Err(e) => ui.error(&e),
    }
}
