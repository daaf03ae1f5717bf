//! NTLM's channel binding as it leaves rwin: an in-process host (rustls, and sspi's acceptor for
//! the CHALLENGE) keeps the AUTHENTICATE message rwin sends on the very TLS connection it
//! presented its certificate on, and the tests read MsvAvChannelBindings out of it.
//!
//! The expected values are not rwin's: tests/fixtures/tls-end-point/make.sh made the
//! certificates and computed each binding with pyspnego's `GssChannelBindings` (vectors.txt).

use std::sync::Arc;

use base64::Engine as _;
use sspi::{
    BufferType, DataRepresentation, Ntlm, SecurityBuffer, ServerRequestFlags, Sspi, SspiImpl,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls-end-point");
const VECTORS: &str = include_str!("../../../tests/fixtures/tls-end-point/vectors.txt");

/// [MS-NLMP] 2.2.2.1 AvIds.
const MSV_AV_EOL: u16 = 0x0000;
const MSV_AV_FLAGS: u16 = 0x0006;
const MSV_AV_CHANNEL_BINDINGS: u16 = 0x000A;
/// MsvAvFlags bit: the AUTHENTICATE message carries a MIC.
const MIC_PRESENT: u32 = 0x0000_0002;

/// pyspnego's binding for the fixture `name`, or None where vectors.txt says `none`.
fn expected(name: &str) -> Option<[u8; 16]> {
    let line = VECTORS
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} is not in vectors.txt"));
    let hex = line.split_whitespace().nth(1).unwrap();
    if hex == "none" {
        return None;
    }
    let bytes: Vec<u8> = (0..32)
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    Some(bytes.try_into().unwrap())
}

/// A CHALLENGE from sspi's acceptor for the client's NEGOTIATE.
fn challenge_for(negotiate: Vec<u8>) -> Vec<u8> {
    let mut server = Ntlm::new();
    let mut creds = None;
    let mut input = vec![SecurityBuffer::new(negotiate, BufferType::Token)];
    let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let builder = server
        .accept_security_context()
        .with_credentials_handle(&mut creds)
        .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut input)
        .with_output(&mut output);
    server
        .accept_security_context_impl(builder)
        .and_then(|mut g| g.resolve_to_result())
        .unwrap();
    output.remove(0).buffer
}

/// Read one request head (rwin's handshake POSTs have no body); None when the client hung up.
async fn read_head<S: AsyncRead + Unpin>(io: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if io.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8(head).unwrap())
}

/// Serve one connection: a CHALLENGE for the NEGOTIATE, then keep the AUTHENTICATE and refuse
/// it with 401 (the test needs only the message).
async fn serve_ntlm<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) -> Vec<u8> {
    loop {
        let head = read_head(&mut io)
            .await
            .expect("rwin hung up mid-handshake");
        let b64 = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, value)| value.trim().strip_prefix("Negotiate "))
            .expect("a handshake request without a Negotiate token");
        let token = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap();
        if token.get(8) == Some(&3) {
            let refused = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\n\
                           Content-Length: 0\r\n\r\n";
            io.write_all(refused.as_bytes()).await.unwrap();
            return token;
        }
        let challenge = base64::engine::general_purpose::STANDARD.encode(challenge_for(token));
        let answer = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate {challenge}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        io.write_all(answer.as_bytes()).await.unwrap();
    }
}

/// rwin's AUTHENTICATE to a host on 127.0.0.1 that shows the fixture certificate `tls` over
/// HTTPS (`insecure_skip_verify`: the certificate is self-signed), or none over plain HTTP;
/// with the error rwin reports for the 401 it gets back.
async fn authenticate_to(tls: Option<&str>) -> (Vec<u8>, WinrmError) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tls.map(|name| {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(format!("{FIXTURES}/{name}.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}/{name}.key")).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let host = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        match acceptor {
            Some(acceptor) => serve_ntlm(acceptor.accept(tcp).await.unwrap()).await,
            None => serve_ntlm(tcp).await,
        }
    });
    let mut o = HttpOptions::http_ntlm("127.0.0.1", "Administrator", Secret::new("pw"));
    o.port = port;
    o.https = tls.is_some();
    o.insecure_skip_verify = true;
    let poster = HttpPoster::new(o).unwrap();
    let err = poster.post("<s:Envelope/>".into()).await.unwrap_err();
    (host.await.unwrap(), err)
}

