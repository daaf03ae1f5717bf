//! `rwin doctor`: check every host and the cluster for what the troubleshooting pages tell a
//! person to check by hand, and give a one-line fix for each failure. Changes nothing
//! (`--probe` starts and removes its own small containers).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tabled::Tabled;

use crate::cli::DoctorArgs;
use crate::config::NetworkMode;
use crate::docker::ensure;
use crate::docker::health::wait_healthy;
use crate::docker::spec::POD_NETWORK;
use crate::os::{Check, Status};
use crate::phases::{self, Host, NetworkChange};
use crate::settings::Settings;
use crate::ui::Ui;
use crate::ExitStatus;

#[derive(Serialize, Tabled)]
struct Row {
    node: String,
    check: String,
    #[tabled(rename = "")]
    mark: &'static str,
    detail: String,
    fix: String,
}

pub async fn run(
    args: &DoctorArgs,
    settings: &Settings,
    ui: &Arc<Ui>,
) -> anyhow::Result<ExitStatus> {
    let ctx = match super::prepare(&args.config.config, settings, ui)? {
        Ok(ctx) => ctx,
        Err(status) => return Ok(status),
    };
    let hosts = phases::survey(&ctx).await;
    let mut rows: Vec<(String, Check)> = Vec::new();
    for h in &hosts {
        for c in host_checks(&ctx, h).await {
            rows.push((h.node.name.clone(), c));
        }
    }
    let probe = if args.probe {
        Some(probe(&ctx, &hosts, args.probe_image.as_deref()).await)
    } else {
        None
    };
    if let Some(p) = &probe {
        for (node, c) in &p.checks {
            rows.push((node.clone(), c.clone()));
        }
    }
    ui.clear_progress();
    let table = table_rows(rows);
    let (failed, warned) = counts(&table);
    if ui.json() {
        let probe_json = probe.as_ref().map(|p| &p.matrix);
        ui.print(&serde_json::to_string_pretty(&serde_json::json!({ "ok": failed == 0, "failed": failed, "warnings": warned, "checks": table, "probe": probe_json }))?);
    } else {
        ui.print(&render_text(&table, probe.as_ref()));
    }
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The report's rows, in the order the checks ran.
fn table_rows(rows: Vec<(String, Check)>) -> Vec<Row> {
    rows.into_iter()
        .map(|(node, c)| Row {
            node,
            check: c.name,
            mark: match c.status {
                Status::Pass => PASS,
                Status::Warn => WARN,
                Status::Fail => FAIL,
            },
            detail: c.detail,
            fix: c.fix,
        })
        .collect()
}

const PASS: &str = "✔";
const WARN: &str = "!";
const FAIL: &str = "✘";

/// How many rows failed, and how many warned.
fn counts(table: &[Row]) -> (usize, usize) {
    let n = |mark: &str| table.iter().filter(|r| r.mark == mark).count();
    (n(FAIL), n(WARN))
}

/// The text report: the table, the probe's matrix, and the verdict.
fn render_text(table: &[Row], probe: Option<&Probe>) -> String {
    let (failed, warned) = counts(table);
    let mut out = crate::ui::table::render(table);
    out.push('\n');
    if let Some(p) = probe {
        out.push_str(&p.render());
    }
    out.push_str(&if failed == 0 {
        format!("all checks passed ({warned} warning(s))")
    } else {
        format!("{failed} check(s) failed, {warned} warning(s): `rwin up` repairs what the fix column says it does")
    });
    out.push('\n');
    out
}

async fn host_checks(ctx: &phases::RunContext, h: &Host) -> Vec<Check> {
    let node = &h.node.node;
    let connected = match &node.winrm {
        Some(w) if node.connection == crate::config::Connection::Winrm => Check::pass(
            "reachable, authenticated, TLS",
            format!(
                "{}@{}:{} over WinRM ({}, {}){}",
                w.user,
                h.node.address,
                w.port,
                if w.https { "HTTPS" } else { "HTTP" },
                w.auth.as_str(),
                match (w.https, w.insecure_skip_verify) {
                    (true, false) => ", certificate verified",
                    (true, true) => ", certificate NOT verified (insecure_skip_verify)",
                    (false, _) => ", NTLM message encryption",
                }
            ),
        ),
        _ => Check::pass(
            "reachable, authenticated, host key",
            format!(
                "{}@{}:{} over SSH, host key matches known_hosts",
                node.user, h.node.address, node.port
            ),
        ),
    };
    let Some(facts) = &h.facts else {
        let err = h.error.clone().unwrap_or_else(|| "not checked".into());
        let err = err
            .strip_prefix(&format!("{}: ", h.node.name))
            .unwrap_or(&err)
            .to_string();
        // Connected but the facts failed: the connection row passes, the failure is named.
        if h.transport.is_some() {
            let check = if err.contains("Docker") || err.contains("sshd refused") {
                "container engine"
            } else {
                "host facts"
            };
            return vec![
                connected,
                Check::fail(check, err, "as the message says; then rwin doctor again"),
            ];
        }
        return vec![Check::fail(
            "reachable, authenticated, host key",
            err,
            "as the message says",
        )];
    };
    let mut v = vec![connected];
    // Windows checks the engine (and its minimum version) among its own.
    if h.node.os == crate::config::Os::Linux && !h.desired.plain_bridge {
        v.push(Check::pass(
            "container engine",
            format!("Docker {}", facts.docker_version),
        ));
    }
    // On Windows the container network is among the host's own checks (os::windows).
    v.extend(match &h.changes.network {
        _ if h.node.os == crate::config::Os::Windows => None,
        None => Some(Check::pass(
            "container network",
            format!(
                "{POD_NETWORK}: {} gateway {}",
                h.node.subnet, h.node.gateway
            ),
        )),
        Some(NetworkChange::Create) => Some(Check::fail(
            "container network",
            format!("{POD_NETWORK} does not exist"),
            "rwin up",
        )),
        Some(NetworkChange::Recreate { was }) => Some(Check::fail(
            "container network",
            format!(
                "{POD_NETWORK} is {was}, planned {} gateway {}",
                h.node.subnet, h.node.gateway
            ),
            "rwin up (recreates it)",
        )),
    });
    v.extend(crate::os::checks(&h.desired, &facts.os));
    if let Some(clock) = facts.os.linux().and_then(|l| l.clock) {
        // The script ran within one round trip before its answer arrived.
        let skew = clock - facts.received_at;
        let detail = format!("{skew:+.2}s from this machine");
        v.push(if skew.abs() > 10.0 {
            Check::fail(
                "clock",
                detail,
                "synchronise the clock (systemd-timesyncd, chrony)",
            )
        } else if skew.abs() > 1.0 {
            Check::warn(
                "clock",
                detail,
                "synchronise the clock (systemd-timesyncd, chrony)",
            )
        } else {
            Check::pass("clock", detail)
        });
    }
    let Some(t) = h.transport.as_ref() else {
        return v;
    };
    for spec in ctx.plan.instances_on(&h.node.name) {
        let spec = h.spec(spec);
        let name = format!("component {}", spec.component);
        let existing = facts
            .containers
            .get(&spec.component)
            .and_then(|e| e.as_ref());
        let Some(e) = existing else {
            v.push(Check::fail(
                name,
                format!("container {} does not exist", spec.name),
                "rwin up",
            ));
            continue;
        };
        if !e.running {
            v.push(Check::fail(
                name,
                format!(
                    "{} is not running ({} restarts)",
                    spec.name, e.restart_count
                ),
                format!("rwin up (starts it); its logs: docker logs {}", spec.name),
            ));
            continue;
        }
        let stale = e.hash.as_deref() != Some(spec.hash.as_str());
        let health = ctx
            .plan
            .components
            .iter()
            .find(|c| c.name == spec.component)
            .and_then(|c| c.health.clone());
        let verdict = match (health, h.docker.as_ref()) {
            (None, _) => Ok("running, no health check".to_string()),
            // WinRM carries no streams to probe with; `up` runs the check in its script.
            (Some(_), None) => Ok("running (health not probed over WinRM)".to_string()),
            (Some(hc), Some(docker)) => {
                let check = phases::health_check_for(ctx, h, spec, &hc.check).await;
                match check {
                    Ok(check) => wait_healthy(
                        t.as_ref(),
                        docker,
                        &spec.name,
                        &check,
                        Duration::from_secs(3),
                        Duration::from_millis(500),
                    )
                    .await
                    .map(|_| "running and healthy".to_string()),
                    Err(e) => Err(e),
                }
            }
        };
        let restarts = format!("{} restarts", e.restart_count);
        v.push(match verdict {
            Err(err) => Check::fail(
                name,
                format!("{} {err}", spec.name),
                format!(
                    "docker logs {} on the host; rwin up replaces it once fixed",
                    spec.name
                ),
            ),
            Ok(text) if stale => Check::warn(
                name,
                format!("{text}, {restarts}, but its configuration is out of date"),
                "rwin up (replaces it)",
            ),
            Ok(text) if e.restart_count > 0 => Check::warn(
                name,
                format!("{text}, {restarts}"),
                format!("docker logs {}", spec.name),
            ),
            Ok(text) => Check::pass(name, format!("{text}, {restarts}")),
        });
    }
    v.extend(service_checks(ctx, h, facts));
    v.push(if facts.orphans.is_empty() {
        Check::pass("no orphans", "every rwin container belongs to a component")
    } else {
        Check::fail(
            "no orphans",
            format!(
                "rwin containers no component claims: {}",
                facts.orphans.join(", ")
            ),
            "rwin up (removes them)",
        )
    });
    v
}

/// Windows service components (seed 002: `Get-Service rancher-agent`): each running, and no
/// rwin service that no component claims (seed 003's orphaned host processes).
fn service_checks(ctx: &phases::RunContext, h: &Host, facts: &phases::HostFacts) -> Vec<Check> {
    let Some(w) = facts.os.windows() else {
        return Vec::new();
    };
    let planned: Vec<&crate::os::windows::ServiceSpec> = ctx
        .plan
        .components
        .iter()
        .flat_map(|c| c.services.iter())
        .filter(|s| s.node == h.node.name)
        .map(|s| &s.spec)
        .collect();
    let mut v = Vec::new();
    for spec in &planned {
        let svc = &spec.name;
        let name = format!("service {svc}");
        v.push(
            match facts
                .services
                .get(&spec.name)
                .and_then(|f| f.status.as_deref())
            {
                Some("Running") => Check::pass(name, "running"),
                Some(other) => Check::fail(
                    name,
                    other.to_string(),
                    format!(
                        "rwin up (starts it); its logs: C:\\ProgramData\\rwin\\{}",
                        spec.component
                    ),
                ),
                None => Check::fail(name, "not installed", "rwin up"),
            },
        );
    }
    let orphans: Vec<&str> = w
        .services
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| n.starts_with("rwin-"))
        .filter(|n| !planned.iter().any(|p| p.name == *n))
        .collect();
    if !orphans.is_empty() {
        v.push(Check::fail(
            "no orphaned services",
            format!("rwin services no component claims: {}", orphans.join(", ")),
            "stop and delete them on the host (Stop-Service; sc.exe delete NAME), or take the node out with rwin remove-host",
        ));
    }
    v
}

