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
