//! winsim: a Windows Server 2022 host simulator for rwin's tests (see README.md).

pub mod cmdlets;
pub mod codepage;
pub mod effects;
pub mod host;
pub mod native;
pub mod net;
pub mod ps;
pub mod runner;
pub mod ssh;
pub mod state;
pub mod winrm;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_console;
