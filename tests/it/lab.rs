//! End to end on a lab of real hosts: network namespaces, each with its own sshd and dockerd,
//! and a TLS registry with a password (lab/lab.sh). The lab is one per machine, so the whole
//! story runs in one test, step by step, each step saying what it checks.
//!
//! Needs root and the lab's packages (lab/install-deps.sh). Without root it fails, unless
//! RWIN_SKIP_LAB=1 (exactly) is set when it is built, in which case it is compiled as ignored
//! and the test summary says so (build.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::common::{repo, rwin};

/// The etcd members. The lab also has lin4, a worker, which the remove-host steps remove and
/// add back: taking an etcd member out is etcd's membership business (etcdctl member remove),
/// which rwin does not do for it.
const HOSTS: [&str; 3] = ["lin1", "lin2", "lin3"];

/// One lab per machine: the lab tests take this lock so they run one after the other.
pub static LAB_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Lab {
    pub run_dir: PathBuf,
}

impl Lab {
    fn script() -> PathBuf {
        repo().join("lab/lab.sh")
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new(Self::script())
            .args(args)
            .env("RWLAB_RUN", &self.run_dir)
            .output()
            .expect("lab.sh runs")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "lab.sh {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn exec(&self, host: &str, cmd: &[&str]) -> String {
        let mut args = vec!["exec", host];
        args.extend_from_slice(cmd);
        self.ok(&args)
    }

    pub fn try_exec(&self, host: &str, cmd: &[&str]) -> bool {
        let mut args = vec!["exec", host];
        args.extend_from_slice(cmd);
        self.cmd(&args).status.success()
    }

