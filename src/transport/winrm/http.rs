//! The HTTP(S) side of WinRM: POST envelopes to `/wsman`, verify TLS (system roots or
//! `ca_cert`), authenticate, and turn every failure into a sentence that says what to check.
//!
//! Basic goes over HTTPS only, on reqwest. NTLM works over HTTPS (authentication only, as
//! pywinrm does) and over plain HTTP with message encryption, which hosts require there
//! (AllowUnencrypted=false): every request sealed, every answer unsealed. NTLM authenticates the
//! TCP connection, so an NTLM poster owns its one connection (`http_conn`, hyper without a
//! pool), sends one request at a time on it, and authenticates a new connection once when the
//! old one closes (the host's idle timeout) or the host answers 401 later (a restarted service).
//! Kerberos is not supported.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::CertificateDer;

use super::encryption::EncryptionError;
use super::error::WinrmError;
use super::http_diagnose::{chain, excerpt, io_kinds, looks_like_tls, tls_reason};
use super::ntlm::NtlmError;
use super::shell::Poster;
use crate::secret::Secret;

/// The largest answer read. Answers are bounded by the MaxEnvelopeSize the client announces,
/// which the shell keeps at or under 4 MiB.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

const SOAP_CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";

/// How rwin authenticates to WinRM.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Basic: user and password in a header. Only over HTTPS.
    Basic { user: String, password: Secret },
    /// NTLM (sent as `Negotiate`, as Windows offers it); over HTTP with message encryption.
    Ntlm { user: String, password: Secret },
    /// Kerberos: not supported by this build; choosing it is an error that says so.
    Kerberos { user: String },
}

impl Auth {
    fn name(&self) -> &'static str {
        match self {
            Auth::Basic { .. } => "basic",
            Auth::Ntlm { .. } => "ntlm",
            Auth::Kerberos { .. } => "kerberos",
        }
    }
}

/// Consent to something unsafe that no user setting can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insecure {
    /// Allow Basic auth over plain HTTP. Only for tests against a local server; never set
    /// from cluster.yml.
    PlainHttpForTests,
}

/// Where and how to reach one host's WinRM service.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub host: String,
    pub port: u16,
    pub https: bool,
    pub auth: Auth,
    /// PEM file with the CA(s) that signed the host's certificate; replaces the system roots.
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate. Anyone on the path can then read the password.
    pub insecure_skip_verify: bool,
    pub connect_timeout: Duration,
    /// The WinRM OperationTimeout; each request may take this long plus network slack.
    pub operation_timeout: Duration,
    pub insecure: Option<Insecure>,
}

impl HttpOptions {
    /// HTTPS on 5986 with Basic auth and the usual timeouts.
    pub fn https_basic(host: impl Into<String>, user: impl Into<String>, password: Secret) -> Self {
        HttpOptions {
            host: host.into(),
            port: 5986,
            https: true,
            auth: Auth::Basic {
                user: user.into(),
                password,
            },
            ca_cert: None,
            insecure_skip_verify: false,
            connect_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(20),
            insecure: None,
        }
    }

    /// HTTP on 5985 with NTLM and message encryption, a stock host's only open door.
    pub fn http_ntlm(host: impl Into<String>, user: impl Into<String>, password: Secret) -> Self {
        HttpOptions {
            port: 5985,
            https: false,
            auth: Auth::Ntlm {
                user: user.into(),
                password,
            },
            ..HttpOptions::https_basic(host, "", Secret::new(""))
        }
    }
}

/// How requests are authenticated, with the NTLM context once there is one.
enum Scheme {
    Basic {
        password: Secret,
        client: reqwest::Client,
    },
    Ntlm {
        password: Secret,
        /// Seal bodies (plain HTTP) or not (HTTPS).
        seal: bool,
        dialer: Box<conn::Dialer>,
        /// The authenticated connection and its context; the lock also keeps requests one at
        /// a time, which NTLM's sequence numbers and the single connection need.
        session: tokio::sync::Mutex<Option<ntlm_flow::Session>>,
    },
}

/// What came back from one request.
struct Reply {
    status: StatusCode,
    /// The schemes in WWW-Authenticate (`Negotiate`, `Basic`, …).
    offered: Vec<String>,
    /// The token of a `Negotiate <b64>` or `NTLM <b64>` WWW-Authenticate.
    token: Option<Vec<u8>>,
    content_type: String,
    body: Vec<u8>,
}

