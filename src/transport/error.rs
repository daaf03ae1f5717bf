//! Transport errors: one plain sentence with the node's name and what to do next.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "{node}: cannot reach {addr}: {reason}. Is the host up and sshd listening on that port?"
    )]
    Unreachable {
        node: String,
        addr: String,
        reason: String,
    },

    #[error("{node}: no SSH answer from {addr} within {secs}s. The port accepts connections but nothing speaks SSH, or the network drops packets; check the host, or raise --connect-timeout")]
    ConnectTimeout {
        node: String,
        addr: String,
        secs: u64,
    },

    #[error("{node}: SSH authentication failed for user {user} ({tried}). Check the user, that the key is in the host's authorized_keys, or ssh_agent_auth")]
    AuthFailed {
        node: String,
        user: String,
        tried: String,
    },

    #[error("{node}: the SSH server accepted the connection but did not answer the login (user {user}) within {secs}s. Check the host's sshd (a PAM, LDAP or DNS lookup can stall logins), or raise --connect-timeout")]
    AuthTimeout {
        node: String,
        user: String,
        secs: u64,
    },

    #[error("{node}: SSH key {path} could not be used: {reason}")]
    Key {
        node: String,
        path: PathBuf,
        reason: String,
    },

    #[error("{node}: host key of {addr} is not known ({fingerprint}). Verify it, then re-run with --accept-new-host-keys (or answer yes on a terminal) to record it in {known_hosts}")]
    HostKeyUnknown {
        node: String,
        addr: String,
        fingerprint: String,
        known_hosts: PathBuf,
    },

    #[error("{node}: HOST KEY CHANGED for {host}:{port}: it now presents {fingerprint}, which does not match {known_hosts} line {line}. This may be an attack; if the host was really reinstalled, remove its old keys with `{}` and run again", super::known_hosts::forget_command(known_hosts, host, *port))]
    HostKeyMismatch {
        node: String,
        host: String,
        port: u16,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },

    #[error("{node}: {known_hosts} line {line} names a @cert-authority for {addr}, so its host key should be certified, and rwin does not verify host certificates: it will not trust {fingerprint} on first use. Check that key on the host, then add it to {known_hosts} as a plain entry (`ssh-keyscan` prints one)")]
    HostKeyCertAuthority {
        node: String,
        addr: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },

    #[error("{node}: the host key of {addr} ({fingerprint}) is REVOKED: {known_hosts} line {line} marks it @revoked, so rwin refuses it. This may be an attack, or the host still has a key that was retired; give it a new host key")]
    HostKeyRevoked {
        node: String,
        addr: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },

    #[error("{node}: cannot open {what}: {reason}")]
    Channel {
        node: String,
        what: String,
        reason: String,
    },

    #[error("{node}: the SSH server did not open {what} within {secs}s, although the connection is up. Check the host's sshd (MaxSessions, load), or raise --connect-timeout")]
    ChannelTimeout {
        node: String,
        what: String,
        secs: u64,
    },

    #[error("{node}: the command's output (stdout and stderr together) passed {mib} MiB; rwin stopped reading it and failed the command. rwin's own commands print far less: check what runs on the host")]
    OutputTooLarge { node: String, mib: usize },

    #[error("{node}: command timed out after {secs}s (raise --command-timeout if the host is just slow)")]
    CommandTimeout { node: String, secs: u64 },

    #[error("{node}: connection lost: {reason}. Re-run once the host is reachable; rwin picks up where it stopped")]
    Disconnected { node: String, reason: String },

    /// A WinRM failure, kept whole: its kind decides whether trying again can help.
    #[error("{node}: {source}")]
    Winrm {
        node: String,
        #[source]
        source: Box<super::winrm::WinrmError>,
    },

    #[error("{node}: {what} are not supported by this transport")]
    Unsupported { node: String, what: &'static str },
}

impl TransportError {
    /// Whether trying the same thing again can help (network blips, not wrong credentials).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable { .. }
                | TransportError::ConnectTimeout { .. }
                | TransportError::Disconnected { .. }
                | TransportError::CommandTimeout { .. }
                | TransportError::AuthTimeout { .. }
                | TransportError::ChannelTimeout { .. }
        ) || matches!(self, TransportError::Winrm { source, .. } if source.is_retryable())
    }
}

impl crate::retry::Retryable for TransportError {
    fn is_retryable(&self) -> bool {
        TransportError::is_retryable(self)
    }
}

#[cfg(test)]
mod tests {
    use super::TransportError;
    use crate::transport::winrm::WinrmError;

    /// A WinRM failure keeps its kind through the transport: a host that cannot be reached
    /// now may be reached later, a refused password will not be accepted later.
    #[test]
    fn winrm_failures_keep_whether_a_retry_can_help() {
        let wrap = |e: WinrmError| TransportError::Winrm {
            node: "win1".into(),
            source: Box::new(e),
        };
        let unreachable = wrap(WinrmError::Unreachable {
            endpoint: "http://192.0.2.21:5985/wsman".into(),
            port: 5985,
            reason: "connection refused".into(),
            setup: "winrm quickconfig",
        });
        assert!(unreachable.is_retryable(), "{unreachable}");
        let refused = wrap(WinrmError::AuthRejected {
            user: "Administrator".into(),
            auth: "ntlm",
            hint: String::new(),
        });
        assert!(!refused.is_retryable(), "{refused}");
        assert!(
            unreachable
                .to_string()
                .starts_with("win1: cannot reach WinRM at "),
            "{unreachable}"
        );
    }
}
