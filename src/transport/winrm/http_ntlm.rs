//! NTLM on the wire for [`HttpPoster`]: the handshake in `Authorization: Negotiate` headers on a
//! connection the poster owns ([`super::conn`]), then each envelope sealed (plain HTTP) or sent
//! as is (HTTPS) on that same connection. When the connection closes (the host's idle timeout)
//! or the host answers 401 to an established context (a restarted service), one new connection
//! is authenticated and the request sent again; a 401 right after a handshake is a rejection.
//! Over plain HTTP every other answer must be sealed with the context: one in clear is refused
//! unread, whatever its HTTP status (issue 13: a host that never knew the password could
//! otherwise answer for the real one). Over HTTPS the handshake is bound to the certificate of
//! its connection (MsvAvChannelBindings, [`super::super::channel_binding`]), so a relay that
//! showed rwin another certificate cannot pass the login on (issue 13).

use base64::Engine as _;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::StatusCode;

use super::super::channel_binding::ChannelBinding;
use super::super::encryption::{self, EncryptionError};
use super::super::error::WinrmError;
use super::super::http_diagnose::excerpt;
use super::super::ntlm::{NtlmClient, NtlmError};
use super::conn::{Connection, Dialer, SendFailure};
use super::{HttpPoster, Reply, SOAP_CONTENT_TYPE};
use crate::secret::Secret;

/// An authenticated connection and its NTLM context (sequence numbers and seal keys).
pub(super) struct Session {
    conn: Connection,
    ctx: Box<NtlmClient>,
}

impl HttpPoster {
    /// One request on the NTLM-authenticated connection, authenticating one first when there
    /// is none or the last one closed, and once more if the connection is lost before the
    /// answer or the host has forgotten the context (401).
    pub(super) async fn post_ntlm(
        &self,
        envelope: String,
        password: &Secret,
        seal: bool,
        dialer: &Dialer,
        session: &tokio::sync::Mutex<Option<Session>>,
    ) -> Result<String, WinrmError> {
        let mut slot = session.lock().await;
        // Whether the one new connection after a lost one or a 401 has been used.
        let mut again = false;
        loop {
            // Any failure below leaves the slot empty: the next request starts afresh.
            let (mut s, fresh) = match slot.take() {
                Some(s) if !s.conn.is_closed() => (s, false),
                _ => (self.ntlm_session(dialer, password).await?, true),
            };
            let (content_type, body) = if seal {
                let body = encryption::encrypt(&mut s.ctx, envelope.as_bytes())
                    .map_err(|e| self.encryption_error(e))?;
                (encryption::CONTENT_TYPE, body)
            } else {
                (SOAP_CONTENT_TYPE, envelope.clone().into_bytes())
            };
            let request = dialer.request().header(CONTENT_TYPE, content_type);
            let reply = match s.conn.send(dialer, request, body).await {
                Ok(a) => Reply::new(a.status, &a.headers, a.body),
                Err(SendFailure::Lost(_)) if !again => {
                    again = true;
                    continue;
                }
                Err(failure) => return Err(failure.into_error()),
            };
            if reply.status == StatusCode::UNAUTHORIZED {
                // Right after a handshake on this very connection, the host means it.
                if fresh || again {
                    return Err(self.rejected("ntlm", &reply.offered));
                }
                again = true;
                continue;
            }
            // Over plain HTTP only a sealed answer comes from the host: NTLM proves nothing
            // about the server until it seals, so an answer in clear (a 500 "fault" or a
            // forged ReceiveResponse alike) is refused whatever its status, never parsed.
            let body = if !seal {
                reply.body
            } else if encryption::is_encrypted(&reply.content_type) {
                encryption::decrypt(&mut s.ctx, &reply.body)
                    .map_err(|e| self.encryption_error(e))?
            } else {
                return Err(self.encryption_error(EncryptionError::NotEncrypted {
                    status: reply.status.as_u16(),
                    content_type: reply.content_type,
                }));
            };
            *slot = Some(s);
            return self.finish(reply.status, body);
        }
    }

    /// A new connection, authenticated: NEGOTIATE → CHALLENGE → AUTHENTICATE, each an empty
    /// POST on it, as pywinrm does before its first encrypted request.
    async fn ntlm_session(
        &self,
        dialer: &Dialer,
        password: &Secret,
    ) -> Result<Session, WinrmError> {
        let mut conn = dialer.connect().await?;
        let mut ctx =
            NtlmClient::new(&self.user, password, &self.host).map_err(|e| self.ntlm_error(e))?;
        if let ChannelBinding::TlsServerEndPoint(data) = conn.channel_binding() {
            ctx.bind_to_channel(data);
        }
        let negotiate = ctx.negotiate().map_err(|e| self.ntlm_error(e))?;
        let reply = auth_exchange(&mut conn, dialer, &negotiate).await?;
        let challenge = match reply.token {
            Some(token) if reply.status == StatusCode::UNAUTHORIZED => token,
            _ if reply.status == StatusCode::UNAUTHORIZED => {
                return Err(self.rejected("ntlm", &reply.offered));
            }
            _ => {
                return Err(self.ntlm_error(NtlmError::NoChallenge {
                    status: reply.status.as_u16(),
                }));
            }
        };
        let authenticate = ctx
            .authenticate(&challenge)
            .map_err(|e| self.ntlm_error(e))?;
        let reply = auth_exchange(&mut conn, dialer, &authenticate).await?;
        if reply.status == StatusCode::UNAUTHORIZED {
            return Err(self.authenticate_refused(&reply.offered, conn.channel_binding()));
        }
        if !reply.status.is_success() {
            return Err(WinrmError::HttpStatus {
                endpoint: self.endpoint.clone(),
                status: reply.status.as_u16(),
                excerpt: excerpt(&String::from_utf8_lossy(&reply.body)),
            });
        }
        Ok(Session {
            conn,
            ctx: Box::new(ctx),
        })
    }

    /// The host answered AUTHENTICATE with 401. Over HTTPS the channel binding is one more
    /// reason it may have: a binding that is not for its certificate (something on the path
    /// showed rwin another one), or none where it requires one (CbtHardeningLevel=Strict).
    fn authenticate_refused(&self, offered: &[String], binding: &ChannelBinding) -> WinrmError {
        let mut err = self.rejected("ntlm", offered);
        if let WinrmError::AuthRejected { hint, .. } = &mut err {
            match binding {
                ChannelBinding::Plain => {}
                ChannelBinding::TlsServerEndPoint(_) => hint.push_str(
                    ". The login was bound to the certificate rwin received (channel binding): \
                     the host refuses it when something on the path, such as a relay or a \
                     TLS-inspecting proxy, showed rwin a certificate that is not the host's",
                ),
                ChannelBinding::Undefined(why) => hint.push_str(&format!(
                    ". rwin sent no channel binding because {why}; a host with \
                     CbtHardeningLevel=Strict refuses such a login \
                     (winrm get winrm/config/service/auth)"
                )),
            }
        }
        err
    }
}

/// An empty POST carrying `token` in `Authorization: Negotiate`.
async fn auth_exchange(
    conn: &mut Connection,
    dialer: &Dialer,
    token: &[u8],
) -> Result<Reply, WinrmError> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(token);
    let request = dialer
        .request()
        .header(AUTHORIZATION, format!("Negotiate {b64}"))
        .header(CONTENT_LENGTH, "0");
    let a = conn
        .send(dialer, request, Vec::new())
        .await
        .map_err(SendFailure::into_error)?;
    Ok(Reply::new(a.status, &a.headers, a.body))
}
