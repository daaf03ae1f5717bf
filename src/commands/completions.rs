//! `rwin completions SHELL`: the completion script on stdout.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::ui::Ui;
use crate::ExitStatus;

pub fn run(shell: clap_complete::Shell, ui: &Ui) -> ExitStatus {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rwin", &mut buf);
    ui.print(&String::from_utf8_lossy(&buf));
    ExitStatus::Success
}
