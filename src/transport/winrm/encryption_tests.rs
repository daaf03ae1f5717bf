//! The encrypted framing against a server-side sspi NTLM acceptor, as a host would run it.
//!
//! Said plainly: the acceptor here is the same sspi crate the client uses, so these tests show
//! the two ends agree with each other, not with Windows; and the framing test below compares
//! with a layout written by hand from MS-WSMV and pywinrm's encryption.py. The independent
//! checks are elsewhere: pywinrm (a client nobody here wrote) against winsim
//! (tests/winsim/tests/winrm.rs), and rwin's client against pyspnego's NTLM acceptor
//! (tests/it/winrm_interop.rs).

use sspi::{
    AuthIdentity, BufferType, CredentialUse, DataRepresentation, Ntlm, SecurityBuffer,
    SecurityStatus, ServerRequestFlags, Sspi, SspiImpl, Username,
};

use super::*;
use crate::secret::Secret;
use crate::transport::winrm::ntlm::{seal_with, unseal_with, NtlmError};

/// Run the handshake between a client with `client_password` and an acceptor that knows
/// `Administrator`'s password is `right`. Returns both ends, or the acceptor's refusal.
fn handshake(client_password: &str) -> Result<(NtlmClient, Ntlm), String> {
    let mut client =
        NtlmClient::new("Administrator", &Secret::new(client_password), "win1").unwrap();
    let mut server = Ntlm::new();
    let identity = AuthIdentity {
        username: Username::parse("Administrator").unwrap(),
        password: "right".to_string().into(),
    };
    let mut creds = server
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Inbound)
        .with_auth_data(&identity)
        .execute(&mut server)
        .unwrap()
        .credentials_handle;
    let mut accept = |server: &mut Ntlm, token: Vec<u8>| -> Result<Vec<u8>, String> {
        let mut input = vec![SecurityBuffer::new(token, BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = server
            .accept_security_context()
            .with_credentials_handle(&mut creds)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let result = server
            .accept_security_context_impl(builder)
            .and_then(|mut g| g.resolve_to_result())
            .map_err(|e| e.to_string())?;
        if result.status == SecurityStatus::CompleteNeeded {
            server
                .complete_auth_token(&mut [])
                .map_err(|e| e.to_string())?;
        }
        Ok(output.remove(0).buffer)
    };
    let challenge = accept(&mut server, client.negotiate().unwrap())?;
    let authenticate = client.authenticate(&challenge).unwrap();
    accept(&mut server, authenticate)?;
    Ok((client, server))
}

fn server_decrypts(server: &mut Ntlm, body: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    for part in unframe(body).unwrap() {
        plain.extend(unseal_with(server, &part.signature, &part.sealed).unwrap());
    }
    plain
}

#[test]
fn sealed_envelopes_round_trip_both_ways_in_sequence() {
    let (mut client, mut server) = handshake("right").unwrap();
    // Several messages each way: sequence numbers and the RC4 stream must stay in step.
    for i in 0..3 {
        let envelope = format!("<s:Envelope>request {i} --Encrypted Boundary\r\n</s:Envelope>");
        let body = encrypt(&mut client, envelope.as_bytes()).unwrap();
        assert!(
            !body.windows(8).any(|w| w == b"Envelope"),
            "the envelope went out in clear"
        );
        assert_eq!(server_decrypts(&mut server, &body), envelope.as_bytes());

        let answer = format!("<s:Envelope>answer {i} with bytes \u{0}\u{1}</s:Envelope>");
        let (signature, sealed) = seal_with(&mut server, answer.as_bytes()).unwrap();
        let body = frame(&SealedPart { signature, sealed }, answer.len());
        assert_eq!(decrypt(&mut client, &body).unwrap(), answer.as_bytes());
    }
}

#[test]
fn a_tampered_answer_is_refused() {
    let (mut client, mut server) = handshake("right").unwrap();
    let (signature, mut sealed) = seal_with(&mut server, b"<s:Envelope/>").unwrap();
    sealed[3] ^= 0x40;
    let body = frame(&SealedPart { signature, sealed }, 13);
    let err = decrypt(&mut client, &body).unwrap_err();
    assert!(
        matches!(err, EncryptionError::Ntlm(NtlmError::Unseal(_))),
        "{err}"
    );
    assert!(err.to_string().contains("unsealing"), "{err}");
}

#[test]
fn the_acceptor_refuses_a_wrong_password() {
    assert!(handshake("wrong").is_err());
}

#[test]
fn frame_is_the_layout_windows_and_pywinrm_use() {
    let part = SealedPart {
        signature: vec![0xAA; 16],
        sealed: b"XYZ".to_vec(),
    };
    let body = frame(&part, 3);
    let mut expected = b"--Encrypted Boundary\r\n\
        \tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\
        \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=3\r\n\
        --Encrypted Boundary\r\n\
        \tContent-Type: application/octet-stream\r\n"
        .to_vec();
    expected.extend_from_slice(&[16, 0, 0, 0]);
    expected.extend_from_slice(&[0xAA; 16]);
    expected.extend_from_slice(b"XYZ--Encrypted Boundary--\r\n");
    assert_eq!(body, expected);
    assert_eq!(unframe(&body).unwrap(), vec![part]);
    assert!(is_encrypted(CONTENT_TYPE));
    assert!(!is_encrypted("application/soap+xml;charset=UTF-8"));
}

#[test]
fn broken_bodies_say_what_is_wrong() {
    let part = SealedPart {
        signature: vec![1; 16],
        sealed: b"0123456789".to_vec(),
    };
    let body = frame(&part, 10);
    let err = unframe(&body[..body.len() - 30]).unwrap_err();
    assert!(
        matches!(
            err,
            EncryptionError::Truncated {
                what: "sealed data",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("ends inside the sealed data"),
        "{err}"
    );
    let err = unframe(b"<s:Envelope/>").unwrap_err();
    assert!(matches!(err, EncryptionError::NoBoundary), "{err}");
    assert!(err.to_string().contains("--Encrypted Boundary"), "{err}");
    let wrong_len = String::from_utf8_lossy(&body).replace("Length=10", "Length=x");
    assert!(unframe(wrong_len.as_bytes()).is_err());
}
