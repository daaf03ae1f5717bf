//! Running a command: `& <script block>`, the pipeline cmdlets (ForEach-Object, Where-Object,
//! Select-Object, ConvertTo/From-Json, Out-String, Out-Null, Write-Output) and New-Object, the
//! host cmdlets in cmdlets/ and the native commands in native/. ErrorAction decides what a
//! failure does.

use super::args::{Arg, Kind, Spec};
use super::eval::{kids, text, Interp};
use super::json::{from_json, to_json};
use super::value::{Obj, Value};
use super::{unsupported, Flow};
use crate::cmdlets::{self, Fail};
use crate::native;
use tree_sitter::Node;

/// The one type `New-Object` makes: a UTF-8 encoding without a byte order mark (the
/// parameterless constructor's, https://learn.microsoft.com/dotnet/api/system.text.utf8encoding.-ctor),
/// which rwin's bootstrap sets as the console's encodings.
pub const UTF8_ENCODING: &str = "System.Text.UTF8Encoding";

const PIPELINE_CMDLETS: [Spec; 9] = [
    Spec {
        name: "ForEach-Object",
        params: &[("Process", Kind::Value)],
        positional: &["Process"],
    },
    Spec {
        name: "Where-Object",
        params: &[("FilterScript", Kind::Value)],
        positional: &["FilterScript"],
    },
    Spec {
        name: "Select-Object",
        params: &[("First", Kind::Value)],
        positional: &[],
    },
    Spec {
        name: "ConvertTo-Json",
        params: &[("Depth", Kind::Value), ("Compress", Kind::Switch)],
        positional: &[],
    },
    Spec {
        name: "ConvertFrom-Json",
        params: &[],
        positional: &[],
    },
    Spec {
        name: "Out-String",
        params: &[],
        positional: &[],
    },
    Spec {
        name: "Out-Null",
        params: &[],
        positional: &[],
    },
    Spec {
        name: "Write-Output",
        params: &[("InputObject", Kind::Value)],
        positional: &["InputObject"],
    },
    Spec {
        name: "New-Object",
        params: &[("TypeName", Kind::Value)],
        positional: &["TypeName"],
    },
];

