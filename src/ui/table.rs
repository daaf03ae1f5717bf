//! Tables for summaries and error lists (tabled).

use tabled::settings::Style;
use tabled::{Table, Tabled};

pub fn render<T: Tabled>(rows: &[T]) -> String {
    let mut t = Table::new(rows);
    t.with(Style::rounded());
    t.to_string()
}
