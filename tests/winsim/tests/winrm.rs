//! winsim's WinRM service against two real clients: pywinrm (third party: requests-ntlm and
//! pyspnego do the NTLM) and rwin's own WinRS client, over HTTP with NTLM message encryption
//! and over HTTPS with Basic (a CA made here signs the server certificate).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rwin::secret::Secret;
use rwin::transport::winrm::{
    Auth, HttpOptions, HttpPoster, Insecure, RandomIds, ShellOptions, WinrmError, WinrsShell,
};
use winsim::runner::{CommandRunner, Launch, Output};
use winsim::winrm::{tls_config, Users, WinrmServer};

const USER: &str = "Administrator";
const PASSWORD: &str = "Winsim-Passw0rd!";

/// Stand-in host commands: `echo WORDS`, `fail N` (stderr, exit N), `sleep MS`, `cat` (stdin
/// back on stdout), `wait GATE` (finishes when the test opens the gate: see `open_gate`),
/// `codepage` (the console code page the shell started it in, `None` for the host's OEM one).
struct TestRunner;

/// Gates for `wait GATE`: a command that runs exactly as long as the test wants, so a test
/// about polling does not depend on how long a sleep takes against a timeout on this machine.
fn gate(name: &str) -> Arc<tokio::sync::Notify> {
    static GATES: std::sync::Mutex<
        Option<std::collections::HashMap<String, Arc<tokio::sync::Notify>>>,
    > = std::sync::Mutex::new(None);
    let mut gates = GATES.lock().unwrap();
    Arc::clone(
        gates
            .get_or_insert_with(Default::default)
            .entry(name.to_string())
            .or_default(),
    )
}

impl CommandRunner for TestRunner {
    fn launch<'a>(
        &'a self,
        line: &'a str,
        stdin: &'a [u8],
        launch: &'a Launch,
    ) -> BoxFuture<'a, Output> {
        if line.trim() == "codepage" {
            let stdout = format!("{:?}\r\n", launch.codepage).into_bytes();
            return Box::pin(async move {
                Output {
                    stdout,
                    ..Output::default()
                }
            });
        }
        self.run(line, stdin)
    }

    fn run<'a>(&'a self, line: &'a str, stdin: &'a [u8]) -> BoxFuture<'a, Output> {
        Box::pin(async move {
            // A program given by its full path (`C:\…\echo`) is the same program.
            let mut words: Vec<&str> = line.split_whitespace().collect();
            if let Some(first) = words.first_mut() {
                *first = first.rsplit('\\').next().unwrap_or(first);
            }
            let text = |s: String| s.into_bytes();
            match words.as_slice() {
                ["echo", rest @ ..] => Output {
                    stdout: text(format!("{}\r\n", rest.join(" "))),
                    ..Output::default()
                },
                ["fail", n] => Output {
                    stderr: text(format!("failed with {n}\r\n")),
                    code: n.parse().unwrap_or(1),
                    ..Output::default()
                },
                ["sleep", ms] => {
                    tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
                    Output {
                        stdout: b"slept\r\n".to_vec(),
                        ..Output::default()
                    }
                }
                ["wait", name] => {
                    gate(name).notified().await;
                    Output {
                        stdout: b"released\r\n".to_vec(),
                        ..Output::default()
                    }
                }
                ["cat"] => Output {
                    stdout: stdin.to_vec(),
                    ..Output::default()
                },
                _ => Output {
                    stderr: text(format!("unknown test command {line:?}\r\n")),
                    code: 1,
                    ..Output::default()
                },
            }
        })
    }
}

struct Running {
    http_port: u16,
    https_port: u16,
    ca: PathBuf,
    _dir: TempDir,
}

/// A directory removed at the end of the test.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost, as PEM files in `dir`.
fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "winsim test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

