//! A mixed lab end to end: lin1, lin2 (real sshd + dockerd) and win1, win2 (winsim, the Windows
//! Server 2022 simulator in tests/winsim, each in its own namespace with its own dockerd).
//! win1 is reached over OpenSSH (Docker API through `docker system dial-stdio`), win2 over
//! WinRM on HTTP with NTLM message encryption (Docker through the docker CLI in scripts).
//! What this proves and what it cannot (no real Windows): tests/winsim/README.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::common::{repo, rwin};
use super::lab::{is_root, step, Lab, LAB_LOCK};

const PODS: [&str; 4] = ["lin1", "lin2", "win1", "win2"];

/// The winsim binary cargo built next to this test binary (target/<profile>/winsim).
fn winsim_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    profile_dir.join("winsim")
}

struct Up {
    code: i32,
    json: serde_json::Value,
    stderr: String,
}

fn up(dir: &Path, registry_password: &str, winrm_password: &str) -> Up {
    up_with(dir, registry_password, winrm_password, &[])
}

fn up_with(dir: &Path, registry_password: &str, winrm_password: &str, extra: &[&str]) -> Up {
    let out = rwin()
        .args([
            "--known-hosts",
            &dir.join("known_hosts").display().to_string(),
            "--accept-new-host-keys",
            "--output",
            "json",
            "up",
            &dir.join("cluster.yml").display().to_string(),
        ])
        .args(extra)
        .env("REGISTRY_PASSWORD", registry_password)
        .env("WINRM_PASSWORD", winrm_password)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .expect("rwin runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("rwin up exit {:?}\n{stdout}\n{stderr}", out.status.code());
    for secret in [registry_password, winrm_password] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a password leaked into rwin's output"
        );
    }
    Up {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stderr,
    }
}

fn host<'a>(json: &'a serde_json::Value, node: &str) -> &'a serde_json::Value {
    json["hosts"]
        .as_array()
        .and_then(|hs| hs.iter().find(|h| h["node"] == node))
        .unwrap_or_else(|| panic!("{node} in the summary: {json}"))
}

/// winsim's Windows state of `host`, as `winsim state` prints it.
fn windows_state(lab: &Lab, host: &str) -> serde_json::Value {
    let file = lab.run_dir.join(format!("hosts/{host}/winsim-state.json"));
    let out = Command::new(winsim_bin())
        .args(["state", "--file", &file.display().to_string()])
        .output()
        .expect("winsim state runs");
    assert!(out.status.success(), "winsim state: {out:?}");
    serde_json::from_slice(&out.stdout).expect("winsim state prints JSON")
}

