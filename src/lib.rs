//! rwin provisions container clusters of Linux and Windows hosts from one `cluster.yml`:
//! config → plan → phases → transports. `commands::run` is the single entry point used by the
//! binary; this file only declares the layers.

pub mod ask;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docker;
mod exit;
pub mod fsutil;
pub mod os;
pub mod outcome;
pub mod phases;
pub mod plan;
pub mod powershell;
pub mod retry;
pub mod secret;
pub mod settings;
pub mod state;
pub mod transport;
pub mod ui;

pub use exit::ExitStatus;
