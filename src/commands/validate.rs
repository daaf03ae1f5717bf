//! `rwin validate`: every problem in cluster.yml, each at its file:line:column.

use std::path::Path;

use crate::ui::Ui;
use crate::ExitStatus;

pub fn run(path: &Path, ui: &Ui) -> ExitStatus {
    if ui.json() {
        let (ok, report) = match crate::config::load(path) {
            Ok((_, warnings)) => (true, warnings),
            Err(report) => (false, report),
        };
        let doc = serde_json::json!({ "file": path.display().to_string(), "valid": ok, "diagnostics": report.sorted() });
        ui.print(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        return if ok {
            ExitStatus::Success
        } else {
            ExitStatus::Usage
        };
    }
    match super::load_config(path, ui) {
        Ok(config) => {
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            ui.print(&format!(
                "{}: valid ({}, {})",
                path.display(),
                plural(config.nodes.len(), "node"),
                plural(config.components.len(), "component")
            ));
            ExitStatus::Success
        }
        Err(status) => status,
    }
}
