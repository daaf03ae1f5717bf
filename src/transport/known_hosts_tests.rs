//! known_hosts as OpenSSH writes it (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): names and
//! comma lists, `[host]:port` for other ports, hashed `|1|salt|hash` entries, comments and
//! markers. The hashed lines are real `ssh-keygen -H` output.

use std::path::{Path, PathBuf};

use russh::keys::{parse_public_key_base64, PublicKey};

use super::{check, learn, KnownHostsError, Verdict};

const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAICUl9yvsrVG+YozPokYDXY6fZCkzuHFlhNuJRW9UTZQ5";
const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILcH1P1vtgpdnb6NieABjoktF4/0M5ivg6SnjurhN6br";
const KEY_C: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAQ2mn0ICT2awE0kANeaHWDQs/r/YmA7FukEAR7+OgmY2CgfrcUKxNuJMBYMUhouUhVROwhyRZVP3uiqmwxUYM4=";

/// `ssh-keygen -H` of `node1.example ssh-ed25519 KEY_A` and `[node2.example]:2222 ssh-ed25519
/// KEY_A` (`ssh-keygen -F` finds them under those names).
const HASHED: &str = "\
|1|L6NhCNqJE2iIsCJeQeXS1YOvuJ0=|bEECdFMw85Xo5gU8BUjHk2DCc0Y= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICUl9yvsrVG+YozPokYDXY6fZCkzuHFlhNuJRW9UTZQ5
|1|rYv6Z2oVrJ+oC4lw+1dleb8zJwo=|IZe1OrcSWIc3TaJajTr0W9BlB6s= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICUl9yvsrVG+YozPokYDXY6fZCkzuHFlhNuJRW9UTZQ5
";

fn key(b64: &str) -> PublicKey {
    parse_public_key_base64(b64).unwrap()
}

fn file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("known_hosts");
    std::fs::write(&path, text).unwrap();
    path
}

fn verdict(path: &Path, host: &str, port: u16, b64: &str) -> Verdict {
    check(path, host, port, &key(b64)).unwrap()
}

#[test]
fn names_and_comma_lists_are_port_22_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!("node1.example,10.0.0.1 ssh-ed25519 {KEY_A} root@node1\n"),
    );
    assert_eq!(verdict(&path, "node1.example", 22, KEY_A), Verdict::Known);
    assert_eq!(verdict(&path, "10.0.0.1", 22, KEY_A), Verdict::Known);
    assert_eq!(
        verdict(&path, "node1.example", 2222, KEY_A),
        Verdict::Unknown,
        "a port-22 entry says nothing about another port"
    );
    assert_eq!(verdict(&path, "node1", 22, KEY_A), Verdict::Unknown);
    assert_eq!(verdict(&path, "10.0.0.10", 22, KEY_A), Verdict::Unknown);
    assert_eq!(
        verdict(&path, "10.0.0.1", 22, KEY_B),
        Verdict::Changed { line: 1 }
    );
}

#[test]
fn bracketed_entries_match_their_port_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, &format!("[node2.example]:2222 ssh-ed25519 {KEY_A}\n"));
    assert_eq!(verdict(&path, "node2.example", 2222, KEY_A), Verdict::Known);
    assert_eq!(verdict(&path, "node2.example", 22, KEY_A), Verdict::Unknown);
    assert_eq!(
        verdict(&path, "node2.example", 2223, KEY_A),
        Verdict::Unknown
    );
    assert_eq!(
        verdict(&path, "node2.example", 2222, KEY_B),
        Verdict::Changed { line: 1 }
    );
}

#[test]
fn hashed_entries_written_by_ssh_keygen_match() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, HASHED);
    assert_eq!(verdict(&path, "node1.example", 22, KEY_A), Verdict::Known);
    assert_eq!(verdict(&path, "node2.example", 2222, KEY_A), Verdict::Known);
    assert_eq!(verdict(&path, "node2.example", 22, KEY_A), Verdict::Unknown);
    assert_eq!(verdict(&path, "node3.example", 22, KEY_A), Verdict::Unknown);
    assert_eq!(
        verdict(&path, "node1.example", 22, KEY_B),
        Verdict::Changed { line: 1 }
    );
    assert_eq!(
        verdict(&path, "node2.example", 2222, KEY_B),
        Verdict::Changed { line: 2 }
    );
}

