//! Command arguments: the raw words of a command (`-Name a,b -Confirm:$false 'x'`) and their
//! binding to a cmdlet's declared parameters. An undeclared parameter is refused by name, so a
//! typo in rwin's PowerShell fails here as it would on Windows.

use super::eval::{kids, text, Interp};
use super::value::Value;
use super::{unsupported, Flow};
use tree_sitter::Node;

/// One word of a command line after evaluation.
#[derive(Debug, Clone)]
pub enum Arg {
    /// `-Name` (with `-Name:value`'s value when given that way).
    Param(String, Option<Value>),
    Value(Value),
}

/// How a cmdlet parameter takes its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Switch,
    Value,
}

/// A cmdlet's parameters: named ones and, in order, the ones also accepted by position.
pub struct Spec {
    pub name: &'static str,
    pub params: &'static [(&'static str, Kind)],
    pub positional: &'static [&'static str],
}

/// Bound parameters, keyed by the declared (canonical) name.
#[derive(Debug, Default)]
pub struct Bound {
    pub values: Vec<(&'static str, Value)>,
}

impl Bound {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(Value::to_text)
    }
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| v.clone().into_items().iter().map(Value::to_text).collect())
            .unwrap_or_default()
    }
    pub fn switch(&self, name: &str) -> bool {
        self.get(name).is_some_and(Value::truthy)
    }
    /// A parameter's value as an integer. A value that does not convert is a parameter
    /// binding error (ParameterBindingException: statement-terminating, about_Error_Handling).
    pub fn int(&self, name: &str) -> Result<Option<i64>, Flow> {
        self.get(name)
            .map(|v| {
                v.to_int()
                    .map_err(|e| Flow::Statement(format!("Cannot bind parameter '{name}'. {e}")))
            })
            .transpose()
    }
}

/// Parameters every cmdlet takes (PowerShell's common parameters that rwin uses).
const COMMON: [(&str, Kind); 2] = [("ErrorAction", Kind::Value), ("Confirm", Kind::Switch)];

impl Interp<'_, '_> {
    /// Evaluates a command's elements into words; `a, b` becomes one array word.
    pub fn command_args(&mut self, elements: Option<Node>, src: &str) -> Result<Vec<Arg>, Flow> {
        let Some(elements) = elements else {
            return Ok(Vec::new());
        };
        let mut args: Vec<Arg> = Vec::new();
        let mut join_next = false;
        let mut colon_next = false;
        let mut c = elements.walk();
        let children: Vec<Node> = elements.children(&mut c).collect();
        for n in children {
            match n.kind() {
                "comment" => {}
                "," => join_next = true,
                "command_argument_sep" => {
                    if text(n, src).trim() == ":" {
                        colon_next = true;
                    }
                }
                "command_parameter" => {
                    let t = text(n, src);
                    let (name, colon) = match t.strip_suffix(':') {
                        Some(s) => (s, true),
                        None => (t, false),
                    };
                    colon_next = colon;
                    args.push(Arg::Param(name.to_string(), None));
                }
                _ => {
                    let v = if n.kind() == "generic_token" {
                        if !kids(n).is_empty() {
                            return Err(unsupported(
                                format!("expandable word '{}'", text(n, src)),
                                n,
                                self.line_base,
                            ));
                        }
                        Value::Str(text(n, src).replace('"', ""))
                    } else {
                        self.expr(n, src)?
                    };
                    if colon_next {
                        colon_next = false;
                        if let Some(Arg::Param(_, slot @ None)) = args.last_mut() {
                            *slot = Some(v);
                            continue;
                        }
                    }
                    if join_next {
                        join_next = false;
                        if let Some(Arg::Value(prev)) = args.last_mut() {
                            let mut items = std::mem::take(prev).into_items();
                            items.push(v);
                            *prev = Value::Array(items);
                            continue;
                        }
                    }
                    args.push(Arg::Value(v));
                }
            }
        }
        Ok(args)
    }

    /// Binds words to `spec`, refusing unknown parameters and surplus positional words.
    pub fn bind(&self, spec: &Spec, args: Vec<Arg>, at: Node) -> Result<Bound, Flow> {
        let mut bound = Bound::default();
        let mut positional = spec.positional.iter();
        let mut iter = args.into_iter().peekable();
        while let Some(arg) = iter.next() {
            match arg {
                Arg::Param(raw, inline) => {
                    let name = raw.trim_start_matches('-');
                    let decl = spec
                        .params
                        .iter()
                        .chain(COMMON.iter())
                        .find(|(p, _)| p.eq_ignore_ascii_case(name));
                    let Some(&(canon, kind)) = decl else {
                        return Err(unsupported(
                            format!("parameter -{name} of {}", spec.name),
                            at,
                            self.line_base,
                        ));
                    };
                    let v = match (kind, inline) {
                        (_, Some(v)) => v,
                        (Kind::Switch, None) => Value::Bool(true),
                        (Kind::Value, None) => match iter.next() {
                            Some(Arg::Value(v)) => v,
                            // A ParameterBindingException: statement-terminating.
                            _ => {
                                return Err(Flow::Statement(format!(
                                    "{} : Missing an argument for parameter '{canon}'. Specify a parameter of the required type and try again.",
                                    spec.name
                                )))
                            }
                        },
                    };
                    bound.values.push((canon, v));
                }
                Arg::Value(v) => {
                    let Some(&canon) = positional.find(|p| bound.get(p).is_none()) else {
                        return Err(unsupported(
                            format!("positional argument '{}' of {}", v.to_text(), spec.name),
                            at,
                            self.line_base,
                        ));
                    };
                    bound.values.push((canon, v));
                }
            }
        }
        Ok(bound)
    }
}
