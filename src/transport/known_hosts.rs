//! Host key verification against an OpenSSH known_hosts file, read as OpenSSH reads it (sshd(8),
//! "SSH_KNOWN_HOSTS FILE FORMAT"; OpenSSH's hostfile.c and match.c). A host with any recorded
//! key that doesn't match is refused, whatever the key type: RKE never checked host keys
//! (rke#3670). A key that a lenient reader calls *unknown* would be trusted by
//! --accept-new-host-keys, so every line OpenSSH would apply must apply here too.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{HashAlg, PublicKey};
use sha1::Sha1;

/// Why the known_hosts file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KnownHostsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An entry for the host whose key cannot be read: not "unknown", which would let a new
    /// key in.
    #[error("cannot read {} line {line}, an entry for this host: {source}", path.display())]
    Entries {
        path: PathBuf,
        line: usize,
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

/// What known_hosts says about a presented key. Line numbers count every line of the file.
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
    /// No plain entry for the host, but a `@cert-authority` line covers it: its keys are meant
    /// to be certified, and rwin does not verify host certificates. Not known, and not to be
    /// trusted on first use either.
    CertAuthority {
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

/// The name known_hosts records `host:port` under: `host` on port 22, else `[host]:port`.
pub fn entry_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The command that removes every plain entry for `host:port` from the file at `path`, as
/// ssh(1) itself advises. Naming a line to delete by hand invites deleting the wrong one.
pub fn forget_command(path: &Path, host: &str, port: u16) -> String {
    format!(
        "ssh-keygen -R {} -f {}",
        shell_word(&entry_name(host, port)),
        shell_word(&path.display().to_string())
    )
}

/// `s` as one POSIX shell word: as it is when that is safe, else single-quoted.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
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
    // ssh(1) lower-cases the host name before matching and hashing.
    let name = entry_name(host, port).to_lowercase();
    let (mut known, mut changed, mut certified, mut damaged) = (false, None, None, None);
    for entry in entries(&text) {
        match entry.marker {
            // Any @revoked line counts, whatever its host names: a revoked key is no host's key.
            Marker::Revoked => {
                if russh::keys::parse_public_key_base64(entry.key)
                    .is_ok_and(|k| k.key_data() == key.key_data())
                {
                    return Ok(Verdict::Revoked { line: entry.line });
                }
            }
            _ if !hosts_match(entry.hosts, &name) => {}
            Marker::CertAuthority => {
                certified.get_or_insert(entry.line);
            }
            Marker::None => match russh::keys::parse_public_key_base64(entry.key) {
                Ok(k) if k.key_data() == key.key_data() => known = true,
                Ok(_) => {
                    changed.get_or_insert(entry.line);
                }
                Err(source) => {
                    damaged.get_or_insert(KnownHostsError::Entries {
                        path: path.to_path_buf(),
                        line: entry.line,
                        source,
                    });
                }
            },
        }
    }
    if let Some(e) = damaged {
        return Err(e);
    }
    Ok(match (known, changed, certified) {
        (true, _, _) => Verdict::Known,
        (false, Some(line), _) => Verdict::Changed { line },
        (false, None, Some(line)) => Verdict::CertAuthority { line },
        (false, None, None) => Verdict::Unknown,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    CertAuthority,
    Revoked,
}

/// One key line: `[marker] hosts keytype base64-key [comment]`.
struct Entry<'a> {
    /// The file's own line number, counting every line.
    line: usize,
    marker: Marker,
    hosts: &'a str,
    key: &'a str,
}

/// The key lines of a known_hosts file. Fields are separated by runs of spaces and tabs
/// (hostfile.c's `strspn(cp, " \t")`); blank lines and lines whose first non-blank character is
/// `#` are comments; a line with a marker OpenSSH does not know, or too few fields, is skipped
/// as OpenSSH skips it.
fn entries(text: &str) -> impl Iterator<Item = Entry<'_>> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
        let first = fields.next()?;
        if first.starts_with('#') {
            return None;
        }
        let (marker, hosts) = match first {
            "@cert-authority" => (Marker::CertAuthority, fields.next()?),
            "@revoked" => (Marker::Revoked, fields.next()?),
            m if m.starts_with('@') => return None,
            hosts => (Marker::None, hosts),
        };
        let _key_type = fields.next()?;
        Some(Entry {
            line: i + 1,
            marker,
            hosts,
            key: fields.next()?,
        })
    })
}

/// Whether a line's host field covers `name` (lower case, `[host]:port` off port 22): one hashed
/// name, or a comma list of patterns where a matching `!pattern` takes the host out of the line
/// (match.c's `match_hostname`, case-insensitive).
fn hosts_match(hosts: &str, name: &str) -> bool {
    if hosts.starts_with('|') {
        return hashed_match(hosts, name);
    }
    let mut matched = false;
    for pattern in hosts.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if wildcard_match(name, &pattern.to_lowercase()) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// `|1|salt|hash`: the hash is HMAC-SHA1 of the name keyed with the salt (hostfile.c's
/// `host_hash`). Anything else starting with `|` matches nothing.
fn hashed_match(field: &str, name: &str) -> bool {
    let Some(rest) = field.strip_prefix("|1|") else {
        return false;
    };
    let Some((salt, hash)) = rest.split_once('|') else {
        return false;
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
        return false;
    };
    let Ok(mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// `*` matches any run of characters, `?` any one (match.c's `match_pattern`), without the
/// exponential backtracking of a naive recursion.
fn wildcard_match(text: &str, pattern: &str) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = (text.chars().collect(), pattern.chars().collect());
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
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
