//! Commands against hosts that are gone: nothing listens at their address (127.0.0.1 on a
//! closed port), so every connection is refused at once.

use std::path::{Path, PathBuf};

use super::common::rwin;

/// A port on 127.0.0.1 that nothing listens on (bound once by the OS, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// cluster.yml with `nodes` (flow-style node entries), and its state file holding `gone`
/// (subnet 10.42.1.0/24, at 127.0.0.1:`port`) and `keeper` (10.42.0.0/24, with a route to
/// gone's subnet).
fn cluster(dir: &Path, nodes: &[String], port: u16) -> (PathBuf, PathBuf) {
    let cfg = dir.join("cluster.yml");
    let mut text = "cluster_name: demo\nssh_agent_auth: true\nnodes:\n".to_string();
    for n in nodes {
        text.push_str(&format!("  - {n}\n"));
    }
    std::fs::write(&cfg, text).unwrap();
    let state = dir.join("cluster.rwinstate");
    let json = serde_json::json!({
        "version": 1,
        "cluster_name": "demo",
        "subnets": {"gone": "10.42.1.0/24", "keeper": "10.42.0.0/24"},
        "hosts": {
            "gone": {
                "address": "127.0.0.1", "port": port, "user": "root", "os": "linux",
                "connection": "ssh", "network": "rwin", "masquerade": true,
                "forwarding_enabled_by_rwin": true,
                "sysctl_dropin": "/etc/sysctl.d/90-rwin.conf",
                "boot_routes_unit": "rwin-routes.service",
                "components": ["etcd", "agent"],
                "routes": [{"dest": "10.42.0.0/24", "via": "10.0.0.10"}]
            },
            "keeper": {
                "address": "127.0.0.1", "port": port, "user": "root", "os": "linux",
                "connection": "ssh", "network": "rwin",
                "routes": [{"dest": "10.42.1.0/24", "via": "10.0.0.11"}]
            }
        }
    });
    std::fs::write(&state, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    (cfg, state)
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = rwin()
        .env("HOME", dir)
        .args(["--connect-timeout", "5", "--known-hosts"])
        .arg(dir.join("known_hosts"))
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A node entry at `address` (on loopback) and the closed `port`.
fn node(name: &str, address: &str, port: u16, internal: &str) -> String {
    format!("{{address: {address}, port: {port}, internal_address: {internal}, hostname_override: {name}}}")
}

fn state_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn remove_host_on_a_dead_host_without_force_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let (cfg, state) = cluster(
        dir.path(),
        &[node("gone", "127.0.0.1", port, "10.0.0.11")],
        port,
    );
    let before = std::fs::read_to_string(&state).unwrap();
    let (code, _, stderr) = run(
        dir.path(),
        &["-y", "remove-host", "gone", cfg.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("error: gone: cannot reach 127.0.0.1:{port}: Connection refused"))
            && stderr.contains("gone was not changed, nor any other host. If gone is gone for good, `rwin remove-host gone --force` cleans the other hosts and the state anyway"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        before,
        "the state is left as it was"
    );
}

#[test]
fn remove_host_force_on_a_dead_host_cleans_the_state_and_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let (cfg, state) = cluster(
        dir.path(),
        &[node("gone", "127.0.0.1", port, "10.0.0.11")],
        port,
    );
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "-y",
            "remove-host",
            "gone",
            "--force",
            "--edit-config",
            cfg.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("warning: gone cannot be reached; with --force the other hosts and the state are cleaned, and on gone itself nothing could be removed: container rwin-agent, container rwin-etcd, network rwin, route 10.42.0.0/24, NAT and firewall rules, /etc/sysctl.d/90-rwin.conf, rwin-routes.service, /etc/rwin and /var/lib/rwin\n"),
        "{stderr}"
    );
    assert!(
        stdout.contains("In the state file: gone and its subnet 10.42.1.0/24 (released)\n"),
        "{stdout}"
    );
    let s = state_json(&state);
    assert_eq!(
        s["subnets"],
        serde_json::json!({"keeper": "10.42.0.0/24"}),
        "gone's subnet is released, keeper's kept"
    );
    assert!(s["hosts"].get("gone").is_none(), "{s:#}");
    assert_eq!(
        s["hosts"]["keeper"]["routes"],
        serde_json::json!([]),
        "no host's record keeps a route to the released subnet"
    );
    let config = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        !config.contains("gone"),
        "--edit-config took gone out:\n{config}"
    );
    assert!(config.starts_with("cluster_name: demo\n"), "{config}");
}

#[test]
fn remove_host_force_says_which_other_host_kept_its_route() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let (cfg, state) = cluster(
        dir.path(),
        &[
            node("gone", "127.0.0.1", port, "10.0.0.11"),
            node("keeper", "127.0.0.2", port, "10.0.0.10"),
        ],
        port,
    );
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "-y",
            "remove-host",
            "gone",
            "--force",
            cfg.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("On keeper: the route to 10.42.1.0/24\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("error: gone is removed, but its routes could not be taken off keeper. Once they are reachable, `rwin up` removes them"),
        "{stderr}"
    );
    let s = state_json(&state);
    assert!(
        s["hosts"].get("gone").is_none() && s["subnets"].get("gone").is_none(),
        "{s:#}"
    );
    assert_eq!(s["subnets"]["keeper"], "10.42.0.0/24");
    assert!(
        std::fs::read_to_string(&cfg).unwrap().contains("gone"),
        "cluster.yml is edited only with --edit-config"
    );
}

