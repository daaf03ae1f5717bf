//! rwin's WinRM client against recorded traffic from real Windows hosts (pypsrp's test data,
//! MIT, copied with its licence into tests/fixtures/winrm-recorded/). A replay server on
//! 127.0.0.1 answers the N-th request with the N-th recorded answer, after checking the request
//! does what the recorded one did (`meaning`): the same action and resource, every selector,
//! every option with its flags, the command line, stdin, the signal, the created shell's
//! settings and each header that changes meaning. Where rwin differs from pypsrp on purpose,
//! a row of `meaning::ALLOWED` says so, exactly; any other difference fails the test with both
//! versions printed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rwin::secret::Secret;
use rwin::transport::winrm::{
    Auth, HttpOptions, HttpPoster, Insecure, RandomIds, ShellOptions, WinrmError, WinrsShell,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod meaning;
mod strict;
mod xml;

use meaning::{compare, Allowed, ALLOWED};
use xml::{parse, ADDRESSING, WSMAN};

const USER: &str = "vagrant";
const PASSWORD: &str = "vagrant";

// ---------------------------------------------------------------- the recordings

#[derive(serde::Deserialize)]
struct Recording {
    messages: Vec<RecordedExchange>,
}

#[derive(serde::Deserialize, Clone)]
struct RecordedExchange {
    request: String,
    response: String,
    transport_error: Option<TransportError>,
}

#[derive(serde::Deserialize, Clone)]
struct TransportError {
    code: u16,
}

fn fixtures_dir() -> PathBuf {
    std::env::var_os("RWIN_WINRM_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::common::repo().join("tests/fixtures/winrm-recorded"))
}

fn recording(name: &str) -> Vec<RecordedExchange> {
    let path = fixtures_dir().join(format!("{name}.yml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "recorded WinRM fixture {} is missing ({e}); set RWIN_WINRM_FIXTURES to its directory",
            path.display()
        )
    });
    let rec: Recording = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    rec.messages
}

/// The ShellId selector of a request, if it names a shell.
fn shell_id_of(xml: &str) -> Option<String> {
    let root = parse(xml);
    let set = root.find(WSMAN, "SelectorSet")?;
    set.children
        .iter()
        .find(|s| {
            s.is(WSMAN, "Selector") && s.attrs.get("Name").map(String::as_str) == Some("ShellId")
        })
        .map(|s| s.trimmed())
}

// ---------------------------------------------------------------- the replay server

struct Replay {
    script: Vec<RecordedExchange>,
    next: usize,
    failures: Vec<String>,
    /// Every request body the client sent, in order.
    received: Vec<String>,
    /// HTTP statuses served, in order.
    statuses: Vec<u16>,
    /// The differences from the recording this replay lets pass.
    allowed: Vec<Allowed>,
    /// Indexes into `allowed` of the rows some request needed.
    used: std::collections::BTreeSet<usize>,
}

struct Request {
    headers: HashMap<String, String>,
    body: String,
}

impl Replay {
    fn new(script: Vec<RecordedExchange>) -> Replay {
        Replay {
            script,
            next: 0,
            failures: Vec::new(),
            received: Vec::new(),
            statuses: Vec::new(),
            allowed: ALLOWED.to_vec(),
            used: std::collections::BTreeSet::new(),
        }
    }

    fn answer(&mut self, req: &Request) -> (u16, Vec<(String, String)>, String) {
        self.received.push(req.body.clone());
        let Some(rec) = self.script.get(self.next).cloned() else {
            return self.fail(format!(
                "request {} is one more than the {} recorded:\n{}",
                self.next + 1,
                self.script.len(),
                req.body
            ));
        };
        self.next += 1;
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        if req.headers.get("authorization") != Some(&expected_auth) {
            return self.fail(format!(
                "request {}: Authorization is {:?}",
                self.next,
                req.headers.get("authorization")
            ));
        }
        let ctype = req.headers.get("content-type").map(String::as_str);
        if ctype != Some("application/soap+xml;charset=UTF-8") {
            return self.fail(format!("request {}: Content-Type is {ctype:?}", self.next));
        }
        let (got, want) = match (meaning::meaning(&req.body), meaning::meaning(&rec.request)) {
            (Ok(got), Ok(want)) => (got, want),
            (Err(why), _) => {
                return self.fail(format!("request {}: the client's {why}", self.next))
            }
            (_, Err(why)) => {
                return self.fail(format!("request {}: the recorded {why}", self.next))
            }
        };
        if let Err(why) = compare(&got, &want, &self.allowed, &mut self.used) {
            return self.fail(format!("request {}: {why}", self.next));
        }
        // Answer as the host did, addressed to this request's MessageID.
        let message_id = |xml: &str| {
            parse(xml)
                .find(ADDRESSING, "MessageID")
                .map(|m| m.trimmed())
        };
        let mut response = rec.response.clone();
        if let (Some(ours), Some(theirs)) = (message_id(&req.body), message_id(&rec.request)) {
            response = response.replace(&theirs, &ours);
        }
        let status = rec.transport_error.map(|t| t.code).unwrap_or(200);
        self.statuses.push(status);
        (status, Vec::new(), response)
    }

    fn fail(&mut self, why: String) -> (u16, Vec<(String, String)>, String) {
        eprintln!("replay server: {why}");
        self.failures.push(why.clone());
        (400, Vec::new(), format!("replay mismatch: {why}"))
    }
}

type Handler = Arc<Mutex<dyn FnMut(&Request) -> (u16, Vec<(String, String)>, String) + Send>>;

/// A minimal HTTP/1.1 server on 127.0.0.1 (keep-alive, Content-Length bodies) calling `handler`.
async fn serve(handler: Handler) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(connection(sock, handler.clone()));
        }
    });
    port
}

