//! winsim's WinRM service: the WS-Management endpoint `/wsman` with the WinRS shell protocol,
//! behind the authentication a stock Windows Server offers, so rwin's WinRM client and
//! third-party clients (pywinrm) can be tested without Windows.
//!
//! Use:
//! ```text
//! let server = WinrmServer::new(runner /* Arc<dyn CommandRunner> */, Users::new([("Administrator", "pw")]));
//! tokio::spawn(Arc::clone(&server).serve_http(listener_5985));            // NTLM + message encryption
//! tokio::spawn(server.serve_https(listener_5986, tls_config(cert, key)?)); // Basic or NTLM over TLS
//! ```
//! Both listeners of one [`WinrmServer`] share its shells, as one host's service does.
//!
//! - `http`: the listeners (hyper 1) and the per-connection request flow.
//! - `auth`: NTLM acceptor (sspi-rs), Basic, and the server side of message encryption.
//! - `shell`: Create, Command, Send, Receive (with the real `w:TimedOut` fault), Signal, Delete.
//! - `soap`/`xml`: answer envelopes as Windows writes them; reading requests by namespace URI.
//!
//! Not Windows: NTLM is sspi-rs' acceptor, SPNEGO-wrapped tokens and Kerberos are refused, and
//! a command's stdin is handed to it whole when the client closes stdin.

mod auth;
mod http;
mod shell;
mod soap;
mod xml;

use std::path::Path;
use std::sync::Arc;

use crate::runner::CommandRunner;

/// The accounts the simulated host knows, with their passwords.
#[derive(Debug, Clone, Default)]
pub struct Users {
    accounts: Vec<(String, String)>,
}

impl Users {
    pub fn new<U: Into<String>, P: Into<String>>(
        accounts: impl IntoIterator<Item = (U, P)>,
    ) -> Users {
        Users {
            accounts: accounts
                .into_iter()
                .map(|(u, p)| (u.into(), p.into()))
                .collect(),
        }
    }

    /// The password of `user` (`user`, `DOMAIN\user` or `user@domain`; case-insensitive, as
    /// Windows account names are).
    pub fn password(&self, user: &str) -> Option<&str> {
        let bare = user.rsplit('\\').next().unwrap_or(user);
        let bare = bare.split('@').next().unwrap_or(bare);
        self.accounts
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(bare))
            .map(|(_, p)| p.as_str())
    }
}

/// One host's WinRM service: its users and its open shells.
pub struct WinrmServer {
    users: Users,
    shells: shell::Shells,
}

impl WinrmServer {
    pub fn new(runner: Arc<dyn CommandRunner>, users: Users) -> Arc<WinrmServer> {
        Arc::new(WinrmServer {
            users,
            shells: shell::Shells::new(runner),
        })
    }
}

/// A TLS server configuration from a PEM certificate chain and a PEM private key.
pub fn tls_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, String> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("reading private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not fit: {e}"))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_match_like_windows_accounts() {
        let users = Users::new([("Administrator", "pw")]);
        for name in [
            "administrator",
            "WIN1\\Administrator",
            "Administrator@corp.example",
        ] {
            assert_eq!(users.password(name), Some("pw"), "{name}");
        }
        assert_eq!(users.password("guest"), None);
    }
}
