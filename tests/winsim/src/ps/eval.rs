//! Statements and pipelines: the evaluator's walk over tree-sitter-powershell's syntax tree.
//! Expressions live in expr.rs, argument binding in args.rs, the pipeline cmdlets in builtins.rs.

use super::value::Value;
use super::{parse, unsupported, Flow};
use crate::host::Ctx;
use std::collections::HashMap;
use tree_sitter::Node;

/// The encodings .NET's Console reads stdin and writes stdout and stderr in, as code pages
/// (codepage.rs). Both start as the console's code page: Console.InputEncoding and
/// Console.OutputEncoding default to it ("The default code page that the console uses is
/// determined by the system locale", https://learn.microsoft.com/dotnet/api/system.console.outputencoding;
/// https://learn.microsoft.com/dotnet/api/system.console.inputencoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Console {
    pub input: u32,
    pub output: u32,
}

impl Console {
    pub fn both(codepage: u32) -> Console {
        Console {
            input: codepage,
            output: codepage,
        }
    }
}

/// One running script: its variable scopes, what it wrote to stderr, and the host it acts on.
pub struct Interp<'c, 'h> {
    pub ctx: &'c mut Ctx<'h>,
    /// The process's console encodings; the script may set them (`[Console]::InputEncoding`).
    pub console: Console,
    /// The process's stdin, until `$input` first reads it: it is decoded then, in the input
    /// encoding of that moment. That a bootstrap setting InputEncoding before it reads
    /// `$input` is in time is inferred from Ansible's, which does so on real hosts
    /// (BEHAVIOURS.md).
    stdin: Option<Vec<u8>>,
    scopes: Vec<HashMap<String, Value>>,
    pub stderr: String,
    /// Output already written before a terminating error, still shown on stdout.
    pub partial: Vec<Value>,
    /// Lines before the current source text (a script block's body keeps its script's numbers).
    pub line_base: usize,
    /// powershell.exe was started with `-NonInteractive`: the host cannot prompt, so a
    /// confirmation prompt fails (about_PowerShell_exe; builtins.rs).
    pub non_interactive: bool,
}

/// Named children of a node, skipping comments (which tree-sitter puts anywhere).
pub fn kids(n: Node) -> Vec<Node> {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|k| k.kind() != "comment")
        .collect()
}

/// The node's text in `src`.
pub fn text<'s>(n: Node, src: &'s str) -> &'s str {
    n.utf8_text(src.as_bytes()).unwrap_or("")
}

impl<'c, 'h> Interp<'c, 'h> {
    /// A fresh interpreter; `stdin` is what `$input` enumerates (line by line, once decoded).
    pub fn new(ctx: &'c mut Ctx<'h>, stdin: &[u8]) -> Self {
        let console = Console::both(ctx.codepage);
        let mut global = HashMap::new();
        global.insert("erroractionpreference".into(), "Continue".into());
        global.insert("progresspreference".into(), "Continue".into());
        global.insert("lastexitcode".into(), Value::Null);
        Interp {
            ctx,
            console,
            stdin: Some(stdin.to_vec()),
            scopes: vec![global],
            stderr: String::new(),
            partial: Vec::new(),
            line_base: 0,
            non_interactive: false,
        }
    }

    /// powershell.exe's exit code after a script that ran to its end, whatever non-terminating
    /// or statement-terminating errors it wrote on the way: 0. With `-Command`/`-EncodedCommand`
    /// the console host exits 1 only when `$global:?` is false after the command
    /// (`ConsoleHost.DoRunspaceLoop` in PowerShell's Microsoft.PowerShell.ConsoleHost), and the
    /// command is the bootstrap's `& ([ScriptBlock]::Create($s))`: `$?` after calling a script
    /// block or function stays true when errors were only written inside it
    /// (about_Automatic_Variables, `$?`: Write-Error "won't set `$?` to False for a function
    /// calling it"). `$LASTEXITCODE` is not it either. So only a script-terminating error
    /// (`finish`) makes the exit code 1.
    pub fn exit_code(&self) -> i32 {
        0
    }

