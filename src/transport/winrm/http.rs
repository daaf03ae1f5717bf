//! The HTTP(S) side of WinRM on reqwest: POST envelopes to `/wsman`, verify TLS (system roots or
//! `ca_cert`), authenticate, and turn every failure into a sentence that says what to check.
//!
//! Only Basic over HTTPS is implemented. NTLM and Kerberos, which plain HTTP needs for message
//! encryption because hosts refuse unencrypted traffic (AllowUnencrypted=false), are named in
//! [`Auth`] but not implemented: choosing them is an error today.

use std::error::Error as _;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;

use super::error::WinrmError;
use super::shell::Poster;
use crate::secret::Secret;

/// The largest answer read. Answers are bounded by the MaxEnvelopeSize the client announces,
/// which the shell keeps at or under 4 MiB.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// How rwin authenticates to WinRM.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Basic: user and password in a header. Only over HTTPS.
    Basic { user: String, password: Secret },
    /// NTLM with message encryption. Not implemented yet.
    Ntlm { user: String, password: Secret },
    /// Kerberos with message encryption. Not implemented yet.
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
}

/// Posts envelopes to one WinRM endpoint over a kept-alive HTTP connection.
pub struct HttpPoster {
    client: reqwest::Client,
    endpoint: String,
    port: u16,
    https: bool,
    user: String,
    password: Secret,
    request_timeout: Duration,
    connect_timeout: Duration,
}

impl HttpPoster {
    pub fn new(opts: HttpOptions) -> Result<HttpPoster, WinrmError> {
        let scheme = if opts.https { "https" } else { "http" };
        let host = if opts.host.contains(':') && !opts.host.starts_with('[') {
            format!("[{}]", opts.host)
        } else {
            opts.host.clone()
        };
        let endpoint = format!("{scheme}://{host}:{}/wsman", opts.port);
        let (user, password) = match &opts.auth {
            Auth::Basic { user, password } => (user.clone(), password.clone()),
            other => return Err(WinrmError::AuthNotImplemented(other.name())),
        };
        if !opts.https && opts.insecure != Some(Insecure::PlainHttpForTests) {
            return Err(WinrmError::BasicOverHttp { endpoint });
        }
        let request_timeout = opts.operation_timeout + Duration::from_secs(30);
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .connect_timeout(opts.connect_timeout)
            .timeout(request_timeout)
            .pool_max_idle_per_host(2)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &opts.ca_cert {
            let pem = std::fs::read(path).map_err(|e| WinrmError::CaCert {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| WinrmError::CaCert {
                    path: path.clone(),
                    reason: format!("not PEM certificates ({e})"),
                })?;
            if certs.is_empty() {
                return Err(WinrmError::CaCert {
                    path: path.clone(),
                    reason: "no PEM certificate in the file".into(),
                });
            }
            builder = builder.tls_certs_only(certs);
        }
        if opts.insecure_skip_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let client = builder.build().map_err(|e| WinrmError::Http {
            endpoint: endpoint.clone(),
            reason: chain(&e).join(": "),
        })?;
        Ok(HttpPoster {
            client,
            endpoint,
            port: opts.port,
            https: opts.https,
            user,
            password,
            request_timeout,
            connect_timeout: opts.connect_timeout,
        })
    }

    async fn post_envelope(&self, envelope: String) -> Result<String, WinrmError> {
        let resp = self
            .client
            .post(&self.endpoint)
            .header(CONTENT_TYPE, "application/soap+xml;charset=UTF-8")
            .basic_auth(&self.user, Some(self.password.expose()))
            .body(envelope)
            .send()
            .await
            .map_err(|e| self.send_error(&e))?;
        let status = resp.status();
        let offered = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split_whitespace().next())
            .map(str::to_string)
            .collect::<Vec<_>>();
        let body = self.read_body(resp).await?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(self.rejected(&offered));
        }
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

