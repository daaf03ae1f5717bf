//! WinRM transport: rwin's own WS-Management client for the WinRS shell protocol. `envelope`
//! builds requests and `response` reads answers (quick-xml, namespaces matched by URI);
//! `shell` runs commands in one reused shell over any [`Poster`]; `http` is the reqwest poster,
//! which today speaks Basic over HTTPS only (NTLM/Kerberos message encryption is not written).

mod envelope;
mod error;
mod http;
mod ids;
mod powershell;
mod response;
mod shell;
mod uris;
mod xml;

pub use envelope::{Requests, ShellSpec, Signal, DEFAULT_MAX_ENVELOPE_SIZE};
pub use error::{SoapFault, WinrmError};
pub use http::{Auth, HttpOptions, HttpPoster, Insecure};
pub use ids::{IdSource, RandomIds, SequentialIds};
pub use powershell::{clixml_to_text, encode_powershell, powershell_encoded};
pub use response::{parse_fault, ReceiveOutput};
pub use shell::{Poster, ShellOptions, WinrsShell};
