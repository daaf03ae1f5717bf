//! Command-line types (clap derive). Doc comments here are the help text; nothing here acts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Provision container clusters of Linux and Windows hosts: routing, one container subnet per
/// host, routes between every host's subnet, and component containers in dependency order.
#[derive(Debug, Parser)]
#[command(name = "rwin", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options that apply to every command.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// How many hosts are worked on at once.
    #[arg(long, global = true, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub concurrency: u32,

    /// More detail: the scripts sent to hosts and the number of remote round trips.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors and the final result.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Output format for plans and summaries.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Never prompt; take the default answer that is safe (refuse unknown host keys unless
    /// --accept-new-host-keys is given).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,

    /// No colours (also when the NO_COLOR environment variable is set).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused).
    #[arg(long, global = true)]
    pub accept_new_host_keys: bool,

    /// The known_hosts file to verify and record SSH host keys in.
    #[arg(long, global = true, env = "RWIN_KNOWN_HOSTS", value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,

    /// Seconds to wait for a host to accept a connection and finish the SSH handshake, for each
    /// step of the SSH login, and for each channel (command, forward) the host is asked to open.
    #[arg(long, global = true, default_value_t = 10, value_name = "SECONDS")]
    pub connect_timeout: u64,

    /// Seconds any single remote command may take before it is abandoned.
    #[arg(long, global = true, default_value_t = 300, value_name = "SECONDS")]
    pub command_timeout: u64,

    /// Seconds an image pull on a Windows host reached over WinRM may take: it runs as a
    /// command of its own, outside --command-timeout (Windows base images are several GB).
    /// At most a day.
    #[arg(long, global = true, default_value_t = 1800, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub pull_timeout: u64,

    /// Restart a Windows host when a change needs a reboot to take effect, wait for it to
    /// answer again and carry on. Without it a needed reboot is only reported.
    #[arg(long, global = true)]
    pub allow_reboot: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring every host to the state cluster.yml describes: routing, subnets, routes, components.
    Up(UpArgs),
    /// Show, per host, every change `up` would make, without changing anything.
    Plan(ConfigArg),
    /// Check cluster.yml and report every problem with its file:line:column.
    Validate(ConfigArg),
    /// Remove everything rwin made on one host, and the routes to its subnet on all others.
    RemoveHost(RemoveHostArgs),
    /// Check every host and the cluster for what can go wrong, and say how to fix it.
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The cluster description.
    #[arg(default_value = "cluster.yml", value_name = "CONFIG")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// Show the plan and change nothing (same as `rwin plan`).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RemoveHostArgs {
    /// The node to remove (its hostname_override, or its address).
    #[arg(value_name = "NODE")]
    pub node: String,

    #[command(flatten)]
    pub config: ConfigArg,

    /// Clean the other hosts and the state even if NODE cannot be reached.
    #[arg(long)]
    pub force: bool,

    /// Also take NODE's entry out of cluster.yml (the rest of the file is kept as it is).
    #[arg(long)]
    pub edit_config: bool,

    /// List what would be removed, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// Also start a small container on each node and check it reaches one on every other node.
    #[arg(long)]
    pub probe: bool,

    /// Image for --probe (needs `sleep` and `ping`); default: the image of the first pod-network component.
    #[arg(long, value_name = "IMAGE")]
    pub probe_image: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
