//! One HTTP/1.1 connection that rwin owns, for NTLM. NTLM authenticates the TCP connection, not
//! the request, so the handshake and every request after it must share one connection; a pooling
//! client may pick another one (a lab run saw reqwest open a new connection for the first sealed
//! request because the authenticated one was not back in its pool yet, and the host answered 401).
//! Here hyper's HTTP/1.1 client runs over a TCP stream, or over rustls for HTTPS with the
//! verification rules of the reqwest path: the system roots (the platform verifier, as reqwest
//! uses), only the `ca_cert` CAs, or nothing when `insecure_skip_verify` is set. A TLS
//! connection keeps the channel binding of the certificate the host showed on it, for NTLM.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

use super::super::channel_binding::ChannelBinding;
use super::super::error::{TlsSetupError, WinrmError};
use super::super::http_diagnose::{chain, io_kinds, looks_like_tls, tls_reason};
use super::MAX_ANSWER_BYTES;

/// Which server certificates a TLS connection accepts.
pub(super) enum Verify {
    /// Those the system trusts (rustls-platform-verifier, as reqwest).
    System,
    /// Only those signed by these CAs (`ca_cert`).
    Only(Vec<CertificateDer<'static>>),
    /// Any (`insecure_skip_verify`).
    Nothing,
}

/// How to open connections to one endpoint, and how their failures read.
pub(super) struct Dialer {
    pub(super) endpoint: String,
    /// The host as given (no brackets), to connect to.
    host: String,
    port: u16,
    /// `host:port` for the Host header.
    authority: String,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
    request_timeout: Duration,
}

/// One connection; its driver task ends with it.
pub(super) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
    /// What NTLM on this connection binds to: the certificate of this very TLS session.
    binding: ChannelBinding,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// An answer, read whole.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

/// Why a request got no answer.
pub(super) enum SendFailure {
    /// The connection was closed, or closed before the first byte of an answer (the host's
    /// idle timeout raced with the request): the request may go again, once, on a new
    /// connection. A host closes idle connections between requests, so such a request was
    /// not carried out; one the host had started would have been answered or timed out.
    Lost(WinrmError),
    /// Anything else: a timeout, a broken answer.
    Failed(WinrmError),
}

impl SendFailure {
    pub(super) fn into_error(self) -> WinrmError {
        match self {
            SendFailure::Lost(e) | SendFailure::Failed(e) => e,
        }
    }
}

impl Dialer {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        endpoint: String,
        host: &str,
        port: u16,
        authority: String,
        tls: Option<Verify>,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Dialer, WinrmError> {
        let tls = match tls {
            None => None,
            Some(verify) => {
                let setup = |source| WinrmError::TlsSetup {
                    endpoint: endpoint.clone(),
                    source,
                };
                let connector = tls_connector(verify).map_err(setup)?;
                let name = ServerName::try_from(host.to_string()).map_err(|source| {
                    setup(TlsSetupError::ServerName {
                        host: host.to_string(),
                        source,
                    })
                })?;
                Some((connector, name))
            }
        };
        Ok(Dialer {
            endpoint,
            host: host.to_string(),
            port,
            authority,
            tls,
            connect_timeout,
            request_timeout,
        })
    }

    /// TCP connect, TLS handshake when HTTPS, HTTP/1.1 handshake: all within the connect timeout.
    pub(super) async fn connect(&self) -> Result<Connection, WinrmError> {
        let attempt = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| self.unreachable(&e))?;
            // Envelopes are single small writes; do not let Nagle hold them back.
            let _ = tcp.set_nodelay(true);
            match &self.tls {
                None => self.start(tcp, ChannelBinding::Plain).await,
                Some((connector, name)) => {
                    let tls = connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| self.tls_failed(&e))?;
                    // The end-entity certificate comes first (RFC 8446 4.4.2, RFC 5246 7.4.2).
                    let certificate = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first());
                    let binding = ChannelBinding::for_certificate(certificate.map(|c| c.as_ref()));
                    self.start(tls, binding).await
                }
            }
        };
        tokio::time::timeout(self.connect_timeout, attempt)
            .await
            .map_err(|_| WinrmError::Timeout {
                endpoint: self.endpoint.clone(),
                secs: self.connect_timeout.as_secs(),
            })?
    }

    async fn start<I>(&self, io: I, binding: ChannelBinding) -> Result<Connection, WinrmError>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| self.http_error(&e))?;
        let driver = tokio::spawn(async move {
            // Ends when the connection closes; the sender then reports it closed.
            let _ = conn.await;
        });
        Ok(Connection {
            sender,
            driver,
            binding,
        })
    }

    /// A POST to `/wsman` with the Host header; the caller adds its headers.
    pub(super) fn request(&self) -> hyper::http::request::Builder {
        Request::builder()
            .method(Method::POST)
            .uri("/wsman")
            .header(HOST, &self.authority)
    }

    fn setup(&self) -> &'static str {
        if self.tls.is_some() {
            "winrm quickconfig -transport:https"
        } else {
            "winrm quickconfig"
        }
    }

    fn unreachable(&self, e: &std::io::Error) -> WinrmError {
        let reason = if e.kind() == std::io::ErrorKind::ConnectionRefused {
            "connection refused".to_string()
        } else {
            e.to_string()
        };
        WinrmError::Unreachable {
            endpoint: self.endpoint.clone(),
            port: self.port,
            reason,
            setup: self.setup(),
        }
    }

    fn tls_failed(&self, e: &std::io::Error) -> WinrmError {
        let messages = chain(e);
        if looks_like_tls(&messages) {
            return WinrmError::Tls {
                endpoint: self.endpoint.clone(),
                reason: tls_reason(&messages),
            };
        }
        self.unreachable(e)
    }

    fn http_error(&self, e: &(dyn std::error::Error + 'static)) -> WinrmError {
        WinrmError::Http {
            endpoint: self.endpoint.clone(),
            reason: chain(e).join(": "),
        }
    }

    fn lost(&self, why: &str) -> WinrmError {
        WinrmError::ConnectionLost {
            endpoint: self.endpoint.clone(),
            reason: why.to_string(),
        }
    }
}

