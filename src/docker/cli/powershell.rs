//! Writing PowerShell that Windows PowerShell 5.1 and winsim read the same way: single-quoted
//! strings (`crate::powershell::quote`), native arguments docker.exe receives unchanged, and an
//! exit-code check after every docker call.

use std::fmt;

use crate::powershell::quote;

/// A PowerShell script. No secret is written into it (registry passwords come from the WinRS
/// shell's environment); `redacted` is kept for logs and `--dry-run` (Debug prints it).
#[derive(Clone, PartialEq, Eq)]
pub struct Script {
    pub(super) text: String,
    pub(super) redacted: String,
}

impl Script {
    /// The script to send to the host.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The script with any password replaced by `'<redacted>'`, for logs and `--dry-run`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// A script being written. Statements are indented by block depth; a statement's own text is
/// never re-indented, so a multi-line string value stays exactly as given. Every script starts
/// with `$ErrorActionPreference = 'Stop'`: an error it does not expect ends it with exit code
/// 1, including Windows PowerShell's statement-terminating errors that `-ErrorAction` cannot
/// reach (about_Error_Handling); a step that may fail says so where it runs.
pub(super) struct Ps {
    pub text: String,
    depth: usize,
}

impl Default for Ps {
    fn default() -> Self {
        Ps {
            text: "$ErrorActionPreference = 'Stop'\n".into(),
            depth: 0,
        }
    }
}

impl Ps {
    pub fn line(&mut self, statement: &str) {
        self.text += &"    ".repeat(self.depth);
        self.text += statement;
        self.text.push('\n');
    }

    /// A docker call, then `throw failure` if it exited non-zero.
    pub fn docker(&mut self, call: &str, failure: &str) {
        self.line(call);
        self.line(&format!(
            "if ($LASTEXITCODE -ne 0) {{ throw {} }}",
            quote(failure)
        ));
    }

    /// `head {`, then the following statements one level deeper until `close`.
    pub fn open(&mut self, head: &str) {
        self.line(&format!("{head} {{"));
        self.depth += 1;
    }

    pub fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.line("}");
    }

    /// `} head {`: the block ends and the next (`else`, `finally`) begins on the same line.
    pub fn close_open(&mut self, head: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.line(&format!("}} {head} {{"));
        self.depth += 1;
    }
}

/// Why Windows PowerShell 5.1 would not pass a value to docker.exe unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArgProblem {
    #[error("it is empty, and Windows PowerShell 5.1 drops empty arguments")]
    Empty,
    #[error(
        "it holds a double quote, which Windows PowerShell 5.1 passes to native commands unescaped"
    )]
    DoubleQuote,
    #[error("it holds a NUL character")]
    Nul,
    #[error("it has whitespace and ends in a backslash, which Windows PowerShell 5.1 turns into an escaped quote")]
    TrailingBackslash,
}

/// A value (`what`: "image", "bind", …) that cannot be one argument of docker.exe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("{what} `{value}` cannot be given to docker on Windows: {problem}")]
    Unpassable {
        what: &'static str,
        value: String,
        problem: ArgProblem,
    },
}

/// The script builders in `cli.rs` still return `Result<_, String>`: `?` turns the error into
/// its text there. Remove once they return typed errors.
impl From<ArgError> for String {
    fn from(e: ArgError) -> String {
        e.to_string()
    }
}

/// `value` quoted as one argument of a native command, if Windows PowerShell 5.1 passes it to
/// docker.exe unchanged. 5.1 wraps an argument with whitespace in double quotes and escapes
/// nothing inside (PowerShell/PowerShell#1995, fixed only in 7.3), so values it would change
/// are refused rather than produced.
pub(super) fn arg(what: &'static str, value: &str) -> Result<String, ArgError> {
    let problem = if value.is_empty() {
        ArgProblem::Empty
    } else if value.contains('"') {
        ArgProblem::DoubleQuote
    } else if value.contains('\0') {
        ArgProblem::Nul
    } else if value.chars().any(char::is_whitespace) && value.ends_with('\\') {
        ArgProblem::TrailingBackslash
    } else {
        return Ok(quote(value));
    };
    Err(ArgError::Unpassable {
        what,
        value: value.to_string(),
        problem,
    })
}