    pub fn get_var(&self, name: &str) -> Option<Value> {
        let key = name.to_ascii_lowercase();
        match key.as_str() {
            "true" => return Some(Value::Bool(true)),
            "false" => return Some(Value::Bool(false)),
            "null" => return Some(Value::Null),
            _ => {}
        }
        self.scopes.iter().rev().find_map(|s| s.get(&key).cloned())
    }

    /// Reads the process's stdin into the global `$input` the first time a script asks for
    /// it, in the input encoding set by then.
    pub fn read_stdin(&mut self) -> Result<(), Flow> {
        let Some(bytes) = self.stdin.take() else {
            return Ok(());
        };
        let text =
            crate::codepage::decode(self.console.input, &bytes).map_err(Flow::Unsupported)?;
        let lines: Vec<Value> = text
            .lines()
            .map(|l| Value::Str(l.trim_end_matches('\r').to_string()))
            .collect();
        self.scopes[0].insert("input".to_string(), Value::Array(lines));
        Ok(())
    }

    pub fn set_var(&mut self, name: &str, v: Value) {
        let key = name.to_ascii_lowercase();
        // $LASTEXITCODE is a global variable.
        let scope = if key == "lastexitcode" {
            0
        } else {
            self.scopes.len() - 1
        };
        self.scopes[scope].insert(key, v);
    }

    /// Parses and runs `src` in the current scope, returning its pipeline output.
    pub fn run_source(&mut self, src: &str, line_base: usize) -> Result<Vec<Value>, Flow> {
        let tree = parse(src, line_base)?;
        let saved = std::mem::replace(&mut self.line_base, line_base);
        let mut out = Vec::new();
        let root = tree.root_node();
        let r = kids(root)
            .into_iter()
            .try_for_each(|n| self.statement_list_or_stmt(n, src, &mut out));
        self.line_base = saved;
        if r.is_err() {
            self.partial.append(&mut out);
        }
        r.map(|()| out)
    }

    /// Runs a script block (`& $sb`) in a new child scope with `input` as `$input`.
    pub fn invoke_block(&mut self, block: &str, input: Vec<Value>) -> Result<Vec<Value>, Flow> {
        let mut scope = HashMap::new();
        scope.insert("input".to_string(), Value::Array(input));
        self.scopes.push(scope);
        let r = self.run_source(block, self.line_base);
        self.scopes.pop();
        r
    }

    /// Runs a script block in the current scope with `$_` set (ForEach-Object, Where-Object).
    pub fn invoke_with_item(&mut self, block: &str, item: Value) -> Result<Vec<Value>, Flow> {
        let saved = self.get_var("_");
        self.set_var("_", item);
        let r = self.run_source(block, self.line_base);
        match saved {
            Some(v) => self.set_var("_", v),
            None => {
                if let Some(s) = self.scopes.last_mut() {
                    s.remove("_");
                }
            }
        }
        r
    }

    fn statement_list_or_stmt(
        &mut self,
        n: Node,
        src: &str,
        out: &mut Vec<Value>,
    ) -> Result<(), Flow> {
        if n.kind() == "statement_list" {
            self.statements(n, src, out)
        } else {
            self.statement(n, src, out)
        }
    }

    pub fn statements(&mut self, list: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        for n in kids(list) {
            self.statement(n, src, out)?;
        }
        Ok(())
    }

    /// Runs a `{ … }` statement block (the body of if/foreach).
    fn block(&mut self, n: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        for k in kids(n) {
            self.statement_list_or_stmt(k, src, out)?;
        }
        Ok(())
    }

    /// One statement. A statement-terminating error inside it ends it here, and what happens
    /// next is `$ErrorActionPreference`'s to say (about_Error_Handling, "Statement-terminating
    /// errors" and "The $ErrorActionPreference asymmetry"): 'Stop' makes it script-terminating
    /// (PowerShell/PowerShell#4292: the preference variable, unlike `-ErrorAction`, escalates
    /// statement-terminating errors too), 'SilentlyContinue' and 'Ignore' drop it, anything
    /// else writes it to the error stream and the script goes on at the next statement.
    fn statement(&mut self, n: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        match self.statement_body(n, src, out) {
            Err(Flow::Statement(msg)) => {
                let pref = self
                    .get_var("ErrorActionPreference")
                    .map(|v| v.to_text().to_ascii_lowercase())
                    .unwrap_or_default();
                match pref.as_str() {
                    "stop" => Err(Flow::Error(msg)),
                    "silentlycontinue" | "ignore" => Ok(()),
                    _ => {
                        self.stderr.push_str(&msg);
                        self.stderr.push_str("\r\n");
                        Ok(())
                    }
                }
            }
            r => r,
        }
    }

