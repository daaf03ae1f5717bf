//! Who may talk to winsim's WinRM, per connection: NTLM through sspi-rs' acceptor (the server
//! knows each user's password from its configuration), Basic over HTTPS only, and the server
//! side of NTLM message encryption (`multipart/encrypted` bodies, sealed both ways).

use base64::Engine as _;
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, DataRepresentation, EncryptionFlags, Ntlm,
    SecurityBuffer, SecurityBufferRef, SecurityStatus, ServerRequestFlags, Sspi, SspiImpl,
    Username,
};

use super::Users;

pub const ENCRYPTED_CONTENT_TYPE: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";
const BOUNDARY: &[u8] = b"--Encrypted Boundary\r\n";
const OCTET: &[u8] = b"\tContent-Type: application/octet-stream\r\n";

/// The NTLM state of one connection.
#[derive(Default)]
pub enum NtlmState {
    #[default]
    None,
    /// CHALLENGE sent; waiting for AUTHENTICATE on this connection.
    Challenged(Box<Ntlm>),
    /// Authenticated; the context seals and unseals.
    Established(Box<Ntlm>),
}

/// What an `Authorization` header led to.
pub enum Outcome {
    /// Send 401 with this `WWW-Authenticate` value (a challenge, or just the scheme names).
    Challenge(String),
    /// Authenticated (now, or earlier on this connection); go on with the body.
    Authenticated,
    /// Refused: 401 with the offered schemes.
    Refused(String),
}

/// Handle a `Negotiate`/`NTLM` token. `scheme` is echoed back the way the client wrote it.
pub fn ntlm_step(state: &mut NtlmState, scheme: &str, token_b64: &str, users: &Users) -> Outcome {
    let Ok(token) = base64::engine::general_purpose::STANDARD.decode(token_b64.trim()) else {
        *state = NtlmState::None;
        return Outcome::Refused("a token that is not base64".into());
    };
    if !token.starts_with(b"NTLMSSP\0") || token.len() < 12 {
        *state = NtlmState::None;
        return Outcome::Refused(
            "a token that is not raw NTLMSSP (SPNEGO/Kerberos are not simulated)".into(),
        );
    }
    match token[8] {
        1 => {
            let mut ntlm = Box::new(Ntlm::new());
            match accept(&mut ntlm, None, token) {
                Ok(challenge) => {
                    *state = NtlmState::Challenged(ntlm);
                    let b64 = base64::engine::general_purpose::STANDARD.encode(challenge);
                    Outcome::Challenge(format!("{scheme} {b64}"))
                }
                Err(e) => Outcome::Refused(format!("NEGOTIATE refused: {e}")),
            }
        }
        3 => {
            let NtlmState::Challenged(mut ntlm) = std::mem::take(state) else {
                return Outcome::Refused(
                    "AUTHENTICATE without a CHALLENGE on this connection".into(),
                );
            };
            let Some((user, domain)) = wire_user(&token) else {
                return Outcome::Refused("AUTHENTICATE without a readable user name".into());
            };
            let Some(password) = users.password(&user) else {
                return Outcome::Refused(format!("unknown user {user:?}"));
            };
            let identity = Username::new(&user, (!domain.is_empty()).then_some(domain.as_str()))
                .map(|username| AuthIdentity {
                    username,
                    password: password.to_string().into(),
                });
            let Ok(identity) = identity else {
                return Outcome::Refused(format!("unusable user name {user:?}"));
            };
            match accept(&mut ntlm, Some(AuthIdentityBuffers::from(identity)), token) {
                Ok(_) => {
                    *state = NtlmState::Established(ntlm);
                    Outcome::Authenticated
                }
                Err(e) => Outcome::Refused(format!("wrong password for {user:?}: {e}")),
            }
        }
        n => Outcome::Refused(format!("an NTLM message of type {n} out of turn")),
    }
}

/// One AcceptSecurityContext step; completes the context when sspi asks for it.
fn accept(
    ntlm: &mut Ntlm,
    creds: Option<AuthIdentityBuffers>,
    token: Vec<u8>,
) -> Result<Vec<u8>, String> {
    // For AUTHENTICATE, the handle holds the password the message must prove knowledge of.
    let mut creds = creds;
    let mut input = vec![SecurityBuffer::new(token, BufferType::Token)];
    let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let builder = ntlm
        .accept_security_context()
        .with_credentials_handle(&mut creds)
        .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut input)
        .with_output(&mut output);
    let result = ntlm
        .accept_security_context_impl(builder)
        .and_then(|mut g| g.resolve_to_result())
        .map_err(|e| e.to_string())?;
    if matches!(
        result.status,
        SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue
    ) {
        ntlm.complete_auth_token(&mut [])
            .map_err(|e| e.to_string())?;
    }
    Ok(output.pop().map(|b| b.buffer).unwrap_or_default())
}

