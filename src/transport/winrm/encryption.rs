//! WinRM message encryption over plain HTTP: the `multipart/encrypted` body that carries an
//! NTLM-sealed SOAP envelope ([MS-WSMV] 2.2.9.1, the framing pywinrm and Windows use).
//! A host with AllowUnencrypted=false (the default) accepts nothing else on port 5985.

use super::ntlm::{NtlmClient, NtlmError};

/// The protocol named in the Content-Type and in each part's header.
pub const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";

/// Content-Type of an encrypted request or answer.
pub const CONTENT_TYPE: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";

const BOUNDARY: &[u8] = b"--Encrypted Boundary\r\n";
const END: &[u8] = b"--Encrypted Boundary--";
const OCTET_STREAM: &[u8] = b"\tContent-Type: application/octet-stream\r\n";

/// What is wrong with an encrypted body, or with sealing or unsealing it.
#[derive(Debug, thiserror::Error)]
pub enum EncryptionError {
    #[error("the encrypted body does not start a part with --Encrypted Boundary")]
    NoBoundary,

    #[error("an encrypted part has no data section")]
    NoDataSection,

    #[error("an encrypted part's header has no Length=")]
    NoLength,

    #[error("an encrypted part's Length is not a number: {header:?}")]
    BadLength { header: String },

    #[error("an encrypted part's data is not application/octet-stream")]
    NotOctetStream,

    /// The body is shorter than its lengths say.
    #[error("the encrypted body ends inside the {what} ({have} of {need} bytes)")]
    Truncated {
        what: &'static str,
        have: usize,
        need: usize,
    },

    #[error("sealed data is not followed by a boundary ({left} bytes left)")]
    NoBoundaryAfterData { left: usize },

    /// An answer to a sealed request came back in clear (any status but 401).
    #[error("the host answered HTTP {status} without encryption (Content-Type {content_type:?}), and rwin refuses every answer that is not sealed once NTLM has authenticated the connection: anyone on the network path could have written it. Check that nothing between rwin and the host (a proxy, a load balancer) rewrites WinRM traffic, or use HTTPS")]
    NotEncrypted { status: u16, content_type: String },

    /// Sealing or unsealing itself failed (a signature that does not match, for one).
    #[error(transparent)]
    Ntlm(#[from] NtlmError),
}

/// One sealed part of an encrypted body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPart {
    pub signature: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// Whether an answer's Content-Type says its body is encrypted.
pub fn is_encrypted(content_type: &str) -> bool {
    let lower = content_type.to_ascii_lowercase();
    lower.starts_with("multipart/encrypted") && lower.contains(&PROTOCOL.to_ascii_lowercase())
}

/// The body for a sealed message whose plain text was `original_len` bytes long.
pub fn frame(part: &SealedPart, original_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(part.sealed.len() + part.signature.len() + 256);
    out.extend_from_slice(BOUNDARY);
    out.extend_from_slice(format!("\tContent-Type: {PROTOCOL}\r\n").as_bytes());
    out.extend_from_slice(
        format!(
            "\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={original_len}\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(BOUNDARY);
    out.extend_from_slice(OCTET_STREAM);
    // The signature length is a 32-bit little-endian integer; a signature is 16 bytes.
    out.extend_from_slice(&(part.signature.len() as u32).to_le_bytes());
    out.extend_from_slice(&part.signature);
    out.extend_from_slice(&part.sealed);
    out.extend_from_slice(END);
    out.extend_from_slice(b"\r\n");
    out
}

/// The sealed parts of an encrypted body. NTLM sealing keeps the length, so each part's
/// `Length=` tells exactly where its sealed bytes end (they may contain any byte, boundary too).
pub fn unframe(body: &[u8]) -> Result<Vec<SealedPart>, EncryptionError> {
    let mut rest = body;
    let mut parts = Vec::new();
    loop {
        rest = rest
            .strip_prefix(BOUNDARY)
            .ok_or(EncryptionError::NoBoundary)?;
        let header_end = find(rest, BOUNDARY).ok_or(EncryptionError::NoDataSection)?;
        let header = String::from_utf8_lossy(&rest[..header_end]);
        let length = original_length(&header)?;
        rest = rest[header_end + BOUNDARY.len()..]
            .strip_prefix(OCTET_STREAM)
            .ok_or(EncryptionError::NotOctetStream)?;
        let (len_bytes, after) = split(rest, 4, "signature length")?;
        let sig_len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let (signature, after) = split(after, sig_len as usize, "signature")?;
        let (sealed, after) = split(after, length, "sealed data")?;
        parts.push(SealedPart {
            signature: signature.to_vec(),
            sealed: sealed.to_vec(),
        });
        if after.starts_with(END) {
            return Ok(parts);
        }
        if !after.starts_with(BOUNDARY) {
            return Err(EncryptionError::NoBoundaryAfterData { left: after.len() });
        }
        rest = after;
    }
}

/// Seal `plain` and frame it as a request body.
pub fn encrypt(ctx: &mut NtlmClient, plain: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    let (signature, sealed) = ctx.seal(plain)?;
    Ok(frame(&SealedPart { signature, sealed }, plain.len()))
}

/// Unframe and unseal an encrypted answer.
pub fn decrypt(ctx: &mut NtlmClient, body: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    let mut plain = Vec::new();
    for part in unframe(body)? {
        plain.extend(ctx.unseal(&part.signature, &part.sealed)?);
    }
    Ok(plain)
}

fn original_length(header: &str) -> Result<usize, EncryptionError> {
    let lower = header.to_ascii_lowercase();
    let at = lower.find("length=").ok_or(EncryptionError::NoLength)?;
    let digits: String = header[at + "length=".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().map_err(|_| EncryptionError::BadLength {
        header: header.to_string(),
    })
}

fn split<'a>(
    bytes: &'a [u8],
    n: usize,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), EncryptionError> {
    if bytes.len() < n {
        return Err(EncryptionError::Truncated {
            what,
            have: bytes.len(),
            need: n,
        });
    }
    Ok(bytes.split_at(n))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[path = "encryption_tests.rs"]
mod tests;
