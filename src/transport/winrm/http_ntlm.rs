//! NTLM on the wire for [`HttpPoster`]: the handshake in `Authorization: Negotiate` headers on
//! the poster's one connection, then each envelope sealed (plain HTTP) or sent as is (HTTPS),
//! with one new handshake when the host answers 401 to an established context.

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::StatusCode;

use super::super::encryption;
use super::super::error::WinrmError;
use super::super::http_diagnose::excerpt;
use super::super::ntlm::NtlmClient;
use super::{HttpPoster, SOAP_CONTENT_TYPE};
use crate::secret::Secret;

impl HttpPoster {
    /// One request on the NTLM-authenticated connection, authenticating first when needed and
    /// once more if the host has forgotten the connection (401).
    pub(super) async fn post_ntlm(
        &self,
        envelope: String,
        password: &Secret,
        seal: bool,
        context: &tokio::sync::Mutex<Option<Box<NtlmClient>>>,
    ) -> Result<String, WinrmError> {
        let mut slot = context.lock().await;
        let mut fresh = false;
        loop {
            let mut ctx = match slot.take() {
                Some(ctx) => ctx,
                None => {
                    fresh = true;
                    Box::new(self.ntlm_handshake(password).await?)
                }
            };
            let request = self.client.post(&self.endpoint);
            let request = if seal {
                let body = encryption::encrypt(&mut ctx, envelope.as_bytes())
                    .map_err(|r| self.ntlm_error(r))?;
                request
                    .header(CONTENT_TYPE, encryption::CONTENT_TYPE)
                    .body(body)
            } else {
                request
                    .header(CONTENT_TYPE, SOAP_CONTENT_TYPE)
                    .body(envelope.clone())
            };
            let reply = self.send(request).await?;
            if reply.status == StatusCode::UNAUTHORIZED {
                // The context is dropped; a new connection needs a new handshake.
                if fresh {
                    return Err(self.rejected("ntlm", &reply.offered));
                }
                continue;
            }
            let body = if seal && encryption::is_encrypted(&reply.content_type) {
                encryption::decrypt(&mut ctx, &reply.body).map_err(|r| self.ntlm_error(r))?
            } else if seal && reply.status.is_success() {
                return Err(self.ntlm_error(format!(
                    "the host answered HTTP {} without encryption (Content-Type {:?})",
                    reply.status.as_u16(),
                    reply.content_type
                )));
            } else {
                reply.body
            };
            *slot = Some(ctx);
            return self.finish(reply.status, body);
        }
    }

    /// NEGOTIATE → CHALLENGE → AUTHENTICATE, each an empty POST on the same connection, as
    /// pywinrm does before its first encrypted request.
    async fn ntlm_handshake(&self, password: &Secret) -> Result<NtlmClient, WinrmError> {
        let mut ctx =
            NtlmClient::new(&self.user, password, &self.host).map_err(|r| self.ntlm_error(r))?;
        let negotiate = ctx.negotiate().map_err(|r| self.ntlm_error(r))?;
        let reply = self.send(self.auth_request(&negotiate)).await?;
        let challenge = match reply.token {
            Some(token) if reply.status == StatusCode::UNAUTHORIZED => token,
            _ if reply.status == StatusCode::UNAUTHORIZED => {
                return Err(self.rejected("ntlm", &reply.offered));
            }
            _ => {
                return Err(self.ntlm_error(format!(
                    "the host answered the NTLM negotiation with HTTP {} instead of a challenge",
                    reply.status.as_u16()
                )));
            }
        };
        let authenticate = ctx
            .authenticate(&challenge)
            .map_err(|r| self.ntlm_error(r))?;
        let reply = self.send(self.auth_request(&authenticate)).await?;
        if reply.status == StatusCode::UNAUTHORIZED {
            return Err(self.rejected("ntlm", &reply.offered));
        }
        if !reply.status.is_success() {
            return Err(WinrmError::HttpStatus {
                endpoint: self.endpoint.clone(),
                status: reply.status.as_u16(),
                excerpt: excerpt(&String::from_utf8_lossy(&reply.body)),
            });
        }
        Ok(ctx)
    }

    fn auth_request(&self, token: &[u8]) -> reqwest::RequestBuilder {
        let b64 = base64::engine::general_purpose::STANDARD.encode(token);
        self.client
            .post(&self.endpoint)
            .header(AUTHORIZATION, format!("Negotiate {b64}"))
            .header(CONTENT_LENGTH, "0")
            .body(Vec::new())
    }
}