struct Probe {
    checks: Vec<(String, Check)>,
    /// from → to → reached
    matrix: std::collections::BTreeMap<String, std::collections::BTreeMap<String, bool>>,
}

impl Probe {
    fn render(&self) -> String {
        let names: Vec<&String> = self.matrix.keys().collect();
        let mut out = format!("pod-to-pod probe (row reaches column):\n{:>12}", "");
        for n in &names {
            out.push_str(&format!(" {n:>8}"));
        }
        out.push('\n');
        for from in &names {
            out.push_str(&format!("{from:>12}"));
            for to in &names {
                let cell = if from == to {
                    "-"
                } else if self.matrix[*from].get(*to).copied().unwrap_or(false) {
                    "✔"
                } else {
                    "✘"
                };
                out.push_str(&format!(" {cell:>8}"));
            }
            out.push('\n');
        }
        out
    }
}

const PROBE: &str = "rwin-probe";

/// Start a small container on every reachable node's pod network and ping each from each.
async fn probe(ctx: &phases::RunContext, hosts: &[Host], image: Option<&str>) -> Probe {
    let mut checks = Vec::new();
    let mut matrix = std::collections::BTreeMap::new();
    let image = image.map(str::to_string).or_else(|| {
        ctx.plan
            .components
            .iter()
            .flat_map(|c| c.instances.iter())
            .find(|i| i.spec.network == NetworkMode::Pod)
            .map(|i| i.spec.image.clone())
    });
    if ctx.config.network.container_engine == crate::config::ContainerEngine::None {
        checks.push((
            "cluster".to_string(),
            Check::warn(
                "probe",
                "network.container_engine is none: there is no engine to run a probe container",
                "probe from the hosts themselves (ping another node's gateway address)",
            ),
        ));
        return Probe { checks, matrix };
    }
    let Some(image) = image else {
        checks.push((
            "cluster".to_string(),
            Check::fail(
                "probe",
                "no image to probe with",
                "pass --probe-image IMAGE (it needs sleep and ping)",
            ),
        ));
        return Probe { checks, matrix };
    };
    let ready: Vec<&Host> = hosts
        .iter()
        .filter(|h| h.ok() && h.changes.network.is_none())
        .collect();
    let mut ips = Vec::new();
    for h in &ready {
        // A Windows host runs its own build's image of the pod component.
        let host_image = ctx
            .plan
            .instances_on(&h.node.name)
            .map(|s| h.spec(s))
            .find(|s| s.network == NetworkMode::Pod && h.specs.contains_key(&s.component))
            .map(|s| s.image.clone())
            .unwrap_or_else(|| image.clone());
        let Some(docker) = h.docker.as_ref() else {
            let spec = probe_spec(ctx, h, &host_image);
            match winrm_probe::start(ctx, h, &spec).await {
                Ok(ip) => ips.push((h.node.name.clone(), ip)),
                Err(e) => checks.push((
                    h.node.name.clone(),
                    Check::fail("probe", e, "check --probe-image; then doctor --probe again"),
                )),
            }
            continue;
        };
        let spec = probe_spec(ctx, h, &host_image);
        let started = ensure::apply(
            docker,
            &spec,
            &ensure::ContainerChange::Create,
            &ctx.config.registries,
        )
        .await;
        match started {
            Ok(()) => match ensure::container_ip(docker, PROBE, POD_NETWORK).await {
                Some(ip) => ips.push((h.node.name.clone(), ip)),
                None => checks.push((
                    h.node.name.clone(),
                    Check::fail(
                        "probe",
                        "the probe container got no address",
                        "rwin up; then doctor --probe again",
                    ),
                )),
            },
            Err(e) => checks.push((
                h.node.name.clone(),
                Check::fail("probe", e, "check --probe-image"),
            )),
        }
    }
    for (from, _) in &ips {
        let Some(h) = ready.iter().find(|h| &h.node.name == from) else {
            continue;
        };
        let mut row = std::collections::BTreeMap::new();
        let mut unreachable = Vec::new();
        let others: Vec<&(String, String)> = ips.iter().filter(|(to, _)| to != from).collect();
        let by_script = match h.docker.as_ref() {
            Some(_) => None,
            None => Some(winrm_probe::pings(h, &others).await),
        };
        for (to, ip) in others {
            if let Some(answers) = &by_script {
                let ok = answers.iter().any(|(a, ok)| a == ip && *ok);
                if !ok {
                    unreachable.push(format!("{to} ({ip})"));
                }
                row.insert(to.clone(), ok);
                continue;
            }
            let Some(docker) = h.docker.as_ref() else {
                continue;
            };
            let ping = crate::config::HealthCheck::Exec(vec![
                "ping".into(),
                "-c".into(),
                "1".into(),
                "-W".into(),
                "2".into(),
                ip.clone(),
            ]);
            let ok = match h.transport.as_ref() {
                Some(t) => wait_healthy(
                    t.as_ref(),
                    docker,
                    PROBE,
                    &ping,
                    Duration::from_secs(3),
                    Duration::from_millis(500),
                )
                .await
                .is_ok(),
                None => false,
            };
            if !ok {
                unreachable.push(format!("{to} ({ip})"));
            }
            row.insert(to.clone(), ok);
        }
        checks.push((
            from.clone(),
            if unreachable.is_empty() {
                Check::pass(
                    "probe",
                    format!("a pod here reaches pods on all {} other nodes", row.len()),
                )
            } else {
                Check::fail(
                    "probe",
                    format!("a pod here cannot reach {}", unreachable.join(", ")),
                    "check the routes, forwarding and firewall rows of both nodes",
                )
            },
        ));
        matrix.insert(from.clone(), row);
    }
    for h in &ready {
        match h.docker.as_ref() {
            Some(docker) => {
                let _ = ensure::remove(docker, PROBE).await;
            }
            None => winrm_probe::remove(h).await,
        }
    }
    Probe { checks, matrix }
}

