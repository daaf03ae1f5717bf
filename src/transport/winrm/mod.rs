//! WinRM transport: rwin's own WS-Management client for the WinRS shell protocol. `envelope`
//! builds requests and `response` reads answers (quick-xml, namespaces matched by URI);
//! `shell` runs commands in one reused shell over any [`Poster`]; `http` is the HTTP poster:
//! Basic over HTTPS, NTLM over HTTPS or over HTTP with message encryption (`ntlm` is the sspi-rs
//! context, `encryption` the multipart/encrypted framing, `channel_binding` what NTLM over HTTPS
//! binds to). Kerberos is not supported.

mod channel_binding;
mod encryption;
mod envelope;
mod error;
mod http;
mod http_diagnose;
mod ids;
mod ntlm;
mod powershell;
mod response;
mod shell;
mod transport;
mod uris;
mod xml;

pub use encryption::{decrypt, encrypt, frame, is_encrypted, unframe, EncryptionError, SealedPart};
pub use envelope::{Requests, ShellSpec, Signal, DEFAULT_MAX_ENVELOPE_SIZE};
pub use error::{SoapFault, WinrmError};
pub use http::{Auth, HttpOptions, HttpPoster, Insecure, TlsSetupError};
pub use ids::{IdSource, RandomIds, SequentialIds};
pub use ntlm::{seal_with, unseal_with, NtlmClient, NtlmError};
pub use powershell::clixml_to_text;
pub use response::{parse_fault, ReceiveOutput};
pub use shell::{Poster, ShellOptions, WinrsShell};
pub use transport::{WinrmTarget, WinrmTransport};
pub use xml::XmlError;
