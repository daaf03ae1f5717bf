//! Diagnostics with a location in cluster.yml, rendered like a compiler error: message,
//! `--> file:line:column`, the offending line and a caret under the value.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a config file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// 1-based; 0 when the problem has no single place (then the file is named alone).
    pub line: usize,
    pub column: usize,
    /// How many characters to underline; `None`: the value that starts at the column.
    #[serde(skip)]
    pub width: Option<usize>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            line,
            column,
            width: None,
            help: None,
        }
    }

    pub fn warning(line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(line, column, message)
        }
    }

    pub fn width(mut self, width: usize) -> Self {
        self.width = Some(width);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every diagnostic for one file, with the source text to quote from.
#[derive(Debug, Clone)]
pub struct Report {
    pub file: PathBuf,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(file: &Path, source: String) -> Self {
        Report {
            file: file.to_path_buf(),
            source,
            diagnostics: Vec::new(),
        }
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Sorted by position so the output reads top to bottom like the file.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut v: Vec<&Diagnostic> = self.diagnostics.iter().collect();
        v.sort_by_key(|d| (d.line, d.column));
        v
    }

    /// Render all diagnostics as text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let file = self.file.display();
        for d in self.sorted() {
            let label = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let _ = writeln!(out, "{label}: {}", d.message);
            if d.line == 0 {
                let _ = writeln!(out, "  --> {file}");
            } else {
                let _ = writeln!(out, "  --> {file}:{}:{}", d.line, d.column);
                if let Some(text) = self.source.lines().nth(d.line - 1) {
                    let num = d.line.to_string();
                    let pad = " ".repeat(num.len());
                    let col = d.column.max(1);
                    let token_len = d.width.unwrap_or_else(|| token_length(text, col));
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{num} | {text}");
                    let _ = writeln!(
                        out,
                        "{pad} | {}{}",
                        " ".repeat(col - 1),
                        "^".repeat(token_len.max(1))
                    );
                }
            }
            if let Some(help) = &d.help {
                let _ = writeln!(out, "  = help: {help}");
            }
            out.push('\n');
        }
        out
    }
}

/// Length of the value that starts at `column` (1-based, in characters), for the underline.
fn token_length(line: &str, column: usize) -> usize {
    // Counted in characters throughout: columns are character-based.
    let rest: Vec<char> = line.chars().skip(column - 1).collect();
    let len = rest
        .iter()
        .rposition(|c| !c.is_whitespace())
        .map_or(0, |i| i + 1);
    let rest = &rest[..len];
    if let Some(&q) = rest.first().filter(|c| **c == '"' || **c == '\'') {
        return rest[1..]
            .iter()
            .position(|c| *c == q)
            .map_or(rest.len(), |i| i + 2);
    }
    rest.iter()
        .take_while(|c| !matches!(c, ',' | '}' | ']' | '#'))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_snippet_and_caret() {
        let mut r = Report::new(Path::new("c.yml"), "a: 1\nport: abc\n".into());
        r.push(Diagnostic::error(2, 7, "port must be a number").help("use 22"));
        let text = r.render();
        assert!(text.contains("--> c.yml:2:7"), "{text}");
        assert!(text.contains("2 | port: abc"), "{text}");
        assert!(text.contains("  |       ^^^"), "{text}");
        assert!(text.contains("help: use 22"), "{text}");
    }
}