/// Posts envelopes to one WinRM endpoint over a kept-alive HTTP connection.
pub struct HttpPoster {
    endpoint: String,
    host: String,
    port: u16,
    https: bool,
    user: String,
    scheme: Scheme,
    request_timeout: Duration,
    connect_timeout: Duration,
}

impl Reply {
    fn new(status: StatusCode, headers: &HeaderMap, body: Vec<u8>) -> Reply {
        let mut offered = Vec::new();
        let mut token = None;
        let values = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        for challenge in values.flat_map(|v| v.split(',')) {
            let mut words = challenge.split_whitespace();
            let Some(name) = words.next() else { continue };
            offered.push(name.to_string());
            let ntlm_like =
                name.eq_ignore_ascii_case("negotiate") || name.eq_ignore_ascii_case("ntlm");
            if let (true, Some(b64)) = (ntlm_like, words.next()) {
                token = base64::engine::general_purpose::STANDARD.decode(b64).ok();
            }
        }
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Reply {
            status,
            offered,
            token,
            content_type,
            body,
        }
    }
}

/// The CA certificates in a PEM file; an error names the file.
fn read_ca_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, WinrmError> {
    let failed = |reason: String| WinrmError::CaCert {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(format!("not PEM certificates ({e})")))?;
    if certs.is_empty() {
        return Err(failed("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

impl HttpPoster {
    pub fn new(opts: HttpOptions) -> Result<HttpPoster, WinrmError> {
        let scheme = if opts.https { "https" } else { "http" };
        let host = if opts.host.contains(':') && !opts.host.starts_with('[') {
            format!("[{}]", opts.host)
        } else {
            opts.host.clone()
        };
        let authority = format!("{host}:{}", opts.port);
        let endpoint = format!("{scheme}://{authority}/wsman");
        let request_timeout = opts.operation_timeout + Duration::from_secs(30);
        let ca_certs = || match &opts.ca_cert {
            Some(path) => read_ca_certs(path).map(Some),
            None => Ok(None),
        };
        let (user, scheme) = match &opts.auth {
            Auth::Basic { user, password } => {
                if !opts.https && opts.insecure != Some(Insecure::PlainHttpForTests) {
                    return Err(WinrmError::BasicOverHttp { endpoint });
                }
                let client = basic_client(&opts, &endpoint, ca_certs()?, request_timeout)?;
                let password = password.clone();
                (user.clone(), Scheme::Basic { password, client })
            }
            Auth::Ntlm { user, password } => {
                let verify = match ca_certs()? {
                    _ if opts.insecure_skip_verify => conn::Verify::Nothing,
                    Some(cas) => conn::Verify::Only(cas),
                    None => conn::Verify::System,
                };
                let dialer = conn::Dialer::new(
                    endpoint.clone(),
                    &opts.host,
                    opts.port,
                    authority,
                    opts.https.then_some(verify),
                    opts.connect_timeout,
                    request_timeout,
                )?;
                let scheme = Scheme::Ntlm {
                    password: password.clone(),
                    seal: !opts.https,
                    dialer: Box::new(dialer),
                    session: tokio::sync::Mutex::new(None),
                };
                (user.clone(), scheme)
            }
            other => return Err(WinrmError::AuthUnsupported(other.name())),
        };
        Ok(HttpPoster {
            endpoint,
            host: opts.host,
            port: opts.port,
            https: opts.https,
            user,
            scheme,
            request_timeout,
            connect_timeout: opts.connect_timeout,
        })
    }

    async fn post_envelope(&self, envelope: String) -> Result<String, WinrmError> {
        match &self.scheme {
            Scheme::Basic { password, client } => {
                let request = client
                    .post(&self.endpoint)
                    .header(CONTENT_TYPE, SOAP_CONTENT_TYPE)
                    .basic_auth(&self.user, Some(password.expose()))
                    .body(envelope);
                let reply = self.send(request).await?;
                if reply.status == StatusCode::UNAUTHORIZED {
                    return Err(self.rejected("basic", &reply.offered));
                }
                self.finish(reply.status, reply.body)
            }
            Scheme::Ntlm {
                password,
                seal,
                dialer,
                session,
            } => {
                self.post_ntlm(envelope, password, *seal, dialer, session)
                    .await
            }
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply, WinrmError> {
        let mut resp = request.send().await.map_err(|e| self.send_error(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.send_error(&e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(WinrmError::Http {
                    endpoint: self.endpoint.clone(),
                    reason: format!("answer larger than {MAX_ANSWER_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply::new(status, &headers, body))
    }

    /// The answer's text, or the HTTP status as an error.
    fn finish(&self, status: StatusCode, body: Vec<u8>) -> Result<String, WinrmError> {
        let body = String::from_utf8(body).map_err(|_| WinrmError::Http {
            endpoint: self.endpoint.clone(),
            reason: "answer is not UTF-8".into(),
        })?;
        // Windows sends SOAP faults with 500; the caller reads the fault from the body.
        if status.is_success() || (status == StatusCode::INTERNAL_SERVER_ERROR && !body.is_empty())
        {
            return Ok(body);
        }
        Err(WinrmError::HttpStatus {
            endpoint: self.endpoint.clone(),
            status: status.as_u16(),
            excerpt: excerpt(&body),
        })
    }

    fn rejected(&self, auth: &'static str, offered: &[String]) -> WinrmError {
        let has = |name: &str| offered.iter().any(|s| s.eq_ignore_ascii_case(name));
        let hint = match auth {
            "basic" if !offered.is_empty() && !has("basic") => format!(
                "The host offers only {}: enable Basic with winrm set winrm/config/service/auth @{{Basic=\"true\"}}, or use auth: ntlm",
                offered.join(", ")
            ),
            "basic" => "Check the user and password; a local account needs Basic enabled on the host \
                 (winrm get winrm/config/service/auth)"
                .to_string(),
            _ if !offered.is_empty() && !has("negotiate") && !has("ntlm") => format!(
                "The host offers only {}: enable Negotiate with winrm set winrm/config/service/auth @{{Negotiate=\"true\"}}",
                offered.join(", ")
            ),
            _ => "Check the user and password; write a domain account as DOMAIN\\user or user@domain \
                 (winrm get winrm/config/service/auth shows what the host accepts)"
                .to_string(),
        };
        WinrmError::AuthRejected {
            user: self.user.clone(),
            auth,
            hint,
        }
    }

    fn ntlm_error(&self, source: NtlmError) -> WinrmError {
        WinrmError::Ntlm {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    fn encryption_error(&self, source: EncryptionError) -> WinrmError {
        WinrmError::Encryption {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    fn send_error(&self, e: &reqwest::Error) -> WinrmError {
        let endpoint = self.endpoint.clone();
        if e.is_timeout() {
            // Connecting includes the TLS handshake, which has its own, shorter limit.
            let limit = if e.is_connect() {
                self.connect_timeout
            } else {
                self.request_timeout
            };
            return WinrmError::Timeout {
                endpoint,
                secs: limit.as_secs(),
            };
        }
        let messages = chain(e);
        let refused = io_kinds(e).contains(&std::io::ErrorKind::ConnectionRefused);
        let setup = if self.https {
            "winrm quickconfig -transport:https"
        } else {
            "winrm quickconfig"
        };
        if refused {
            return WinrmError::Unreachable {
                endpoint,
                port: self.port,
                reason: "connection refused".into(),
                setup,
            };
        }
        if self.https && looks_like_tls(&messages) {
            return WinrmError::Tls {
                endpoint,
                reason: tls_reason(&messages),
            };
        }
        let reason = messages.last().cloned().unwrap_or_default();
        if e.is_connect() {
            return WinrmError::Unreachable {
                endpoint,
                port: self.port,
                reason,
                setup,
            };
        }
        WinrmError::Http {
            endpoint,
            reason: messages.join(": "),
        }
    }
}

impl Poster for HttpPoster {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn post(&self, envelope: String) -> BoxFuture<'_, Result<String, WinrmError>> {
        Box::pin(self.post_envelope(envelope))
    }
}

/// The reqwest client for Basic: one idle connection, no redirects, TLS as configured.
fn basic_client(
    opts: &HttpOptions,
    endpoint: &str,
    ca_certs: Option<Vec<CertificateDer<'static>>>,
    request_timeout: Duration,
) -> Result<reqwest::Client, WinrmError> {
    let built = |e: reqwest::Error| WinrmError::Http {
        endpoint: endpoint.to_string(),
        reason: chain(&e).join(": "),
    };
    let mut builder = reqwest::Client::builder()
        .http1_only()
        .connect_timeout(opts.connect_timeout)
        .timeout(request_timeout)
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(cas) = ca_certs {
        let certs = cas
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(built)?;
        builder = builder.tls_certs_only(certs);
    }
    if opts.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().map_err(built)
}

#[path = "http_conn.rs"]
mod conn;
pub use super::error::TlsSetupError;
#[path = "http_ntlm.rs"]
mod ntlm_flow;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn opts() -> HttpOptions {
        HttpOptions::https_basic("win1", "Administrator", Secret::new("pw"))
    }

    #[test]
    fn basic_is_refused_over_plain_http() {
        let mut o = opts();
        o.https = false;
        o.port = 5985;
        let err = HttpPoster::new(o).err().unwrap();
        assert!(matches!(err, WinrmError::BasicOverHttp { .. }));
        assert!(err.to_string().contains("http://win1:5985/wsman"), "{err}");
    }

    #[test]
    fn ntlm_works_over_plain_http_and_kerberos_says_use_ntlm() {
        let o = HttpOptions::http_ntlm("win1", "Administrator", Secret::new("pw"));
        let poster = HttpPoster::new(o).unwrap();
        assert_eq!(poster.endpoint(), "http://win1:5985/wsman");
        let mut o = opts();
        o.auth = Auth::Kerberos { user: "u".into() };
        let err = HttpPoster::new(o).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("kerberos is not supported"), "{text}");
        assert!(text.contains("auth: ntlm"), "{text}");
    }

    /// A port on this host where nothing listens.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    fn local_ntlm(port: u16) -> HttpOptions {
        let mut o = HttpOptions::http_ntlm("127.0.0.1", "Administrator", Secret::new("pw"));
        o.port = port;
        o
    }

    async fn open_shell(o: HttpOptions) -> WinrmError {
        let poster = Arc::new(HttpPoster::new(o).unwrap());
        crate::transport::winrm::WinrsShell::open(
            poster,
            Arc::new(crate::transport::winrm::SequentialIds::default()),
            Default::default(),
        )
        .await
        .err()
        .unwrap()
    }

    /// The retry policy asks `is_retryable` of the error the shell returns: a refused TCP
    /// connection on the NTLM connection (`http_conn`) must still be one when it gets there.
    #[tokio::test]
    async fn a_refused_connection_is_retryable_up_to_the_shell() {
        let port = closed_port();
        let poster = HttpPoster::new(local_ntlm(port)).unwrap();
        let err = poster.post(String::new()).await.unwrap_err();
        assert!(matches!(err, WinrmError::Unreachable { .. }), "{err}");
        assert!(err.is_retryable(), "{err}");
        let err = open_shell(local_ntlm(port)).await;
        assert!(matches!(err, WinrmError::Unreachable { .. }), "{err}");
        assert!(err.is_retryable(), "{err}");
    }

    /// A host that takes the TCP connection and never finishes the TLS handshake: the connect
    /// timeout, retryable.
    #[tokio::test]
    async fn a_stalled_tls_handshake_is_a_retryable_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        let mut o = local_ntlm(port);
        o.https = true;
        o.insecure_skip_verify = true;
        o.connect_timeout = Duration::from_millis(200);
        let err = open_shell(o).await;
        silent.abort();
        assert!(matches!(err, WinrmError::Timeout { .. }), "{err}");
        assert!(err.is_retryable(), "{err}");
    }

    /// A host that answers NEGOTIATE with 200: an NTLM error whose kind is kept as the source
    /// of the WinrmError, with the text it always had; not retryable.
    #[tokio::test]
    async fn an_ntlm_failure_keeps_its_kind_in_the_winrm_error() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client closed before sending its request");
                request.extend_from_slice(&buf[..n]);
            }
            sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            // Keep the connection until the client is done with it.
            let _ = sock.read(&mut buf).await;
        });
        let err = open_shell(local_ntlm(port)).await;
        server.abort();
        assert!(
            matches!(
                err,
                WinrmError::Ntlm {
                    source: NtlmError::NoChallenge { status: 200 },
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.is_retryable(), "{err}");
        assert_eq!(
            err.to_string(),
            format!("NTLM with http://127.0.0.1:{port}/wsman failed: the host answered the NTLM negotiation with HTTP 200 instead of a challenge")
        );
        let source = std::error::Error::source(&err).expect("the NTLM error is the source");
        assert!(source.downcast_ref::<NtlmError>().is_some());
    }

    #[test]
    fn endpoint_brackets_ipv6_and_ca_file_errors_name_the_file() {
        let mut o = opts();
        o.host = "fd00::5".into();
        assert_eq!(
            HttpPoster::new(o).unwrap().endpoint(),
            "https://[fd00::5]:5986/wsman"
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("ca.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        for path in [bad, dir.path().join("missing.pem")] {
            let mut o = opts();
            o.ca_cert = Some(path.clone());
            let err = HttpPoster::new(o).err().unwrap();
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
    }
}

#[cfg(test)]
#[path = "http_cbt_tests.rs"]
mod cbt_tests;
