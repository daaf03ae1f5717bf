//! WinRM errors: one plain sentence each, saying what failed and what to check. The transport
//! that owns a node prefixes them with the node's name.

use std::fmt;
use std::path::PathBuf;

use super::encryption::EncryptionError;
use super::ntlm::NtlmError;
use super::xml::XmlError;

/// A SOAP fault as Windows sends it: SOAP code and subcode, and the `WSManFault` detail with
/// its numeric code and message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoapFault {
    /// `s:Code/s:Value`, e.g. `Receiver` (local name of the resolved QName).
    pub code: Option<String>,
    /// `s:Code/s:Subcode/s:Value` as `(namespace URI, local name)`, e.g. `(wsman, TimedOut)`.
    pub subcode: Option<(String, String)>,
    /// `s:Reason/s:Text`.
    pub reason: Option<String>,
    /// `WSManFault/@Code`, e.g. 2150858793.
    pub wsman_code: Option<u32>,
    /// `WSManFault/@Machine`.
    pub machine: Option<String>,
    /// `WSManFault/f:Message` (all its text, provider fault included).
    pub message: Option<String>,
}

impl SoapFault {
    /// "The operation did not finish within OperationTimeout": for Receive, poll again.
    pub fn is_operation_timeout(&self) -> bool {
        self.wsman_code == Some(super::uris::WSMAN_CODE_TIMED_OUT)
            || matches!(&self.subcode, Some((ns, local))
                if ns == super::uris::NS_WSMAN && local == "TimedOut")
    }
}

impl fmt::Display for SoapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .message
            .as_deref()
            .or(self.reason.as_deref())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("no message");
        f.write_str(text)?;
        let mut tags = Vec::new();
        if let Some((_, sub)) = &self.subcode {
            tags.push(sub.clone());
        } else if let Some(code) = &self.code {
            tags.push(code.clone());
        }
        if let Some(n) = self.wsman_code {
            tags.push(format!("code {n} = 0x{n:08X}"));
        }
        if !tags.is_empty() {
            write!(f, " ({})", tags.join(", "))?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WinrmError {
    #[error("WinRM fault on {action}: {fault}")]
    Fault {
        action: &'static str,
        fault: Box<SoapFault>,
    },

    #[error("WinRM answer to {action} is not what the protocol says: {reason}")]
    Protocol {
        action: &'static str,
        reason: String,
    },

    /// The answer is not XML this client reads (reads as [`WinrmError::Protocol`]).
    #[error("WinRM answer to {action} is not what the protocol says: {source}")]
    Xml {
        action: &'static str,
        #[source]
        source: XmlError,
    },

    #[error("WinRM rejected user {user} (auth {auth}). {hint}")]
    AuthRejected {
        user: String,
        auth: &'static str,
        hint: String,
    },

    #[error("the WinRM shell is already closed")]
    ShellClosed,

    #[error("cannot reach WinRM at {endpoint}: {reason}. Is WinRM listening on {port}? ({setup})")]
    Unreachable {
        endpoint: String,
        port: u16,
        reason: String,
        setup: &'static str,
    },

    #[error("TLS with {endpoint} failed: {reason}")]
    Tls { endpoint: String, reason: String },

    /// The TLS client could not be set up for the endpoint (a CA, the host's name).
    #[error("TLS with {endpoint} failed: {source}")]
    TlsSetup {
        endpoint: String,
        #[source]
        source: TlsSetupError,
    },

    #[error("no answer from WinRM at {endpoint} within {secs}s")]
    Timeout { endpoint: String, secs: u64 },

    #[error("WinRM at {endpoint} answered HTTP {status}: {excerpt}")]
    HttpStatus {
        endpoint: String,
        status: u16,
        excerpt: String,
    },

    #[error("WinRM request to {endpoint} failed: {reason}")]
    Http { endpoint: String, reason: String },

    /// The connection closed or was reset before the answer came: the host went away for a
    /// moment (a vSwitch created on its NIC, a restart) or for good.
    #[error("WinRM connection to {endpoint} was lost before the answer: {reason}")]
    ConnectionLost { endpoint: String, reason: String },

    #[error("refusing Basic auth over plain HTTP to {endpoint}: the password would cross the network readable. Use https: true (port 5986), or NTLM/Kerberos with message encryption")]
    BasicOverHttp { endpoint: String },

    #[error("WinRM auth {0} is not supported by this build of rwin (it has no Kerberos client); use auth: ntlm, which works over HTTP with message encryption and over HTTPS")]
    AuthUnsupported(&'static str),

    /// The NTLM handshake or context failed.
    #[error("NTLM with {endpoint} failed: {source}")]
    Ntlm {
        endpoint: String,
        #[source]
        source: NtlmError,
    },

    /// An NTLM-sealed body could not be made or read (reads as [`WinrmError::Ntlm`]).
    #[error("NTLM with {endpoint} failed: {source}")]
    Encryption {
        endpoint: String,
        #[source]
        source: EncryptionError,
    },

    #[error("cannot use WinRM CA certificate {}: {reason}", path.display())]
    CaCert { path: PathBuf, reason: String },

    #[error(
        "{what} needs a {size}-byte envelope, over the host's MaxEnvelopeSize of {max} bytes{hint}"
    )]
    EnvelopeTooLarge {
        what: &'static str,
        size: usize,
        max: usize,
        hint: &'static str,
    },

    /// A command sent more output than rwin collects; it was terminated.
    #[error("the command sent more than {limit} bytes of output (stdout and stderr together), which rwin does not collect; it was stopped. rwin's own scripts print far less: check what runs on the host")]
    OutputTooLarge { limit: usize },

    #[error("{what} contains characters XML cannot carry (NUL or other control characters)")]
    NotXmlText { what: &'static str },
}

impl WinrmError {
    /// Whether the same request may succeed if tried again (network trouble, overload).
    pub fn is_retryable(&self) -> bool {
        match self {
            WinrmError::Unreachable { .. }
            | WinrmError::Timeout { .. }
            | WinrmError::ConnectionLost { .. } => true,
            WinrmError::HttpStatus { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// The SOAP fault, when the service answered with one.
    pub fn fault(&self) -> Option<&SoapFault> {
        match self {
            WinrmError::Fault { fault, .. } => Some(fault.as_ref()),
            _ => None,
        }
    }
}

impl crate::retry::Retryable for WinrmError {
    fn is_retryable(&self) -> bool {
        WinrmError::is_retryable(self)
    }
}

/// Why the TLS client for an endpoint could not be set up (before any connection).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// rustls refused the crypto provider's protocol versions.
    #[error(transparent)]
    Versions(tokio_rustls::rustls::Error),

    #[error("unusable CA certificate: {0}")]
    CaCertificate(#[source] tokio_rustls::rustls::Error),

    /// The system's certificate verifier could not start.
    #[error(transparent)]
    SystemVerifier(tokio_rustls::rustls::Error),

    #[error("{host:?} is not a name or address TLS can check ({source})")]
    ServerName {
        host: String,
        #[source]
        source: tokio_rustls::rustls::pki_types::InvalidDnsNameError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_message_names_the_code() {
        let f = SoapFault {
            code: Some("Sender".into()),
            subcode: Some((
                super::super::uris::NS_WSMAN.into(),
                "InvalidSelectors".into(),
            )),
            reason: Some("reason".into()),
            wsman_code: Some(2_150_858_843),
            machine: None,
            message: Some("The shell was not found.  ".into()),
        };
        assert_eq!(
            f.to_string(),
            "The shell was not found. (InvalidSelectors, code 2150858843 = 0x8033805B)"
        );
        assert!(!f.is_operation_timeout());
    }
}
