//! rwin's NTLM client against an NTLM acceptor that shares no code with it.
//!
//! rwin's client and winsim's acceptor are both the sspi crate, so a mistake they share would
//! pass every test between them. Here the other side is tests/it/ntlm_acceptor.py: a WinRM
//! endpoint whose handshake, signatures and sealing are pyspnego's own Python NTLM and whose
//! MS-WSMV multipart/encrypted framing is its own. It logs each decrypted envelope's Action,
//! so these tests see that pyspnego really read what rwin sealed, and rwin reading the
//! ShellId and the command output shows that rwin really read what pyspnego sealed.
//!
//! Over HTTPS the acceptor is also given the TLS channel binding of a certificate, so pyspnego
//! checks the MsvAvChannelBindings rwin sends, as a host with CbtHardeningLevel=Strict does.
//!
//! Needs the project's Python with pyspnego (lab/install-deps.sh makes lab/.venv), or
//! `$RWIN_PYTHON`, and the openssl command for the HTTPS certificates; without them the tests
//! fail and say so.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rwin::secret::Secret;
use rwin::transport::winrm::{
    HttpOptions, HttpPoster, RandomIds, ShellOptions, WinrmError, WinrsShell,
};

const PASSWORD: &str = "Interop-Pa55";
/// Every client call gets this long before the test fails instead of hanging.
const BOUND: Duration = Duration::from_secs(30);

const CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
const DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
const COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
const RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
const SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";

/// The project's own Python (lab/install-deps.sh makes lab/.venv), or `$RWIN_PYTHON`.
fn test_python() -> PathBuf {
    match std::env::var_os("RWIN_PYTHON") {
        Some(p) if !p.is_empty() => p.into(),
        _ => crate::common::repo().join("lab/.venv/bin/python"),
    }
}

/// tests/it/ntlm_acceptor.py running on 127.0.0.1; killed on drop.
struct Acceptor {
    child: Child,
    /// Closing it tells the script to exit.
    stdin: Option<ChildStdin>,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Acceptor {
    /// Start the acceptor with `accounts` as its NTLM_USER_FILE (`DOMAIN:USER:PASSWORD` lines).
    fn start(accounts: &str) -> Acceptor {
        Acceptor::start_as(accounts, "")
    }

    /// Start the acceptor misbehaving as `mode` says (ACCEPTOR_MODE, see the script).
    fn start_as(accounts: &str, mode: &str) -> Acceptor {
        Acceptor::start_with(accounts, mode, &[])
    }

    /// Start the acceptor over HTTPS with `served` (`<name>.pem` and `<name>.key`), expecting
    /// the channel binding of the certificate `bound` (see the script).
    fn start_tls(accounts: &str, served: &Path, bound: &Path) -> Acceptor {
        Acceptor::start_with(
            accounts,
            "",
            &[
                ("ACCEPTOR_TLS_CERT", served.with_extension("pem")),
                ("ACCEPTOR_TLS_KEY", served.with_extension("key")),
                ("ACCEPTOR_CBT_CERT", bound.with_extension("pem")),
            ],
        )
    }

    fn start_with(accounts: &str, mode: &str, env: &[(&str, PathBuf)]) -> Acceptor {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("ntlm-users");
        std::fs::write(&users, accounts).unwrap();
        let python = test_python();
        let script = crate::common::repo().join("tests/it/ntlm_acceptor.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .env("NTLM_USER_FILE", &users)
            .env("ACCEPTOR_MODE", mode)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} does not run ({e}): run lab/install-deps.sh, which puts pyspnego in the \
                     project's venv (lab/.venv), or set RWIN_PYTHON",
                    python.display()
                )
            });
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (first_tx, first_rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let lines = log.clone();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = first_tx.send(line.clone());
                lines.lock().unwrap().push(line);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let text = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            text.lock().unwrap().push_str(&s);
        });
        let stdin = child.stdin.take();
        let mut acceptor = Acceptor {
            child,
            stdin,
            port: 0,
            log,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
            _dir: dir,
        };
        match first_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => {
                let port = line
                    .strip_prefix("listening 127.0.0.1:")
                    .and_then(|p| p.parse().ok());
                acceptor.port = port.unwrap_or_else(|| {
                    panic!("the acceptor's first line is not its address: {line:?}")
                });
            }
            Err(_) => {
                // Exited (the module is missing: code 2) or silent for 20 s.
                let log = acceptor.finish();
                let code = acceptor
                    .child
                    .try_wait()
                    .ok()
                    .flatten()
                    .and_then(|s| s.code());
                let stderr = acceptor.stderr.lock().unwrap().clone();
                if code == Some(2) {
                    panic!(
                        "pyspnego is not installed for {}; run lab/install-deps.sh (this test \
                         needs it)\n{stderr}",
                        python.display()
                    );
                }
                panic!(
                    "the NTLM acceptor did not start (exit {code:?})\nstdout: {log:?}\nstderr:\n{stderr}"
                );
            }
        }
        acceptor
    }

    /// Stop the acceptor and return everything it logged.
    fn finish(&mut self) -> Vec<String> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.log.lock().unwrap().clone()
    }

    /// What the acceptor logged, with its stderr, for failure messages.
    fn report(&self, log: &[String]) -> String {
        format!(
            "acceptor log:\n  {}\nacceptor stderr:\n{}",
            log.join("\n  "),
            self.stderr.lock().unwrap()
        )
    }

    fn options(&self, user: &str, password: &str) -> HttpOptions {
        let mut o = HttpOptions::http_ntlm("127.0.0.1", user, Secret::new(password));
        o.port = self.port;
        o.connect_timeout = Duration::from_secs(5);
        o.operation_timeout = Duration::from_secs(5);
        o
    }

    /// NTLM over HTTPS to the TLS acceptor; its certificates are self-signed, so without
    /// verification (the case where only the channel binding stops a relay).
    fn https_options(&self, user: &str, password: &str) -> HttpOptions {
        let mut o = self.options(user, password);
        o.https = true;
        o.insecure_skip_verify = true;
        o
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {}s", BOUND.as_secs()))
}

