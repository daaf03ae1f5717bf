//! Host key verification during the SSH handshake: the key the host presents is checked
//! against known_hosts (as OpenSSH reads it), trusted on first use only when the user says so,
//! and any problem is kept for the error the failed handshake becomes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::{PublicKey, PublicKeyOrCertificate};

use super::known_hosts::{self, Verdict};
use crate::ask::Confirm;

/// A host key problem seen during the handshake, turned into an error after it fails.
#[derive(Debug, Clone)]
pub(super) enum KeyProblem {
    Unknown(String),
    Changed(String, usize),
    Revoked(String, usize),
    CertAuthority(String, usize),
    Unreadable(String),
}

pub(super) struct ClientHandler {
    pub(super) known_hosts: PathBuf,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) accept_new: bool,
    pub(super) confirm: Option<Confirm>,
    pub(super) node: String,
    pub(super) problem: Arc<Mutex<Option<KeyProblem>>>,
}

impl ClientHandler {
    fn record(&self, p: KeyProblem) {
        if let Ok(mut slot) = self.problem.lock() {
            *slot = Some(p);
        }
    }

    async fn verify(&self, key: &PublicKey) -> bool {
        let fp = known_hosts::fingerprint(key);
        match known_hosts::check(&self.known_hosts, &self.host, self.port, key) {
            Ok(Verdict::Known) => true,
            Ok(Verdict::Changed { line }) => {
                self.record(KeyProblem::Changed(fp, line));
                false
            }
            Ok(Verdict::Revoked { line }) => {
                self.record(KeyProblem::Revoked(fp, line));
                false
            }
            Err(e) => {
                self.record(KeyProblem::Unreadable(e.to_string()));
                false
            }
            Ok(Verdict::CertAuthority { line }) => {
                self.record(KeyProblem::CertAuthority(fp, line));
                false
            }
            Ok(Verdict::Unknown) => {
                let trust = if self.accept_new {
                    true
                } else if let Some(confirm) = self.confirm.clone() {
                    let question = format!(
                        "{}: the host key of {}:{} is not known.\n  {fp}\nTrust it and record it in {}?",
                        self.node,
                        self.host,
                        self.port,
                        self.known_hosts.display()
                    );
                    tokio::task::spawn_blocking(move || confirm.confirm(question))
                        .await
                        .unwrap_or(false)
                } else {
                    false
                };
                if !trust {
                    self.record(KeyProblem::Unknown(fp));
                    return false;
                }
                match known_hosts::learn(&self.known_hosts, &self.host, self.port, key) {
                    Ok(()) => true,
                    Err(e) => {
                        self.record(KeyProblem::Unreadable(e.to_string()));
                        false
                    }
                }
            }
        }
    }
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => Ok(self.verify(key).await),
            PublicKeyOrCertificate::Certificate(cert) => {
                let key = PublicKey::new(cert.public_key().clone(), "");
                Ok(self.verify(&key).await)
            }
        }
    }
}