/// The AV pairs of an NTLMv2 AUTHENTICATE message, up to and including MsvAvEOL: they sit in
/// the NTLMv2_CLIENT_CHALLENGE after the 16-byte NTProofStr and its 28-byte fixed part
/// ([MS-NLMP] 2.2.1.3, 2.2.2.8, 2.2.2.7).
fn av_pairs(authenticate: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
    let len = usize::from(u16_at(authenticate, 20));
    let offset = u32::from_le_bytes(authenticate[24..28].try_into().unwrap()) as usize;
    let response = &authenticate[offset..offset + len];
    let mut at = 16 + 28;
    let mut pairs = Vec::new();
    loop {
        let (id, len) = (u16_at(response, at), usize::from(u16_at(response, at + 2)));
        pairs.push((id, response[at + 4..at + 4 + len].to_vec()));
        if id == MSV_AV_EOL {
            return pairs;
        }
        at += 4 + len;
    }
}

/// The MsvAvFlags value; and the MIC field ([MS-NLMP] 2.2.1.3: after the 8-byte Version).
fn flags_and_mic(authenticate: &[u8], pairs: &[(u16, Vec<u8>)]) -> (u32, [u8; 16]) {
    let flags = pairs
        .iter()
        .find(|(id, _)| *id == MSV_AV_FLAGS)
        .map(|(_, v)| u32::from_le_bytes(v[..4].try_into().unwrap()))
        .expect("no MsvAvFlags");
    (flags, authenticate[72..88].try_into().unwrap())
}

/// Over HTTPS the AUTHENTICATE carries MsvAvChannelBindings: the MD5 of the
/// gss_channel_bindings_struct for `tls-server-end-point:` and the hash of the certificate the
/// host showed on that connection, the hash the certificate's signature names (SHA-256 for
/// SHA-1), as pyspnego computes it; the pair comes before MsvAvEOL, and MsvAvFlags still says a
/// MIC is present. An Ed25519 certificate gets none (RFC 5929 defines none), and the refusal
/// says why.
#[tokio::test]
async fn https_ntlm_binds_to_the_certificate_of_its_connection() {
    for name in [
        "rsa-sha256",
        "rsa-sha1",
        "rsa-sha512",
        "rsa-pss-sha384",
        "ecdsa-p384-sha384",
        "ed25519",
    ] {
        let (authenticate, err) = authenticate_to(Some(name)).await;
        let pairs = av_pairs(&authenticate);
        let bindings: Vec<&Vec<u8>> = pairs
            .iter()
            .filter(|(id, _)| *id == MSV_AV_CHANNEL_BINDINGS)
            .map(|(_, v)| v)
            .collect();
        let hint = err.to_string();
        match expected(name) {
            Some(hash) => {
                assert_eq!(bindings, [&hash.to_vec()], "{name}: {pairs:02x?}");
                let before_eol = &pairs[pairs.len() - 2];
                assert_eq!(
                    before_eol.0, MSV_AV_CHANNEL_BINDINGS,
                    "{name}: {pairs:02x?}"
                );
                assert!(hint.contains("channel binding"), "{name}: {hint}");
            }
            None => {
                assert!(bindings.is_empty(), "{name}: {pairs:02x?}");
                assert!(hint.contains("sent no channel binding"), "{name}: {hint}");
                assert!(hint.contains("CbtHardeningLevel"), "{name}: {hint}");
            }
        }
        let (flags, mic) = flags_and_mic(&authenticate, &pairs);
        assert_eq!(flags & MIC_PRESENT, MIC_PRESENT, "{name}: {flags:#x}");
        assert_ne!(mic, [0u8; 16], "{name}: the MIC is missing");
        assert!(
            matches!(err, WinrmError::AuthRejected { .. }),
            "{name}: {err}"
        );
    }
}

/// Plain HTTP has no channel to bind to: no MsvAvChannelBindings, the MIC as before.
#[tokio::test]
async fn plain_http_ntlm_sends_no_channel_binding() {
    let (authenticate, err) = authenticate_to(None).await;
    let pairs = av_pairs(&authenticate);
    assert!(
        !pairs.iter().any(|(id, _)| *id == MSV_AV_CHANNEL_BINDINGS),
        "{pairs:02x?}"
    );
    let (flags, mic) = flags_and_mic(&authenticate, &pairs);
    assert_eq!(flags & MIC_PRESENT, MIC_PRESENT, "{flags:#x}");
    assert_ne!(mic, [0u8; 16]);
    assert!(!err.to_string().contains("channel binding"), "{err}");
}
