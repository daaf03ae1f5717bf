//! The CLI without any host: help, completions, exit codes for bad usage.

use super::common::{repo, rwin};

#[test]
fn completions_in_the_repo_are_current() {
    for (shell, file) in [
        ("bash", "rwin.bash"),
        ("zsh", "_rwin"),
        ("fish", "rwin.fish"),
        ("powershell", "_rwin.ps1"),
        ("elvish", "rwin.elv"),
    ] {
        let out = rwin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let path = repo().join("completions").join(file);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run `rwin completions {shell} > completions/{file}`",
                path.display()
            )
        });
        assert!(
            on_disk == String::from_utf8_lossy(&out.stdout),
            "{} is stale: run `rwin completions {shell} > completions/{file}`",
            path.display()
        );
    }
}

/// The candidates `shell` offers for `line` after loading the completion file from
/// completions/ as a user's shell would, and pressing Tab (zsh: on a pseudo-terminal).
fn complete(shell: &str, line: &str) -> Vec<String> {
    let dir = repo().join("completions");
    let words: Vec<&str> = line.split(' ').collect();
    let out = match shell {
        "bash" => std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c"])
            .arg(format!(
                "source {}/rwin.bash; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({}); COMP_CWORD={}; _rwin rwin '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                dir.display(),
                words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
                words.len() - 1,
                words[words.len() - 1],
                words[words.len().saturating_sub(2)],
            ))
            .output(),
        "zsh" => std::process::Command::new("zsh")
            .arg("-f")
            .arg(repo().join("tests/completions/zsh-complete.zsh"))
            .arg(&dir)
            .arg(line)
            .output(),
        "fish" => std::process::Command::new("fish")
            .args(["--no-config", "-c"])
            .arg(format!(
                "source {}/rwin.fish; complete -C '{line}'",
                dir.display()
            ))
            .output(),
        other => unreachable!("{other}"),
    }
    .unwrap_or_else(|e| {
        panic!("{shell} does not run ({e}): run lab/install-deps.sh, which installs bash, zsh and fish")
    });
    assert!(
        out.status.success(),
        "{shell} completing `{line}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // fish prints "candidate<TAB>description"; zsh's pty adds carriage returns.
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_zsh_and_fish_complete_verbs_and_flags_from_the_files() {
    for shell in ["bash", "zsh", "fish"] {
        assert_eq!(
            complete(shell, "rwin re"),
            vec!["remove-host"],
            "{shell}: `rwin re<Tab>`"
        );
        let verbs = complete(shell, "rwin ");
        for verb in [
            "up",
            "plan",
            "validate",
            "remove-host",
            "doctor",
            "completions",
        ] {
            assert!(
                verbs.iter().any(|v| v == verb),
                "{shell}: `rwin <Tab>` offers {verb}: {verbs:?}"
            );
        }
        assert!(
            complete(shell, "rwin doctor --pr").contains(&"--probe".to_string()),
            "{shell}: `rwin doctor --pr<Tab>` offers --probe"
        );
    }
}

#[test]
fn missing_config_is_a_usage_error_naming_the_file() {
    let out = rwin()
        .args(["validate", "/nonexistent/cluster.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/cluster.yml"));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = rwin().args(["up", "--frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn plan_with_a_bad_config_touches_nothing_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cluster.yml");
    std::fs::write(&cfg, "nodes:\n  - address: 10.0.0.1\n    role: [wizard]\n").unwrap();
    let out = rwin()
        .args(["plan", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown role `wizard`") && err.contains("cluster.yml:3:12"),
        "{err}"
    );
    assert!(
        !dir.path().join("cluster.rwinstate").exists(),
        "no state file for a config that never ran"
    );
}

/// A minimal valid config for a node at `address:port` (nothing is listening for SSH there).
fn config_for(dir: &std::path::Path, address: &str, port: u16) -> std::path::PathBuf {
    let key = dir.join("id_test");
    std::fs::write(
        &key,
        "not a real key: the connection fails before authentication",
    )
    .unwrap();
    let cfg = dir.join("cluster.yml");
    std::fs::write(&cfg, format!("ssh_key_path: {}\nnodes:\n  - {{address: {address}, port: {port}, hostname_override: silent}}\n", key.display())).unwrap();
    cfg
}

#[test]
fn a_host_that_accepts_tcp_but_never_speaks_ssh_is_bounded_by_the_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold connections without a word, like a wedged sshd or a black-holing proxy.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(dir.path(), "127.0.0.1", port);
    let out = rwin()
        .args([
            "--connect-timeout",
            "2",
            "--known-hosts",
            &dir.path().join("kh").display().to_string(),
            "plan",
            cfg.to_str().unwrap(),
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "silent: no SSH answer from 127.0.0.1:{port} within 2s"
        )),
        "{err}"
    );
}

#[test]
fn a_corrupt_state_file_is_a_clear_error_never_a_silent_reallocation() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(dir.path(), "127.0.0.1", 1);
    let state = dir.path().join("cluster.rwinstate");
    std::fs::write(
        &state,
        "{\"version\": 1, \"cluster_name\": \"rwin\", \"subnets\": {\"a\": ",
    )
    .unwrap();
    let out = rwin()
        .args(["plan", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is unreadable") && err.contains("will not guess"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"version\": 1, \"cluster_name\": \"rwin\", \"subnets\": {\"a\": ",
        "the file is left as it was"
    );
}
