//! The WinRM listeners: HTTP (5985, NTLM with message encryption only, as on a host with
//! AllowUnencrypted=false) and HTTPS (5986, Basic or NTLM, bodies in clear inside TLS), on
//! hyper 1. NTLM authenticates the connection, so each connection carries its own state.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::auth::{self, NtlmState, Outcome};
use super::WinrmServer;

/// Larger than any envelope a client may send (MaxEnvelopeSize tops out at a few MiB).
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
const SOAP: &str = "application/soap+xml;charset=UTF-8";

impl WinrmServer {
    /// Accept plain-HTTP connections on `listener` until the task is dropped.
    pub async fn serve_http(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            // A restarting host answers nothing: the connection is closed at once.
            if !self.shells.runner().reachable() {
                continue;
            }
            tokio::spawn(Arc::clone(&self).connection(stream, false));
        }
    }

    /// Accept TLS connections on `listener` with `tls` (see [`super::tls_config`]).
    pub async fn serve_https(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Arc<tokio_rustls::rustls::ServerConfig>,
    ) -> std::io::Result<()> {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        loop {
            let (stream, peer) = listener.accept().await?;
            if !self.shells.runner().reachable() {
                continue;
            }
            let acceptor = acceptor.clone();
            let server = Arc::clone(&self);
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(tls) => server.connection(tls, true).await,
                    Err(e) => eprintln!("winsim winrm: TLS handshake with {peer} failed: {e}"),
                }
            });
        }
    }

    async fn connection<I>(self: Arc<Self>, io: I, https: bool)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let state = Arc::new(Mutex::new(NtlmState::None));
        let runner = self.shells.runner();
        let service = hyper::service::service_fn(move |req| {
            let server = Arc::clone(&self);
            let state = Arc::clone(&state);
            async move { Ok::<_, Infallible>(server.respond(req, &state, https).await) }
        });
        let serve = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(io), service);
        // The host went down (Restart-Computer): dropping the connection closes it.
        tokio::select! {
            _ = serve => {}
            _ = crate::runner::until_unreachable(runner.as_ref()) => {}
        }
    }

    async fn respond(
        &self,
        req: Request<Incoming>,
        state: &Mutex<NtlmState>,
        https: bool,
    ) -> Response<Full<Bytes>> {
        if req.uri().path() != "/wsman" {
            return plain(StatusCode::NOT_FOUND);
        }
        if req.method() != Method::POST {
            return plain(StatusCode::METHOD_NOT_ALLOWED);
        }
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let (authorization, content_type) = (header(AUTHORIZATION), header(CONTENT_TYPE));
        let body = match Limited::new(req.into_body(), MAX_REQUEST_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE),
        };
        // Requests on one connection come one after another, so holding the lock is free.
        let mut state = state.lock().await;
        let (scheme, token) = authorization
            .split_once(' ')
            .unwrap_or((authorization.as_str(), ""));
        if scheme.eq_ignore_ascii_case("negotiate") || scheme.eq_ignore_ascii_case("ntlm") {
            match auth::ntlm_step(&mut state, scheme, token, &self.users) {
                Outcome::Challenge(value) => return unauthorized(&[value]),
                Outcome::Refused(why) => return self.refuse(https, &why),
                Outcome::Authenticated => {}
            }
        } else if scheme.eq_ignore_ascii_case("basic") {
            if !https {
                return self.refuse(https, "Basic over plain HTTP (AllowUnencrypted=false)");
            }
            if auth::basic_ok(token, &self.users).is_none() {
                return self.refuse(https, "Basic with a wrong user or password");
            }
        } else if !matches!(*state, NtlmState::Established(..)) {
            return self.refuse(https, "a request without credentials");
        }
        if body.is_empty() {
            // pywinrm and rwin authenticate with empty POSTs before the first envelope.
            return plain(StatusCode::OK);
        }
        if auth::is_encrypted(&content_type) {
            let NtlmState::Established(ntlm) = &mut *state else {
                return self.refuse(https, "an encrypted body without an NTLM context");
            };
            let envelope = match auth::unseal(ntlm, &body) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("winsim winrm: refusing an encrypted body: {e}");
                    return plain(StatusCode::BAD_REQUEST);
                }
            };
            let answer = self
                .shells
                .handle(&String::from_utf8_lossy(&envelope))
                .await;
            return match auth::seal(ntlm, answer.xml.as_bytes()) {
                Ok(sealed) => reply(answer.fault, auth::ENCRYPTED_CONTENT_TYPE, sealed),
                Err(e) => {
                    eprintln!("winsim winrm: {e}");
                    plain(StatusCode::INTERNAL_SERVER_ERROR)
                }
            };
        }
        if !https {
            return self.refuse(
                https,
                "an unencrypted body on HTTP (AllowUnencrypted=false)",
            );
        }
        let answer = self.shells.handle(&String::from_utf8_lossy(&body)).await;
        reply(answer.fault, SOAP, answer.xml.into_bytes())
    }

    fn refuse(&self, https: bool, why: &str) -> Response<Full<Bytes>> {
        eprintln!("winsim winrm: 401 for {why}");
        let mut offers = vec!["Negotiate".to_string()];
        if https {
            offers.push("Basic realm=\"WSMAN\"".to_string());
        }
        unauthorized(&offers)
    }
}

fn plain(status: StatusCode) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

fn unauthorized(offers: &[String]) -> Response<Full<Bytes>> {
    let mut resp = plain(StatusCode::UNAUTHORIZED);
    for offer in offers {
        if let Ok(v) = offer.parse() {
            resp.headers_mut().append(WWW_AUTHENTICATE, v);
        }
    }
    resp
}

fn reply(fault: bool, content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    // Windows answers faults with HTTP 500, everything else with 200.
    if fault {
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    resp.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    resp
}