/// User and domain names from an AUTHENTICATE message (UTF-16LE fields at fixed offsets,
/// [MS-NLMP] 2.2.1.3).
fn wire_user(msg: &[u8]) -> Option<(String, String)> {
    let field = |at: usize| -> Option<String> {
        let len = u16::from_le_bytes([*msg.get(at)?, *msg.get(at + 1)?]) as usize;
        let off = u32::from_le_bytes(msg.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        let bytes = msg.get(off..off.checked_add(len)?)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
    };
    let user = field(36).filter(|u| !u.is_empty())?;
    Some((user, field(28).unwrap_or_default()))
}

/// Check a Basic header's `user:password`.
pub fn basic_ok(b64: &str, users: &Users) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    (users.password(user)? == password).then(|| user.to_string())
}

/// Whether a request's Content-Type is an encrypted body.
pub fn is_encrypted(content_type: &str) -> bool {
    let lower = content_type.to_ascii_lowercase();
    lower.starts_with("multipart/encrypted") && lower.contains(&PROTOCOL.to_ascii_lowercase())
}

/// Unframe and unseal a request body.
pub fn unseal(ntlm: &mut Ntlm, body: &[u8]) -> Result<Vec<u8>, String> {
    let rest = body.strip_prefix(BOUNDARY).ok_or("no leading boundary")?;
    let split = rest
        .windows(BOUNDARY.len())
        .position(|w| w == BOUNDARY)
        .ok_or("no second boundary")?;
    let header = String::from_utf8_lossy(&rest[..split]).to_ascii_lowercase();
    let length: usize = header
        .split("length=")
        .nth(1)
        .map(|s| {
            s.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|d| d.parse().ok())
        .ok_or("no Length= in the part header")?;
    let data = rest[split + BOUNDARY.len()..]
        .strip_prefix(OCTET)
        .ok_or("the data part is not application/octet-stream")?;
    let sig_len = u32::from_le_bytes(
        data.get(..4)
            .ok_or("truncated")?
            .try_into()
            .map_err(|_| "truncated")?,
    ) as usize;
    let mut signature = data
        .get(4..4 + sig_len)
        .ok_or("truncated signature")?
        .to_vec();
    let mut sealed = data
        .get(4 + sig_len..4 + sig_len + length)
        .ok_or("truncated sealed data")?
        .to_vec();
    let mut buffers = [
        SecurityBufferRef::token_buf(&mut signature),
        SecurityBufferRef::data_buf(&mut sealed),
    ];
    ntlm.decrypt_message(&mut buffers)
        .map_err(|e| format!("cannot unseal: {e}"))?;
    Ok(buffers[1].data().to_vec())
}

/// Seal and frame an answer body.
pub fn seal(ntlm: &mut Ntlm, plain: &[u8]) -> Result<Vec<u8>, String> {
    let mut signature = vec![0u8; 16];
    let mut data = plain.to_vec();
    let mut buffers = [
        SecurityBufferRef::token_buf(&mut signature),
        SecurityBufferRef::data_buf(&mut data),
    ];
    ntlm.encrypt_message(EncryptionFlags::empty(), &mut buffers)
        .map_err(|e| format!("cannot seal: {e}"))?;
    let (signature, sealed) = (buffers[0].data().to_vec(), buffers[1].data().to_vec());
    let mut out = Vec::with_capacity(sealed.len() + 200);
    out.extend_from_slice(BOUNDARY);
    out.extend_from_slice(format!("\tContent-Type: {PROTOCOL}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n", plain.len()).as_bytes());
    out.extend_from_slice(BOUNDARY);
    out.extend_from_slice(OCTET);
    out.extend_from_slice(&(signature.len() as u32).to_le_bytes());
    out.extend_from_slice(&signature);
    out.extend_from_slice(&sealed);
    out.extend_from_slice(b"--Encrypted Boundary--\r\n");
    Ok(out)
}
