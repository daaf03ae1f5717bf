//! Settled settings: flags and environment merged once, before any work starts. Nothing deeper
//! reads raw flags or the environment.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Cli, OutputFormat};

/// Everything a command needs to know about how it was invoked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    pub verbose: u8,
    pub quiet: bool,
    pub json: bool,
    pub assume_yes: bool,
    pub color: bool,
    pub interactive: bool,
    pub accept_new_host_keys: bool,
    pub known_hosts: PathBuf,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// `--allow-reboot`: Windows hosts may be restarted when a change needs it.
    pub allow_reboot: bool,
}

impl Settings {
    pub fn from_cli(cli: &Cli) -> Settings {
        use std::io::IsTerminal;
        let g = &cli.global;
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let interactive =
            !g.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        let known_hosts = g.known_hosts.clone().unwrap_or_else(|| {
            home_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".ssh")
                .join("known_hosts")
        });
        Settings {
            concurrency: g.concurrency.max(1) as usize,
            verbose: g.verbose,
            quiet: g.quiet,
            json: g.output == OutputFormat::Json,
            assume_yes: g.yes,
            color: !g.no_color && !no_color_env && std::io::stderr().is_terminal(),
            interactive,
            accept_new_host_keys: g.accept_new_host_keys,
            known_hosts,
            connect_timeout: Duration::from_secs(g.connect_timeout.max(1)),
            command_timeout: Duration::from_secs(g.command_timeout.max(1)),
            allow_reboot: g.allow_reboot,
        }
    }
}

/// The user's home directory, from `HOME`.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Expand a leading `~/` the way a shell would.
pub fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}
