//! `doctor --probe`: a small container on every ready node's pod network, each pinging every
//! other, as a matrix. Through the Docker API where there is one; on WinRM hosts through the
//! docker CLI in scripts (`docker::cli::probe`).

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::Docker;

use crate::config::{ContainerEngine, HealthCheck, NetworkMode};
use crate::docker::ensure;
use crate::docker::health::wait_healthy;
use crate::docker::spec::{ContainerSpec, POD_NETWORK};
use crate::os::Check;
use crate::phases::{self, Host};

/// from → to → reached
pub(super) type Matrix = BTreeMap<String, BTreeMap<String, bool>>;

pub(super) struct Probe {
    pub(super) checks: Vec<(String, Check)>,
    /// from → to → reached
    pub(super) matrix: Matrix,
}

const PROBE: &str = "rwin-probe";

/// Start a small container on every reachable node's pod network and ping each from each.
pub(super) async fn run(ctx: &phases::RunContext, hosts: &[Host], image: Option<&str>) -> Probe {
    let mut checks = Vec::new();
    let mut matrix = BTreeMap::new();
    let image = image.map(str::to_string).or_else(|| {
        ctx.plan
            .components
            .iter()
            .flat_map(|c| c.instances.iter())
            .find(|i| i.spec.network == NetworkMode::Pod)
            .map(|i| i.spec.image.clone())
    });
    if ctx.config.network.container_engine == ContainerEngine::None {
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
                "pass --probe-image IMAGE (it needs ping, and sleep on Linux)",
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
        match start(ctx, h, &image).await {
            Ok(ip) => ips.push((h.node.name.clone(), ip)),
            Err(check) => checks.push((h.node.name.clone(), check)),
        }
    }
    for (from, _) in &ips {
        let Some(h) = ready.iter().find(|h| &h.node.name == from) else {
            continue;
        };
        let (row, check) = ping_from(h, from, &ips).await;
        checks.push((from.clone(), check));
        matrix.insert(from.clone(), row);
    }
    for h in &ready {
        match h.docker_api() {
            Some(docker) => {
                let _ = ensure::remove(docker, PROBE).await;
            }
            None => winrm::remove(h).await,
        }
    }
    Probe { checks, matrix }
}

/// The probe container's address as its host reported it, read into an IPv4 address: it goes
/// into other hosts' ping commands, so host text that is not one never gets there.
fn probe_address(reported: &str) -> Result<String, Check> {
    reported
        .trim()
        .parse::<std::net::Ipv4Addr>()
        .map(|ip| ip.to_string())
        .map_err(|_| {
            Check::fail(
                "probe",
                format!(
                    "the probe container's address is not an IPv4 address: {:?}",
                    crate::ui::one_line(reported)
                ),
                "check the container engine on this host; then doctor --probe again",
            )
        })
}

/// Start the probe container on `h`: its address on the pod network, or the failed check.
async fn start(ctx: &phases::RunContext, h: &Host, image: &str) -> Result<String, Check> {
    // A Windows host runs its own build's image of the pod component.
    let host_image = ctx
        .plan
        .instances_on(&h.node.name)
        .map(|s| h.spec(s))
        .find(|s| s.network == NetworkMode::Pod && h.specs.contains_key(&s.component))
        .map(|s| s.image.clone())
        .unwrap_or_else(|| image.to_string());
    let spec = probe_spec(ctx, h, &host_image);
    let Some(docker) = h.docker_api() else {
        return winrm::start(ctx, h, &spec)
            .await
            .map_err(|e| Check::fail("probe", e, "check --probe-image; then doctor --probe again"))
            .and_then(|ip| probe_address(&ip));
    };
    let started = ensure::apply(
        docker,
        &spec,
        &ensure::ContainerChange::Create,
        &ctx.config.registries,
    )
    .await;
    match started {
        Ok(()) => match ensure::container_ip(docker, PROBE, POD_NETWORK).await {
            Some(ip) => probe_address(&ip),
            None => Err(Check::fail(
                "probe",
                "the probe container got no address",
                "rwin up; then doctor --probe again",
            )),
        },
        Err(e) => Err(Check::fail("probe", e, "check --probe-image")),
    }
}

/// Ping every other probe from `from`'s: its row of the matrix and its check.
async fn ping_from(
    h: &Host,
    from: &str,
    ips: &[(String, String)],
) -> (BTreeMap<String, bool>, Check) {
    let mut row = BTreeMap::new();
    let mut unreachable = Vec::new();
    let others: Vec<&(String, String)> = ips.iter().filter(|(to, _)| to.as_str() != from).collect();
    let by_script = match h.docker_api() {
        Some(_) => None,
        None => Some(winrm::pings(h, &others).await),
    };
    for (to, ip) in others {
        let ok = if let Some(answers) = &by_script {
            answers.iter().any(|(a, ok)| a == ip && *ok)
        } else {
            let Some(docker) = h.docker_api() else {
                continue;
            };
            docker_ping(h, docker, ip).await
        };
        if !ok {
            unreachable.push(format!("{to} ({ip})"));
        }
        row.insert(to.clone(), ok);
    }
    let check = if unreachable.is_empty() {
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
    };
    (row, check)
}

