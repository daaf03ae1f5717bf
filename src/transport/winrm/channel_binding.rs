//! The TLS channel binding NTLM carries over HTTPS (Extended Protection for Authentication): the
//! AUTHENTICATE message names the certificate rwin saw, so a host that sees another one (a relay,
//! or a TLS-inspecting proxy showing rwin its own) refuses the login. WinRM hosts check it when
//! it is there (CbtHardeningLevel=Relaxed, the default) and require it when Strict.
//!
//! What is bound is RFC 5929's `tls-server-end-point`: `"tls-server-end-point:"` followed by a
//! hash of the server certificate's DER, the hash function its signature uses (SHA-256 for MD5
//! and SHA-1). sspi hashes that into MsvAvChannelBindings: the MD5 of an RFC 2744
//! gss_channel_bindings_struct with all-zero addresses and this as its application data.
//!
//! - [MS-NLMP] 2.2.2.1 AV_PAIR (MsvAvChannelBindings, 0x000A):
//!   <https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/83f5e789-660d-4781-8491-5f8c6641f75e>
//! - [MS-NLMP] 3.1.5.1.2 (the client adds it with ClientChannelBindingsUnhashed):
//!   <https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/c0250a97-2940-40c7-82fb-20d208c71e96>
//! - RFC 5929 section 4.1 (tls-server-end-point): <https://www.rfc-editor.org/rfc/rfc5929#section-4.1>
//! - RFC 2744 section 3.11 (gss_channel_bindings_struct): <https://www.rfc-editor.org/rfc/rfc2744#section-3.11>
//! - Integrated Windows Authentication with Extended Protection:
//!   <https://learn.microsoft.com/en-us/dotnet/framework/network-programming/integrated-windows-authentication-with-extended-protection>
//! - WinRM's `CbtHardeningLevel` in winrm/config/service/auth, default Relaxed ([MS-WSMV]
//!   2.2.4.34 ServiceAuthType):
//!   <https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/e4e963f4-cae9-4821-9efa-65e8f839a30b>;
//!   Strict refuses a request without a valid binding, Relaxed one with an invalid binding,
//!   None checks nothing (Policy CSP RemoteManagement, SpecifyChannelBindingTokenHardeningLevel):
//!   <https://learn.microsoft.com/en-us/windows/client-management/mdm/policy-csp-remotemanagement#specifychannelbindingtokenhardeninglevel>

use sha2::Digest as _;

/// RFC 5929 section 4: the channel binding's type, and the prefix of its application data.
const PREFIX: &[u8] = b"tls-server-end-point:";

/// What the NTLM handshake on one connection is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelBinding {
    /// Plain HTTP: no channel to bind to, so no MsvAvChannelBindings ([MS-NLMP] 3.1.5.1.2 adds
    /// it only when the application gives bindings).
    Plain,
    /// HTTPS: the `tls-server-end-point` application data of the host's certificate.
    TlsServerEndPoint(Vec<u8>),
    /// HTTPS with a certificate that has no `tls-server-end-point` binding: NTLM goes unbound,
    /// which a Strict host refuses.
    Undefined(NoBinding),
}

/// Why a host's certificate gives no `tls-server-end-point` binding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoBinding {
    #[error("the host showed no certificate")]
    NoCertificate,
    #[error("the host's certificate is not DER X.509 that rwin can read")]
    Unreadable,
    /// An EdDSA signature hashes as part of the algorithm: RFC 5929 defines no binding for it.
    #[error("the host's certificate is signed with {0}, which uses no separate hash function, and RFC 5929 defines no tls-server-end-point binding for it")]
    NoHashFunction(&'static str),
    #[error("the host's certificate is signed with an algorithm rwin does not know (OID {0})")]
    UnknownAlgorithm(String),
}