async fn open(opts: HttpOptions) -> Result<WinrsShell, WinrmError> {
    let poster = HttpPoster::new(opts)?;
    let shell_opts = ShellOptions {
        operation_timeout: Duration::from_secs(5),
        ..ShellOptions::default()
    };
    WinrsShell::open(Arc::new(poster), Arc::new(RandomIds::default()), shell_opts).await
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The Actions the acceptor decrypted, in order.
fn decrypted(log: &[String]) -> Vec<&str> {
    served(log, "decrypted ")
}

/// The Actions the acceptor logged with `how` (`decrypted `, `received `), in order.
fn served<'a>(log: &'a [String], how: &str) -> Vec<&'a str> {
    log.iter().filter_map(|l| l.strip_prefix(how)).collect()
}

/// Open a shell as `user`, run two commands in it and close it; check both sides' views.
async fn shell_round_trip(accounts: &str, user: &str, principal: &str) {
    let acceptor = Acceptor::start(accounts);
    let opts = acceptor.options(user, PASSWORD);
    round_trip(acceptor, opts, principal, "decrypted ").await;
}

/// Open a shell with `opts`, run two commands and close it; pyspnego authenticated
/// `principal` once and logged each envelope with `how`.
async fn round_trip(mut acceptor: Acceptor, opts: HttpOptions, principal: &str, how: &str) {
    let outcome = bounded("open, two commands, close", async {
        let shell = open(opts).await?;
        let id = shell.shell_id().await;
        let hi = shell
            .run("cmd.exe", &args(&["/c", "echo", "hi"]), None)
            .await?;
        // Non-ASCII: OriginalContent's Length counts bytes, in both directions.
        let utf8 = shell
            .run("cmd.exe", &args(&["/c", "echo", "grüße ✓"]), None)
            .await?;
        shell.close().await?;
        Ok::<_, WinrmError>((id, hi, utf8))
    })
    .await;
    let log = acceptor.finish();
    let report = acceptor.report(&log);
    let (id, hi, utf8) = outcome.unwrap_or_else(|e| panic!("rwin against pyspnego: {e}\n{report}"));

    // The handshake: pyspnego accepted rwin's AUTHENTICATE once, as the account we meant.
    let auths: Vec<&String> = log.iter().filter(|l| l.starts_with("auth ")).collect();
    assert_eq!(auths, [&format!("auth ok {principal}")], "{report}");
    // pyspnego decrypted every envelope rwin sealed, on one context: the sequence numbers
    // and the RC4 state ran on across all eight messages in both directions (over HTTPS:
    // every envelope reached it, on the connection it authenticated).
    assert_eq!(
        served(&log, how),
        [CREATE, COMMAND, RECEIVE, SIGNAL, COMMAND, RECEIVE, SIGNAL, DELETE],
        "{report}"
    );
    assert!(!log.iter().any(|l| l.starts_with("error")), "{report}");
    // rwin decrypted pyspnego's CreateResponse and took the ShellId the acceptor chose.
    let created: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("created shell "))
        .collect();
    assert_eq!(created.len(), 1, "{report}");
    assert_eq!(id.as_deref(), Some(created[0]), "{report}");
    // And the command output pyspnego sealed.
    assert_eq!(
        (hi.stdout.as_str(), hi.stderr.as_str(), hi.code),
        ("hi\r\n", "", 0)
    );
    assert_eq!((utf8.stdout.as_str(), utf8.code), ("grüße ✓\r\n", 0));
}