#[test]
fn any_recorded_key_of_any_type_counts_and_the_changed_line_is_the_files_own() {
    let dir = tempfile::tempdir().unwrap();
    // The error tells the operator to delete the line it names: it must be the file's line
    // number, comments included, or they delete another host's key.
    let path = file(
        &dir,
        &format!(
            "# lab hosts\n# recorded by hand\nnode9.example ssh-ed25519 {KEY_B}\nnode1.example ecdsa-sha2-nistp256 {KEY_C}\nnode1.example ssh-ed25519 {KEY_A}\n"
        ),
    );
    assert_eq!(verdict(&path, "node1.example", 22, KEY_A), Verdict::Known);
    assert_eq!(verdict(&path, "node1.example", 22, KEY_C), Verdict::Known);
    assert_eq!(
        verdict(&path, "node1.example", 22, KEY_B),
        Verdict::Changed { line: 4 },
        "the first recorded key for the host, at its line in the file"
    );
    assert_eq!(
        verdict(&path, "node9.example", 22, KEY_C),
        Verdict::Changed { line: 3 },
        "a key of another type is no excuse: rwin refuses it"
    );
}

#[test]
fn comments_vouch_for_nothing_and_a_cert_authority_is_no_host_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!(
            "# node1.example ssh-ed25519 {KEY_A}\n@cert-authority node1.example ssh-ed25519 {KEY_B}\n"
        ),
    );
    assert_eq!(
        verdict(&path, "node2.example", 22, KEY_A),
        Verdict::Unknown,
        "a comment records nothing"
    );
    // rwin does not verify host certificates: the CA's key is not the host's key, and a
    // host whose keys are meant to be certified must not be trusted on first use either.
    assert_eq!(
        verdict(&path, "node1.example", 22, KEY_B),
        Verdict::CertAuthority { line: 2 },
    );
    assert_eq!(
        verdict(&path, "node1.example", 22, KEY_A),
        Verdict::CertAuthority { line: 2 },
    );
}

#[test]
fn a_cert_authority_covers_hosts_by_pattern_and_a_plain_entry_still_decides() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!(
            "@cert-authority\t*.lab,!gw.lab ssh-ed25519 {KEY_B}\nnode1.lab ssh-ed25519 {KEY_A}\n"
        ),
    );
    assert_eq!(
        verdict(&path, "node2.lab", 22, KEY_C),
        Verdict::CertAuthority { line: 1 }
    );
    assert_eq!(verdict(&path, "gw.lab", 22, KEY_C), Verdict::Unknown);
    assert_eq!(verdict(&path, "node1.lab", 22, KEY_A), Verdict::Known);
    assert_eq!(
        verdict(&path, "node1.lab", 22, KEY_C),
        Verdict::Changed { line: 2 }
    );
}

#[test]
fn fields_are_separated_by_any_run_of_spaces_and_tabs() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!(
            "node1.example\tssh-ed25519\t{KEY_A}\n  node2.example  \t ssh-ed25519   {KEY_A}  \t comment here\n@revoked\tnode3.example\tssh-ed25519\t{KEY_C}\n"
        ),
    );
    assert_eq!(verdict(&path, "node1.example", 22, KEY_A), Verdict::Known);
    assert_eq!(
        verdict(&path, "node1.example", 22, KEY_B),
        Verdict::Changed { line: 1 },
        "a tab-separated entry is an entry: a new key for it is a changed key, not an unknown one"
    );
    assert_eq!(verdict(&path, "node2.example", 22, KEY_A), Verdict::Known);
    assert_eq!(
        verdict(&path, "node2.example", 22, KEY_B),
        Verdict::Changed { line: 2 }
    );
    assert_eq!(
        verdict(&path, "node9.example", 22, KEY_C),
        Verdict::Revoked { line: 3 }
    );
}

#[test]
fn wildcards_and_negations_match_as_in_openssh() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!(
            "*.lab,!db?.lab ssh-ed25519 {KEY_A}\n10.0.0.? ssh-ed25519 {KEY_A}\n[*.lab]:2222 ssh-ed25519 {KEY_B}\n"
        ),
    );
    assert_eq!(verdict(&path, "web.lab", 22, KEY_A), Verdict::Known);
    assert_eq!(
        verdict(&path, "web.lab", 22, KEY_C),
        Verdict::Changed { line: 1 }
    );
    assert_eq!(
        verdict(&path, "db1.lab", 22, KEY_C),
        Verdict::Unknown,
        "a negated pattern takes the host out of the line"
    );
    assert_eq!(verdict(&path, "db10.lab", 22, KEY_A), Verdict::Known);
    assert_eq!(verdict(&path, "10.0.0.7", 22, KEY_A), Verdict::Known);
    assert_eq!(
        verdict(&path, "10.0.0.7", 22, KEY_C),
        Verdict::Changed { line: 2 }
    );
    assert_eq!(verdict(&path, "10.0.0.17", 22, KEY_C), Verdict::Unknown);
    assert_eq!(verdict(&path, "web.lab", 2222, KEY_B), Verdict::Known);
    assert_eq!(
        verdict(&path, "web.lab", 2222, KEY_A),
        Verdict::Changed { line: 3 }
    );
}