    async fn read_body(&self, mut resp: reqwest::Response) -> Result<String, WinrmError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.send_error(&e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(WinrmError::Http {
                    endpoint: self.endpoint.clone(),
                    reason: format!("answer larger than {MAX_ANSWER_BYTES} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        String::from_utf8(bytes).map_err(|_| WinrmError::Http {
            endpoint: self.endpoint.clone(),
            reason: "answer is not UTF-8".into(),
        })
    }

    fn rejected(&self, offered: &[String]) -> WinrmError {
        let basic_offered = offered.iter().any(|s| s.eq_ignore_ascii_case("basic"));
        let hint = if !offered.is_empty() && !basic_offered {
            format!(
                "The host offers only {}: enable Basic with winrm set winrm/config/service/auth @{{Basic=\"true\"}}",
                offered.join(", ")
            )
        } else {
            "Check the user and password; a local account needs Basic enabled on the host \
             (winrm get winrm/config/service/auth)"
                .to_string()
        };
        WinrmError::AuthRejected {
            user: self.user.clone(),
            auth: "basic",
            hint,
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

/// The error and its sources, each message once (reqwest repeats inner text in outer ones).
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let msg = err.to_string();
        if !out.iter().any(|m| m == &msg) {
            out.push(msg);
        }
        cur = err.source();
    }
    out
}

fn io_kinds(e: &reqwest::Error) -> Vec<std::io::ErrorKind> {
    let mut kinds = Vec::new();
    let mut cur = e.source();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
        }
        cur = err.source();
    }
    kinds
}

fn looks_like_tls(messages: &[String]) -> bool {
    messages.iter().any(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("certificate")
            || m.contains("tls")
            || m.contains("handshake")
            || m.contains("corrupt message")
    })
}

/// rustls' own words for the failure, and what usually causes it.
fn tls_reason(messages: &[String]) -> String {
    let inner = messages.last().cloned().unwrap_or_default();
    let lower = inner.to_ascii_lowercase();
    let advice = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "the host's certificate is not signed by a CA rwin trusts: set winrm.ca_cert to the CA that signed it"
    } else if lower.contains("not valid for name") || lower.contains("notvalidforname") {
        "the host's certificate does not name the address rwin connects to: use a name the certificate lists, or reissue it"
    } else if lower.contains("expired") {
        "the host's certificate has expired (or a clock is wrong): renew it and rebind the WinRM HTTPS listener"
    } else if lower.contains("not valid yet") {
        "the host's certificate is not valid yet: check the clocks"
    } else if lower.contains("causedasendentity") {
        "the host presents a CA certificate as its own: give the listener a server certificate signed by that CA"
    } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
        "the port does not speak TLS: is it the HTTP listener (5985) rather than HTTPS (5986)?"
    } else {
        "check the host's WinRM HTTPS listener certificate (winrm enumerate winrm/config/listener)"
    };
    format!("{inner}; {advice}")
}

fn excerpt(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(200).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    if cut.is_empty() {
        cut.push_str("(empty body)");
    }
    cut
}

#[cfg(test)]
mod tests {
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
    fn ntlm_and_kerberos_say_not_implemented() {
        for auth in [
            Auth::Ntlm {
                user: "u".into(),
                password: Secret::new("p"),
            },
            Auth::Kerberos { user: "u".into() },
        ] {
            let mut o = opts();
            o.auth = auth;
            let err = HttpPoster::new(o).err().unwrap();
            assert!(err.to_string().contains("not implemented"), "{err}");
        }
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

    #[test]
    fn tls_reasons_give_advice() {
        let m = vec!["invalid peer certificate: UnknownIssuer".to_string()];
        assert!(looks_like_tls(&m));
        assert!(tls_reason(&m).contains("winrm.ca_cert"));
        let m = vec!["invalid peer certificate: certificate not valid for name \"win1\"; certificate is only valid for win2".to_string()];
        assert!(tls_reason(&m).contains("does not name"));
    }
}