#[tokio::test]
async fn domain_account_runs_a_command_through_pyspnego() {
    shell_round_trip(
        &format!("RWIN:vagrant:{PASSWORD}\n"),
        "RWIN\\vagrant",
        "RWIN\\vagrant",
    )
    .await;
}

#[tokio::test]
async fn local_account_runs_a_command_through_pyspnego() {
    // A bare user name, as cluster.yml writes a local Administrator.
    shell_round_trip(
        &format!(":Administrator:{PASSWORD}\n"),
        "Administrator",
        "Administrator",
    )
    .await;
}

#[tokio::test]
async fn wrong_password_is_refused_by_pyspnego_and_named() {
    let mut acceptor = Acceptor::start(&format!("RWIN:vagrant:{PASSWORD}\n"));
    let result = bounded(
        "open with a wrong password",
        open(acceptor.options("RWIN\\vagrant", "not-the-password")),
    )
    .await;
    let log = acceptor.finish();
    let report = acceptor.report(&log);
    let err = match result {
        Ok(_) => panic!("a wrong password opened a shell\n{report}"),
        Err(e) => e,
    };
    assert!(
        matches!(err, WinrmError::AuthRejected { .. }),
        "{err:?}\n{report}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("WinRM rejected user RWIN\\vagrant (auth ntlm)."),
        "{msg}"
    );
    // It was pyspnego that said no, to the response it computed, and nothing was decrypted.
    assert!(
        log.iter()
            .any(|l| l.starts_with("auth refused") && l.contains("Invalid NTLM response")),
        "{report}"
    );
    assert!(!log.iter().any(|l| l.starts_with("auth ok")), "{report}");
    assert!(decrypted(&log).is_empty(), "{report}");
}

/// Open a shell against an acceptor in `mode` and run `echo hi` in it.
async fn run_against(mode: &str) -> (Result<rwin::transport::ExecOutput, WinrmError>, String) {
    let mut acceptor = Acceptor::start_as(&format!("RWIN:vagrant:{PASSWORD}\n"), mode);
    let outcome = bounded("open and run one command", async {
        let shell = open(acceptor.options("RWIN\\vagrant", PASSWORD)).await?;
        shell
            .run("cmd.exe", &args(&["/c", "echo", "hi"]), None)
            .await
    })
    .await;
    let log = acceptor.finish();
    (outcome, acceptor.report(&log))
}