#[test]
#[cfg_attr(rwin_skip_lab, ignore = "RWIN_SKIP_LAB=1: the lab tests were not run")]
fn mixed_lab_end_to_end() {
    assert!(is_root(), "the lab test needs root (network namespaces, dockerd); run the README's test command (as root, or with cargo's runner set to `sudo -E`), or set RWIN_SKIP_LAB=1 to skip it knowingly (it then shows as ignored)");
    let _lab = LAB_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        winsim_bin().is_file(),
        "winsim is not built at {} (cargo test builds it as a workspace member)",
        winsim_bin().display()
    );

    let run_dir = repo().join("target/rwlab-mixed");
    let lab = Lab {
        run_dir: run_dir.clone(),
    };
    let _ = lab.cmd(&["down"]);
    let out = Command::new(repo().join("lab/lab.sh"))
        .args(["up", "2", "--windows=2"])
        .env("RWLAB_RUN", &run_dir)
        .env("WINSIM_BIN", winsim_bin())
        .output()
        .expect("lab.sh runs");
    assert!(
        out.status.success(),
        "lab.sh up 2 --windows=2:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| {
        std::fs::read_to_string(run_dir.join(f))
            .unwrap_or_else(|e| panic!("lab wrote {f}: {e}"))
            .trim()
            .to_string()
    };
    let registry_password = read("registry-password");
    let winrm_password = read("winsim-password");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(d.join("cluster.yml"), read("cluster.yml")).unwrap();
    let before: Vec<serde_json::Value> = ["win1", "win2"]
        .iter()
        .map(|h| windows_state(&lab, h))
        .collect();

    step(
        1,
        "mixed up: 2 Linux + 2 winsim hosts (win1 over SSH, win2 over WinRM/NTLM)",
    );
    let t0 = std::time::Instant::now();
    let r = up(d, &registry_password, &winrm_password);
    eprintln!("mixed cold up: {:.2}s", t0.elapsed().as_secs_f64());
    assert_eq!(r.code, 0, "mixed up failed: {}", r.stderr);
    for n in PODS {
        let h = host(&r.json, n);
        assert_eq!(h["ok"], true, "{n}: {h}");
        eprintln!(
            "{n}: round trips {} (HTTP requests {})",
            h["round_trips"], h["wire_requests"]
        );
    }
    let win2 = host(&r.json, "win2");
    // One more than before issue 12 §2: win2's dockerd starts without the image, and its pull
    // is a command of its own (its own time limit, --pull-timeout).
    assert!(
        win2["round_trips"].as_u64().unwrap_or(99) <= 7,
        "a full up over WinRM takes at most 7 commands, the image pull one of them: {win2}"
    );

    step(2, "etcd is healthy on the Linux hosts");
    let health = lab.exec(
        "lin1",
        &[
            "sh",
            "-c",
            // etcdctl 3.4 reports endpoint health on stderr.
            "docker exec rwin-etcd /usr/bin/etcdctl --endpoints=http://10.77.0.11:2379,http://10.77.0.12:2379 endpoint health 2>&1",
        ],
    );
    assert_eq!(health.matches("is healthy").count(), 2, "{health}");

    step(
        3,
        "every pod reaches every other pod, Linux <-> Windows included",
    );
    let ips: Vec<(String, String)> = PODS
        .iter()
        .map(|h| (h.to_string(), lab.pod_ip(h)))
        .collect();
    for (from, _) in &ips {
        for (to, ip) in &ips {
            if from == to {
                continue;
            }
            assert!(!ip.is_empty(), "{to} has a pod address");
            let ok = lab.try_exec(
                from,
                &[
                    "docker", "exec", "rwin-web", "ping", "-c", "1", "-W", "3", ip,
                ],
            );
            assert!(ok, "pod on {from} cannot reach pod on {to} ({ip})");
        }
    }

    step(
        4,
        "published port 8080 reaches the pod on every node from outside (Docker on Linux, RRAS NAT on Windows)",
    );
    for (n, ip) in [
        ("lin1", "10.77.0.11"),
        ("lin2", "10.77.0.12"),
        ("win1", "10.77.0.201"),
        ("win2", "10.77.0.202"),
    ] {
        let answer = http_get(ip, 8080);
        assert!(
            answer.starts_with("HTTP/1."),
            "{n}: {ip}:8080 answers HTTP from the pod: {answer:?}"
        );
    }

    step(5, "the Windows state shows RRAS, IPEnableRouter, the firewall rule, the network, routes, metadata/DNS routes and NAT");
    let subnets: Vec<(String, String)> = PODS
        .iter()
        .map(|n| {
            let h = host(&r.json, n);
            (
                h["subnet"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{n}: the up report has its subnet: {h}"))
                    .to_string(),
                h["route_ip"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{n}: the up report has its route IP: {h}"))
                    .to_string(),
            )
        })
        .collect();
    for (k, h) in ["win1", "win2"].iter().enumerate() {
        let st = windows_state(&lab, h);
        let (own_subnet, _) = &subnets[2 + k];
        assert_eq!(st["features"]["Routing"], "Installed", "{h}: {st}");
        assert_eq!(st["remote_access"], "RoutingOnly", "{h}");
        assert_eq!(
            st["registry"]["SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters"]
                ["IPEnableRouter"],
            1,
            "{h}"
        );
        let ra = st["services"]
            .as_array()
            .and_then(|v| v.iter().find(|s| s["name"] == "RemoteAccess"))
            .unwrap_or_else(|| panic!("{h}: RemoteAccess service"));
        assert_eq!(
            (&ra["status"], &ra["start_type"]),
            (&"Running".into(), &"Automatic".into()),
            "{h}"
        );
        let rule = &st["firewall_rules"][0];
        assert_eq!(rule["name"], "rwin-lab", "{h}");
        assert!(
            rule["remote_address"].to_string().contains("10.42.0.0/16"),
            "{h}: {rule}"
        );
        let net = &st["networks"][0];
        assert_eq!(
            (&net["driver"], &net["subnet"]),
            (&"transparent".into(), &own_subnet.as_str().into()),
            "{h}"
        );
        assert!(st["nat_installed"] == true, "{h}: RRAS NAT");
        assert!(
            st["nat_interfaces"].to_string().contains("\"full\""),
            "{h}: NAT on the route NIC"
        );
        let routes = st["routes"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{h}: winsim's state lists routes: {st}"));
        let has = |prefix: &str, hop: &str| {
            routes
                .iter()
                .any(|r| r["prefix"] == prefix && r["next_hop"] == hop)
        };
        for (subnet, via) in subnets.iter().filter(|(s, _)| s != own_subnet) {
            assert!(has(subnet, via), "{h}: route {subnet} via {via}");
        }
        assert!(has("169.254.169.250/32", "0.0.0.0"), "{h}: metadata route");
        assert!(has("169.254.169.251/32", "0.0.0.0"), "{h}: DNS route");
    }
    for h in ["win1", "win2"] {
        let st = windows_state(&lab, h);
        let svc = |name: &str| {
            st["services"]
                .as_array()
                .and_then(|v| v.iter().find(|s| s["name"] == name).cloned())
                .unwrap_or_else(|| panic!("{h}: service {name} in {}", st["services"]))
        };
        let (netsvc, agent) = (svc("rwin-netsvc"), svc("rwin-agent"));
        assert_eq!(netsvc["status"], "Running", "{h}: {netsvc}");
        assert_eq!(agent["status"], "Running", "{h}: {agent}");
        assert_eq!(agent["start_type"], "Automatic", "{h}: {agent}");
        assert!(
            agent["depend"].to_string().contains("rwin-netsvc"),
            "{h}: the agent depends on the network service: {agent}"
        );
        let want = sha256_file(&lab.run_dir.join("rwin-agent.exe"));
        let files = st["files"].to_string().to_lowercase();
        assert!(
            files.contains("rwin-agent.exe") && files.contains(&want),
            "{h}: the agent binary is uploaded with its SHA-256 {want}: {files}"
        );
        assert!(
            st["port_mappings"].to_string().contains("8080"),
            "{h}: RRAS NAT port mapping for 8080: {}",
            st["port_mappings"]
        );
    }
    let routes = lab.exec("lin1", &["ip", "route"]);
    for (subnet, via) in &subnets[2..] {
        assert!(
            routes.contains(&format!("{subnet} via {via}")),
            "lin1 routes to Windows subnets: {routes}"
        );
    }

    step(
        6,
        "a second up changes nothing (and costs at most 2 commands over WinRM)",
    );
    let r = up(d, &registry_password, &winrm_password);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for n in PODS {
        let h = host(&r.json, n);
        assert_eq!(
            h["applied"].as_array().map(Vec::len),
            Some(0),
            "{n} changed nothing: {h}"
        );
    }
    let win2 = host(&r.json, "win2");
    eprintln!(
        "no-op up, win2: round trips {} (HTTP requests {})",
        win2["round_trips"], win2["wire_requests"]
    );
    assert!(
        win2["round_trips"].as_u64().unwrap_or(99) <= 2,
        "a no-op up over WinRM takes at most 2 commands: {win2}"
    );

    step(
        7,
        "new DNS servers for the Windows networks: up recreates each network with rwin's containers on it, replacing them, then converges",
    );
    // Docker removes no network with endpoints, so the apply script must take rwin's
    // containers off the old network first (before, this up failed at `docker network rm`).
    let ids_before: Vec<String> = ["win1", "win2"]
        .iter()
        .map(|h| lab.exec(h, &["docker", "inspect", "-f", "{{.Id}}", "rwin-web"]))
        .collect();
    let config = std::fs::read_to_string(d.join("cluster.yml")).unwrap();
    let with_dns = config.replacen(
        "network:\n",
        "network:\n  windows_dns_servers: [192.0.2.53, 192.0.2.54]\n",
        1,
    );
    assert_ne!(
        with_dns, config,
        "the lab's cluster.yml has a network section"
    );
    std::fs::write(d.join("cluster.yml"), &with_dns).unwrap();
    let r = up(d, &registry_password, &winrm_password);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (i, h) in ["win1", "win2"].iter().enumerate() {
        let st = windows_state(&lab, h);
        let opts = &st["networks"][0]["options"];
        assert_eq!(
            opts["com.docker.network.windowsshim.dnsservers"], "192.0.2.53,192.0.2.54",
            "{h}: the recreated network carries the configured DNS servers: {opts}"
        );
        let id = lab.exec(h, &["docker", "inspect", "-f", "{{.Id}}", "rwin-web"]);
        assert_ne!(
            id, ids_before[i],
            "{h}: rwin-web was replaced on the new network"
        );
    }
    let r = up(d, &registry_password, &winrm_password);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for n in PODS {
        let h = host(&r.json, n);
        assert_eq!(
            h["applied"].as_array().map(Vec::len),
            Some(0),
            "{n} changed nothing after the network was recreated: {h}"
        );
    }

    step(
        8,
        "secrets never show: registry and WinRM passwords and an SSH key passphrase, in plan -v, up -v, JSON and the state file",
    );
    let key = d.join("id_ed25519_pass");
    std::fs::copy(lab.run_dir.join("id_ed25519"), &key).expect("copy the lab key");
    let passphrase = "correct horse battery staple 42";
    let ok = Command::new("ssh-keygen")
        .args([
            "-q",
            "-p",
            "-N",
            passphrase,
            "-f",
            &key.display().to_string(),
        ])
        .status()
        .expect("ssh-keygen")
        .success();
    assert!(ok, "a passphrase-protected copy of the lab key");
    let config = std::fs::read_to_string(d.join("cluster.yml")).unwrap();
    let secret_config = config.replace(
        &format!("ssh_key_path: {}", lab.run_dir.join("id_ed25519").display()),
        &format!(
            "ssh_key_path: {}\nssh_key_passphrase_env: KEY_PASSPHRASE",
            key.display()
        ),
    );
    assert_ne!(secret_config, config, "the config names the lab key");
    std::fs::write(d.join("secret.yml"), &secret_config).unwrap();
    std::fs::copy(d.join("cluster.rwinstate"), d.join("secret.rwinstate")).unwrap();
    // win2's pod container goes, so the -v up below recreates it with a script over WinRM that
    // logs in to the registry: the secrets are looked for in a script that handles one.
    lab.exec("win2", &["docker", "rm", "-f", "rwin-web"]);
    let mut seen = String::new();
    for args in [
        vec!["-v", "plan"],
        vec!["-v", "up"],
        vec!["--output", "json", "up"],
        vec!["-v", "doctor"],
    ] {
        let out = rwin()
            .args([
                "--known-hosts",
                &d.join("known_hosts").display().to_string(),
            ])
            .args(&args)
            .arg(d.join("secret.yml"))
            .env("REGISTRY_PASSWORD", &registry_password)
            .env("WINRM_PASSWORD", &winrm_password)
            .env("KEY_PASSPHRASE", passphrase)
            .timeout(std::time::Duration::from_secs(180))
            .output()
            .expect("rwin runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "rwin {args:?} with the passphrase key: {out:?}"
        );
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    seen.push_str(
        &std::fs::read_to_string(d.join("secret.rwinstate"))
            .expect("the runs with the passphrase key wrote their state file"),
    );
    // -v prints every script it runs; on this converged cluster that is win2's component
    // scripts over WinRM (they log in to the registry), which is where a password could leak.
    assert!(
        seen.contains("win2: running\n"),
        "the -v up printed win2's component script, so the secrets were looked for in it too"
    );
    assert!(
        seen.contains("remote round trips: "),
        "the -v runs' own detail lines are in what was searched"
    );
    for (what, secret) in [
        ("registry password", registry_password.as_str()),
        ("WinRM password", winrm_password.as_str()),
        ("key passphrase", passphrase),
    ] {
        assert!(
            !seen.contains(secret),
            "the {what} leaked into output or state"
        );
    }

    step(
        9,
        "doctor --probe on the healthy mixed cluster: all green, and every pod reaches every other",
    );
    let doc = doctor(d, &registry_password, &winrm_password, &["--probe"]);
    assert_eq!(doc.code, 0, "{}", doc.stdout);
    for from in PODS {
        for to in PODS.iter().filter(|t| **t != from) {
            assert_eq!(
                doc.json["probe"][from][to], true,
                "probe {from} -> {to}: {}",
                doc.json["probe"]
            );
        }
    }

    step(
        10,
        "Windows faults one by one: doctor names each with its fix, up repairs it",
    );
    let faults: [(&str, &str, &str, &str); 5] = [
        (
            "win2",
            "Stop-Service -Name 'RemoteAccess'",
            "RemoteAccess service",
            "rwin up",
        ),
        (
            "win1",
            "Remove-NetFirewallRule -Name 'rwin-lab'",
            "firewall rule",
            "rwin up",
        ),
        (
            "win2",
            "Remove-NetRoute -DestinationPrefix '10.42.0.0/24' -Confirm:$false",
            "routes to other nodes",
            "rwin up",
        ),
        (
            "win1",
            "Remove-NetIPAddress -IPAddress '10.42.2.1' -Confirm:$false",
            "gateway on the container adapter",
            "rwin up",
        ),
        (
            "win2",
            "Stop-Service -Name 'rwin-agent'",
            "service rwin-agent",
            "rwin up",
        ),
    ];
    for (h, script, check, fix) in faults {
        eprintln!("fault on {h}: {script}");
        inject(&lab, h, script);
        let doc = doctor(d, &registry_password, &winrm_password, &[]);
        assert_eq!(doc.code, 1, "doctor finds the fault: {}", doc.stdout);
        let failed = failed(&doc.json);
        assert!(
            failed
                .iter()
                .any(|(n, c, fx)| n == h && c == check && fx.contains(fix)),
            "doctor names `{check}` on {h} with fix `{fix}`: {failed:?}"
        );
        let r = up(d, &registry_password, &winrm_password);
        assert_eq!(r.code, 0, "up repairs it: {}", r.stderr);
        assert!(
            !host(&r.json, h)["applied"]
                .as_array()
                .map(Vec::is_empty)
                .unwrap_or(true),
            "up reports the repair on {h}"
        );
        let doc = doctor(d, &registry_password, &winrm_password, &[]);
        assert_eq!(doc.code, 0, "repaired: {:?}", failed_of(&doc));
    }

    step(
        11,
        "--allow-reboot: a change that needs a reboot restarts the host once, and the run carries on",
    );
    // IPEnableRouter back to 0: setting it again takes full effect only after a reboot.
    inject(
        &lab,
        "win2",
        "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters' -Name 'IPEnableRouter' -Value 0 -Type DWord",
    );
    let r = up_with(d, &registry_password, &winrm_password, &["--allow-reboot"]);
    assert_eq!(r.code, 0, "up with --allow-reboot converges: {}", r.stderr);
    let applied = host(&r.json, "win2")["applied"].to_string();
    assert_eq!(
        applied
            .matches("rebooted (--allow-reboot), facts read again")
            .count(),
        1,
        "win2 was restarted exactly once: {applied}"
    );
    assert!(
        applied.contains("IPEnableRouter=1"),
        "and IPEnableRouter set again: {applied}"
    );
    let st = windows_state(&lab, "win2");
    assert_eq!(
        st["registry"]["SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters"]["IPEnableRouter"],
        1
    );
    let doc = doctor(d, &registry_password, &winrm_password, &[]);
    assert_eq!(
        doc.code,
        0,
        "all green after the reboot: {:?}",
        failed_of(&doc)
    );

    step(
        12,
        "remove-host win2: its Windows state is back to what it was, and nobody routes to it",
    );
    let out = rwin()
        .args([
            "--known-hosts",
            &d.join("known_hosts").display().to_string(),
            "--yes",
            "remove-host",
            "win2",
            "--edit-config",
            &d.join("cluster.yml").display().to_string(),
        ])
        .env("REGISTRY_PASSWORD", &registry_password)
        .env("WINRM_PASSWORD", &winrm_password)
        .timeout(std::time::Duration::from_secs(180))
        .output()
        .expect("rwin runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert_eq!(out.status.code(), Some(0), "remove-host win2: {text}");
    for why in [
        "win2: IPEnableRouter is back to 0; it takes full effect after a reboot",
        "win2: removing Windows features completes at the next reboot",
    ] {
        assert!(
            text.contains(why),
            "the needed reboot is reported: `{why}` in {text}"
        );
    }
    let after = windows_state(&lab, "win2");
    let fresh = &before[1];
    for key in [
        "features",
        "remote_access",
        "nat_installed",
        "nat_interfaces",
        "port_mappings",
        "firewall_rules",
        "networks",
        "addresses",
    ] {
        assert_eq!(after[key], fresh[key], "win2 {key} is back as it was");
    }
    // The loopback adapter rwin made for the container network is gone, and so is its vEthernet.
    let adapters = |st: &serde_json::Value| -> Vec<String> {
        st["adapters"]
            .as_array()
            .map(|a| a.iter().map(|x| x["name"].to_string()).collect())
            .expect("winsim's state lists adapters")
    };
    assert_eq!(
        adapters(&after),
        adapters(fresh),
        "win2 adapters are back as they were"
    );
    let prefixes = |st: &serde_json::Value| {
        let mut v: Vec<String> = st["routes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| format!("{} via {}", r["prefix"], r["next_hop"]))
                    .collect()
            })
            .expect("winsim's state lists routes");
        v.sort();
        v
    };
    assert_eq!(
        prefixes(&after),
        prefixes(fresh),
        "win2 routes are back as they were"
    );
    let ipr = |st: &serde_json::Value| {
        st["registry"]["SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters"]["IPEnableRouter"]
            .as_u64()
            .expect("winsim's registry holds IPEnableRouter")
    };
    assert_eq!(ipr(fresh), 0, "a fresh host does not route");
    assert_eq!(ipr(&after), 0, "IPEnableRouter is back to 0");
    let names = |st: &serde_json::Value| -> Vec<String> {
        st["services"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        s["name"]
                            .as_str()
                            .expect("a service has a name")
                            .to_string()
                    })
                    .collect()
            })
            .expect("winsim's state lists services")
    };
    assert!(
        !names(&after).iter().any(|n| n.starts_with("rwin-")),
        "no rwin service left on win2: {:?}",
        names(&after)
    );
    assert_eq!(
        after["files"], fresh["files"],
        "win2 files and directories are back as they were"
    );
    assert!(
        lab.containers("win2").is_empty(),
        "no container left on win2"
    );
    let win2_subnet = &subnets[3].0;
    assert!(
        !lab.exec("lin1", &["ip", "route"])
            .contains(win2_subnet.as_str()),
        "lin1 has no route to win2's subnet"
    );
    let win1 = windows_state(&lab, "win1");
    assert!(
        !win1["routes"].to_string().contains(win2_subnet.as_str()),
        "win1 has no route to win2's subnet"
    );
}