    fn statement_body(&mut self, n: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        match n.kind() {
            "empty_statement" => Ok(()),
            "pipeline" => {
                let items = self.pipeline(n, src)?;
                out.extend(items);
                Ok(())
            }
            "if_statement" => self.if_statement(n, src, out),
            "foreach_statement" => self.foreach_statement(n, src, out),
            "while_statement" => self.while_statement(n, src, out),
            "try_statement" => self.try_statement(n, src, out),
            "flow_control_statement" => self.flow_control(n, src),
            other => Err(unsupported(
                format!("statement '{other}'"),
                n,
                self.line_base,
            )),
        }
    }

    fn if_statement(&mut self, n: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        let cond = n.child_by_field_name("condition");
        let body = kids(n).into_iter().find(|k| k.kind() == "statement_block");
        let (Some(cond), Some(body)) = (cond, body) else {
            return Err(unsupported("if statement form", n, self.line_base));
        };
        if self.condition(cond, src)? {
            return self.block(body, src, out);
        }
        if let Some(clauses) = n.child_by_field_name("elseif_clauses") {
            for clause in kids(clauses) {
                let c = clause.child_by_field_name("condition");
                let b = kids(clause)
                    .into_iter()
                    .find(|k| k.kind() == "statement_block");
                let (Some(c), Some(b)) = (c, b) else {
                    return Err(unsupported("elseif form", clause, self.line_base));
                };
                if self.condition(c, src)? {
                    return self.block(b, src, out);
                }
            }
        }
        if let Some(e) = n.child_by_field_name("else_clause") {
            if let Some(b) = kids(e).into_iter().find(|k| k.kind() == "statement_block") {
                return self.block(b, src, out);
            }
        }
        Ok(())
    }

    fn condition(&mut self, pipeline: Node, src: &str) -> Result<bool, Flow> {
        Ok(self.pipeline_value(pipeline, src)?.truthy())
    }

    fn foreach_statement(&mut self, n: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        let k = kids(n);
        let var = k.iter().find(|k| k.kind() == "variable");
        let coll = k.iter().find(|k| k.kind() == "pipeline");
        let body = k.iter().find(|k| k.kind() == "statement_block");
        let (Some(var), Some(coll), Some(body)) = (var, coll, body) else {
            return Err(unsupported("foreach form", n, self.line_base));
        };
        let name = self.var_name(*var, src)?;
        let items = self.pipeline_value(*coll, src)?.into_items();
        for item in items {
            self.set_var(&name, item);
            self.block(*body, src, out)?;
        }
        Ok(())
    }

    /// `while (condition) { body }` (about_While): the condition is tested before each run of
    /// the body. winsim stops a loop that runs past a million times (a script bug, not Windows).
    fn while_statement(&mut self, n: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        let cond = n
            .child_by_field_name("condition")
            .and_then(|c| kids(c).into_iter().find(|k| k.kind() == "pipeline"));
        let body = kids(n).into_iter().find(|k| k.kind() == "statement_block");
        let (Some(cond), Some(body)) = (cond, body) else {
            return Err(unsupported("while form", n, self.line_base));
        };
        let mut runs = 0u32;
        while self.condition(cond, src)? {
            runs += 1;
            if runs > 1_000_000 {
                return Err(unsupported(
                    "while loop past a million runs",
                    n,
                    self.line_base,
                ));
            }
            self.block(body, src, out)?;
        }
        Ok(())
    }

