//! The PowerShell subset interpreter. Scripts are parsed with tree-sitter-powershell and the
//! concrete syntax tree is evaluated directly; any node, cmdlet, parameter or native subcommand
//! outside README.md's contract is refused with `winsim: unsupported …`, so rwin cannot come to
//! depend on PowerShell that only the simulator accepts.

pub mod args;
pub mod builtins;
pub mod cmdline;
pub mod eval;
pub mod expr;
pub mod json;
pub mod value;

use crate::host::Ctx;
use crate::runner::Output;
pub use eval::Interp;
use tree_sitter::{Node, Parser, Tree};
use value::Value;

/// Why evaluation stopped early.
#[derive(Debug, Clone, PartialEq)]
pub enum Flow {
    /// A script-terminating error (`throw`, or an error escalated by `-ErrorAction Stop` or
    /// `$ErrorActionPreference = 'Stop'`): the text PowerShell prints on stderr. It unwinds the
    /// whole script, which exits 1.
    Error(String),
    /// A statement-terminating error (about_Error_Handling: engine errors such as
    /// `CommandNotFoundException` and `ParameterBindingException`, .NET exceptions): it stops
    /// the statement it happened in and the script goes on at the next statement.
    /// `-ErrorAction` does not change that; `$ErrorActionPreference` does ('Stop' makes it
    /// script-terminating, 'SilentlyContinue' and 'Ignore' hide it). Resolved in
    /// `Interp::statement`, so it never leaves a script.
    Statement(String),
    /// Outside the contract: `winsim: unsupported … at line L`.
    Unsupported(String),
}

/// `winsim: unsupported <what> at line L` for the node (lines counted from 1 in the script).
pub fn unsupported(what: impl std::fmt::Display, node: Node, line_base: usize) -> Flow {
    Flow::Unsupported(format!(
        "winsim: unsupported {what} at line {}",
        node.start_position().row + 1 + line_base
    ))
}

/// Parses PowerShell source, refusing anything tree-sitter could not parse cleanly.
pub fn parse(src: &str, line_base: usize) -> Result<Tree, Flow> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .map_err(|e| Flow::Unsupported(format!("winsim: unsupported grammar: {e}")))?;
    let tree = parser
        .parse(src, None)
        .ok_or_else(|| Flow::Unsupported("winsim: unsupported script: parse failed".into()))?;
    if tree.root_node().has_error() {
        let bad = first_error(tree.root_node()).unwrap_or(tree.root_node());
        return Err(unsupported("syntax (parse error)", bad, line_base));
    }
    Ok(tree)
}

fn first_error(n: Node) -> Option<Node> {
    if n.is_error() || n.is_missing() {
        return Some(n);
    }
    let mut c = n.walk();
    let children: Vec<Node> = n.children(&mut c).collect();
    children.into_iter().find_map(first_error)
}

/// Renders pipeline output the way powershell.exe writes it to a redirected stdout: strings as
/// lines, scalars by their text, objects as `Name : Value` lists (a simplification of
/// PowerShell's formatter; rwin always converts objects to JSON itself).
pub fn render_output(items: &[Value]) -> String {
    let mut out = String::new();
    for item in items {
        match item {
            Value::Object(value::Obj { props, .. }) | Value::Hash(props, _) => {
                let width = props.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                out.push_str("\r\n");
                for (k, v) in props {
                    out.push_str(&format!("{k:width$} : {}\r\n", v.to_text()));
                }
                out.push_str("\r\n");
            }
            Value::Null => {}
            other => {
                out.push_str(&other.to_text());
                out.push_str("\r\n");
            }
        }
    }
    out
}

/// Runs a script (the text the bootstrap reads from stdin, or a test's script) in `ctx`, with
/// `stdin` as what `$input` enumerates. Returns (stdout, stderr, exit code) as text.
pub fn run_script(ctx: &mut Ctx, script: &str, stdin: &str) -> (String, String, i32) {
    let mut interp = Interp::new(ctx, stdin.as_bytes());
    interp.console = eval::Console::both(crate::codepage::UTF8);
    let result = interp.run_source(script, 0);
    finish(interp, result).1
}

/// The text of stdout and stderr and the exit code once a script has run, and the code page
/// the process wrote them in.
fn finish(interp: Interp, result: Result<Vec<Value>, Flow>) -> (u32, (String, String, i32)) {
    let mut stderr = interp.stderr.clone();
    let (stdout, code) = match result {
        Ok(items) => (render_output(&items), interp.exit_code()),
        Err(Flow::Error(msg)) | Err(Flow::Statement(msg)) => {
            stderr.push_str(&msg);
            stderr.push_str("\r\n");
            (render_output(&interp.partial), 1)
        }
        Err(Flow::Unsupported(msg)) => {
            stderr.push_str(&msg);
            stderr.push('\n');
            (render_output(&interp.partial), 1)
        }
    };
    (interp.console.output, (stdout, stderr, code))
}

/// Runs one whole command line as powershell.exe or the SSH server would receive it: stdin
/// bytes are read, and stdout and stderr written, in the process's console encodings
/// (`ctx.codepage` until the script sets `[Console]::InputEncoding`/`OutputEncoding`).
/// winsim writes all output at the end, in the output encoding the script left set; powershell.exe
/// writes as it goes (rwin's bootstrap sets the encoding before anything is written).
pub fn run_command_line(ctx: &mut Ctx, command_line: &str, stdin: &[u8]) -> Output {
    let bootstrap = match cmdline::decode(command_line) {
        Ok(b) => b,
        Err(msg) => {
            return Output {
                stdout: Vec::new(),
                stderr: format!("{msg}\n").into_bytes(),
                code: 1,
            }
        }
    };
    let mut interp = Interp::new(ctx, stdin);
    interp.non_interactive = cmdline::non_interactive(command_line);
    let result = interp.run_source(&bootstrap, 0);
    let (codepage, (stdout, stderr, code)) = finish(interp, result);
    match (
        crate::codepage::encode(codepage, &stdout),
        crate::codepage::encode(codepage, &stderr),
    ) {
        (Ok(stdout), Ok(stderr)) => Output {
            stdout,
            stderr,
            code,
        },
        (Err(e), _) | (_, Err(e)) => Output {
            stdout: Vec::new(),
            stderr: format!("{e}\n").into_bytes(),
            code: 1,
        },
    }
}