fn inject(lab: &Lab, host: &str, script: &str) {
    let state = lab.run_dir.join(format!("hosts/{host}/winsim-state.json"));
    let mut child = Command::new(repo().join("lab/lab.sh"))
        .args([
            "exec",
            host,
            &winsim_bin().display().to_string(),
            "run",
            "--state",
            &state.display().to_string(),
            "--",
            &rwin::powershell::script_command(),
        ])
        .env("RWLAB_RUN", &lab.run_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("winsim run");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    let out = child.wait_with_output().expect("winsim run ends");
    assert!(
        out.status.success(),
        "injecting `{script}` on {host}: {out:?}"
    );
}

struct Doctor {
    code: i32,
    stdout: String,
    json: serde_json::Value,
}

fn doctor(dir: &Path, registry_password: &str, winrm_password: &str, extra: &[&str]) -> Doctor {
    let mut args = vec![
        "--known-hosts".to_string(),
        dir.join("known_hosts").display().to_string(),
        "--output".into(),
        "json".into(),
        "doctor".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(dir.join("cluster.yml").display().to_string());
    let out = rwin()
        .args(&args)
        .env("REGISTRY_PASSWORD", registry_password)
        .env("WINRM_PASSWORD", winrm_password)
        .timeout(std::time::Duration::from_secs(180))
        .output()
        .expect("rwin runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Doctor {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stdout,
    }
}

/// (node, check, fix) of every failed check.
fn failed(json: &serde_json::Value) -> Vec<(String, String, String)> {
    json["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["mark"] == "✘")
                .map(|c| {
                    (
                        c["node"]
                            .as_str()
                            .expect("a check names its node")
                            .to_string(),
                        c["check"].as_str().expect("a check has a name").to_string(),
                        c["fix"]
                            .as_str()
                            .expect("a failed check has a fix")
                            .to_string(),
                    )
                })
                .collect()
        })
        .expect("doctor's JSON lists its checks")
}

fn failed_of(d: &Doctor) -> Vec<(String, String, String)> {
    failed(&d.json)
}

/// One HTTP request from this (the operator's) namespace; the status line, or the error.
fn http_get(ip: &str, port: u16) -> String {
    use std::io::{Read, Write};
    let addr = format!("{ip}:{port}");
    let attempt = || -> std::io::Result<String> {
        let sock = addr.parse().map_err(std::io::Error::other)?;
        let mut s = std::net::TcpStream::connect_timeout(&sock, std::time::Duration::from_secs(3))?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(3)))?;
        s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    attempt().unwrap_or_else(|e| format!("error: {e}"))
}

fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("sha256sum prints the hash")
        .to_string()
}
