//! `rwin validate`: every problem in cluster.yml, each at its file:line:column.

use std::path::Path;

use crate::ui::Ui;
use crate::ExitStatus;

pub fn run(path: &Path, ui: &Ui) -> ExitStatus {
    match super::load_config(path, ui) {
        Ok(config) => {
            let roles: usize = config.components.len();
            ui.print(&format!("{}: valid ({} nodes, {} components)", path.display(), config.nodes.len(), roles));
            ExitStatus::Success
        }
        Err(status) => status,
    }
}
