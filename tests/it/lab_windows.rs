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
fn mixed_lab_end_to_end() {
    if std::env::var_os("RWIN_SKIP_LAB").is_some() {
        eprintln!("SKIPPED mixed_lab_end_to_end: RWIN_SKIP_LAB is set (the lab tests did not run)");
        return;
    }
    assert!(is_root(), "the lab test needs root (network namespaces, dockerd); run `sudo cargo test`, or set RWIN_SKIP_LAB=1 to skip it knowingly");
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
    assert!(
        win2["round_trips"].as_u64().unwrap_or(99) <= 6,
        "a full up over WinRM takes at most 6 commands: {win2}"
    );

    step(2, "etcd is healthy on the Linux hosts");
    let health = lab.exec(
        "lin1",
        &[
            "docker",
            "exec",
            "rwin-etcd",
            "etcdctl",
            "--endpoints",
            "http://10.77.0.11:2379,http://10.77.0.12:2379",
            "endpoint",
            "health",
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

    step(4, "the Windows state shows RRAS, IPEnableRouter, firewall rule, network, routes, metadata/DNS routes and NAT");
    for h in ["win1", "win2"] {
        let st = windows_state(&lab, h);
        let text = st.to_string();
        eprintln!("{h} state: {text}");
        for needle in [
            "IPEnableRouter",
            "rwin-lab",
            "169.254.169.250/32",
            "169.254.169.251/32",
            "RoutingOnly",
        ] {
            assert!(text.contains(needle), "{h}: state mentions {needle}");
        }
        for (other, _) in ips.iter().filter(|(o, _)| o != h) {
            let _ = other;
        }
    }

    step(
        5,
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
    let _ = before;
}