impl Connection {
    /// What NTLM on this connection binds to.
    pub(super) fn channel_binding(&self) -> &ChannelBinding {
        &self.binding
    }

    /// Whether the connection is known to be closed (the host hung up while it was idle).
    pub(super) fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Send `request` with `body` and read the whole answer, within the request timeout.
    pub(super) async fn send(
        &mut self,
        dialer: &Dialer,
        request: hyper::http::request::Builder,
        body: Vec<u8>,
    ) -> Result<Answer, SendFailure> {
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| SendFailure::Failed(dialer.http_error(&e)))?;
        let exchange = async {
            if self.sender.ready().await.is_err() {
                return Err(SendFailure::Lost(
                    dialer.lost("the host closed the connection"),
                ));
            }
            let response = match self.sender.try_send_request(request).await {
                Ok(r) => r,
                Err(mut e) => {
                    let unsent = e.take_message().is_some();
                    let err = e.into_error();
                    return Err(if unsent || closed_early(&err) {
                        SendFailure::Lost(dialer.lost(&chain(&err).join(": ")))
                    } else {
                        SendFailure::Failed(dialer.http_error(&err))
                    });
                }
            };
            let (parts, mut incoming) = response.into_parts();
            let mut body = Vec::new();
            while let Some(frame) = incoming.frame().await {
                // Cut off inside the answer: the host may have acted on the request, so it
                // is not sent again here; the shell asks again where that is safe (Receive).
                let frame = frame.map_err(|e| {
                    SendFailure::Failed(if closed_early(&e) {
                        dialer.lost(&chain(&e).join(": "))
                    } else {
                        dialer.http_error(&e)
                    })
                })?;
                if let Ok(data) = frame.into_data() {
                    if body.len() + data.len() > MAX_ANSWER_BYTES {
                        return Err(SendFailure::Failed(WinrmError::Http {
                            endpoint: dialer.endpoint.clone(),
                            reason: format!("answer larger than {MAX_ANSWER_BYTES} bytes"),
                        }));
                    }
                    body.extend_from_slice(&data);
                }
            }
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(dialer.request_timeout, exchange)
            .await
            .map_err(|_| {
                SendFailure::Failed(WinrmError::Timeout {
                    endpoint: dialer.endpoint.clone(),
                    secs: dialer.request_timeout.as_secs(),
                })
            })?
    }
}

/// The connection ended before the answer's first byte: closed, reset, or cut short.
fn closed_early(e: &hyper::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    e.is_canceled()
        || e.is_closed()
        || e.is_incomplete_message()
        || io_kinds(e).iter().any(|k| {
            matches!(
                k,
                BrokenPipe | ConnectionAborted | ConnectionReset | UnexpectedEof
            )
        })
}

/// The rustls client configuration for `verify`, with reqwest's crypto provider (the process
/// default, else aws-lc-rs) and TLS versions; HTTP/1.1 only.
fn tls_connector(verify: Verify) -> Result<tokio_rustls::TlsConnector, TlsSetupError> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(TlsSetupError::Versions)?;
    let mut config = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        Verify::Only(cas) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in cas {
                roots.add(ca).map_err(TlsSetupError::CaCertificate)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Verify::System => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(TlsSetupError::SystemVerifier)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `insecure_skip_verify`: any certificate for any name. The handshake signatures are still
/// checked, which proves only that the host holds the key of the certificate it shows.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