impl Interp<'_, '_> {
    /// Runs one `command` node with the previous stage's output (None when it is first).
    pub fn command(
        &mut self,
        n: Node,
        src: &str,
        input: Option<Vec<Value>>,
    ) -> Result<Vec<Value>, Flow> {
        let name_node = n
            .child_by_field_name("command_name")
            .ok_or_else(|| unsupported("command form", n, self.line_base))?;
        let invoke = kids(n)
            .iter()
            .any(|k| k.kind() == "command_invokation_operator");
        let args = self.command_args(n.child_by_field_name("command_elements"), src)?;
        if invoke {
            let target = self.expr(name_node, src)?;
            // `& 'C:\…\devcon.exe' ARGS`: a user-supplied program by its path.
            if let Value::Str(path) = &target {
                if native::is_devcon(path) {
                    return self.program_at(path, args, input, n, src);
                }
            }
            if !args.is_empty() {
                return Err(unsupported("arguments to '&'", n, self.line_base));
            }
            return match target {
                Value::ScriptBlock(body) => self.invoke_block(&body, input.unwrap_or_default()),
                other => Err(unsupported(
                    format!("'&' on '{}'", other.to_text()),
                    n,
                    self.line_base,
                )),
            };
        }
        if name_node.kind() != "command_name" {
            return Err(unsupported(
                format!("command name '{}'", text(name_node, src)),
                name_node,
                self.line_base,
            ));
        }
        let name = text(name_node, src).to_string();
        if let Some(spec) = PIPELINE_CMDLETS
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&name))
        {
            return self.pipeline_cmdlet(spec, args, input.unwrap_or_default(), n, src);
        }
        if native::is_native(&name) {
            return self.native(&name, args, input, n);
        }
        if native::is_devcon(&name) {
            return self.program_at(&name, args, input, n, src);
        }
        let Some(spec) = cmdlets::spec(&name) else {
            return Err(unsupported(
                format!("cmdlet '{name}'"),
                name_node,
                self.line_base,
            ));
        };
        if let Some(module) = cmdlets::module_of(spec.name) {
            if self.ctx.state.lacks_module(module) {
                return Err(Flow::Statement(self.not_recognized(&name, n, src)));
            }
        }
        let bound = self.bind(spec, args, n)?;
        let action = bound.text("ErrorAction");
        if let Some(a) = &action {
            if !["Stop", "SilentlyContinue", "Continue"]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(a))
            {
                return Err(unsupported(format!("-ErrorAction {a}"), n, self.line_base));
            }
        }
        let preference = self
            .get_var("ConfirmPreference")
            .map_or_else(|| "High".to_string(), |v| v.to_text());
        let asks = cmdlets::asks_to_confirm(spec.name, &bound, &preference)
            .map_err(|what| unsupported(what, n, self.line_base))?;
        if asks {
            // The host's PromptForChoice cannot prompt under -NonInteractive and throws; the
            // cmdlet fails without acting (a statement-terminating error: about_Error_Handling).
            // An interactive prompt is outside the contract.
            if !self.non_interactive {
                return Err(unsupported(
                    format!(
                        "confirmation prompt of {} in an interactive session",
                        spec.name
                    ),
                    n,
                    self.line_base,
                ));
            }
            return Err(Flow::Statement(self.error_text(
                spec.name,
                cmdlets::NON_INTERACTIVE_PROMPT,
                n,
                src,
            )));
        }
        match cmdlets::run(self, spec, &bound, input.unwrap_or_default(), n) {
            Ok(items) => Ok(items),
            Err(Fail::Flow(f)) => Err(f),
            Err(Fail::NotFound(msg)) | Err(Fail::Failed(msg)) => {
                self.cmdlet_errors(spec, action, Vec::new(), vec![msg], n, src)
            }
            Err(Fail::Partial(out, errors)) => {
                self.cmdlet_errors(spec, action, out, errors, n, src)
            }
            Err(Fail::Terminating(msg)) => {
                Err(Flow::Statement(self.error_text(spec.name, &msg, n, src)))
            }
        }
    }

    /// `NAME : MESSAGE`, then where it happened, as Windows PowerShell 5.1 prints an error.
    pub fn error_text(&self, name: &str, msg: &str, n: Node, src: &str) -> String {
        let pos = n.start_position();
        format!(
            "{name} : {msg}\r\nAt line:{} char:{}\r\n+ {}",
            pos.row + 1 + self.line_base,
            pos.column + 1,
            text(n, src)
        )
    }

    /// The CommandNotFoundException Windows PowerShell 5.1 reports for a command this host
    /// does not have (a statement-terminating error: about_Error_Handling).
    fn not_recognized(&self, name: &str, n: Node, src: &str) -> String {
        let msg = format!("The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.");
        format!(
            "{}\r\n    + CategoryInfo          : ObjectNotFound: ({name}:String) [], CommandNotFoundException\r\n    + FullyQualifiedErrorId : CommandNotFoundException",
            self.error_text(name, &msg, n, src)
        )
    }

    /// A cmdlet's non-terminating errors under its `-ErrorAction`, or `$ErrorActionPreference`
    /// when it has none (about_Error_Handling, "The -ErrorAction common parameter"):
    /// SilentlyContinue keeps only the output, Stop makes the first error script-terminating
    /// (non-advanced scripts: "How escalation works"), Continue writes each error to stderr and
    /// keeps the output.
    fn cmdlet_errors(
        &mut self,
        spec: &Spec,
        action: Option<String>,
        out: Vec<Value>,
        errors: Vec<String>,
        n: Node,
        src: &str,
    ) -> Result<Vec<Value>, Flow> {
        let action = action
            .or_else(|| self.get_var("ErrorActionPreference").map(|v| v.to_text()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let full = |msg: &str| self.error_text(spec.name, msg, n, src);
        if action == "silentlycontinue" || action == "ignore" {
            Ok(out)
        } else if action == "stop" {
            Err(Flow::Error(full(errors.first().map_or("", String::as_str))))
        } else {
            let text: String = errors.iter().map(|e| full(e) + "\r\n").collect();
            self.stderr.push_str(&text);
            Ok(out)
        }
    }

    fn pipeline_cmdlet(
        &mut self,
        spec: &Spec,
        args: Vec<Arg>,
        input: Vec<Value>,
        n: Node,
        src: &str,
    ) -> Result<Vec<Value>, Flow> {
        let b = self.bind(spec, args, n)?;
        let block = |name: &str| match b.get(name) {
            Some(Value::ScriptBlock(s)) => Ok(s.clone()),
            _ => Err(unsupported(
                format!("{} without a script block", spec.name),
                n,
                self.line_base,
            )),
        };
        match spec.name {
            "ForEach-Object" => {
                let body = block("Process")?;
                let mut out = Vec::new();
                for item in input {
                    out.extend(self.invoke_with_item(&body, item)?);
                }
                Ok(out)
            }
            "Where-Object" => {
                let body = block("FilterScript")?;
                let mut out = Vec::new();
                for item in input {
                    if Value::from_items(self.invoke_with_item(&body, item.clone())?).truthy() {
                        out.push(item);
                    }
                }
                Ok(out)
            }
            "Select-Object" => {
                let first = b.int("First")?.ok_or_else(|| {
                    unsupported("Select-Object without -First", n, self.line_base)
                })?;
                Ok(input.into_iter().take(first.max(0) as usize).collect())
            }
            "ConvertTo-Json" => {
                if input.is_empty() {
                    return Ok(Vec::new());
                }
                let depth = b.int("Depth")?.unwrap_or(2).max(0) as usize;
                let v = Value::from_items(input);
                Ok(vec![Value::Str(to_json(&v, depth, b.switch("Compress")))])
            }
            "ConvertFrom-Json" => {
                let textin: Vec<String> = input.iter().map(Value::to_text).collect();
                if textin.is_empty() {
                    return Ok(Vec::new());
                }
                // Bad JSON is a non-terminating error: ConvertFromJsonCommand.EndProcessing
                // calls WriteError (PowerShell/PowerShell, ConvertFromJsonCommand.cs).
                let v = match from_json(&textin.join("\n")) {
                    Ok(v) => v,
                    Err(e) => {
                        return self.cmdlet_errors(
                            spec,
                            b.text("ErrorAction"),
                            Vec::new(),
                            vec![e],
                            n,
                            src,
                        )
                    }
                };
                // Windows PowerShell 5.1 writes a JSON array as one object, not its elements.
                Ok(vec![v])
            }
            "Out-String" => {
                let mut s = String::new();
                for item in &input {
                    s.push_str(&super::render_output(std::slice::from_ref(item)));
                }
                Ok(vec![Value::Str(s)])
            }
            "Out-Null" => Ok(Vec::new()),
            "New-Object" => match b.text("TypeName") {
                Some(t) if t.eq_ignore_ascii_case(UTF8_ENCODING) => Ok(vec![Value::Object(
                    Obj::new(UTF8_ENCODING)
                        .with("CodePage", 65001i64)
                        .with("WebName", "utf-8"),
                )]),
                other => Err(unsupported(
                    format!(
                        "New-Object -TypeName {} (the subset makes {UTF8_ENCODING} only)",
                        other.unwrap_or_default()
                    ),
                    n,
                    self.line_base,
                )),
            },
            "Write-Output" => Ok(b
                .get("InputObject")
                .cloned()
                .map(Value::into_items)
                .unwrap_or_default()),
            _ => Err(unsupported(
                format!("cmdlet {}", spec.name),
                n,
                self.line_base,
            )),
        }
    }

    /// A program that is no part of Windows, started by its path: it runs only when the file
    /// is there (the user put it on the host); otherwise PowerShell does not find the command
    /// (CommandNotFoundException, statement-terminating).
    fn program_at(
        &mut self,
        path: &str,
        args: Vec<Arg>,
        input: Option<Vec<Value>>,
        n: Node,
        src: &str,
    ) -> Result<Vec<Value>, Flow> {
        if !self.ctx.state.file_exists(path) {
            return Err(Flow::Statement(self.not_recognized(path, n, src)));
        }
        self.native(path, args, input, n)
    }

    fn native(
        &mut self,
        name: &str,
        args: Vec<Arg>,
        input: Option<Vec<Value>>,
        n: Node,
    ) -> Result<Vec<Value>, Flow> {
        let mut words = Vec::new();
        for a in args {
            match a {
                Arg::Param(p, None) => words.push(p),
                Arg::Param(p, Some(v)) => words.push(format!("{p}:{}", v.to_text())),
                Arg::Value(v) => words.extend(v.into_items().iter().map(Value::to_text)),
            }
        }
        let stdin = input.map(|items| {
            items
                .iter()
                .map(|v| format!("{}\r\n", v.to_text()))
                .collect::<String>()
        });
        let at = n.start_position().row + 1 + self.line_base;
        let out = native::run(self.ctx, name, &words, stdin.as_deref()).map_err(|what| {
            Flow::Unsupported(format!("winsim: unsupported {what} at line {at}"))
        })?;
        self.set_var("LASTEXITCODE", Value::Int(i64::from(out.code)));
        self.stderr.push_str(&out.stderr);
        Ok(out
            .stdout
            .lines()
            .map(|l| Value::Str(l.trim_end_matches('\r').to_string()))
            .collect())
    }
}