async fn connection(mut sock: TcpStream, handler: Handler) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            // A TLS ClientHello (record type 22): answer as an HTTP server does, then hang up.
            if buf.first() == Some(&0x16) {
                let _ = sock
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let headers: HashMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
        buf.drain(..head_end + len);
        let (status, extra, answer) = {
            let mut h = handler.lock().unwrap();
            (*h)(&Request { headers, body })
        };
        let reason = match status {
            200 => "OK",
            401 => "Unauthorized",
            500 => "Internal Server Error",
            _ => "Bad Request",
        };
        let mut out = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {}\r\n",
            answer.len()
        );
        for (k, v) in extra {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&answer);
        if sock.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Start a replay of `script`; returns the port and the server's state for the checks.
async fn replay(script: Vec<RecordedExchange>) -> (u16, Arc<Mutex<Replay>>) {
    replay_allowing(script, &[]).await
}

/// [`replay`] letting `extra` differences pass too, besides [`ALLOWED`].
async fn replay_allowing(
    script: Vec<RecordedExchange>,
    extra: &[Allowed],
) -> (u16, Arc<Mutex<Replay>>) {
    let mut server = Replay::new(script);
    server.allowed.extend_from_slice(extra);
    let state = Arc::new(Mutex::new(server));
    let s = state.clone();
    let port = serve(Arc::new(Mutex::new(move |req: &Request| {
        s.lock().unwrap().answer(req)
    })))
    .await;
    (port, state)
}

/// The whole recording was played, and nothing differed.
fn assert_replayed(state: &Arc<Mutex<Replay>>) {
    let st = state.lock().unwrap();
    assert!(
        st.failures.is_empty(),
        "replay mismatches: {:#?}",
        st.failures
    );
    assert_eq!(
        st.next,
        st.script.len(),
        "the client stopped after {} of {} recorded requests",
        st.next,
        st.script.len()
    );
}

// ---------------------------------------------------------------- the client under test

fn plain_http(port: u16) -> HttpOptions {
    HttpOptions {
        host: "127.0.0.1".into(),
        port,
        https: false,
        insecure: Some(Insecure::PlainHttpForTests),
        ..HttpOptions::https_basic("127.0.0.1", USER, Secret::new(PASSWORD))
    }
}

