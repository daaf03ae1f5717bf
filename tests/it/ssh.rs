//! SSH against a real OpenSSH sshd on 127.0.0.1: password and ssh-agent authentication as
//! cluster.yml asks for them, and host keys checked against the known_hosts file that
//! --known-hosts, RWIN_KNOWN_HOSTS or ~/.ssh/known_hosts names.
//!
//! Each test starts its own sshd on a free loopback port, in a mount namespace of its own
//! (`unshare -m`): there `/run/sshd` exists and `/etc/shadow` is a one-line file giving root a
//! test password, so nothing on the machine changes. `rwin plan` with `container_engine: none`
//! then reads this machine's routing, which changes nothing either. Needs root, sshd
//! (openssh-server), ssh-keygen, ssh-agent and openssl, as the lab does; built with
//! RWIN_SKIP_LAB=1 they are ignored, with the reason in the test summary, like the lab tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::rwin;

const PASSWORD: &str = "correct horse 7";

/// One sshd, stopped (by its PID) when dropped.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    /// An sshd that takes root's password (PASSWORD) and the key `user_key` (its `.pub` is
    /// the one authorized key).
    fn start() -> Sshd {
        let uid = Command::new("id").arg("-u").output().expect("id runs");
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "the sshd tests need root (a mount namespace for sshd); run the README's test command (as root, or with cargo's runner set to `sudo -E`), or set RWIN_SKIP_LAB=1 to skip them knowingly (they then show as ignored)"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host_key", "user_key"] {
            sh(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
                .arg(d.join(key)));
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        let hash =
            sh(Command::new("openssl").args(["passwd", "-6", "-salt", "rwintest", PASSWORD]));
        std::fs::write(
            d.join("shadow"),
            format!("root:{}:19000:0:99999:7:::\n", hash.trim()),
        )
        .unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nHostKey {}\nPidFile none\nUsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nAuthorizedKeysFile {}\nStrictModes no\nPermitRootLogin yes\nLogLevel VERBOSE\n",
                d.join("host_key").display(),
                d.join("authorized_keys").display()
            ),
        )
        .unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let child = Command::new("unshare")
            .args([
                "-m",
                "sh",
                "-c",
                "mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && mount --bind \"$1\" /etc/shadow && exec /usr/sbin/sshd -D -e -f \"$2\" -p \"$3\"",
                "sh",
            ])
            .arg(d.join("shadow"))
            .arg(d.join("sshd_config"))
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("unshare (util-linux) runs");
        let mut sshd = Sshd { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sshd.log().contains("Server listening on 127.0.0.1") {
            let exited = sshd.child.try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "sshd did not start ({exited:?}):\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("sshd.log")).unwrap_or_default()
    }

    /// The host key as a known_hosts entry for this sshd (`[127.0.0.1]:port type key`).
    fn known_hosts_line(&self) -> String {
        let public = std::fs::read_to_string(self.dir().join("host_key.pub")).unwrap();
        format!("[127.0.0.1]:{} {}", self.port, public.trim())
    }

    /// The host key's SHA256 fingerprint as ssh-keygen prints it.
    fn fingerprint(&self) -> String {
        let out = sh(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir().join("host_key.pub")));
        out.split_whitespace().nth(1).unwrap().to_string()
    }

    /// cluster.yml for one node on this sshd, with `auth` as its authentication setting.
    fn config(&self, auth: &str) -> PathBuf {
        let cfg = self.dir().join("cluster.yml");
        std::fs::write(
            &cfg,
            format!(
                "network: {{container_engine: none}}\n{auth}\nnodes:\n  - {{address: 127.0.0.1, port: {}, hostname_override: me}}\n",
                self.port
            ),
        )
        .unwrap();
        cfg
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a setup command; its stdout.
fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `rwin ARGS plan CONFIG` with HOME in the test's directory (no ~/.ssh/id_rsa to fall back
/// on) and `env` added.
fn plan(sshd: &Sshd, cfg: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = rwin();
    cmd.env("HOME", sshd.dir())
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("RWIN_SSH_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["--connect-timeout", "10"])
        .args(args)
        .arg("plan")
        .arg(cfg)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A known_hosts file in the test's directory that knows this sshd.
fn known(sshd: &Sshd) -> PathBuf {
    let kh = sshd.dir().join("known_hosts");
    std::fs::write(&kh, format!("{}\n", sshd.known_hosts_line())).unwrap();
    kh
}

fn assert_planned(sshd: &Sshd, r: &Run) {
    assert_eq!(
        r.code,
        Some(0),
        "{}\n{}\nsshd:\n{}",
        r.stdout,
        r.stderr,
        sshd.log()
    );
    assert!(
        r.stdout
            .starts_with("me (127.0.0.1, linux, subnet 10.42.0.0/24"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("? unknown"), "{}", r.stdout);
}

#[test]
#[cfg_attr(rwin_skip_lab, ignore = "RWIN_SKIP_LAB=1: the sshd tests were not run")]
fn password_env_logs_in_and_a_wrong_password_is_refused() {
    let sshd = Sshd::start();
    let cfg = sshd.config("");
    // The node entry asks for the password from the environment.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "hostname_override: me}",
        "hostname_override: me, password_env: RWIN_SSH_PASSWORD}",
    );
    std::fs::write(&cfg, text).unwrap();
    let kh = known(&sshd);
    let kh_arg = kh.to_str().unwrap();

    let r = plan(
        &sshd,
        &cfg,
        &["--known-hosts", kh_arg],
        &[("RWIN_SSH_PASSWORD", PASSWORD)],
    );
    assert_planned(&sshd, &r);
    assert!(
        sshd.log()
            .contains("Accepted password for root from 127.0.0.1"),
        "{}",
        sshd.log()
    );

    let r = plan(
        &sshd,
        &cfg,
        &["--known-hosts", kh_arg],
        &[("RWIN_SSH_PASSWORD", "wrong")],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("me: SSH authentication failed for user root (password)."),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("wrong"), "the password is never printed");
}

#[test]
#[cfg_attr(rwin_skip_lab, ignore = "RWIN_SKIP_LAB=1: the sshd tests were not run")]
fn ssh_agent_auth_signs_with_the_agent_in_ssh_auth_sock() {
    let sshd = Sshd::start();
    let cfg = sshd.config("ssh_agent_auth: true");
    let kh = known(&sshd);
    let kh_arg = kh.to_str().unwrap();
    let sock = sshd.dir().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client) runs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent made no socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sock_s = sock.to_str().unwrap();
    let check = std::panic::catch_unwind(|| {
        // An agent without the key: refused, and the message names what was tried.
        let r = plan(
            &sshd,
            &cfg,
            &["--known-hosts", kh_arg],
            &[("SSH_AUTH_SOCK", sock_s)],
        );
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(
            r.stderr
                .contains("me: SSH authentication failed for user root (ssh-agent)."),
            "{}",
            r.stderr
        );

        sh(Command::new("ssh-add")
            .arg(sshd.dir().join("user_key"))
            .env("SSH_AUTH_SOCK", sock_s));
        let r = plan(
            &sshd,
            &cfg,
            &["--known-hosts", kh_arg],
            &[("SSH_AUTH_SOCK", sock_s)],
        );
        assert_planned(&sshd, &r);
        assert!(
            sshd.log()
                .contains("Accepted publickey for root from 127.0.0.1"),
            "{}",
            sshd.log()
        );

        // No agent to ask.
        let r = plan(&sshd, &cfg, &["--known-hosts", kh_arg], &[]);
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(
            r.stderr.contains("(ssh-agent (SSH_AUTH_SOCK not usable))"),
            "{}",
            r.stderr
        );
    });
    let _ = agent.kill();
    let _ = agent.wait();
    if let Err(e) = check {
        std::panic::resume_unwind(e);
    }
}

#[test]
#[cfg_attr(rwin_skip_lab, ignore = "RWIN_SKIP_LAB=1: the sshd tests were not run")]
fn rwin_known_hosts_is_the_file_unless_known_hosts_is_given() {
    let sshd = Sshd::start();
    let cfg = sshd.config("ssh_agent_auth: false");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "hostname_override: me}",
        "hostname_override: me, password_env: RWIN_SSH_PASSWORD}",
    );
    std::fs::write(&cfg, text).unwrap();
    let from_env = sshd.dir().join("from-env").join("known_hosts");
    let from_flag = sshd.dir().join("from-flag");
    let default = sshd.dir().join(".ssh").join("known_hosts");
    let from_env_s = from_env.to_str().unwrap();
    // The password, and RWIN_KNOWN_HOSTS naming `from_env` or not at all.
    let env = |with_variable: bool| {
        let mut v = vec![("RWIN_SSH_PASSWORD", PASSWORD)];
        if with_variable {
            v.push(("RWIN_KNOWN_HOSTS", from_env_s));
        }
        v
    };
    let unknown = |r: &Run, file: &Path| {
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        let want = format!(
            "me: host key of 127.0.0.1:{} is not known (ssh-ed25519 {}). Verify it, then re-run with --accept-new-host-keys (or answer yes on a terminal) to record it in {}\n",
            sshd.port,
            sshd.fingerprint(),
            file.display()
        );
        assert!(r.stderr.contains(&want), "wanted: {want}\n{}", r.stderr);
    };

    unknown(&plan(&sshd, &cfg, &[], &env(false)), &default);
    unknown(&plan(&sshd, &cfg, &[], &env(true)), &from_env);
    unknown(
        &plan(
            &sshd,
            &cfg,
            &["--known-hosts", from_flag.to_str().unwrap()],
            &env(true),
        ),
        &from_flag,
    );

    // Trusting it records it in RWIN_KNOWN_HOSTS's file (made with its directory), as ssh
    // writes a host on another port; the next run knows it.
    let r = plan(&sshd, &cfg, &["--accept-new-host-keys"], &env(true));
    assert_planned(&sshd, &r);
    let recorded = std::fs::read_to_string(&from_env).unwrap();
    assert_eq!(
        recorded
            .lines()
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>(),
        [sshd.known_hosts_line()]
    );
    assert!(!default.exists() && !from_flag.exists());
    assert_planned(&sshd, &plan(&sshd, &cfg, &[], &env(true)));
}

#[test]
#[cfg_attr(rwin_skip_lab, ignore = "RWIN_SKIP_LAB=1: the sshd tests were not run")]
fn a_changed_or_revoked_host_key_is_refused_naming_its_line() {
    let sshd = Sshd::start();
    let cfg = sshd.config("");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "hostname_override: me}",
        "hostname_override: me, password_env: RWIN_SSH_PASSWORD}",
    );
    std::fs::write(&cfg, text).unwrap();
    let kh = sshd.dir().join("kh");
    let kh_arg = kh.to_str().unwrap();
    let env = [("RWIN_SSH_PASSWORD", PASSWORD)];

    // An old key recorded for this host:port, below two comment lines.
    let old = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILcH1P1vtgpdnb6NieABjoktF4/0M5ivg6SnjurhN6br";
    let before = format!("# lab\n# hosts\n[127.0.0.1]:{} {old}\n", sshd.port);
    std::fs::write(&kh, &before).unwrap();
    let r = plan(
        &sshd,
        &cfg,
        &["--known-hosts", kh_arg, "--accept-new-host-keys"],
        &env,
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let want = format!(
        "me: HOST KEY CHANGED for 127.0.0.1:{}: it now presents ssh-ed25519 {}, which does not match {kh_arg} line 3.",
        sshd.port,
        sshd.fingerprint()
    );
    assert!(r.stderr.contains(&want), "wanted: {want}\n{}", r.stderr);
    let advice = format!("`ssh-keygen -R '[127.0.0.1]:{}' -f {kh_arg}`", sshd.port);
    assert!(r.stderr.contains(&advice), "wanted: {advice}\n{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        before,
        "nothing recorded"
    );

    // The host's real key, revoked: refused even with --accept-new-host-keys.
    let public = sshd.known_hosts_line();
    let key = public.split_once(' ').unwrap().1;
    let before = format!("# retired keys\n@revoked * {key}\n");
    std::fs::write(&kh, &before).unwrap();
    let r = plan(
        &sshd,
        &cfg,
        &["--known-hosts", kh_arg, "--accept-new-host-keys"],
        &env,
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "me: the host key of 127.0.0.1:{} (ssh-ed25519 {}) is REVOKED: {kh_arg} line 2 marks it @revoked",
            sshd.port,
            sshd.fingerprint()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        before,
        "nothing recorded"
    );
}
