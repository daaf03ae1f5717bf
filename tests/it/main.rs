//! rwin's one integration test binary: the CLI as a user runs it.
//! - `validate`: the bad-config corpus under tests/bad-configs/, each with its expected report.
//! - `cli`: help, completions and exit codes without any host.
//! - `lab`: end to end against real sshd, dockerd and a registry on network-namespace hosts.
//! - `lab_windows`: a mixed lab, 2 Linux hosts and 2 winsim (simulated Windows) hosts.
//! - `offline`: commands against hosts that are gone (remove-host --force on a dead host).
//! - `ssh`: password and ssh-agent logins and host key checks against a real sshd on 127.0.0.1.
//! - `winsim_up`: `rwin up` against one winsim host over WinRM on 127.0.0.1, effects dry.

mod cli;
mod common;
mod lab;
mod lab_windows;
mod offline;
mod powershell;
mod powershell_docs;
mod ssh;
mod validate;
mod winrm_interop;
mod winrm_replay;
mod winsim_up;