async fn open_shell(port: u16, opts: ShellOptions) -> WinrsShell {
    let poster = HttpPoster::new(plain_http(port)).expect("client builds");
    WinrsShell::open(Arc::new(poster), Arc::new(RandomIds::default()), opts)
        .await
        .expect("shell opens against the recording")
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn standard_echo_hi() {
    let (port, state) = replay(recording("test_winrs_standard")).await;
    let shell = open_shell(port, ShellOptions::default()).await;
    let out = shell
        .run("cmd.exe", &args(&["/c", "echo", "hi"]), None)
        .await
        .unwrap();
    assert_eq!(out.stdout, "hi\r\n");
    assert_eq!(out.stderr, "");
    assert_eq!(out.code, 0);
    // Create, then Command + Receive + Signal for the command.
    assert_eq!(shell.round_trips(), 4);
    shell.close().await.unwrap();
    assert_eq!(shell.round_trips(), 5);
    assert_replayed(&state);
}

#[tokio::test]
async fn stderr_and_exit_code() {
    let (port, state) = replay(recording("test_winrs_stderr_rc")).await;
    let shell = open_shell(port, ShellOptions::default()).await;
    let out = shell
        .run(
            "cmd.exe",
            &args(&["/c echo out && echo err>&2 && exit 1"]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, "out \r\n");
    assert_eq!(out.stderr, "err \r\n");
    assert_eq!(out.code, 1);
    shell.close().await.unwrap();
    assert_replayed(&state);
}

#[tokio::test]
async fn stdin_is_delivered_in_chunks() {
    let (port, state) = replay(recording("test_winrs_send")).await;
    // pypsrp sent the script as two Sends of 22 bytes; cap the chunk so rwin splits the same way.
    let opts = ShellOptions {
        stdin_chunk_limit: Some(22),
        ..ShellOptions::default()
    };
    let shell = open_shell(port, opts).await;
    let stdin = b"Write-Host \"output 1\";Write-Host \"output 2\";";
    let out = shell
        .run("powershell.exe", &args(&["-"]), Some(stdin))
        .await
        .unwrap();
    assert_eq!(out.stdout, "output 1\noutput 2\n");
    assert_eq!(out.code, 0);
    // Create + Command + 2 Send + Receive + Signal.
    assert_eq!(shell.round_trips(), 6);
    shell.close().await.unwrap();
    assert_replayed(&state);
}

#[tokio::test]
async fn operation_timeout_fault_means_poll_again() {
    let (port, state) = replay(recording("test_winrs_operation_timeout")).await;
    // pypsrp asked for 10 s: the host's TimedOut answers below came after that long.
    let opts = ShellOptions {
        operation_timeout: std::time::Duration::from_secs(10),
        ..ShellOptions::default()
    };
    let shell = open_shell(port, opts).await;
    let out = shell
        .run(
            "powershell.exe",
            &args(&["Write-Host hi; Start-Sleep 30; Write-Host hi again"]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, "hi\nhi again\n");
    assert_eq!(out.code, 0);
    // Create + Command + 4 Receive (output, TimedOut, TimedOut, Done) + Signal.
    assert_eq!(shell.round_trips(), 7);
    shell.close().await.unwrap();
    assert_replayed(&state);
    let statuses = state.lock().unwrap().statuses.clone();
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 2);
}

#[tokio::test]
async fn max_envelope_size_read_from_the_host_config() {
    // A Get of winrm/config on a host set to 500 KiB, then the standard exchange.
    let mut script = recording("test_wsman_update_envelope_size_500");
    script.extend(recording("test_winrs_standard"));
    // After the Get, rwin announces the host's 500 KiB where pypsrp's standard recording,
    // made without reading the configuration, announced the default.
    let host_size = Allowed {
        action: "*",
        field: "w:MaxEnvelopeSize",
        recorded: meaning::Want::Is("\"153600\" {mustUnderstand=true}"),
        client: meaning::Want::Is("\"512000\" {mustUnderstand=true}"),
        why: "the host's configuration, read first, allows 500 KiB",
    };
    let (port, state) = replay_allowing(script, &[host_size]).await;
    let opts = ShellOptions {
        read_max_envelope_size: true,
        ..ShellOptions::default()
    };
    let shell = open_shell(port, opts).await;
    assert_eq!(shell.max_envelope_size(), 500 * 1024);
    let out = shell
        .run("cmd.exe", &args(&["/c", "echo", "hi"]), None)
        .await
        .unwrap();
    assert_eq!(out.stdout, "hi\r\n");
    shell.close().await.unwrap();
    assert_replayed(&state);
    // Every request after the Get announces the host's size.
    let received = state.lock().unwrap().received.clone();
    for body in &received[1..] {
        let size = parse(body)
            .find(WSMAN, "MaxEnvelopeSize")
            .map(|m| m.trimmed());
        assert_eq!(size.as_deref(), Some("512000"));
    }
}

#[tokio::test]
async fn one_shell_serves_several_commands() {
    // The standard recording's shell, with the stderr_rc command replayed inside it.
    let standard = recording("test_winrs_standard");
    let stderr_rc = recording("test_winrs_stderr_rc");
    let shell_of =
        |r: &RecordedExchange| shell_id_of(&r.request).expect("recorded request names its shell");
    let (from, to) = (shell_of(&stderr_rc[1]), shell_of(&standard[1]));
    let mut script: Vec<RecordedExchange> = standard[..4].to_vec();
    script.extend(stderr_rc[1..4].iter().map(|r| RecordedExchange {
        request: r.request.replace(&from, &to),
        response: r.response.replace(&from, &to),
        transport_error: r.transport_error.clone(),
    }));
    script.push(standard[4].clone());
    let (port, state) = replay(script).await;

    let shell = open_shell(port, ShellOptions::default()).await;
    let first = shell
        .run("cmd.exe", &args(&["/c", "echo", "hi"]), None)
        .await
        .unwrap();
    let second = shell
        .run(
            "cmd.exe",
            &args(&["/c echo out && echo err>&2 && exit 1"]),
            None,
        )
        .await
        .unwrap();
    shell.close().await.unwrap();
    assert_eq!((first.stdout.as_str(), first.code), ("hi\r\n", 0));
    assert_eq!((second.stderr.as_str(), second.code), ("err \r\n", 1));
    // One Create and one Delete for both commands: 1 + 3 + 3 + 1.
    assert_eq!(shell.round_trips(), 8);
    assert_replayed(&state);
}

#[tokio::test]
async fn a_differing_request_fails_loudly() {
    let (port, state) = replay(recording("test_winrs_standard")).await;
    let shell = open_shell(port, ShellOptions::default()).await;
    let err = shell
        .run("cmd.exe", &args(&["/c", "echo", "bye"]), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("replay mismatch"), "{err}");
    assert_eq!(state.lock().unwrap().failures.len(), 1);
}

// ---------------------------------------------------------------- HTTP failures as sentences

#[tokio::test]
async fn wrong_password_names_the_user_and_auth() {
    let port = serve(Arc::new(Mutex::new(|_: &Request| {
        (
            401,
            vec![("WWW-Authenticate".to_string(), "Negotiate".to_string())],
            String::new(),
        )
    })))
    .await;
    let poster = HttpPoster::new(plain_http(port)).unwrap();
    let err = WinrsShell::open(
        Arc::new(poster),
        Arc::new(RandomIds::default()),
        ShellOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, WinrmError::AuthRejected { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with("WinRM rejected user vagrant (auth basic)."),
        "{msg}"
    );
    assert!(msg.contains("offers only Negotiate"), "{msg}");
}

#[tokio::test]
async fn nothing_listening_suggests_quickconfig() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut opts = plain_http(port);
    opts.https = true;
    let poster = HttpPoster::new(opts).unwrap();
    let err = WinrsShell::open(
        Arc::new(poster),
        Arc::new(RandomIds::default()),
        ShellOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "Is WinRM listening on {port}? (winrm quickconfig -transport:https)"
        )),
        "{msg}"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_tls_error() {
    let (port, _state) = replay(recording("test_winrs_standard")).await;
    let mut opts = plain_http(port);
    opts.https = true;
    let poster = HttpPoster::new(opts).unwrap();
    let err = WinrsShell::open(
        Arc::new(poster),
        Arc::new(RandomIds::default()),
        ShellOptions::default(),
    )
    .await
    .err()
    .unwrap();
    let msg = err.to_string();
    assert!(matches!(err, WinrmError::Tls { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!("TLS with https://127.0.0.1:{port}/wsman failed:")),
        "{msg}"
    );
}

#[test]
fn kerberos_is_named_and_refused_with_what_to_use_instead() {
    let mut opts = plain_http(5985);
    opts.auth = Auth::Kerberos { user: USER.into() };
    let err = HttpPoster::new(opts).err().unwrap().to_string();
    assert!(
        err.contains("kerberos") && err.contains("auth: ntlm"),
        "{err}"
    );
}

// ---------------------------------------------------------------- TLS against openssl s_server

/// `openssl s_server` on 127.0.0.1 with a host certificate carrying `san`, signed by a test CA;
/// killed on drop.
/// A TLS endpoint with a certificate from a test CA (made by the openssl command) that answers
/// every HTTP request past the handshake with `401 Unauthorized`, as a WinRM listener does to
/// a wrong password: so a client that gets past TLS always gets an answer, and a test can
/// require one.
struct TlsServer {
    port: u16,
    ca: PathBuf,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

fn openssl(args: &[&str], dir: &std::path::Path) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("these tests need the openssl command");
    assert!(status.success(), "openssl {args:?} failed");
}

impl TlsServer {
    fn start(san: &str) -> TlsServer {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls::{crypto::aws_lc_rs, ServerConfig};

        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ext.cnf"),
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .unwrap();
        for cmd in [
            "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rwin-test-ca -keyout ca.key -out ca.pem",
            "req -newkey rsa:2048 -nodes -subj /CN=rwin-test-host -keyout key.pem -out host.csr",
            "x509 -req -in host.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out cert.pem",
        ] {
            openssl(&cmd.split(' ').collect::<Vec<_>>(), d);
        }
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(d.join("cert.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(d.join("key.pem")).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let listener = TcpListener::from_std(listener).unwrap();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return; // the client refused the certificate
                    };
                    let mut buf = vec![0u8; 65536];
                    let mut got = Vec::new();
                    // Read the request head and its body (Content-Length), then answer.
                    loop {
                        let Ok(n) = tls.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        got.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&got);
                        if let Some(head_end) = text.find("\r\n\r\n") {
                            let len = text[..head_end]
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            if got.len() >= head_end + 4 + len {
                                break;
                            }
                        }
                    }
                    let _ = tls
                        .write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"WSMAN\"\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        TlsServer {
            port,
            ca: dir.path().join("ca.pem"),
            task,
            _dir: dir,
        }
    }

    async fn open(&self, ca_cert: bool, skip_verify: bool) -> WinrmError {
        let mut opts = HttpOptions::https_basic("127.0.0.1", USER, Secret::new(PASSWORD));
        opts.port = self.port;
        opts.ca_cert = ca_cert.then(|| self.ca.clone());
        opts.insecure_skip_verify = skip_verify;
        let poster = HttpPoster::new(opts).unwrap();
        WinrsShell::open(
            Arc::new(poster),
            Arc::new(RandomIds::default()),
            ShellOptions::default(),
        )
        .await
        .err()
        .expect("the test server refuses every request")
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn untrusted_certificate_says_set_ca_cert() {
    let server = TlsServer::start("IP:127.0.0.1");
    let err = server.open(false, false).await;
    let msg = err.to_string();
    assert!(matches!(err, WinrmError::Tls { .. }), "{msg}");
    assert!(msg.contains("set winrm.ca_cert"), "{msg}");
}

#[tokio::test]
async fn certificate_for_another_name_says_so() {
    let server = TlsServer::start("DNS:win-other.example");
    let err = server.open(true, false).await;
    let msg = err.to_string();
    assert!(matches!(err, WinrmError::Tls { .. }), "{msg}");
    assert!(msg.contains("win-other.example"), "{msg}");
    assert!(msg.contains("does not name the address"), "{msg}");
}

#[tokio::test]
async fn ca_cert_or_skip_verify_get_past_the_handshake() {
    let server = TlsServer::start("IP:127.0.0.1");
    // Past the handshake the server answers 401, so the client must come back, within the
    // bound, with the server's refusal of the password: not a TLS error, and not a hang.
    for (ca, skip) in [(true, false), (false, true)] {
        let err = tokio::time::timeout(std::time::Duration::from_secs(10), server.open(ca, skip))
            .await
            .unwrap_or_else(|_| panic!("ca_cert={ca} skip={skip}: no answer within 10 s"));
        assert!(
            matches!(err, WinrmError::AuthRejected { .. }),
            "ca_cert={ca} skip={skip}: got past TLS and was refused the password, not {err:?}"
        );
    }
}