fn probe_spec(
    ctx: &phases::RunContext,
    h: &Host,
    image: &str,
) -> crate::docker::spec::ContainerSpec {
    let mut spec = crate::docker::spec::ContainerSpec {
        name: PROBE.into(),
        component: "probe".into(),
        node: h.node.name.clone(),
        image: image.to_string(),
        entrypoint: None,
        command: vec!["sleep".into(), "120".into()],
        env: Default::default(),
        binds: Vec::new(),
        ports: Vec::new(),
        network: NetworkMode::Pod,
        privileged: false,
        restart: "no".into(),
        labels: Default::default(),
        hash: String::new(),
    };
    // Labelled as rwin's, so a probe left behind by an interrupted doctor is found and removed.
    spec.labels.insert(
        crate::docker::LABEL_CLUSTER.into(),
        ctx.plan.cluster_name.clone(),
    );
    spec.labels
        .insert(crate::docker::LABEL_COMPONENT.into(), "probe".into());
    spec
}

/// The probe on hosts without the Docker API: the docker CLI in scripts.
mod winrm_probe {
    use super::{Host, PROBE};
    use crate::commands::doctor::phases::RunContext;
    use crate::docker::cli;
    use crate::docker::ensure::ContainerChange;

    async fn run(h: &Host, script: &str) -> Result<String, String> {
        let t = h.transport.as_ref().ok_or("not connected")?;
        let command = crate::os::script_command(h.node.os, &h.node.node.user)?;
        let out = t
            .exec(&command, Some(script.as_bytes()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(out.stdout)
    }

    pub async fn start(
        ctx: &RunContext,
        h: &Host,
        spec: &crate::docker::spec::ContainerSpec,
    ) -> Result<String, String> {
        // A Windows image has no `sleep`: the probe keeps running on Windows' ping instead.
        let spec = crate::docker::spec::ContainerSpec {
            command: cli::probe::KEEP_ALIVE.map(String::from).to_vec(),
            ..spec.clone()
        };
        let script = cli::ensure_script(
            &spec,
            &ContainerChange::Create,
            &ctx.config.registries,
            None,
            cli::Isolation::Default,
        )?;
        let out = run(h, script.text()).await?;
        if !cli::succeeded(&out) {
            return Err("the probe container did not start".into());
        }
        let ip = run(h, &cli::probe::address_script(PROBE)).await?;
        let ip = ip.trim().to_string();
        if ip.is_empty() {
            return Err("the probe container got no address".into());
        }
        Ok(ip)
    }

    pub async fn pings(h: &Host, to: &[&(String, String)]) -> Vec<(String, bool)> {
        let addresses: Vec<String> = to.iter().map(|(_, ip)| ip.clone()).collect();
        match run(h, &cli::probe::ping_script(PROBE, &addresses)).await {
            Ok(out) => cli::probe::parse_pings(&out),
            Err(_) => Vec::new(),
        }
    }

    pub async fn remove(h: &Host) {
        if let Ok(script) = cli::remove_script(&[PROBE.to_string()]) {
            let _ = run(h, &script).await;
        }
    }
}

#[cfg(test)]
#[path = "doctor_tests.rs"]
mod tests;
