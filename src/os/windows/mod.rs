//! What to run on a Windows host: PowerShell built as text, and the JSON it answers parsed
//! back. Pure functions, snapshot-tested; every script is checked with tree-sitter-powershell
//! and against the cmdlet table in tests/powershell/cmdlets.tsv.

use crate::os::{Check, DesiredHost};

/// The fixed command every script runs under; the script itself goes on stdin (Ansible's
/// Windows bootstrap does the same). It works under cmd.exe or PowerShell as the default shell,
/// and keeps the command line far below cmd.exe's 8191 characters whatever the script's size.
pub const BOOTSTRAP: &str =
    "$ProgressPreference = 'SilentlyContinue'; $s = $input | Out-String; & ([ScriptBlock]::Create($s))";

/// `powershell.exe … -EncodedCommand <BOOTSTRAP as UTF-16LE base64>`.
pub fn script_command() -> String {
    format!(
        "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {}",
        crate::transport::winrm::encode_powershell(BOOTSTRAP)
    )
}

/// What rwin found on a Windows host.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct WindowsFacts {}

/// One change to a Windows host's configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Change {}

impl std::fmt::Display for Change {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

pub fn facts_script(_d: &DesiredHost) -> String {
    String::new()
}

pub fn parse_facts(_stdout: &str) -> Result<WindowsFacts, String> {
    Err("not written yet".into())
}

pub fn diff(_d: &DesiredHost, _f: &WindowsFacts) -> Vec<Change> {
    Vec::new()
}

pub fn blockers(_d: &DesiredHost, _f: &WindowsFacts) -> Vec<String> {
    Vec::new()
}

pub fn apply_script(_d: &DesiredHost, _changes: &[Change]) -> String {
    String::new()
}

pub fn checks(_d: &DesiredHost, _f: &WindowsFacts) -> Vec<Check> {
    Vec::new()
}
