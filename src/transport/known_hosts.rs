//! Host key verification against an OpenSSH known_hosts file. A host with any recorded key that
//! doesn't match is refused, whatever the key type: RKE never checked host keys (rke#3670).

use std::path::{Path, PathBuf};

use russh::keys::{HashAlg, PublicKey};

/// Why the known_hosts file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KnownHostsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// russh could not read the file's entries for the host (a damaged entry, for one).
    #[error("cannot read {}: {source}", path.display())]
    Entries {
        path: PathBuf,
        #[source]
        source: russh::keys::Error,
    },

    #[error("cannot record the host key in {}: {source}", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: russh::keys::Error,
    },
}

/// What known_hosts says about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    /// Recorded keys exist and none matches; the first such line.
    Changed {
        line: usize,
    },
    /// The key is on an `@revoked` line (whatever that line's host names): never accepted.
    Revoked {
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
pub fn check(
    path: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
) -> Result<Verdict, KnownHostsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Verdict::Unknown),
        Err(source) => {
            return Err(KnownHostsError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if let Some(line) = revoked(&text, key) {
        return Ok(Verdict::Revoked { line });
    }
    let recorded =
        russh::keys::known_hosts::known_host_keys_path(host, port, path).map_err(|source| {
            KnownHostsError::Entries {
                path: path.to_path_buf(),
                source,
            }
        })?;
    if recorded.is_empty() {
        return Ok(Verdict::Unknown);
    }
    if recorded.iter().any(|(_, k)| k == key) {
        return Ok(Verdict::Known);
    }
    Ok(Verdict::Changed {
        line: file_line(&text, recorded[0].0),
    })
}

/// The line of an `@revoked` entry for `key`. russh's reader skips marker lines, so without
/// this a revoked key would only be unknown, and --accept-new-host-keys would trust it. Any
/// such line counts, whatever its host names: a revoked key is no host's key.
fn revoked(text: &str, key: &PublicKey) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("@revoked") {
            return None;
        }
        let listed = russh::keys::parse_public_key_base64(fields.nth(2)?).ok()?;
        (listed == *key).then_some(i + 1)
    })
}

/// russh numbers entries without counting comment lines; the error names the file's own line
/// (the operator is told to delete it).
fn file_line(text: &str, entry: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .nth(entry.saturating_sub(1))
        .map_or(entry, |(i, _)| i + 1)
}

/// Append `key` for `host:port` to the file (created with its directory when missing).
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<(), KnownHostsError> {
    russh::keys::known_hosts::learn_known_hosts_path(host, port, key, path).map_err(|source| {
        KnownHostsError::Record {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
#[path = "known_hosts_tests.rs"]
mod tests;
