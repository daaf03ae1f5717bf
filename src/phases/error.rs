//! Why work on a host stopped, as a value: commands and `doctor` match on its kind, and the ui
//! layer renders its message. Nothing classifies a host's failure by the words in it.

use serde::Serialize;

/// What stopped work on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The connection could not be opened (network, authentication, host key).
    Connect,
    /// The host's facts could not be read.
    Facts,
    /// The container engine did not answer, or refused what rwin asked of it.
    Engine,
    /// Something on the host stops rwin from changing it at all (a blocker).
    Blocked,
    /// Changing the host's own configuration failed.
    Apply,
    /// Restarting the host (`--allow-reboot`) failed.
    Reboot,
    /// A component could not be made to match.
    Component,
    /// The state file could not be written.
    State,
    /// Removing what rwin made failed.
    Teardown,
}

/// The first error that stopped work on a host: its kind, its sentence (already naming the
/// node and what to do), and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostError {
    pub kind: ErrorKind,
    pub message: String,
    pub retryable: bool,
}

impl HostError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> HostError {
        HostError {
            kind,
            message: message.into(),
            retryable: false,
        }
    }

    /// A connection that could not be opened; `retryable` from the transport's own verdict.
    pub fn connect(message: impl Into<String>, retryable: bool) -> HostError {
        HostError {
            kind: ErrorKind::Connect,
            message: message.into(),
            retryable,
        }
    }

    /// The same error, with `cause` (what went wrong first) said after it.
    pub fn after(self, cause: &HostError) -> HostError {
        HostError {
            message: format!("{} (after: {})", self.message, cause.message),
            ..self
        }
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

impl crate::retry::Retryable for HostError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }
}