/// With HOME unset there is no ~/.ssh/known_hosts: rwin must not fall back to a known_hosts
/// in the current directory (where anyone who can write there decides which keys are trusted).
#[test]
fn without_home_an_ssh_node_needs_known_hosts_given() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let cfg = dir.path().join("cluster.yml");
    std::fs::write(
        &cfg,
        format!(
            "cluster_name: demo\nssh_agent_auth: true\nnodes:\n  - {}\n",
            node("gone", "127.0.0.1", port, "10.0.0.11")
        ),
    )
    .unwrap();
    let out = rwin()
        .env_remove("HOME")
        .current_dir(dir.path())
        .args(["-y", "--connect-timeout", "5", "plan"])
        .arg(&cfg)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("gone: HOME is not set, so there is no ~/.ssh/known_hosts to check SSH host keys against; give the file with --known-hosts FILE (or RWIN_KNOWN_HOSTS)"),
        "{stderr}"
    );
    assert!(
        !dir.path().join(".ssh").exists(),
        "nothing written under ./.ssh"
    );
}

/// With HOME unset there is no default key ~/.ssh/id_rsa either: a `~` directory in the
/// current directory must not stand in for the home.
#[test]
fn without_home_a_node_without_ssh_key_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cwd_tilde = dir.path().join("~").join(".ssh");
    std::fs::create_dir_all(&cwd_tilde).unwrap();
    std::fs::write(cwd_tilde.join("id_rsa"), "not the user's key\n").unwrap();
    let cfg = dir.path().join("cluster.yml");
    std::fs::write(
        &cfg,
        "cluster_name: demo\nnodes:\n  - {address: 192.0.2.11, role: [worker]}\n",
    )
    .unwrap();
    let out = rwin()
        .env_remove("HOME")
        .current_dir(dir.path())
        .arg("validate")
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("node 192.0.2.11 has no ssh_key_path, and HOME is not set, so there is no default ~/.ssh/id_rsa"),
        "{stderr}"
    );
}

/// What rwin prints passes through one escape: a control character in text rwin did not write
/// (here a file name; on a host, its stderr) reaches the terminal as `\x1b`, not as an escape.
#[test]
fn control_characters_in_messages_are_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("evil\x1b]0;owned\x07\r.yml");
    let out = rwin().arg("validate").arg(&cfg).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r') && !stderr.contains('\x07'),
        "{stderr:?}"
    );
    assert!(stderr.contains(r"evil\x1b]0;owned\x07\r.yml"), "{stderr:?}");
}

/// A TCP port on 127.0.0.1 that accepts connections and never says anything, so a run that
/// connects there waits (and holds the state) until it is stopped.
fn silent_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

#[test]
fn a_second_run_while_another_holds_the_state_is_refused_and_says_who() {
    let dir = tempfile::tempdir().unwrap();
    let port = silent_port();
    let (cfg, state) = cluster(
        dir.path(),
        &[node("gone", "127.0.0.1", port, "10.0.0.11")],
        port,
    );
    let before = std::fs::read_to_string(&state).unwrap();
    let mut first = std::process::Command::new(assert_cmd::cargo::cargo_bin!("rwin"))
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .args(["--connect-timeout", "60", "--known-hosts"])
        .arg(dir.path().join("known_hosts"))
        .args(["-y", "up"])
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.path().join("cluster.rwinstate.lock");
    let holder = format!("pid {}", first.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, _, stderr) = run(dir.path(), &["-y", "up", cfg.to_str().unwrap()]);
    let (code2, _, stderr2) = run(
        dir.path(),
        &["-y", "remove-host", "gone", cfg.to_str().unwrap()],
    );
    let _ = first.kill();
    let _ = first.wait();
    for (code, stderr) in [(code, stderr), (code2, stderr2)] {
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("another rwin ({holder}, `rwin up`, since "))
                && stderr.contains(&format!("holds {}; wait for it", lock.display())),
            "{stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        before,
        "the refused runs changed nothing"
    );
}

#[test]
fn a_state_file_cannot_make_remove_host_send_a_variable_cluster_yml_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let (cfg, state) = cluster(
        dir.path(),
        &[node("keeper", "127.0.0.2", port, "10.0.0.10")],
        port,
    );
    // The state says `gone` is a Windows node whose WinRM password is in RWIN_TEST_STOLEN.
    let mut s = state_json(&state);
    s["hosts"]["gone"]["os"] = "windows".into();
    s["hosts"]["gone"]["connection"] = "winrm".into();
    s["hosts"]["gone"]["winrm"] = serde_json::json!({
        "port": port, "https": false, "auth": "ntlm", "user": "Administrator",
        "password_env": "RWIN_TEST_STOLEN"
    });
    std::fs::write(&state, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let out = super::common::rwin()
        .env("HOME", dir.path())
        .env("RWIN_TEST_STOLEN", "not-for-that-host")
        .args(["--connect-timeout", "5", "--known-hosts"])
        .arg(dir.path().join("known_hosts"))
        .args(["-y", "remove-host", "gone", cfg.to_str().unwrap()])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("gone: the state file names RWIN_TEST_STOLEN as the WinRM password of 127.0.0.1, but no node in cluster.yml has winrm.password_env RWIN_TEST_STOLEN"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cannot reach"),
        "nothing was sent: {stderr}"
    );
}