async fn start() -> Running {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("winsim-winrm-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = make_certs(&dir);
    let server = WinrmServer::new(Arc::new(TestRunner), Users::new([(USER, PASSWORD)]));
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (http_port, https_port) = (
        http.local_addr().unwrap().port(),
        https.local_addr().unwrap().port(),
    );
    tokio::spawn(Arc::clone(&server).serve_http(http));
    tokio::spawn(server.serve_https(https, tls_config(&cert, &key).unwrap()));
    Running {
        http_port,
        https_port,
        ca,
        _dir: TempDir(dir),
    }
}

/// The project's own Python (lab/install-deps.sh makes lab/.venv), or `$RWIN_PYTHON`.
fn test_python() -> std::path::PathBuf {
    match std::env::var_os("RWIN_PYTHON") {
        Some(p) if !p.is_empty() => p.into(),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lab/.venv/bin/python"),
    }
}

fn pywinrm(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pywinrm_check.py");
    let python = test_python();
    let out = std::process::Command::new(&python)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} does not run ({e}): run lab/install-deps.sh, which puts pywinrm in the project's venv (lab/.venv), or set RWIN_PYTHON",
                python.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2) {
        panic!(
            "pywinrm is not installed in {}; run lab/install-deps.sh (this test needs it)\n{stderr}",
            python.display()
        );
    }
    assert!(
        out.status.success(),
        "pywinrm check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("ok wrong password refused"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pywinrm_over_http_with_ntlm_message_encryption() {
    let s = start().await;
    let endpoint = format!("http://127.0.0.1:{}/wsman", s.http_port);
    tokio::task::spawn_blocking(move || pywinrm(&[&endpoint, "ntlm", USER, PASSWORD]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pywinrm_over_https_with_basic_and_a_validated_certificate() {
    let s = start().await;
    let endpoint = format!("https://127.0.0.1:{}/wsman", s.https_port);
    let ca = s.ca.display().to_string();
    tokio::task::spawn_blocking(move || pywinrm(&[&endpoint, "basic", USER, PASSWORD, &ca]))
        .await
        .unwrap();
    drop(s);
}

fn rwin_options(s: &Running, https: bool, password: &str) -> HttpOptions {
    let mut o = if https {
        HttpOptions::https_basic("127.0.0.1", USER, Secret::new(password))
    } else {
        HttpOptions::http_ntlm("127.0.0.1", USER, Secret::new(password))
    };
    o.port = if https { s.https_port } else { s.http_port };
    o.ca_cert = https.then(|| s.ca.clone());
    o.operation_timeout = Duration::from_secs(1);
    o
}

async fn open(opts: HttpOptions) -> Result<WinrsShell, WinrmError> {
    let poster = HttpPoster::new(opts)?;
    let shell_opts = ShellOptions {
        operation_timeout: Duration::from_secs(1),
        ..ShellOptions::default()
    };
    WinrsShell::open(Arc::new(poster), Arc::new(RandomIds::default()), shell_opts).await
}

/// WINRS_SKIP_CMD_SHELL=TRUE starts the program without cmd.exe, and a real host then does not
/// look a bare name up on PATH: pypsrp's recording test_winrs_no_cmd_shell.yml (a Windows host
/// answering `powershell.exe` with s:Receiver / w:InternalError, WSManFault code 2147942402,
/// "The system cannot find the file specified.", and running
/// `C:\Windows\system32\WindowsPowerShell\v1.0\powershell.exe`). Without the option (through
/// cmd.exe) the bare name runs, as in its test_winrs_send.yml.
#[tokio::test]
async fn without_cmd_exe_a_program_needs_its_full_path() {
    let s = start().await;
    let poster = HttpPoster::new(rwin_options(&s, false, PASSWORD)).expect("a poster");
    let shell = WinrsShell::open(
        Arc::new(poster),
        Arc::new(RandomIds::default()),
        ShellOptions {
            operation_timeout: Duration::from_secs(1),
            skip_cmd_shell: true,
            ..ShellOptions::default()
        },
    )
    .await
    .expect("shell opens");
    match shell.run("echo", &["hi".into()], None).await {
        Err(WinrmError::Fault { fault, .. }) => {
            assert_eq!(fault.wsman_code, Some(2_147_942_402), "{fault:?}");
            assert!(
                fault
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains("cannot find the file")),
                "{fault:?}"
            );
        }
        other => panic!("a bare name ran without cmd.exe: {other:?}"),
    }
    let out = shell
        .run(r"C:\Windows\System32\echo", &["hi".into()], None)
        .await
        .expect("the full path runs");
    assert_eq!((out.stdout.as_str(), out.code), ("hi\r\n", 0));
    shell.close().await.unwrap();
}

/// A shell created with WINRS_CODEPAGE starts its commands in that console code page, as
/// the service sets it as the shell's input and output code page ([MS-WSMV], Remote Shells);
/// without it they get the host's OEM code page.
#[tokio::test]
async fn the_shell_code_page_is_its_commands_console_code_page() {
    let s = start().await;
    for (codepage, want) in [
        (Some(65001), "Some(65001)"),
        (Some(437), "Some(437)"),
        (None, "None"),
    ] {
        let poster = HttpPoster::new(rwin_options(&s, false, PASSWORD)).expect("a poster");
        let mut opts = ShellOptions {
            operation_timeout: Duration::from_secs(1),
            ..ShellOptions::default()
        };
        opts.spec.codepage = codepage;
        let shell = WinrsShell::open(Arc::new(poster), Arc::new(RandomIds::default()), opts)
            .await
            .expect("shell opens");
        let out = shell.run("codepage", &[], None).await.unwrap();
        assert_eq!(out.stdout, format!("{want}\r\n"));
        shell.close().await.unwrap();
    }
}

async fn rwin_runs_commands(opts: HttpOptions, name: &str) {
    let shell = open(opts).await.expect("shell opens");
    let out = shell.run("echo", &["hi".into()], None).await.unwrap();
    assert_eq!((out.stdout.as_str(), out.code), ("hi\r\n", 0));
    let out = shell.run("fail", &["3".into()], None).await.unwrap();
    assert_eq!((out.stderr.as_str(), out.code), ("failed with 3\r\n", 3));
    let script = "Write-Output 'from stdin'\n".repeat(2000);
    let out = shell
        .run("cat", &[], Some(script.as_bytes()))
        .await
        .unwrap();
    assert_eq!(out.stdout, script);
    // A command that outlives the 1 s OperationTimeout: it finishes only once the client has
    // made two Receives more than Create+Command need, that is, once at least one Receive
    // came back with the TimedOut fault and the client polled again (bounded: 30 s).
    let before = shell.round_trips();
    let release = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while shell.round_trips() - before < 4 {
            assert!(
                std::time::Instant::now() < deadline,
                "the client stopped polling (or the command failed) after {} round trips",
                shell.round_trips() - before
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        gate(name).notify_one();
    };
    let args = [name.to_string()];
    let (out, ()) = tokio::join!(shell.run("wait", &args, None), release);
    assert_eq!(out.unwrap().stdout, "released\r\n");
    shell.close().await.unwrap();
}

#[tokio::test]
async fn rwin_over_http_with_ntlm_message_encryption() {
    let s = start().await;
    rwin_runs_commands(rwin_options(&s, false, PASSWORD), "http-ntlm").await;
}

#[tokio::test]
async fn rwin_over_https_with_basic_and_with_ntlm() {
    let s = start().await;
    rwin_runs_commands(rwin_options(&s, true, PASSWORD), "https-basic").await;
    let mut ntlm = rwin_options(&s, true, PASSWORD);
    ntlm.auth = Auth::Ntlm {
        user: USER.into(),
        password: Secret::new(PASSWORD),
    };
    rwin_runs_commands(ntlm, "https-ntlm").await;
}

#[tokio::test]
async fn rwin_reports_a_wrong_password_and_plain_http_basic_is_refused() {
    let s = start().await;
    for https in [false, true] {
        let err = open(rwin_options(&s, https, "wrong")).await.err().unwrap();
        let auth = if https { "basic" } else { "ntlm" };
        let text = err.to_string();
        assert!(
            text.contains(&format!("WinRM rejected user {USER} (auth {auth})")),
            "{text}"
        );
    }
    // A host with AllowUnencrypted=false refuses Basic on port 5985 even with the right password.
    let mut basic_http = rwin_options(&s, true, PASSWORD);
    basic_http.https = false;
    basic_http.port = s.http_port;
    basic_http.insecure = Some(Insecure::PlainHttpForTests);
    let err = open(basic_http).await.err().unwrap();
    assert!(matches!(err, WinrmError::AuthRejected { .. }), "{err}");
}

/// A TCP relay on 127.0.0.1 in front of `target` that counts the connections it accepts and can
/// cut them all at once, as a host's idle timeout does.
struct Relay {
    port: u16,
    accepted: Arc<AtomicUsize>,
    cut: tokio::sync::watch::Sender<u32>,
}

impl Relay {
    async fn start(target: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (cut, cuts) = tokio::sync::watch::channel(0u32);
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut cuts = cuts.clone();
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Relay {
            port,
            accepted,
            cut,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Close every connection made so far, both ways.
    fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

fn ntlm_via(s: &Running, relay: &Relay, https: bool) -> HttpOptions {
    let mut o = rwin_options(s, https, PASSWORD);
    o.auth = Auth::Ntlm {
        user: USER.into(),
        password: Secret::new(PASSWORD),
    };
    o.port = relay.port;
    o
}

/// NTLM authenticates the connection: the handshake and every request of a shell must share
/// one. A pooling client once sent the first sealed request on a new connection (the
/// authenticated one was not back in its pool yet) and reported the host's 401 as a wrong
/// password, in most lab runs; here every shell must succeed on exactly one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rwin_ntlm_keeps_each_shell_on_its_one_authenticated_connection() {
    let s = start().await;
    for https in [false, true] {
        let relay = Relay::start(if https { s.https_port } else { s.http_port }).await;
        for i in 1..=12 {
            let shell = open(ntlm_via(&s, &relay, https))
                .await
                .unwrap_or_else(|e| panic!("https={https} shell {i}: {e}"));
            for word in ["one", "two", "three"] {
                let out = shell
                    .run("echo", &[word.into()], None)
                    .await
                    .unwrap_or_else(|e| panic!("https={https} shell {i}: {e}"));
                assert_eq!(
                    (out.stdout.as_str(), out.code),
                    (format!("{word}\r\n").as_str(), 0)
                );
            }
            shell.close().await.unwrap();
            assert_eq!(
                relay.accepted(),
                i,
                "https={https}: shell {i} used more than one TCP connection"
            );
        }
    }
}

/// A host that hangs up (idle timeout) costs one new connection and handshake, unseen by the
/// shell: the next command runs, in the same shell.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rwin_ntlm_authenticates_a_new_connection_when_the_host_hangs_up() {
    let s = start().await;
    for https in [false, true] {
        let relay = Relay::start(if https { s.https_port } else { s.http_port }).await;
        let shell = open(ntlm_via(&s, &relay, https)).await.unwrap();
        let out = shell.run("echo", &["before".into()], None).await.unwrap();
        assert_eq!(out.stdout, "before\r\n");
        assert_eq!(relay.accepted(), 1);
        // Whether the client notices the hang-up while idle or only when the next request
        // finds the connection gone, the next command runs on one new connection. (No pause
        // here: which of the two happens is up to the scheduler, the outcome is not.)
        relay.cut_all();
        let out = shell.run("echo", &["after".into()], None).await.unwrap();
        assert_eq!(out.stdout, "after\r\n");
        assert_eq!(relay.accepted(), 2, "https={https}");
        relay.cut_all();
        let out = shell.run("echo", &["again".into()], None).await.unwrap();
        assert_eq!(out.stdout, "again\r\n");
        assert_eq!(relay.accepted(), 3, "https={https}");
        shell.close().await.unwrap();
        assert_eq!(relay.accepted(), 3, "https={https}");
    }
}

/// NTLM's own connection reports failures as the reqwest path does: the certificate and why,
/// or the listener to check.
#[tokio::test]
async fn rwin_ntlm_connection_failures_say_what_to_check() {
    let s = start().await;
    let ntlm = |https: bool| {
        let mut o = rwin_options(&s, https, PASSWORD);
        o.auth = Auth::Ntlm {
            user: USER.into(),
            password: Secret::new(PASSWORD),
        };
        o
    };
    // A CA rwin does not know: not in the system roots, and no ca_cert.
    let mut o = ntlm(true);
    o.ca_cert = None;
    let err = open(o).await.err().unwrap();
    assert!(matches!(err, WinrmError::Tls { .. }), "{err}");
    assert!(err.to_string().contains("set winrm.ca_cert"), "{err}");
    // insecure_skip_verify gets past it.
    let mut o = ntlm(true);
    o.ca_cert = None;
    o.insecure_skip_verify = true;
    open(o).await.unwrap().close().await.unwrap();
    // HTTPS to the HTTP listener.
    let mut o = ntlm(true);
    o.port = s.http_port;
    let err = open(o).await.err().unwrap();
    assert!(matches!(err, WinrmError::Tls { .. }), "{err}");
    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut o = ntlm(false);
    o.port = closed;
    let err = open(o).await.err().unwrap();
    assert!(err.is_retryable(), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "Is WinRM listening on {closed}? (winrm quickconfig)"
        )),
        "{err}"
    );
}