impl ChannelBinding {
    /// The binding for a TLS connection whose peer showed `certificate` (its end-entity
    /// certificate, as in the TLS Certificate message), if any.
    ///
    /// A certificate whose hash function is not defined gets no binding rather than a guess.
    /// That is what the Go NTLM client github.com/bodgit/ntlmssp does (`http/crypto.go`:
    /// `generateCertificateHash` returns nil for a signature algorithm outside its table,
    /// Ed25519 included, and then no bindings are sent; Azure/go-ntlmssp sends none at all),
    /// and what requests-ntlm, pywinrm's NTLM, does for an algorithm it cannot read
    /// (`_get_certificate_hash` warns "unable to pass channel bindings" and returns None).
    /// requests-ntlm falls back to SHA-256 for Ed25519 instead (its hash algorithm reads as
    /// None); rwin does not guess there: RFC 5929 section 4.1 leaves the binding of a
    /// signature without one hash function undefined, and a wrong binding makes even a
    /// Relaxed host (the default) refuse a login it would take without one.
    pub fn for_certificate(certificate: Option<&[u8]>) -> ChannelBinding {
        match certificate
            .ok_or(NoBinding::NoCertificate)
            .and_then(tls_server_end_point)
        {
            Ok(data) => ChannelBinding::TlsServerEndPoint(data),
            Err(why) => ChannelBinding::Undefined(why),
        }
    }
}

/// `"tls-server-end-point:"` and the certificate's hash, as RFC 5929 section 4.1 says: the hash
/// function of the certificate's signatureAlgorithm, but SHA-256 when that is MD5 or SHA-1.
fn tls_server_end_point(certificate: &[u8]) -> Result<Vec<u8>, NoBinding> {
    let (oid, params) = signature_algorithm(certificate).ok_or(NoBinding::Unreadable)?;
    if let Some((_, name)) = EDDSA.iter().find(|(o, _)| *o == oid) {
        return Err(NoBinding::NoHashFunction(name));
    }
    let hash = if oid == RSASSA_PSS {
        pss_hash(params).ok_or(NoBinding::Unreadable)?
    } else {
        lookup(SIGNATURES, oid).ok_or_else(|| NoBinding::UnknownAlgorithm(oid_text(oid)))?
    };
    let digest = match hash {
        Hash::Sha224 => sha2::Sha224::digest(certificate).to_vec(),
        Hash::Sha256 => sha2::Sha256::digest(certificate).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(certificate).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(certificate).to_vec(),
    };
    Ok([PREFIX, &digest].concat())
}

/// The hash a binding uses (never MD5 or SHA-1: RFC 5929 moves those to SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

// Object identifiers as DER content octets.
/// id-RSASSA-PSS (RFC 4055): the hash is in the parameters.
const RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
/// Signature algorithms with one hash function, and the hash their binding uses.
#[rustfmt::skip]
const SIGNATURES: &[(&[u8], Hash)] = &[
    // md5WithRSAEncryption, sha1WithRSAEncryption, sha224/256/384/512WithRSAEncryption (RFC 8017)
    (&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x04], Hash::Sha256),
    (&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05], Hash::Sha256),
    (&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0E], Hash::Sha224),
    (&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B], Hash::Sha256),
    (&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C], Hash::Sha384),
    (&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D], Hash::Sha512),
    // sha1WithRSASignature (OIW)
    (&[0x2B, 0x0E, 0x03, 0x02, 0x1D], Hash::Sha256),
    // ecdsa-with-SHA1, ecdsa-with-SHA224/256/384/512 (RFC 5758)
    (&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01], Hash::Sha256),
    (&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x01], Hash::Sha224),
    (&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02], Hash::Sha256),
    (&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03], Hash::Sha384),
    (&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04], Hash::Sha512),
    // id-dsa-with-sha1, dsa-with-sha224, dsa-with-sha256 (RFC 5758)
    (&[0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x03], Hash::Sha256),
    (&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x01], Hash::Sha224),
    (&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02], Hash::Sha256),
];
/// id-sha1, RSASSA-PSS's hash when its parameters name none.
const SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
/// Hash algorithms, as RSASSA-PSS parameters name them (RFC 4055, RFC 5754).
#[rustfmt::skip]
const HASHES: &[(&[u8], Hash)] = &[
    (SHA1, Hash::Sha256),
    (&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04], Hash::Sha224),
    (&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01], Hash::Sha256),
    (&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02], Hash::Sha384),
    (&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03], Hash::Sha512),
];
/// Ed25519 and Ed448 (RFC 8410): no separate hash function.
const EDDSA: &[(&[u8], &str)] = &[
    (&[0x2B, 0x65, 0x70], "Ed25519"),
    (&[0x2B, 0x65, 0x71], "Ed448"),
];

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
/// `[0]` constructed: RSASSA-PSS-params' hashAlgorithm.
const CONTEXT_0: u8 = 0xA0;