    /// Container name → ID on `host`.
    pub fn containers(&self, host: &str) -> BTreeMap<String, String> {
        self.exec(
            host,
            &["docker", "ps", "-a", "--format", "{{.Names}} {{.ID}}"],
        )
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(n, id)| (n.to_string(), id.to_string()))
        })
        .collect()
    }

    pub fn pod_ip(&self, host: &str) -> String {
        self.exec(
            host,
            &[
                "docker",
                "inspect",
                "-f",
                "{{.NetworkSettings.Networks.rwin.IPAddress}}",
                "rwin-web",
            ],
        )
        .trim()
        .to_string()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.cmd(&["down"]);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn up(dir: &Path, extra: &[&str], password: &str) -> Run {
    let mut args = vec![
        "--known-hosts".to_string(),
        dir.join("known_hosts").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("up".into());
    args.push(dir.join("cluster.yml").display().to_string());
    let out = rwin()
        .args(&args)
        .env("REGISTRY_PASSWORD", password)
        .timeout(std::time::Duration::from_secs(240))
        .output()
        .expect("rwin runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!(
        "--- rwin {args:?} → exit {}\n{}\n{}",
        run.code, run.stdout, run.stderr
    );
    assert_no_secret(dir, password, &[&run.stdout, &run.stderr]);
    run
}

/// The registry password never shows: not on stdout or stderr (with -v too), not in the state.
fn assert_no_secret(dir: &Path, password: &str, outputs: &[&str]) {
    for text in outputs {
        assert!(
            !text.contains(password),
            "the registry password leaked into rwin's output"
        );
    }
    if let Ok(state) = std::fs::read_to_string(dir.join("cluster.rwinstate")) {
        assert!(
            !state.contains(password),
            "the registry password leaked into the state file"
        );
    }
}

/// Step 9's extra component: up after web, healthy 3 s after it starts.
const LATE_COMPONENT: &str = r#"  - name: late
    after: [web]
    image: 10.77.0.5:5000/busybox:1
    roles: [worker]
    network: pod
    command: ["sh", "-c", "sleep 3; exec httpd -f -p 80 -h /tmp"]
    health: {tcp: "{{container.ip}}:80", timeout: 60s}
"#;

/// The source address of every `Accepted publickey` line in `host`'s sshd log, oldest first.
fn sshd_logins(lab: &Lab, host: &str) -> Vec<String> {
    let log = lab.run_dir.join("hosts").join(host).join("sshd.log");
    std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
        .lines()
        .filter_map(|l| {
            l.split_once("Accepted publickey for ")?
                .1
                .split(" from ")
                .nth(1)
        })
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect()
}

fn tcp_reaches(addr: &str) -> bool {
    std::net::TcpStream::connect_timeout(
        &addr.parse().expect("an address"),
        std::time::Duration::from_secs(2),
    )
    .is_ok()
}

/// While alive, the operator's side (this machine's namespace) cannot open SSH connections to
/// `addrs`: an iptables OUTPUT rule answers them with a TCP reset. Removed on drop.
struct BlockDirectSsh {
    rule: Vec<String>,
}

impl BlockDirectSsh {
    fn new(addrs: &[&str]) -> Self {
        let rule: Vec<String> = [
            "OUTPUT",
            "-d",
            &addrs.join(","),
            "-p",
            "tcp",
            "--dport",
            "22",
            "-m",
            "comment",
            "--comment",
            "rwin-lab-test: bastion step",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let status = Command::new("iptables")
            .arg("-I")
            .args(&rule)
            .status()
            .expect("iptables runs");
        assert!(status.success(), "iptables -I {rule:?}");
        BlockDirectSsh { rule }
    }
}

impl Drop for BlockDirectSsh {
    fn drop(&mut self) {
        let _ = Command::new("iptables").arg("-D").args(&self.rule).status();
    }
}

pub fn step(n: u32, what: &str) {
    eprintln!("\n=== lab step {n}: {what}");
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
#[cfg_attr(rwin_skip_lab, ignore = "RWIN_SKIP_LAB=1: the lab tests were not run")]
fn lab_end_to_end() {
    assert!(is_root(), "the lab test needs root (network namespaces, dockerd); run the README's test command (as root, or with cargo's runner set to `sudo -E`), or set RWIN_SKIP_LAB=1 to skip it knowingly (it then shows as ignored)");
    let _lab = LAB_LOCK.lock().unwrap_or_else(|p| p.into_inner());

    let run_dir = repo().join("target/rwlab-test");
    let lab = Lab {
        run_dir: run_dir.clone(),
    };
    let _ = lab.cmd(&["down"]);
    lab.ok(&["up", "4"]);
    let password = std::fs::read_to_string(run_dir.join("registry-password"))
        .expect("lab wrote the registry password")
        .trim()
        .to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let base_config =
        std::fs::read_to_string(run_dir.join("cluster.yml")).expect("lab wrote cluster.yml");
    std::fs::write(d.join("cluster.yml"), &base_config).unwrap();

    step(
        0,
        "every lab host starts as a fresh server: forwarding off, whatever this machine does",
    );
    for h in HOSTS.iter().chain(&["lin4"]) {
        assert_eq!(
            lab.exec(h, &["cat", "/proc/sys/net/ipv4/ip_forward"]).trim(),
            "0",
            "{h} must start with forwarding off, so that rwin is what turns it on (this machine's own ip_forward is {})",
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default().trim()
        );
    }

    step(
        1,
        "an unknown host key is refused without --accept-new-host-keys",
    );
    let r = up(d, &[], &password);
    assert_eq!(r.code, 1);
    for h in HOSTS {
        assert!(
            r.stderr.contains(&format!("{h}: host key of")),
            "names {h}: {}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains("SHA256:") && r.stderr.contains("--accept-new-host-keys"),
        "shows the fingerprint and the flag"
    );
    assert!(lab.containers("lin1").is_empty(), "nothing was deployed");

    step(
        2,
        "rwin up brings up routing, subnets, routes, a 3-member etcd and a pod per node",
    );
    let r = up(d, &["--accept-new-host-keys"], &password);
    assert_eq!(r.code, 0, "cold up succeeds");
    // etcdctl reports health on stderr.
    let health = lab.exec(
        "lin1",
        &[
            "sh",
            "-c",
            "docker exec rwin-etcd /usr/bin/etcdctl --endpoints=http://10.77.0.11:2379,http://10.77.0.12:2379,http://10.77.0.13:2379 endpoint health 2>&1",
        ],
    );
    assert_eq!(
        health.matches("is healthy").count(),
        3,
        "three healthy etcd members: {health}"
    );
    let members = lab.exec(
        "lin2",
        &[
            "docker",
            "exec",
            "rwin-etcd",
            "/usr/bin/etcdctl",
            "--endpoints=http://10.77.0.12:2379",
            "member",
            "list",
        ],
    );
    assert_eq!(
        members.lines().count(),
        3,
        "one etcd cluster of three, not three clusters: {members}"
    );
    for h in HOSTS {
        assert_eq!(
            lab.exec(h, &["cat", "/proc/sys/net/ipv4/ip_forward"])
                .trim(),
            "1",
            "{h} forwards"
        );
        assert!(
            lab.exec(h, &["cat", "/etc/sysctl.d/90-rwin.conf"])
                .contains("net.ipv4.ip_forward = 1"),
            "{h} persists forwarding"
        );
        let routes = lab.exec(h, &["ip", "-4", "route", "show", "proto", "157"]);
        assert_eq!(
            routes.lines().count(),
            3,
            "{h} routes to the three other nodes' subnets: {routes}"
        );
    }
    let ips: BTreeMap<&str, String> = HOSTS.iter().map(|h| (*h, lab.pod_ip(h))).collect();
    for from in HOSTS {
        for to in HOSTS.iter().filter(|t| **t != from) {
            let ip = &ips[to];
            assert!(
                lab.try_exec(
                    from,
                    &["docker", "exec", "rwin-web", "ping", "-c", "1", "-W", "3", ip]
                ),
                "pod on {from} pings pod on {to} ({ip})"
            );
        }
    }
    // An HTTP exchange with lin3's pod from lin1's pod: TCP across the routes, both ways.
    let answer = lab.exec(
        "lin1",
        &[
            "sh",
            "-c",
            &format!(
                "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | docker exec -i rwin-web nc -w 3 {} 80",
                ips["lin3"]
            ),
        ],
    );
    assert!(
        answer.starts_with("HTTP/1."),
        "pod on lin1 reaches lin3's pod over TCP: {answer:?}"
    );
    let state_path = d.join("cluster.rwinstate");
    let state = std::fs::read_to_string(&state_path).expect("state file written");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&state_path).unwrap().permissions().mode() & 0o777,
            0o600,
            "state file is private"
        );
    }
    assert!(!state.contains(&password), "no secret in the state file");
    assert!(
        !r.stdout.contains(&password) && !r.stderr.contains(&password),
        "no secret in the output"
    );

    step(3, "a second up changes nothing and recreates nothing");
    let before: Vec<_> = HOSTS.iter().map(|h| lab.containers(h)).collect();
    let r = up(d, &[], &password);
    assert_eq!(r.code, 0);
    let after: Vec<_> = HOSTS.iter().map(|h| lab.containers(h)).collect();
    assert_eq!(before, after, "same container IDs");
    assert!(
        r.stdout.contains("etcd unchanged, web unchanged"),
        "{}",
        r.stdout
    );
    let plan = rwin()
        .args([
            "--known-hosts",
            &d.join("known_hosts").display().to_string(),
            "plan",
            &d.join("cluster.yml").display().to_string(),
        ])
        .env("REGISTRY_PASSWORD", &password)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("no changes: every host already matches"),
        "plan says no changes"
    );

    step(
        4,
        "changing one component's env replaces only that component's containers",
    );
    let changed = base_config.replace(
        "    command: [\"httpd\"",
        "    env: {GREETING: hello}\n    command: [\"httpd\"",
    );
    assert_ne!(
        changed, base_config,
        "the lab config has the web component this test edits"
    );
    std::fs::write(d.join("cluster.yml"), &changed).unwrap();
    let r = up(d, &[], &password);
    assert_eq!(r.code, 0);
    for (i, h) in HOSTS.iter().enumerate() {
        let now = lab.containers(h);
        assert_eq!(
            now["rwin-etcd"], before[i]["rwin-etcd"],
            "{h}: etcd untouched"
        );
        assert_ne!(now["rwin-web"], before[i]["rwin-web"], "{h}: web replaced");
        assert_eq!(now.len(), 2, "{h}: no leftover containers: {now:?}");
    }

    step(
        5,
        "one host's sshd stopped: the others finish, exit 1 names it; after restart up converges",
    );
    lab.ok(&["sshd", "stop", "lin3"]);
    let r = up(d, &[], &password);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("lin3: cannot reach 10.77.0.13:22"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("lin1: cannot") && !r.stderr.contains("lin2: cannot"));
    lab.ok(&["sshd", "start", "lin3"]);
    let r = up(d, &[], &password);
    assert_eq!(r.code, 0, "converges once lin3 is back");
    assert_eq!(lab.containers("lin3").len(), 2);

    step(
        6,
        "a changed host key is refused, naming the known_hosts line",
    );
    lab.ok(&["rekey", "lin2"]);
    let r = up(d, &["--accept-new-host-keys"], &password);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("lin2: HOST KEY CHANGED") && r.stderr.contains("line"),
        "{}",
        r.stderr
    );
    let kh = std::fs::read_to_string(d.join("known_hosts")).unwrap();
    let kept: String = kh
        .lines()
        .filter(|l| !l.starts_with("10.77.0.12 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("known_hosts"), kept).unwrap();
    assert_eq!(
        up(d, &["--accept-new-host-keys"], &password).code,
        0,
        "after removing the stale line the new key is learned"
    );

    step(
        7,
        "a wrong registry password gives a clear pull error naming the registry",
    );
    lab.exec("lin1", &["docker", "rmi", "-f", "10.77.0.5:5000/busybox:1"]);
    std::fs::write(
        d.join("cluster.yml"),
        changed.replace("GREETING: hello", "GREETING: again"),
    )
    .unwrap();
    let r = up(d, &[], "not-the-password");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("lin1") && r.stderr.contains("registry 10.77.0.5:5000"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("not-the-password") && !r.stdout.contains("not-the-password"),
        "the wrong password is not printed either"
    );
    assert_eq!(
        up(d, &[], &password).code,
        0,
        "with the right password it converges"
    );

    step(
        8,
        "through a bastion host: lin1 carries the connections to lin2 and lin3",
    );
    let via_bastion = std::fs::read_to_string(d.join("cluster.yml"))
        .unwrap()
        .replacen(
            "network:",
            "bastion_host: {address: 10.77.0.11, user: root}\nnetwork:",
            1,
        );
    std::fs::write(d.join("cluster.yml"), &via_bastion).unwrap();
    // The operator's side cannot reach lin2's and lin3's sshd during this step, so the step
    // fails if rwin ignores bastion_host; and their sshd must log logins from lin1 only.
    let logins_before: BTreeMap<&str, usize> = ["lin2", "lin3"]
        .into_iter()
        .map(|h| (h, sshd_logins(&lab, h).len()))
        .collect();
    let r = {
        let _blocked = BlockDirectSsh::new(&["10.77.0.12", "10.77.0.13"]);
        assert!(
            !tcp_reaches("10.77.0.12:22"),
            "the operator side cannot reach lin2:22 directly while the step runs"
        );
        up(d, &["-v"], &password)
    };
    assert_eq!(r.code, 0, "up through the bastion converges with no change");
    assert!(
        r.stdout.contains("etcd unchanged, web unchanged"),
        "{}",
        r.stdout
    );
    for (h, before) in logins_before {
        let logins = sshd_logins(&lab, h);
        let new = &logins[before..];
        assert!(!new.is_empty(), "{h}: rwin logged in during the step");
        assert!(
            new.iter().all(|from| from == "10.77.0.11"),
            "{h}: every login of the step came through the bastion lin1 (10.77.0.11): {new:?}"
        );
    }

    step(
        9,
        "Ctrl-C in the middle of up: exit 130, the state file is valid and holds what was done, a re-run converges",
    );
    lab.exec("lin2", &["docker", "rm", "-f", "rwin-web"]);
    // A new component `late`, after web, whose health check passes only 3 s after it starts:
    // rwin records it in the state file, then says it waits for it; the interrupt is sent on
    // that line, so it lands in the middle of the run at a known point.
    let interrupted = format!(
        "{}{LATE_COMPONENT}",
        via_bastion.replace("GREETING: again", "GREETING: interrupted")
    );
    std::fs::write(d.join("cluster.yml"), &interrupted).unwrap();
    let state_before = std::fs::read_to_string(d.join("cluster.rwinstate")).unwrap();
    assert!(!state_before.contains("\"late\""));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rwin"))
        .args([
            "--known-hosts",
            &d.join("known_hosts").display().to_string(),
            "up",
            &d.join("cluster.yml").display().to_string(),
        ])
        .env("REGISTRY_PASSWORD", &password)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rwin starts");
    let trigger = "lin2: waiting for late to be healthy";
    let stderr = child.stderr.take().unwrap();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut text = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains(trigger) {
                let _ = seen_tx.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let seen = seen_rx.recv_timeout(std::time::Duration::from_secs(120));
    let sent = std::time::Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = reader.join().unwrap();
    eprintln!("{stderr}");
    assert!(
        seen.is_ok(),
        "rwin printed `{trigger}` before the interrupt"
    );
    assert_eq!(out.status.code(), Some(130), "interrupted exits 130");
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(5),
        "promptly"
    );
    let state = std::fs::read_to_string(d.join("cluster.rwinstate")).unwrap();
    let state: serde_json::Value =
        serde_json::from_str(&state).expect("the state file is still valid JSON");
    let lin2_components = &state["hosts"]["lin2"]["components"];
    assert!(
        lin2_components
            .as_array()
            .is_some_and(|c| c.contains(&serde_json::json!("late"))),
        "the state file records `late` on lin2, made before the interrupt: {lin2_components}"
    );
    let r = up(d, &[], &password);
    assert_eq!(r.code, 0, "a re-run converges");
    for h in HOSTS {
        let names: Vec<String> = lab.containers(h).into_keys().collect();
        assert_eq!(
            names,
            vec![
                "rwin-etcd".to_string(),
                "rwin-late".to_string(),
                "rwin-web".to_string()
            ],
            "{h}: exactly one of each container"
        );
    }
    // Back to the step's config without `late`: up removes it as an orphan.
    std::fs::write(
        d.join("cluster.yml"),
        via_bastion.replace("GREETING: again", "GREETING: interrupted"),
    )
    .unwrap();
    let r = up(d, &[], &password);
    assert_eq!(r.code, 0, "up without `late` converges");
    for h in HOSTS {
        let names: Vec<String> = lab.containers(h).into_keys().collect();
        assert_eq!(
            names,
            vec!["rwin-etcd".to_string(), "rwin-web".to_string()],
            "{h}: `late` removed, one of each of the others"
        );
    }

    step(
        10,
        "doctor on a healthy cluster: all green, exit 0, and every pod reaches every other",
    );
    let report = doctor(d, &password, &["--probe"]);
    assert_eq!(report.code, 0, "{}", report.stdout);
    assert_eq!(report.json["failed"], 0);
    for from in HOSTS {
        for to in HOSTS.iter().filter(|t| **t != from) {
            assert_eq!(report.json["probe"][from][*to], true, "probe {from} → {to}");
        }
    }

    step(
        11,
        "faults one by one: doctor names each with its fix, and up repairs it",
    );
    let faults: [(&str, &[&str], &str, &str); 5] = [
        (
            "lin1",
            &["ip", "route", "del", "10.42.1.0/24"],
            "routes to other nodes",
            "missing: 10.42.1.0/24",
        ),
        (
            "lin2",
            &["docker", "kill", "rwin-web"],
            "component web",
            "not running",
        ),
        (
            "lin3",
            &[
                "iptables",
                "-D",
                "FORWARD",
                "-s",
                "10.42.0.0/16",
                "-d",
                "10.42.2.0/24",
                "-m",
                "comment",
                "--comment",
                "rwin:lab",
                "-j",
                "ACCEPT",
            ],
            "firewall rule",
            "missing",
        ),
        (
            "lin1",
            &[
                "sh",
                "-c",
                "ip addr del 10.42.0.1/24 dev rwin0 && ip addr add 10.42.0.9/24 dev rwin0",
            ],
            "gateway on the container bridge",
            "10.42.0.9/24",
        ),
        (
            "lin2",
            &["sysctl", "-w", "net.ipv4.ip_forward=0"],
            "IPv4 forwarding",
            "off",
        ),
    ];
    for (host, cmd, check, detail) in faults {
        lab.exec(host, cmd);
        let report = doctor(d, &password, &[]);
        assert_eq!(report.code, 1, "doctor fails after {cmd:?} on {host}");
        let failed = failed_checks(&report.json);
        assert!(
            failed.iter().any(|(n, c, dt, fix)| n == host
                && c == check
                && dt.contains(detail)
                && fix.contains("rwin up")),
            "doctor names {check} on {host}: {failed:?}"
        );
        assert_eq!(
            up(d, &[], &password).code,
            0,
            "up repairs {check} on {host}"
        );
        let after = doctor(d, &password, &[]);
        assert_eq!(after.code, 0, "repaired: {:?}", failed_checks(&after.json));
    }
    lab.ok(&["dockerd", "stop", "lin2"]);
    let report = doctor(d, &password, &[]);
    assert_eq!(report.code, 1);
    let failed = failed_checks(&report.json);
    assert!(
        failed.iter().any(|(n, c, dt, _)| n == "lin2"
            && c == "container engine"
            && dt.contains("Docker is not running")),
        "dockerd stopped is named: {failed:?}"
    );
    assert_eq!(
        up(d, &[], &password).code,
        1,
        "up cannot start dockerd; it says so"
    );
    lab.ok(&["dockerd", "start", "lin2"]);
    assert_eq!(
        up(d, &[], &password).code,
        0,
        "with dockerd back, up converges"
    );

    step(
        12,
        "remove-host leaves nothing of rwin on the host and no route to it anywhere",
    );
    let no_tty = rwin()
        .args([
            "--known-hosts",
            &d.join("known_hosts").display().to_string(),
            "remove-host",
            "lin4",
            &d.join("cluster.yml").display().to_string(),
        ])
        .env("REGISTRY_PASSWORD", &password)
        .output()
        .unwrap();
    assert_eq!(
        no_tty.status.code(),
        Some(2),
        "without a terminal and without --yes it refuses"
    );
    assert_eq!(
        lab.containers("lin4").len(),
        1,
        "and changes nothing (lin4 is a worker: web only)"
    );
    let config_before = std::fs::read_to_string(d.join("cluster.yml")).unwrap();
    let r = rwin()
        .args([
            "--known-hosts",
            &d.join("known_hosts").display().to_string(),
            "--yes",
            "remove-host",
            "lin4",
            &d.join("cluster.yml").display().to_string(),
            "--edit-config",
        ])
        .env("REGISTRY_PASSWORD", &password)
        .output()
        .unwrap();
    eprintln!(
        "{}\n{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(r.status.code(), Some(0));
    assert!(
        lab.containers("lin4").is_empty(),
        "no container left on lin3"
    );
    let leftovers = lab.exec(
        "lin4",
        &["sh", "-c", "docker network ls --format '{{.Name}}'; ip -4 route show proto 157; ip link show rwin0 2>&1; ls -A /etc/sysctl.d /etc/rwin /var/lib/rwin /etc/systemd/system/multi-user.target.wants; iptables-save | grep -c rwin:; cat /proc/sys/net/ipv4/ip_forward"],
    );
    assert!(
        !leftovers.contains("rwin\n") && !leftovers.contains("proto 157"),
        "{leftovers}"
    );
    assert!(
        leftovers.contains("does not exist"),
        "the rwin0 bridge is gone: {leftovers}"
    );
    assert!(
        !leftovers.contains("90-rwin.conf") && !leftovers.contains("rwin-routes"),
        "{leftovers}"
    );
    assert!(
        leftovers.trim_end().ends_with("0\n0"),
        "no rwin iptables rule, forwarding back off (rwin had turned it on): {leftovers}"
    );
    for h in HOSTS {
        assert!(
            !lab.exec(h, &["ip", "route"]).contains("10.42.3.0/24"),
            "{h} has no route to lin4's subnet"
        );
        assert!(
            !lab.exec(h, &["cat", "/etc/rwin/routes.sh"])
                .contains("10.42.3.0/24"),
            "{h}'s boot script forgot it too"
        );
    }
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cluster.rwinstate")).unwrap())
            .unwrap();
    assert!(
        state["hosts"].get("lin4").is_none() && state["subnets"].get("lin4").is_none(),
        "lin4 released in state"
    );
    let edited = std::fs::read_to_string(d.join("cluster.yml")).unwrap();
    assert!(
        !edited.contains("10.77.0.14") && edited.contains("10.77.0.13"),
        "only lin4's entry left the file"
    );

    step(
        13,
        "adding the host back with up gives it the lowest free subnet (its old one) and it works",
    );
    std::fs::write(d.join("cluster.yml"), &config_before).unwrap();
    assert_eq!(up(d, &[], &password).code, 0);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cluster.rwinstate")).unwrap())
            .unwrap();
    assert_eq!(state["subnets"]["lin4"], "10.42.3.0/24");
    let ip4 = lab.pod_ip("lin4");
    assert!(
        lab.try_exec(
            "lin1",
            &["docker", "exec", "rwin-web", "ping", "-c", "1", "-W", "3", &ip4]
        ),
        "lin1's pod reaches lin4's again"
    );

    step(
        14,
        "taking a node out of cluster.yml and running up removes it the same way",
    );
    let without = crate::lab::without_node(&config_before, "10.77.0.14");
    std::fs::write(d.join("cluster.yml"), without).unwrap();
    assert_eq!(up(d, &[], &password).code, 0);
    assert!(lab.containers("lin4").is_empty(), "lin4 torn down by up");
    assert!(!lab.exec("lin1", &["ip", "route"]).contains("10.42.3.0/24"));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cluster.rwinstate")).unwrap())
            .unwrap();
    assert!(state["hosts"].get("lin4").is_none());

    step(15, "10% packet loss on every lab link: up still completes");
    // tc netem is the usual tool, but this kernel is built without it (CONFIG_NET_SCH_NETEM is
    // not set), so the loss comes from iptables' statistic match: each host drops every 10th
    // packet it receives on its lab link. `--mode nth`, not `random`: the same 10% every run,
    // so the step cannot pass or fail by the luck of the draw.
    let loss = [
        "INPUT",
        "-i",
        "eth0",
        "-m",
        "statistic",
        "--mode",
        "nth",
        "--every",
        "10",
        "--packet",
        "9",
        "-m",
        "comment",
        "--comment",
        "rwin-lab-test: loss",
        "-j",
        "DROP",
    ];
    for h in HOSTS {
        let mut add = vec!["iptables", "-A"];
        add.extend_from_slice(&loss);
        lab.exec(h, &add);
    }
    let lossy = std::fs::read_to_string(d.join("cluster.yml"))
        .unwrap()
        .replace("GREETING: interrupted", "GREETING: lossy");
    std::fs::write(d.join("cluster.yml"), lossy).unwrap();
    let r = up(d, &[], &password);
    let mut dropped = 0u64;
    for h in HOSTS {
        // The rule's packet counter: the loss really happened during the run.
        let rules = lab.exec(h, &["iptables", "-L", "INPUT", "-v", "-x", "-n"]);
        dropped += rules
            .lines()
            .find(|l| l.contains("rwin-lab-test: loss"))
            .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{h}: the loss rule is listed: {rules}"));
        let mut del = vec!["iptables", "-D"];
        del.extend_from_slice(&loss);
        lab.exec(h, &del);
    }
    assert!(dropped > 0, "packets were dropped during the run");
    eprintln!("step 15: {dropped} packets dropped on the lab links during up");
    assert_eq!(r.code, 0, "up completes over lossy links");
    assert!(r.stdout.contains("web replaced"), "{}", r.stdout);

    step(16, "sshd killed on one host in the middle of up: the others finish, exit 1 names it, and once sshd is back up converges with no duplicates");
    let killed = std::fs::read_to_string(d.join("cluster.yml"))
        .unwrap()
        .replace("GREETING: lossy", "GREETING: killed");
    std::fs::write(d.join("cluster.yml"), killed).unwrap();
    let (seen, out) = up_interrupted(d, &password, "lin2: waiting for etcd", || {
        lab.ok(&["sshd", "stop", "lin2"]);
        Command::new("sh")
            .args(["-c", "for p in $(ip netns pids rwlab-lin2); do [ \"$(cat /proc/$p/comm)\" = sshd ] && kill -9 $p; done; true"])
            .status()
            .unwrap();
    });
    assert_eq!(out.status.code(), Some(1), "exit 1");
    assert!(seen.contains("✘ lin2:"), "the error names lin2");
    assert!(
        !seen.contains("✘ lin1:") && !seen.contains("✘ lin3:"),
        "the other hosts did not fail"
    );
    lab.ok(&["sshd", "start", "lin2"]);
    assert_eq!(up(d, &[], &password).code, 0, "converges once sshd is back");
    for h in HOSTS {
        let names: Vec<String> = lab.containers(h).into_keys().collect();
        assert_eq!(
            names,
            vec!["rwin-etcd".to_string(), "rwin-web".to_string()],
            "{h}: no duplicate containers"
        );
        let routes = lab.exec(h, &["ip", "-4", "route", "show", "proto", "157"]);
        let mut dests: Vec<&str> = routes
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let n = dests.len();
        dests.dedup();
        assert_eq!(
            (n, dests.len()),
            (2, 2),
            "{h}: one route to each other etcd host's subnet, no duplicates: {routes}"
        );
    }

    step(17, "dockerd stopped in the middle of deploying components: up reports it, and a re-run converges");
    let again = std::fs::read_to_string(d.join("cluster.yml"))
        .unwrap()
        .replace("GREETING: killed", "GREETING: dockerd");
    std::fs::write(d.join("cluster.yml"), again).unwrap();
    let (seen, out) = up_interrupted(d, &password, "lin3: waiting for etcd", || {
        lab.ok(&["dockerd", "stop", "lin3"]);
    });
    assert_eq!(out.status.code(), Some(1), "exit 1: {seen}");
    assert!(seen.contains("✘ lin3:"), "the error names lin3: {seen}");
    lab.ok(&["dockerd", "start", "lin3"]);
    assert_eq!(
        up(d, &[], &password).code,
        0,
        "converges once dockerd is back"
    );
    for h in HOSTS {
        let names: Vec<String> = lab.containers(h).into_keys().collect();
        assert_eq!(
            names,
            vec!["rwin-etcd".to_string(), "rwin-web".to_string()],
            "{h}: no duplicate containers"
        );
    }
}

/// Run `up`, and when a progress line contains `trigger`, do `fault` while it runs on.
/// Returns everything rwin wrote to stderr, and its output.
fn up_interrupted(
    dir: &Path,
    password: &str,
    trigger: &str,
    fault: impl FnOnce(),
) -> (String, std::process::Output) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rwin"))
        .args([
            "--known-hosts",
            &dir.join("known_hosts").display().to_string(),
            "up",
            &dir.join("cluster.yml").display().to_string(),
        ])
        .env("REGISTRY_PASSWORD", password)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rwin starts");
    let mut progress = std::io::BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut seen = String::new();
    let mut line = String::new();
    let mut fault = Some(fault);
    while std::io::BufRead::read_line(&mut progress, &mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        let hit = line.contains(trigger);
        line.clear();
        if hit {
            if let Some(f) = fault.take() {
                f();
            }
            break;
        }
    }
    assert!(fault.is_none(), "rwin never printed `{trigger}`: {seen}");
    std::io::Read::read_to_string(&mut progress, &mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    eprintln!("{seen}\n{}", String::from_utf8_lossy(&out.stdout));
    assert_no_secret(
        dir,
        password,
        &[&seen, &String::from_utf8_lossy(&out.stdout)],
    );
    (seen, out)
}

struct Doctor {
    code: i32,
    stdout: String,
    json: serde_json::Value,
}

fn doctor(dir: &Path, password: &str, extra: &[&str]) -> Doctor {
    let mut args = vec![
        "--known-hosts".to_string(),
        dir.join("known_hosts").display().to_string(),
        "--output".into(),
        "json".into(),
        "doctor".into(),
        dir.join("cluster.yml").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = rwin()
        .args(&args)
        .env("REGISTRY_PASSWORD", password)
        .output()
        .expect("rwin runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_no_secret(
        dir,
        password,
        &[&stdout, &String::from_utf8_lossy(&out.stderr)],
    );
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("doctor --output json prints JSON ({e}): {stdout}"));
    Doctor {
        code: out.status.code().unwrap_or(-1),
        stdout,
        json,
    }
}

/// (node, check, detail, fix) of every failed check.
fn failed_checks(json: &serde_json::Value) -> Vec<(String, String, String, String)> {
    json["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["mark"] == "✘")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("node"), s("check"), s("detail"), s("fix"))
        })
        .collect()
}

/// The config text without the node whose address is `address` (a test's own edit).
pub fn without_node(config: &str, address: &str) -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    for line in config.lines() {
        if line.trim_start().starts_with("- address: ") {
            skipping = line.contains(address);
        } else if !line.starts_with("    ") {
            skipping = false;
        }
        if !skipping {
            out.push(line);
        }
    }
    out.join("\n") + "\n"
}