    /// `try { … } finally { … }` (about_Try_Catch_Finally): the finally block runs after the
    /// try block whether that ended normally or with a terminating error, which then goes on
    /// up (there being no catch block to take it); an error in the finally block replaces it.
    /// Catch blocks are outside the subset. (Statement-terminating errors are resolved by
    /// `$ErrorActionPreference` before they reach here, as elsewhere in winsim: with 'Stop',
    /// rwin's setting, they are terminating.)
    fn try_statement(&mut self, n: Node, src: &str, out: &mut Vec<Value>) -> Result<(), Flow> {
        let k = kids(n);
        let body = k.iter().find(|c| c.kind() == "statement_block");
        let finally = k
            .iter()
            .find(|c| c.kind() == "finally_clause")
            .and_then(|f| kids(*f).into_iter().find(|c| c.kind() == "statement_block"));
        let (Some(body), Some(finally)) = (body, finally) else {
            return Err(unsupported(
                "try form (only try/finally)",
                n,
                self.line_base,
            ));
        };
        if k.iter().any(|c| c.kind() == "catch_clauses") {
            return Err(unsupported("catch block", n, self.line_base));
        }
        let tried = self.block(*body, src, out);
        if let Err(Flow::Unsupported(_)) = tried {
            return tried;
        }
        self.block(finally, src, out)?;
        tried
    }

    fn flow_control(&mut self, n: Node, src: &str) -> Result<(), Flow> {
        let is_throw = n.child(0).is_some_and(|c| c.kind() == "throw");
        if !is_throw {
            return Err(unsupported(
                format!("flow control '{}'", text(n, src)),
                n,
                self.line_base,
            ));
        }
        let msg = match kids(n).into_iter().find(|k| k.kind() == "pipeline") {
            Some(p) => self.pipeline_value(p, src)?.to_text(),
            None => "ScriptHalted".to_string(),
        };
        let pos = n.start_position();
        Err(Flow::Error(format!(
            "{msg}\r\nAt line:{} char:{}\r\n+ {}\r\n    + CategoryInfo          : OperationStopped: ({msg}:String) [], RuntimeException\r\n    + FullyQualifiedErrorId : {msg}",
            pos.row + 1 + self.line_base,
            pos.column + 1,
            text(n, src)
        )))
    }

    /// `$name` → `name`; scope- or drive-qualified variables (`$env:X`) are outside the subset.
    pub fn var_name(&self, n: Node, src: &str) -> Result<String, Flow> {
        let t = text(n, src);
        let name = t.strip_prefix('$').unwrap_or(t);
        if name.contains(':') || name.starts_with('{') || name.is_empty() {
            return Err(unsupported(format!("variable '{t}'"), n, self.line_base));
        }
        Ok(name.to_string())
    }

    /// A pipeline: an assignment, or stages joined by `|`. Returns what it writes.
    pub fn pipeline(&mut self, n: Node, src: &str) -> Result<Vec<Value>, Flow> {
        let k = kids(n);
        if let [one] = k.as_slice() {
            match one.kind() {
                "assignment_expression" => return self.assignment(*one, src).map(|_| Vec::new()),
                "pipeline_chain" => return self.chain(*one, src),
                _ => {}
            }
        }
        self.stages(&k, src)
    }

    /// A pipeline used as a value: a lone expression keeps its value (`$a = @(1)` stays an
    /// array); command output is collected (nothing → `$null`, one item → that item).
    pub fn pipeline_value(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let mut k = kids(n);
        if let [one] = k.as_slice() {
            if one.kind() == "pipeline_chain" {
                k = kids(*one);
            }
        }
        if let [one] = k.as_slice() {
            match one.kind() {
                "assignment_expression" => return self.assignment(*one, src),
                "command" => {}
                _ => return self.expr(*one, src),
            }
        }
        Ok(Value::from_items(self.pipeline(n, src)?))
    }

    fn chain(&mut self, n: Node, src: &str) -> Result<Vec<Value>, Flow> {
        let k = kids(n);
        self.stages(&k, src)
    }

    fn stages(&mut self, stages: &[Node], src: &str) -> Result<Vec<Value>, Flow> {
        let mut items: Option<Vec<Value>> = None;
        for stage in stages {
            items = Some(if stage.kind() == "command" {
                self.command(*stage, src, items)?
            } else if items.is_none() {
                self.expr(*stage, src)?.into_items()
            } else {
                return Err(unsupported("expression after '|'", *stage, self.line_base));
            });
        }
        Ok(items.unwrap_or_default())
    }

