//! rwin's one integration test binary: the CLI as a user runs it.
//! - `validate`: the bad-config corpus under tests/bad-configs/, each with its expected report.
//! - `cli`: help, completions and exit codes without any host.
//! - `lab`: end to end against real sshd, dockerd and a registry on network-namespace hosts.

mod cli;
mod common;
mod lab;
mod validate;
mod winrm_replay;
