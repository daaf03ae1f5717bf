//! Host key verification against an OpenSSH known_hosts file. A host with any recorded key that
//! doesn't match is refused, whatever the key type: RKE never checked host keys (rke#3670).

use std::path::Path;

use russh::keys::{HashAlg, PublicKey};

/// What known_hosts says about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    /// Recorded keys exist and none matches; the first such line.
    Changed {
        line: usize,
    },
}

pub fn fingerprint(key: &PublicKey) -> String {
    format!(
        "{} {}",
        key.algorithm().as_str(),
        key.fingerprint(HashAlg::Sha256)
    )
}

/// Check `key` for `host:port` against the file at `path` (a missing file knows nothing).
pub fn check(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<Verdict, String> {
    let recorded = russh::keys::known_hosts::known_host_keys_path(host, port, path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if recorded.is_empty() {
        return Ok(Verdict::Unknown);
    }
    if recorded.iter().any(|(_, k)| k == key) {
        return Ok(Verdict::Known);
    }
    Ok(Verdict::Changed {
        line: recorded[0].0,
    })
}

/// Append `key` for `host:port` to the file (created with its directory when missing).
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    russh::keys::known_hosts::learn_known_hosts_path(host, port, key, path)
        .map_err(|e| format!("cannot record the host key in {}: {e}", path.display()))
}
