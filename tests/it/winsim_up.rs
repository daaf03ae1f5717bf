//! `rwin up` against one winsim host (tests/winsim, the Windows Server 2022 simulator) on
//! 127.0.0.1, over WinRM on HTTP with NTLM message encryption, winsim's effects dry: no root,
//! no dockerd, no lab. winsim re-reads its state file for every command, so a test sets the
//! host up (a pull's duration, images the registry lacks, auditing) between runs by editing it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::rwin;

const PASSWORD: &str = "Winsim-Passw0rd!";
const IMAGE: &str = "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022";

/// The winsim binary cargo built next to this test binary (target/<profile>/winsim).
fn winsim_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .join("winsim")
}

/// A winsim host serving WinRM on 127.0.0.1:`port`; stopped when dropped.
struct Winsim {
    child: Child,
    state: PathBuf,
    port: u16,
}

impl Drop for Winsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Winsim {
    /// A fresh host in `dir` (devcon.exe put there by the user, as rwin's container network
    /// needs it; the vSwitch bound at once), changed by `setup`.
    fn start(dir: &Path, setup: impl FnOnce(&mut serde_json::Value)) -> Winsim {
        let state = dir.join("winsim-state.json");
        // `winsim run` makes the state file of a fresh host (the command itself is refused).
        let _ = Command::new(winsim_bin())
            .args(["run", "--state"])
            .arg(&state)
            .args(["--dry-effects", "--", "nothing"])
            .output()
            .expect("winsim runs");
        edit_state(&state, |s| {
            s["vswitch_ms"] = 0.into();
            setup(s);
        });
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("its address").port()
        };
        let child = Command::new(winsim_bin())
            .args(["serve", "--state"])
            .arg(&state)
            .args(["--dry-effects", "--docker-host", "unix:///nonexistent"])
            .args(["--password-env", "WINSIM_TEST_PASSWORD"])
            .args(["--winrm-http", &format!("127.0.0.1:{port}")])
            .args(["--user-file", r"C:\Program Files\devcon\devcon.exe"])
            .env("WINSIM_TEST_PASSWORD", PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("winsim serve starts");
        let sim = Winsim { child, state, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "winsim did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        sim
    }

    fn state(&self) -> serde_json::Value {
        read_state(&self.state)
    }

    fn edit(&self, change: impl FnOnce(&mut serde_json::Value)) {
        edit_state(&self.state, change);
    }
}

fn read_state(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("winsim's state");
    serde_json::from_str(&text).expect("winsim's state is JSON")
}

fn edit_state(path: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let mut s = read_state(path);
    change(&mut s);
    std::fs::write(path, s.to_string()).expect("winsim's state written");
}

/// cluster.yml: node win1 (winsim, WinRM on `port`) and one Windows component `web` with
/// these `env` entries (flow-style YAML).
fn cluster(dir: &Path, port: u16, env: &str) -> PathBuf {
    let path = dir.join("cluster.yml");
    std::fs::write(
        &path,
        format!(
            "cluster_name: demo\n\
             network: {{cluster_cidr: 10.42.0.0/16}}\n\
             nodes:\n\
             \x20 - address: 127.0.0.1\n\
             \x20   internal_address: 10.0.0.11\n\
             \x20   hostname_override: win1\n\
             \x20   os: windows\n\
             \x20   role: [worker]\n\
             \x20   winrm: {{port: {port}, https: false, auth: ntlm, user: Administrator, password_env: WINSIM_TEST_PASSWORD}}\n\
             components:\n\
             \x20 - name: web\n\
             \x20   image: {IMAGE}\n\
             \x20   windows_image: {{ltsc2022: \"{IMAGE}\"}}\n\
             \x20   roles: [worker]\n\
             \x20   network: pod\n\
             \x20   env: {env}\n"
        ),
    )
    .expect("cluster.yml written");
    path
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn up(config: &Path, args: &[&str]) -> Run {
    let out = rwin()
        .args(args)
        .arg("up")
        .arg(config)
        .env("WINSIM_TEST_PASSWORD", PASSWORD)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("rwin runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("rwin up exit {}\n{}\n{}", run.code, run.stdout, run.stderr);
    run
}

/// The component's result in `--output json`'s summary.
fn web(run: &Run) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("the JSON summary");
    json["hosts"][0]["components"][0].clone()
}

fn events(state: &serde_json::Value, kind: &str) -> Vec<String> {
    state[kind]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A Windows base image takes minutes to pull (several GB); the pull is a command of its own
/// with its own limit, so a pull longer than --command-timeout still succeeds, its progress on
/// the host's line.
#[test]
fn a_pull_longer_than_the_command_timeout_succeeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = Winsim::start(dir.path(), |s| {
        s["pull_ms"] = 3000.into();
        s["auditing"] = true.into();
    });
    let config = cluster(dir.path(), sim.port, "{SITE: a}");
    let r = up(&config, &["--command-timeout", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("win1: pulling {IMAGE}")),
        "{}",
        r.stderr
    );
    let pulls: Vec<String> = events(&sim.state(), "process_events")
        .into_iter()
        .filter(|e| e.starts_with("docker pull"))
        .collect();
    assert_eq!(pulls, [format!("docker pull {IMAGE}")]);
}

/// A pull that fails, or outlasts --pull-timeout, names the image and its registry and says
/// what to do; the container is not touched.
#[test]
fn a_pull_that_fails_or_times_out_names_the_image_and_its_registry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = Winsim::start(dir.path(), |s| {
        s["absent_images"] = serde_json::json!([IMAGE]);
        s["auditing"] = true.into();
    });
    let config = cluster(dir.path(), sim.port, "{SITE: a}");
    let r = up(&config, &["--output", "json"]);
    assert_eq!(r.code, 1);
    let detail = web(&r)["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        detail.contains(&format!("manifest for {IMAGE} not found: manifest unknown"))
            && detail.contains(&format!("pulling image {IMAGE} from registry mcr.microsoft.com failed (Docker's message is above): check the image's name and tag, that the host reaches it")),
        "{detail}"
    );
    let touched: Vec<String> = events(&sim.state(), "process_events")
        .into_iter()
        .filter(|e| e.starts_with("docker run") || e.starts_with("docker rm"))
        .collect();
    assert!(touched.is_empty(), "{touched:?}");
    // Too slow: abandoned after --pull-timeout.
    sim.edit(|s| {
        s["absent_images"] = serde_json::json!([]);
        s["pull_ms"] = 4000.into();
    });
    let r = up(&config, &["--output", "json", "--pull-timeout", "1"]);
    assert_eq!(r.code, 1);
    let detail = web(&r)["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        detail.contains(&format!("pulling image {IMAGE} from registry mcr.microsoft.com did not finish within 1s (--pull-timeout); the old container, if any, is left running")),
        "{detail}"
    );
}

/// The container's environment values travel in the WinRS shell's environment and an env file
/// that is gone afterwards: they are in no script rwin sends (`-v` prints every one, and the
/// host's Script Block Logging, event 4104, records each), on no command line (process
/// creation auditing, event 4688), and in no file left behind (issue 13 §9).
#[test]
fn environment_values_are_in_no_script_command_line_or_file() {
    const VALUE: &str = "s3cret-site-value";
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = Winsim::start(dir.path(), |s| {
        s["auditing"] = true.into();
    });
    let config = cluster(
        dir.path(),
        sim.port,
        &format!("{{SITE_SECRET: \"{VALUE} with spaces\", EMPTY: \"\"}}"),
    );
    let r = up(&config, &["-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("--env-file $envFile"),
        "-v shows the scripts: {}",
        r.stderr
    );
    assert!(!r.stderr.contains(VALUE) && !r.stdout.contains(VALUE));
    let state = sim.state();
    let scripts = events(&state, "script_block_events");
    let processes = events(&state, "process_events");
    assert!(
        scripts.iter().any(|s| s.contains("docker run -d")),
        "{scripts:?}"
    );
    assert!(
        processes.iter().any(|p| p.starts_with(
            r"docker run -d --name rwin-web --env-file C:\Users\Administrator\AppData\Local\Temp\rwin-web.env "
        )),
        "{processes:?}"
    );
    for event in scripts.iter().chain(&processes) {
        assert!(!event.contains(VALUE), "{event}");
    }
    let files = state["files"].as_object().expect("winsim's files");
    assert!(
        !files.keys().any(|k| k.ends_with(".env")),
        "{:?}",
        files.keys().collect::<Vec<_>>()
    );
}
