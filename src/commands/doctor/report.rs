//! Printing doctor's outcome: the table of checks with the probe matrix under it, or one JSON
//! document.

use anyhow::Context as _;
use serde::Serialize;
use tabled::Tabled;

use super::probe::{Matrix, Probe};
use crate::os::{Check, Status};
use crate::ui::Ui;

#[derive(Serialize, Tabled)]
pub(super) struct Row {
    node: String,
    check: String,
    #[tabled(rename = "")]
    mark: &'static str,
    detail: String,
    fix: String,
}

const PASS: &str = "✔";
const WARN: &str = "!";
const FAIL: &str = "✘";

/// The report's rows, in the order the checks ran.
pub(super) fn table_rows(rows: Vec<(String, Check)>) -> Vec<Row> {
    rows.into_iter()
        .map(|(node, c)| Row {
            node,
            check: c.name,
            mark: match c.status {
                Status::Pass => PASS,
                Status::Warn => WARN,
                Status::Fail => FAIL,
            },
            detail: c.detail,
            fix: c.fix,
        })
        .collect()
}

/// How many rows failed, and how many warned.
fn counts(table: &[Row]) -> (usize, usize) {
    let n = |mark: &str| table.iter().filter(|r| r.mark == mark).count();
    (n(FAIL), n(WARN))
}

/// Print every check (and the probe's matrix, if it ran); the number of failed checks.
pub(super) fn print(
    ui: &Ui,
    rows: Vec<(String, Check)>,
    probe: Option<&Probe>,
) -> anyhow::Result<usize> {
    let table = table_rows(rows);
    let (failed, warned) = counts(&table);
    if ui.json() {
        let probe_json = probe.map(|p| &p.matrix);
        ui.print(&serde_json::to_string_pretty(&serde_json::json!({ "ok": failed == 0, "failed": failed, "warnings": warned, "checks": table, "probe": probe_json })).context("rendering doctor's report as JSON")?);
    } else {
        ui.print(&render_text(&table, probe));
    }
    Ok(failed)
}

/// The text report: the table, the probe's matrix, and the verdict.
pub(super) fn render_text(table: &[Row], probe: Option<&Probe>) -> String {
    let (failed, warned) = counts(table);
    let mut out = crate::ui::table::render(table);
    out.push('\n');
    if let Some(p) = probe {
        out.push_str(&render_matrix(&p.matrix));
    }
    out.push_str(&if failed == 0 {
        format!("all checks passed ({warned} warning(s))")
    } else {
        format!("{failed} check(s) failed, {warned} warning(s): `rwin up` repairs what the fix column says it does")
    });
    out.push('\n');
    out
}

/// The probe's matrix as text: row reaches column.
pub(super) fn render_matrix(matrix: &Matrix) -> String {
    let names: Vec<&String> = matrix.keys().collect();
    let mut out = format!("pod-to-pod probe (row reaches column):\n{:>12}", "");
    for n in &names {
        out.push_str(&format!(" {n:>8}"));
    }
    out.push('\n');
    for from in &names {
        out.push_str(&format!("{from:>12}"));
        for to in &names {
            let cell = if from == to {
                "-"
            } else if matrix[*from].get(*to).copied().unwrap_or(false) {
                "✔"
            } else {
                "✘"
            };
            out.push_str(&format!(" {cell:>8}"));
        }
        out.push('\n');
    }
    out
}