/// The error of an answer that came back in clear after the handshake (issue 13 point 1).
fn assert_refused_in_clear(outcome: Result<rwin::transport::ExecOutput, WinrmError>, report: &str) {
    let err = match outcome {
        Ok(out) => panic!("an answer in clear was accepted: {out:?}\n{report}"),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(
        matches!(err, WinrmError::Encryption { .. }),
        "{err:?}\n{report}"
    );
    assert!(msg.contains("HTTP 500 without encryption"), "{msg}");
    assert!(msg.contains("refuses"), "{msg}");
}

/// A host that never knew the password can answer rwin's AUTHENTICATE with 200 (NTLM does not
/// prove the server to the client); it cannot seal. Its answers in clear, sent with HTTP 500,
/// must not make a command "succeed" with its stdout.
#[tokio::test]
async fn a_host_without_the_password_cannot_make_a_command_succeed() {
    let (outcome, report) = run_against("impostor").await;
    assert!(report.contains("auth faked"), "{report}");
    assert_refused_in_clear(outcome, &report);
}

/// After a real handshake, an unencrypted HTTP 500 with a WinRM fault is not read as the
/// host's fault: anyone on the path could have written it.
#[tokio::test]
async fn an_unencrypted_fault_after_the_handshake_is_refused() {
    let (outcome, report) = run_against("plain-fault").await;
    assert!(report.contains("auth ok RWIN\\vagrant"), "{report}");
    assert_refused_in_clear(outcome, &report);
}

/// After a real handshake, a forged ReceiveResponse in clear (HTTP 500) is refused, not
/// taken as the command's output.
#[tokio::test]
async fn an_unencrypted_receive_after_the_handshake_is_refused() {
    let (outcome, report) = run_against("plain-receive").await;
    assert!(report.contains("answered in clear: Receive"), "{report}");
    assert_refused_in_clear(outcome, &report);
}

/// The connection drops during Receive and new connections are dropped for 1.5 s (a vSwitch
/// created on the NIC that carries WinRM): the shell and the command live on on the host, so
/// rwin asks again with the same ShellId and CommandId and gets the output (issue 12 §2).
#[tokio::test]
async fn a_receive_cut_off_for_a_while_is_asked_again() {
    let (outcome, report) = run_against("drop-receive:1.5").await;
    let out = outcome.unwrap_or_else(|e| panic!("{e}\n{report}"));
    assert_eq!((out.stdout.as_str(), out.code), ("hi\r\n", 0), "{report}");
    assert!(report.contains("dropped connection 2"), "{report}");
}

// ---------------------------------------------------------------- HTTPS: the channel binding

/// A self-signed certificate `<dir>/<name>.pem` and its key `<name>.key`, made by the openssl
/// command; `key` and `sign` are its key-generation and signing options.
fn certificate(dir: &Path, name: &str, key: &str, sign: &str) -> PathBuf {
    let run = |args: String| {
        let args: Vec<&str> = args.split(' ').collect();
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("these tests need the openssl command ({e})"));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(format!("genpkey {key} -out {name}.key"));
    run(format!(
        "req -x509 -new -key {name}.key -days 2 -subj /CN=rwin-cbt-{name} {sign} -out {name}.pem"
    ));
    dir.join(name)
}

/// Over HTTPS, pyspnego given the host certificate's channel binding (as a host with
/// CbtHardeningLevel=Strict) accepts rwin's NTLM, MIC and all, and serves a shell: for an RSA
/// certificate signed with SHA-256 and an ECDSA P-384 one signed with SHA-384 (whose binding
/// is a SHA-384 hash).
#[tokio::test]
async fn https_ntlm_carries_the_channel_binding_pyspnego_requires() {
    let dir = tempfile::tempdir().unwrap();
    let certs = [
        certificate(
            dir.path(),
            "rsa",
            "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
            "-sha256",
        ),
        certificate(
            dir.path(),
            "p384",
            "-algorithm EC -pkeyopt ec_paramgen_curve:P-384",
            "-sha384",
        ),
    ];
    for cert in &certs {
        let acceptor = Acceptor::start_tls(&format!("RWIN:vagrant:{PASSWORD}\n"), cert, cert);
        let opts = acceptor.https_options("RWIN\\vagrant", PASSWORD);
        round_trip(acceptor, opts, "RWIN\\vagrant", "received ").await;
    }
}

/// A relay (or a TLS-inspecting proxy) shows rwin a certificate of its own and passes the NTLM
/// messages on to the host: the host then finds the binding of a certificate that is not its
/// own and refuses the login, even though rwin skipped certificate verification. rwin names
/// the rejection and the channel binding as a cause.
#[tokio::test]
async fn a_login_bound_to_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = "-algorithm RSA -pkeyopt rsa_keygen_bits:2048";
    let shown = certificate(dir.path(), "relay", rsa, "-sha256");
    let host = certificate(dir.path(), "host", rsa, "-sha256");
    let mut acceptor = Acceptor::start_tls(&format!("RWIN:vagrant:{PASSWORD}\n"), &shown, &host);
    let result = bounded(
        "open through a relay",
        open(acceptor.https_options("RWIN\\vagrant", PASSWORD)),
    )
    .await;
    let log = acceptor.finish();
    let report = acceptor.report(&log);
    let err = match result {
        Ok(_) => panic!("a login bound to another certificate opened a shell\n{report}"),
        Err(e) => e,
    };
    assert!(
        matches!(err, WinrmError::AuthRejected { .. }),
        "{err:?}\n{report}"
    );
    assert!(err.to_string().contains("channel binding"), "{err}");
    // pyspnego read the binding rwin sent and found it is not the host's.
    assert!(
        log.iter().any(|l| l.starts_with("auth refused")
            && l.contains("Acceptor bindings do not match initiator bindings")),
        "{report}"
    );
    assert!(served(&log, "received ").is_empty(), "{report}");
}
