//! The client side of NTLM for WinRM, on sspi-rs (pure Rust, no OpenSSL): the three-message
//! handshake carried in `Authorization: Negotiate <base64>` headers, then sealing and unsealing
//! of messages, which plain-HTTP WinRM needs because hosts refuse unencrypted bodies.

use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation,
    EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferRef, SecurityStatus, Sspi, SspiImpl,
    Username,
};

use crate::secret::Secret;

/// What went wrong in an NTLM context: the handshake or sealing. The sspi error, when there is
/// one, is the source; the text says which step failed, as the host's operator needs it.
#[derive(Debug, thiserror::Error)]
pub enum NtlmError {
    /// sspi's reason is boxed: its type is not public.
    #[error("user name {user:?} is not usable: {source}")]
    BadUser {
        user: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("preparing NTLM credentials: {0}")]
    Credentials(#[source] sspi::Error),

    #[error("starting NTLM: {0}")]
    Start(#[source] sspi::Error),

    #[error("the host's NTLM challenge is not usable: {0}")]
    Challenge(#[source] sspi::Error),

    #[error("completing NTLM authentication: {0}")]
    Complete(#[source] sspi::Error),

    #[error("sspi produced no NTLM token")]
    NoToken,

    /// The host answered NEGOTIATE with something other than a 401 carrying a CHALLENGE.
    #[error("the host answered the NTLM negotiation with HTTP {status} instead of a challenge")]
    NoChallenge { status: u16 },

    #[error("NTLM context used before authentication finished")]
    NotEstablished,

    #[error("NTLM sealing failed: {0}")]
    Seal(#[source] sspi::Error),

    /// Also what a tampered or out-of-sequence answer gives: its signature does not match.
    #[error("NTLM unsealing failed: {0}")]
    Unseal(#[source] sspi::Error),
}

/// The length of an NTLM message signature (version, checksum, sequence number).
pub const SIGNATURE_LEN: usize = 16;

/// One NTLM security context with one host, from the NEGOTIATE message to sealed messages.
/// It belongs to one HTTP connection: the host ties the authentication to the socket.
pub struct NtlmClient {
    ntlm: Ntlm,
    credentials: Option<sspi::AuthIdentityBuffers>,
    target: String,
    established: bool,
}

impl std::fmt::Debug for NtlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmClient")
            .field("target", &self.target)
            .field("established", &self.established)
            .finish_non_exhaustive()
    }
}

impl NtlmClient {
    /// A context for `user` (`user`, `DOMAIN\user` or `user@domain`) towards `host`.
    pub fn new(user: &str, password: &Secret, host: &str) -> Result<NtlmClient, NtlmError> {
        let username = Username::parse(user).map_err(|e| NtlmError::BadUser {
            user: user.to_string(),
            source: Box::new(e),
        })?;
        let identity = AuthIdentity {
            username,
            password: password.expose().to_string().into(),
        };
        let mut ntlm = Ntlm::new();
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(NtlmError::Credentials)?;
        Ok(NtlmClient {
            ntlm,
            credentials: acquired.credentials_handle,
            target: format!("HTTP/{host}"),
            established: false,
        })
    }

    /// Bind the authentication to the channel it runs on. `application_data` is the channel
    /// binding's application data (for TLS, `tls-server-end-point:` and the certificate hash:
    /// [`super::channel_binding`]); sspi puts the MD5 of the RFC 2744 struct holding it into
    /// the AUTHENTICATE message's target info as MsvAvChannelBindings, after MsvAvFlags (MIC
    /// present) and before MsvAvEOL, and computes the MIC over the message that carries it
    /// ([MS-NLMP] 3.1.5.1.2). Call before [`NtlmClient::authenticate`].
    pub fn bind_to_channel(&mut self, application_data: &[u8]) {
        self.ntlm.set_channel_bindings(application_data);
    }

    /// The first message (NEGOTIATE), to send before the host has said anything.
    pub fn negotiate(&mut self) -> Result<Vec<u8>, NtlmError> {
        let (token, _) = self.step(None)?;
        Ok(token)
    }

    /// The last message (AUTHENTICATE), the answer to the host's CHALLENGE. The context can
    /// seal and unseal afterwards.
    pub fn authenticate(&mut self, challenge: &[u8]) -> Result<Vec<u8>, NtlmError> {
        let (token, status) = self.step(Some(challenge))?;
        if matches!(
            status,
            SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue
        ) {
            self.ntlm
                .complete_auth_token(&mut [])
                .map_err(NtlmError::Complete)?;
        }
        self.established = true;
        Ok(token)
    }

    fn step(&mut self, input: Option<&[u8]>) -> Result<(Vec<u8>, SecurityStatus), NtlmError> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input_buffers = input
            .map(|token| vec![SecurityBuffer::new(token.to_vec(), BufferType::Token)])
            .unwrap_or_default();
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY
                    | ClientRequestFlags::INTEGRITY
                    | ClientRequestFlags::ALLOCATE_MEMORY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.target)
            .with_output(&mut output);
        if input.is_some() {
            builder = builder.with_input(&mut input_buffers);
        }
        let result = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .and_then(|mut g| g.resolve_to_result())
            .map_err(|e| {
                if input.is_some() {
                    NtlmError::Challenge(e)
                } else {
                    NtlmError::Start(e)
                }
            })?;
        let token = output
            .pop()
            .map(|b| b.buffer)
            .filter(|t| !t.is_empty())
            .ok_or(NtlmError::NoToken)?;
        Ok((token, result.status))
    }

    /// Seal `plain` for the host: the 16-byte signature and the encrypted bytes (same length).
    pub fn seal(&mut self, plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), NtlmError> {
        if !self.established {
            return Err(NtlmError::NotEstablished);
        }
        seal_with(&mut self.ntlm, plain)
    }

    /// Check and decrypt what the host sealed with `signature`.
    pub fn unseal(&mut self, signature: &[u8], sealed: &[u8]) -> Result<Vec<u8>, NtlmError> {
        if !self.established {
            return Err(NtlmError::NotEstablished);
        }
        unseal_with(&mut self.ntlm, signature, sealed)
    }
}

/// EncryptMessage with a token and a data buffer, as WinRM's NTLM sealing uses it. Works for
/// either side of an established context.
pub fn seal_with<S: Sspi>(ctx: &mut S, plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), NtlmError> {
    let mut signature = vec![0u8; SIGNATURE_LEN];
    let mut data = plain.to_vec();
    let mut buffers = [
        SecurityBufferRef::token_buf(&mut signature),
        SecurityBufferRef::data_buf(&mut data),
    ];
    ctx.encrypt_message(EncryptionFlags::empty(), &mut buffers)
        .map_err(NtlmError::Seal)?;
    let signature = buffers[0].data().to_vec();
    let sealed = buffers[1].data().to_vec();
    Ok((signature, sealed))
}

/// DecryptMessage of a signature and sealed data; fails when the signature does not match.
pub fn unseal_with<S: Sspi>(
    ctx: &mut S,
    signature: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, NtlmError> {
    let mut signature = signature.to_vec();
    let mut data = sealed.to_vec();
    let mut buffers = [
        SecurityBufferRef::token_buf(&mut signature),
        SecurityBufferRef::data_buf(&mut data),
    ];
    ctx.decrypt_message(&mut buffers)
        .map_err(NtlmError::Unseal)?;
    Ok(buffers[1].data().to_vec())
}