/// The signatureAlgorithm of an X.509 Certificate (RFC 5280 4.1.1.2): the OID and, when
/// present, the parameters element (tag and content).
fn signature_algorithm(certificate: &[u8]) -> Option<(&[u8], Option<Element<'_>>)> {
    let mut outer = Der(certificate);
    let body = outer.expect(SEQUENCE)?;
    let mut fields = Der(body);
    fields.expect(SEQUENCE)?; // tbsCertificate
    let mut algorithm = Der(fields.expect(SEQUENCE)?);
    let oid = algorithm.expect(OID)?;
    Some((oid, algorithm.next()))
}

/// The hash of RSASSA-PSS-params (RFC 4055 3.1): hashAlgorithm is `[0]`, SHA-1 when absent.
fn pss_hash(params: Option<Element<'_>>) -> Option<Hash> {
    let Some((SEQUENCE, params)) = params else {
        return None;
    };
    let mut fields = Der(params);
    let hash = match fields.next() {
        Some((CONTEXT_0, explicit)) => {
            let mut inner = Der(Der(explicit).expect(SEQUENCE)?);
            inner.expect(OID)?
        }
        _ => SHA1,
    };
    lookup(HASHES, hash)
}

fn lookup(table: &[(&[u8], Hash)], oid: &[u8]) -> Option<Hash> {
    table.iter().find(|(o, _)| *o == oid).map(|(_, h)| *h)
}

/// An OID's dotted text, for messages.
fn oid_text(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &byte in oid {
        value = value
            .saturating_mul(128)
            .saturating_add(u64::from(byte & 0x7F));
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.extend([first, value - first * 40]);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    let text: Vec<String> = arcs.iter().map(u64::to_string).collect();
    text.join(".")
}

/// A DER element: its tag and its content.
type Element<'a> = (u8, &'a [u8]);

/// A reader of DER elements (X.690): single-byte tags, definite lengths. Malformed input ends
/// it with None, never a panic: the certificate comes from the host.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element's tag and content.
    fn next(&mut self) -> Option<Element<'a>> {
        let (&tag, rest) = self.0.split_first()?;
        if tag & 0x1F == 0x1F {
            return None; // a multi-byte tag: nothing rwin reads has one
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 {
                return None; // indefinite (not DER) or longer than any certificate
            }
            let (bytes, after) = rest.split_at_checked(count)?;
            rest = after;
            bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
        };
        let (content, after) = rest.split_at_checked(len)?;
        self.0 = after;
        Some((tag, content))
    }

    /// The next element's content if its tag is `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.next()
            .filter(|(t, _)| *t == tag)
            .map(|(_, content)| content)
    }
}

#[cfg(test)]
mod tests {
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::CertificateDer;

    use super::*;

    #[test]
    fn malformed_certificates_give_no_binding_and_no_panic() {
        let real = include_bytes!("../../../tests/fixtures/tls-end-point/rsa-sha256.pem");
        let der = CertificateDer::from_pem_slice(real).unwrap();
        assert!(tls_server_end_point(&der).is_ok());
        // Every truncation of a real certificate, and a few corruptions.
        for cut in 0..der.len() {
            assert_eq!(
                tls_server_end_point(&der[..cut]),
                Err(NoBinding::Unreadable)
            );
        }
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
            &[0x30, 0x80, 0, 0],
        ] {
            assert_eq!(
                tls_server_end_point(bad),
                Err(NoBinding::Unreadable),
                "{bad:02x?}"
            );
        }
        assert_eq!(
            ChannelBinding::for_certificate(None),
            ChannelBinding::Undefined(NoBinding::NoCertificate)
        );
    }

    #[test]
    fn an_unknown_signature_algorithm_is_named_by_its_oid() {
        // A Certificate whose signatureAlgorithm is 1.2.840.113549.1.1.2 (md2WithRSAEncryption,
        // for which RFC 5929 names no hash).
        let cert = [
            0x30, 0x12, 0x30, 0x00, 0x30, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D,
            0x01, 0x01, 0x02, 0x03, 0x01, 0x00,
        ];
        assert_eq!(
            tls_server_end_point(&cert),
            Err(NoBinding::UnknownAlgorithm("1.2.840.113549.1.1.2".into()))
        );
    }
}
