//! Removing service components: each service stopped and deleted (dependents first), its
//! files removed, then rwin's program and data directories. Every step prints a `removed=` or
//! `left=` line, so teardown reports what it could not remove.

use std::fmt::Write as _;

use super::service::{DATA_DIR, PROGRAM_DIR};
use crate::powershell::quote;

use crate::state::windows::ServiceRecord;

/// Services in the order to remove them: every service before those it depends on.
pub fn removal_order(services: &[ServiceRecord]) -> Vec<&ServiceRecord> {
    let mut out: Vec<&ServiceRecord> = Vec::new();
    let mut left: Vec<&ServiceRecord> = services.iter().collect();
    while !left.is_empty() {
        // Those nothing left depends on go first.
        let (free, rest): (Vec<&ServiceRecord>, Vec<&ServiceRecord>) = left.iter().partition(|s| {
            !left
                .iter()
                .any(|o| o.depends_on.iter().any(|d| d.eq_ignore_ascii_case(&s.name)))
        });
        if free.is_empty() {
            // A cycle cannot come from a valid config; remove the rest as recorded.
            out.extend(rest);
            break;
        }
        out.extend(free);
        left = rest;
    }
    out
}

/// Teardown steps for services and rwin's directories: stop and delete each service
/// (dependents first), remove its files, then `C:\Program Files\rwin` and `C:\ProgramData\rwin`.
/// Prints `removed=` / `left=` lines.
pub fn teardown_services(s: &mut String, services: &[ServiceRecord]) {
    for svc in removal_order(services) {
        let name = quote(&svc.name);
        let _ = writeln!(
            s,
            "$svc = Get-Service -Name {name} -ErrorAction SilentlyContinue\nif ($null -ne $svc) {{\n  if ([string]$svc.Status -ne 'Stopped') {{ Stop-Service -Name {name} -ErrorAction SilentlyContinue }}\n  sc.exe delete {name} | Out-Null\n}}\n$svc = Get-Service -Name {name} -ErrorAction SilentlyContinue\nif ($null -eq $svc) {{ Write-Output {} }} else {{ Write-Output {} }}",
            quote(&format!("removed=Windows service {}", svc.name)),
            quote(&format!("left=Windows service {} (sc.exe delete failed, or it is marked for deletion until it stops)", svc.name)),
        );
        for f in &svc.files {
            remove_path(s, f, false);
        }
    }
    if !services.is_empty() {
        remove_path(s, PROGRAM_DIR, true);
        remove_path(s, DATA_DIR, true);
    }
}

fn remove_path(s: &mut String, path: &str, dir: bool) {
    let p = quote(path);
    let what = if dir { "directory" } else { "file" };
    let recurse = if dir { " -Recurse" } else { "" };
    let _ = writeln!(
        s,
        "if (Test-Path -LiteralPath {p}) {{ Remove-Item -LiteralPath {p}{recurse} -Force -ErrorAction SilentlyContinue }}\nif (Test-Path -LiteralPath {p}) {{ Write-Output {} }} else {{ Write-Output {} }}",
        quote(&format!("left={what} {path}")),
        quote(&format!("removed={what} {path}")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependents_are_removed_before_what_they_depend_on() {
        let r = |name: &str, deps: &[&str]| ServiceRecord {
            name: name.into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            files: Vec::new(),
        };
        let recs = vec![
            r("rwin-network", &[]),
            r("rwin-agent", &["rwin-network", "rwin-dns"]),
            r("rwin-dns", &["rwin-network"]),
        ];
        let order: Vec<&str> = removal_order(&recs)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(order, vec!["rwin-agent", "rwin-dns", "rwin-network"]);
    }
}
