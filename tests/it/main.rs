//! rwin's one integration test binary: the CLI as a user runs it.
//! - `validate`: the bad-config corpus under tests/bad-configs/, each with its expected report.
//! - `cli`: help, completions and exit codes without any host.
//! - `lab`: end to end against real sshd, dockerd and a registry on network-namespace hosts.
//! - `lab_windows`: a mixed lab, 2 Linux hosts and 2 winsim (simulated Windows) hosts.

mod cli;
mod common;
mod lab;
mod lab_windows;
mod powershell;
mod powershell_docs;
mod validate;
mod winrm_interop;
mod winrm_replay;