    /// `target = value`; returns the value, so `$a = $b = 0` gives both the same
    /// (about_Assignment_Operators, "Assigning multiple variables").
    fn assignment(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        let op = k.iter().find(|c| c.kind() == "assignement_operator");
        if op.is_some_and(|o| text(*o, src) != "=") {
            return Err(unsupported(
                format!(
                    "assignment operator '{}'",
                    op.map(|o| text(*o, src)).unwrap_or("")
                ),
                n,
                self.line_base,
            ));
        }
        let left = k.iter().find(|c| c.kind() == "left_assignment_expression");
        let value = n.child_by_field_name("value");
        let (Some(left), Some(value)) = (left, value) else {
            return Err(unsupported("assignment form", n, self.line_base));
        };
        let target = innermost(*left);
        match target.kind() {
            "variable" => {
                let name = self.var_name(target, src)?;
                let v = self.pipeline_value(value, src)?;
                self.set_var(&name, v.clone());
                Ok(v)
            }
            "member_access" if target.child(1).is_some_and(|o| text(o, src) == "::") => {
                let v = self.pipeline_value(value, src)?;
                self.set_static(target, src, &v)?;
                Ok(v)
            }
            _ => Err(unsupported(
                format!("assignment to '{}'", text(*left, src)),
                *left,
                self.line_base,
            )),
        }
    }

    /// `[Console]::InputEncoding = …` and `[Console]::OutputEncoding = …`, the only static
    /// properties the subset sets, and only to a `New-Object -TypeName
    /// System.Text.UTF8Encoding`: from then on stdin is read, or output written, as UTF-8
    /// (Console.InputEncoding, Console.OutputEncoding; Ansible's bootstrap_wrapper.ps1 sets
    /// both so before it reads `$input`).
    fn set_static(&mut self, target: Node, src: &str, v: &Value) -> Result<(), Flow> {
        let k = kids(target);
        let ty = k.first().map(|t| text(*t, src).to_ascii_lowercase());
        let member = k.last().map(|m| text(*m, src).to_ascii_lowercase());
        let console = matches!(ty.as_deref(), Some("[console]" | "[system.console]"));
        let utf8 = matches!(v, Value::Object(o) if o.type_name == super::builtins::UTF8_ENCODING);
        match (console, member.as_deref()) {
            (true, Some("inputencoding")) if utf8 => {
                self.console.input = crate::codepage::UTF8;
                Ok(())
            }
            (true, Some("outputencoding")) if utf8 => {
                self.console.output = crate::codepage::UTF8;
                Ok(())
            }
            (true, Some("inputencoding" | "outputencoding")) => Err(unsupported(
                format!(
                    "value '{}' for '{}' (the subset sets New-Object -TypeName System.Text.UTF8Encoding)",
                    v.to_text(),
                    text(target, src)
                ),
                target,
                self.line_base,
            )),
            _ => Err(unsupported(
                format!("assignment to '{}'", text(target, src)),
                target,
                self.line_base,
            )),
        }
    }
}

/// Follows single-child wrapper nodes down to the node that means something.
pub fn innermost(mut n: Node) -> Node {
    loop {
        let k = kids(n);
        match k.as_slice() {
            [one] if is_wrapper(n.kind()) => n = *one,
            _ => return n,
        }
    }
}

/// Grammar levels that only pass one operand through when they have a single child.
pub fn is_wrapper(kind: &str) -> bool {
    matches!(
        kind,
        "left_assignment_expression"
            | "logical_expression"
            | "bitwise_expression"
            | "comparison_expression"
            | "additive_expression"
            | "multiplicative_expression"
            | "format_expression"
            | "range_expression"
            | "array_literal_expression"
            | "unary_expression"
            | "pipeline_chain"
            | "logical_argument_expression"
            | "bitwise_argument_expression"
            | "comparison_argument_expression"
            | "additive_argument_expression"
            | "multiplicative_argument_expression"
            | "format_argument_expression"
            | "range_argument_expression"
            | "argument_expression"
            | "argument_expression_list"
            | "string_literal"
            | "integer_literal"
            | "key_expression"
            | "command_name_expr"
            | "member_name"
    )
}