/// The ping the probe on `h` runs to reach `ip`, in the commands of `h`'s OS's images
/// (whichever way the engine is reached: the Docker API over OpenSSH, or scripts over WinRM).
fn ping_check(h: &Host, ip: &str) -> HealthCheck {
    HealthCheck::Exec(h.node.host_os.probe_ping(ip))
}

/// One ping from the probe on `h` to `ip`, through the Docker API.
async fn docker_ping(h: &Host, docker: &Docker, ip: &str) -> bool {
    let ping = ping_check(h, ip);
    match h.transport.as_ref() {
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
    }
}

fn probe_spec(ctx: &phases::RunContext, h: &Host, image: &str) -> ContainerSpec {
    let mut spec = ContainerSpec {
        name: PROBE.into(),
        component: "probe".into(),
        node: h.node.name.clone(),
        image: image.to_string(),
        entrypoint: None,
        command: h.node.host_os.probe_keep_alive(),
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
mod winrm {
    use super::{Host, PROBE};
    use crate::docker::cli;
    use crate::docker::ensure::ContainerChange;
    use crate::docker::spec::ContainerSpec;
    use crate::phases::RunContext;

    async fn run(h: &Host, script: &str) -> Result<String, String> {
        let t = h.transport.as_ref().ok_or("not connected")?;
        let command = h.node.host_os.script_command(&h.node.node.user);
        let out = t
            .exec(&command, Some(script.as_bytes()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(out.stdout)
    }

    pub async fn start(ctx: &RunContext, h: &Host, spec: &ContainerSpec) -> Result<String, String> {
        // Only Windows hosts lack the Docker API, and a Windows image has no `sleep`: the
        // probe keeps running on Windows' ping instead.
        let spec = ContainerSpec {
            command: cli::probe::KEEP_ALIVE.map(String::from).to_vec(),
            ..spec.clone()
        };
        // The pull is a command of its own, with its own time limit, as in `up`.
        crate::phases::pull_image(ctx, h, &spec.image).await?;
        let script = cli::ensure_script(
            &spec,
            &ContainerChange::Create,
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
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::commands::test_support::context;
    use crate::os::{linux, OsFacts};
    use crate::phases::HostFacts;
    use crate::state::State;

    const CONFIG: &str = "\
cluster_name: demo
ssh_agent_auth: true
nodes:
  - {address: 192.0.2.11, hostname_override: lin1, role: [etcd, controlplane, worker]}
  - {address: 192.0.2.21, hostname_override: win1, role: [worker], os: windows, connection: ssh, user: Administrator}
";

    fn read(os: OsFacts) -> Option<HostFacts> {
        Some(HostFacts {
            os,
            docker_version: "24.0.7".into(),
            network: None,
            containers: BTreeMap::new(),
            services: BTreeMap::new(),
            orphans: Vec::new(),
            images: None,
            received_at: 0.0,
        })
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    /// A Windows node over OpenSSH is probed through the Docker API: the probe container and
    /// its ping must be what a Windows image has (no `sleep`; ping takes `/n COUNT /w MS`), as
    /// over WinRM (`docker::cli::probe`). No test runs this path against winsim end to end
    /// (it needs the lab: the Docker API over SSH reaches winsim's dockerd through
    /// `docker system dial-stdio`), so the choice is checked here.
    #[test]
    fn a_windows_node_probed_through_the_api_runs_windows_commands() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(CONFIG, State::default(), dir.path());
        let mut hosts: Vec<Host> = ctx.plan.nodes.iter().map(Host::new).collect();
        hosts[0].facts = read(OsFacts::Linux(linux::LinuxFacts::default()));
        hosts[1].facts = read(OsFacts::Windows(Box::default()));
        let (lin, win) = (&hosts[0], &hosts[1]);
        assert_eq!(
            probe_spec(&ctx, win, "img").command,
            argv(&crate::docker::cli::probe::KEEP_ALIVE)
        );
        assert_eq!(
            format!("{:?}", ping_check(win, "10.42.0.2")),
            format!(
                "{:?}",
                HealthCheck::Exec(argv(&["ping", "/n", "1", "/w", "2000", "10.42.0.2"]))
            )
        );
        // Linux nodes keep Linux's commands.
        assert_eq!(
            probe_spec(&ctx, lin, "img").command,
            argv(&["sleep", "120"])
        );
        assert_eq!(
            format!("{:?}", ping_check(lin, "10.42.0.2")),
            format!(
                "{:?}",
                HealthCheck::Exec(argv(&["ping", "-c", "1", "-W", "2", "10.42.0.2"]))
            )
        );
    }

    /// A probe address is host text: only an IPv4 address reaches another host's ping.
    #[test]
    fn a_probe_address_that_is_not_ipv4_never_reaches_a_ping() {
        assert_eq!(
            probe_address(" 10.42.1.7\r\n").ok().as_deref(),
            Some("10.42.1.7")
        );
        for forged in [
            "10.42.1.7; calc",
            "$(calc)",
            "10.42.1.7\nRemove-Item C:\\",
            "",
        ] {
            let c = probe_address(forged).unwrap_err();
            assert!(c.detail.contains("not an IPv4 address"), "{c:?}");
        }
    }
}
