//! Settled settings: flags and environment merged once, before any work starts. Nothing deeper
//! reads raw flags or the environment.

use std::path::{Path, PathBuf};
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
    /// `--known-hosts`, else `~/.ssh/known_hosts`; `None` without either (HOME unset): SSH
    /// connections are then refused ([`Settings::known_hosts`]), never pointed at a file in
    /// the current directory.
    pub known_hosts: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// `--pull-timeout`: how long an image pull run as a command of its own may take.
    pub pull_timeout: Duration,
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
        let known_hosts = g
            .known_hosts
            .clone()
            .or_else(|| home_dir().map(|home| home.join(".ssh").join("known_hosts")));
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
            pull_timeout: Duration::from_secs(g.pull_timeout.clamp(1, 86_400)),
            allow_reboot: g.allow_reboot,
        }
    }
}

/// A setting rwin cannot settle without the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("HOME is not set, so there is no ~/.ssh/known_hosts to check SSH host keys against; give the file with --known-hosts FILE (or RWIN_KNOWN_HOSTS)")]
    NoKnownHosts,
}

impl Settings {
    /// The known_hosts file SSH host keys are checked against and recorded in.
    pub fn known_hosts(&self) -> Result<&Path, SettingsError> {
        self.known_hosts
            .as_deref()
            .ok_or(SettingsError::NoKnownHosts)
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
