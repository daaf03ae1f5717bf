//! Tables for summaries and error lists (tabled), wrapped to stay readable in a terminal.

use tabled::settings::{object::Columns, Modify, Style, Width};
use tabled::{Table, Tabled};

pub fn render<T: Tabled>(rows: &[T]) -> String {
    let mut t = Table::new(rows);
    t.with(Style::rounded());
    t.with(Modify::new(Columns::new(..)).with(Width::wrap(90).keep_words(true)));
    t.to_string()
}

/// `k=v, k=v`, or `-` for none.
pub fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "-".into();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