#[test]
fn host_names_match_whatever_their_case() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!("Node1.EXAMPLE ssh-ed25519 {KEY_A}\n{HASHED}"),
    );
    assert_eq!(verdict(&path, "node1.example", 22, KEY_A), Verdict::Known);
    assert_eq!(
        verdict(&path, "NODE1.example", 22, KEY_B),
        Verdict::Changed { line: 1 }
    );
    assert_eq!(
        verdict(&path, "Node2.Example", 2222, KEY_B),
        Verdict::Changed { line: 3 },
        "ssh hashes the lower-case name"
    );
}

#[test]
fn every_line_counts_blank_indented_comment_and_unknown_marker_lines_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!(
            "\n# lab\n   # indented comment\n\t\n@future node1.example ssh-ed25519 {KEY_C}\nnode1.example ssh-ed25519 {KEY_A}\n"
        ),
    );
    assert_eq!(
        verdict(&path, "node1.example", 22, KEY_C),
        Verdict::Changed { line: 6 },
        "a line with a marker OpenSSH does not know is skipped, as OpenSSH skips it"
    );
}

#[test]
fn the_advice_for_a_changed_key_is_ssh_keygen_minus_r_with_the_entry_name() {
    let path = Path::new("/home/op/.ssh/known_hosts");
    assert_eq!(
        super::forget_command(path, "node1.example", 22),
        "ssh-keygen -R node1.example -f /home/op/.ssh/known_hosts"
    );
    assert_eq!(
        super::forget_command(Path::new("/tmp/my hosts"), "10.0.0.5", 2222),
        "ssh-keygen -R '[10.0.0.5]:2222' -f '/tmp/my hosts'"
    );
}

#[test]
fn a_revoked_key_is_refused_even_where_it_would_be_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        &format!("# keys of the old lab\n@revoked * ssh-ed25519 {KEY_A}\n@revoked node2.example ssh-ed25519 {KEY_B}\nnode2.example ssh-ed25519 {KEY_B}\n"),
    );
    assert_eq!(
        verdict(&path, "node1.example", 22, KEY_A),
        Verdict::Revoked { line: 2 },
        "OpenSSH never accepts a revoked key; it must not be `Unknown` (--accept-new-host-keys would trust it)"
    );
    assert_eq!(
        verdict(&path, "node2.example", 22, KEY_B),
        Verdict::Revoked { line: 3 },
        "revoked wins over a plain entry for the same key"
    );
    assert_eq!(verdict(&path, "node1.example", 22, KEY_C), Verdict::Unknown);
}

#[test]
fn a_missing_file_knows_nothing_and_an_unreadable_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        verdict(&dir.path().join("absent"), "node1.example", 22, KEY_A),
        Verdict::Unknown
    );
    let e = check(dir.path(), "node1.example", 22, &key(KEY_A)).unwrap_err();
    assert!(matches!(e, KnownHostsError::Read { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("cannot read {}", dir.path().display())),
        "{e}"
    );
    // A damaged entry for this very host is not "unknown": that would let a new key in.
    let path = file(&dir, "node1.example ssh-ed25519 AAAAnot-a-key\n");
    let e = check(&path, "node1.example", 22, &key(KEY_A)).unwrap_err();
    assert!(matches!(e, KnownHostsError::Entries { .. }), "{e}");
    assert!(e.to_string().starts_with("cannot read"), "{e}");
    assert_eq!(verdict(&path, "node2.example", 22, KEY_A), Verdict::Unknown);
}

#[test]
fn learned_keys_are_written_as_openssh_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new").join("known_hosts");
    learn(&path, "10.0.0.5", 2222, &key(KEY_A)).unwrap();
    learn(&path, "10.0.0.6", 22, &key(KEY_B)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines,
        [
            format!("[10.0.0.5]:2222 ssh-ed25519 {KEY_A}"),
            format!("10.0.0.6 ssh-ed25519 {KEY_B}")
        ]
    );
    assert_eq!(verdict(&path, "10.0.0.5", 2222, KEY_A), Verdict::Known);
    assert_eq!(verdict(&path, "10.0.0.5", 22, KEY_A), Verdict::Unknown);
    assert_eq!(verdict(&path, "10.0.0.6", 22, KEY_B), Verdict::Known);
    // OpenSSH's own reader finds them under the names ssh uses.
    for name in ["[10.0.0.5]:2222", "10.0.0.6"] {
        let out = std::process::Command::new("ssh-keygen")
            .args(["-F", name, "-f"])
            .arg(&path)
            .output()
            .expect("ssh-keygen (openssh-client) is installed");
        assert!(out.status.success(), "ssh-keygen -F {name} found nothing");
    }
}
