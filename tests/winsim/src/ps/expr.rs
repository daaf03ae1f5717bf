//! Expressions: literals, variables, member access, casts, comparisons, logic, arrays and
//! hashtables, `(…)`, `@(…)`, script blocks and `[ScriptBlock]::Create(…)`.

use super::eval::{innermost, is_wrapper, kids, text, Interp};
use super::value::{like, scalar_cmp, scalar_eq, Value};
use super::{unsupported, Flow};
use tree_sitter::Node;

impl Interp<'_, '_> {
    /// Evaluates an expression node to one value.
    pub fn expr(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let n = innermost(n);
        let k = kids(n);
        match n.kind() {
            "variable" => {
                // `$env:NAME`: the process's environment (Windows names ignore case).
                let t = text(n, src);
                if let (Some(prefix), Some(var)) = (t.get(..5), t.get(5..)) {
                    if prefix.eq_ignore_ascii_case("$env:") {
                        let found = self
                            .ctx
                            .env
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(var));
                        return Ok(found.map_or(Value::Null, |(_, v)| Value::Str(v.clone())));
                    }
                }
                let name = self.var_name(n, src)?;
                if name.eq_ignore_ascii_case("input") {
                    self.read_stdin()?;
                }
                Ok(self.get_var(&name).unwrap_or(Value::Null))
            }
            "verbatim_string_characters" => {
                let t = text(n, src);
                let inner = t.strip_prefix('\'').and_then(|s| s.strip_suffix('\''));
                match inner {
                    Some(s) => Ok(Value::Str(s.replace("''", "'"))),
                    None => Err(unsupported("string literal", n, self.line_base)),
                }
            }
            "expandable_string_literal" => self.expandable(n, src),
            "decimal_integer_literal" => text(n, src)
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| unsupported("integer literal", n, self.line_base)),
            "simple_name" | "generic_token" => Ok(Value::Str(text(n, src).to_string())),
            "parenthesized_expression" => match k.as_slice() {
                [p] if p.kind() == "pipeline" => self.pipeline_value(*p, src),
                _ => Err(unsupported("parenthesized expression", n, self.line_base)),
            },
            "array_expression" => {
                let mut out = Vec::new();
                if let Some(list) = k.iter().find(|c| c.kind() == "statement_list") {
                    self.statements(*list, src, &mut out)?;
                }
                Ok(Value::Array(out))
            }
            "hash_literal_expression" => self.hash(n, src, false),
            "script_block_expression" => {
                let body = k.iter().find(|c| c.kind() == "script_block");
                Ok(Value::ScriptBlock(
                    body.map(|b| text(*b, src).to_string()).unwrap_or_default(),
                ))
            }
            "member_access" => self.member_access(n, src),
            "expression_with_unary_operator" => self.unary(n, src),
            "cast_expression" => self.cast(n, src),
            "invokation_expression" => self.invocation(n, src),
            "array_literal_expression" => {
                let mut items = Vec::new();
                for c in k {
                    items.push(self.expr(c, src)?);
                }
                Ok(Value::Array(items))
            }
            "logical_expression" => self.logical(n, src),
            "comparison_expression" => self.comparison(n, src),
            "additive_expression" if n.child(1).is_some_and(|o| text(o, src) == "+") => {
                self.add(n, src)
            }
            kind if is_wrapper(kind) => Err(unsupported(
                format!("operator in '{}'", text(n, src)),
                n,
                self.line_base,
            )),
            other => Err(unsupported(
                format!("expression '{other}'"),
                n,
                self.line_base,
            )),
        }
    }

    /// Double-quoted strings are accepted only when they need no expansion.
    fn expandable(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let t = text(n, src);
        let inner = t
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(t);
        if inner.contains('$') || inner.contains('`') || !kids(n).is_empty() {
            return Err(unsupported(
                format!("string expansion in {t}"),
                n,
                self.line_base,
            ));
        }
        Ok(Value::Str(inner.replace("\"\"", "\"")))
    }

    fn hash(&mut self, n: Node, src: &str, ordered: bool) -> Result<Value, Flow> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        for body in kids(n) {
            for entry in kids(body) {
                let ek = kids(entry);
                let key = ek.iter().find(|c| c.kind() == "key_expression");
                let val = ek.iter().find(|c| c.kind() == "pipeline");
                let (Some(key), Some(val)) = (key, val) else {
                    return Err(unsupported("hashtable entry", entry, self.line_base));
                };
                let key = self.expr(*key, src)?.to_text();
                let v = self.pipeline_value(*val, src)?;
                if entries.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                    return Err(Flow::Error(format!(
                        "Duplicate keys '{key}' are not allowed in hash literals."
                    )));
                }
                entries.push((key, v));
            }
        }
        Ok(Value::Hash(entries, ordered))
    }

    fn member_access(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        let op = n.child(1).map(|c| text(c, src)).unwrap_or("");
        let (Some(obj), Some(member), ".") = (k.first(), k.last(), op) else {
            return Err(unsupported(
                format!("member access '{}'", text(n, src)),
                n,
                self.line_base,
            ));
        };
        let target = self.expr(*obj, src)?;
        let name = self.expr(*member, src)?.to_text();
        Ok(target.member(&name))
    }

    fn unary(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        if let [cast] = k.as_slice() {
            if cast.kind() == "cast_expression" {
                return self.cast(*cast, src);
            }
        }
        let op = n.child(0).map(|c| text(c, src).to_ascii_lowercase());
        let operand = k.last().copied();
        let (Some(op), Some(operand)) = (op, operand) else {
            return Err(unsupported("unary expression", n, self.line_base));
        };
        let v = self.expr(operand, src)?;
        match op.as_str() {
            "!" | "-not" => Ok(Value::Bool(!v.truthy())),
            "-" => v.to_int().map(|i| Value::Int(-i)).map_err(Flow::Statement),
            other => Err(unsupported(
                format!("unary operator '{other}'"),
                n,
                self.line_base,
            )),
        }
    }

    fn cast(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        let (Some(ty), Some(operand)) = (k.first(), k.get(1)) else {
            return Err(unsupported("cast", n, self.line_base));
        };
        let ty_name = text(*ty, src).to_ascii_lowercase();
        match ty_name.as_str() {
            "[ordered]" => {
                let inner = innermost(*operand);
                if inner.kind() != "hash_literal_expression" {
                    return Err(unsupported(
                        "[ordered] on a non-hashtable",
                        n,
                        self.line_base,
                    ));
                }
                self.hash(inner, src, true)
            }
            "[string]" => Ok(Value::Str(self.expr(*operand, src)?.to_text())),
            "[int]" => {
                let v = self.expr(*operand, src)?;
                // A failed conversion is a RuntimeException: statement-terminating.
                v.to_int().map(Value::Int).map_err(Flow::Statement)
            }
            other => Err(unsupported(format!("type {other}"), *ty, self.line_base)),
        }
    }

    /// The static method calls in the subset: `[ScriptBlock]::Create($s)` and
    /// `[Convert]::FromBase64String('…')` (a byte[]: an array of numbers 0–255).
    fn invocation(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        let ty = k.first().map(|t| text(*t, src).to_ascii_lowercase());
        let method = k.get(1).map(|m| text(*m, src).to_ascii_lowercase());
        let is_static = n.child(1).is_some_and(|c| c.kind() == "::");
        let is_create = ty.as_deref() == Some("[scriptblock]")
            && method.as_deref() == Some("create")
            && is_static;
        let is_base64 = matches!(ty.as_deref(), Some("[convert]" | "[system.convert]"))
            && method.as_deref() == Some("frombase64string")
            && is_static;
        if !(is_create || is_base64) || k.len() != 3 {
            return Err(unsupported(
                format!("method call '{}'", text(n, src)),
                n,
                self.line_base,
            ));
        }
        let mut args = Vec::new();
        for a in kids(k[2]) {
            for e in kids(a) {
                args.push(self.expr(e, src)?);
            }
        }
        match args.as_slice() {
            [one] if is_base64 => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(one.to_text().trim())
                    .map(|bytes| Value::Array(bytes.into_iter().map(|b| Value::Int(i64::from(b))).collect()))
                    // A .NET method's exception is statement-terminating (about_Error_Handling).
                    .map_err(|e| {
                        Flow::Statement(format!(
                            "Exception calling \"FromBase64String\" with \"1\" argument(s): \"The input is not a valid Base-64 string ({e}).\""
                        ))
                    })
            }
            [one] => {
                // Script Block Logging records a script block's text when it is compiled
                // (about_Logging_Windows; event 4104).
                let text = one.to_text();
                if self.ctx.state.auditing {
                    self.ctx.state.script_block_events.push(text.clone());
                }
                Ok(Value::ScriptBlock(text))
            }
            _ => Err(unsupported(
                "[ScriptBlock]::Create arguments",
                n,
                self.line_base,
            )),
        }
    }

    /// `a + b` (about_Arithmetic_Operators: `+` adds numbers and concatenates strings; the
    /// left operand's type decides). Only those two: arrays and hash tables are not modelled.
    fn add(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        let (Some(l), Some(r)) = (k.first(), k.get(1)) else {
            return Err(unsupported("additive expression", n, self.line_base));
        };
        match (self.expr(*l, src)?, self.expr(*r, src)?) {
            (Value::Int(a), Value::Int(b)) => Ok(Value::Int(a.saturating_add(b))),
            (Value::Str(a), b) => Ok(Value::Str(a + &b.to_text())),
            _ => Err(unsupported(
                format!("operands of '{}'", text(n, src)),
                n,
                self.line_base,
            )),
        }
    }

    fn logical(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        let op = n.child(1).map(|c| text(c, src).to_ascii_lowercase());
        let (Some(l), Some(r), Some(op)) = (k.first(), k.get(1), op) else {
            return Err(unsupported("logical expression", n, self.line_base));
        };
        let left = self.expr(*l, src)?.truthy();
        match op.as_str() {
            "-and" => Ok(Value::Bool(left && self.expr(*r, src)?.truthy())),
            "-or" => Ok(Value::Bool(left || self.expr(*r, src)?.truthy())),
            other => Err(unsupported(
                format!("operator '{other}'"),
                n,
                self.line_base,
            )),
        }
    }

    fn comparison(&mut self, n: Node, src: &str) -> Result<Value, Flow> {
        let k = kids(n);
        let (Some(l), Some(opn), Some(r)) = (k.first(), k.get(1), k.get(2)) else {
            return Err(unsupported("comparison", n, self.line_base));
        };
        let op = text(*opn, src).to_ascii_lowercase();
        let test: fn(&Value, &Value) -> bool = match op.as_str() {
            "-eq" => scalar_eq,
            "-ne" => |a, b| !scalar_eq(a, b),
            "-gt" => |a, b| scalar_cmp(a, b).is_some_and(|o| o.is_gt()),
            "-lt" => |a, b| scalar_cmp(a, b).is_some_and(|o| o.is_lt()),
            "-ge" => |a, b| scalar_cmp(a, b).is_some_and(|o| o.is_ge()),
            "-le" => |a, b| scalar_cmp(a, b).is_some_and(|o| o.is_le()),
            "-like" => |a, b| like(&a.to_text(), &b.to_text()),
            other => {
                return Err(unsupported(
                    format!("operator '{other}'"),
                    *opn,
                    self.line_base,
                ))
            }
        };
        let left = self.expr(*l, src)?;
        let right = self.expr(*r, src)?;
        Ok(match left {
            // An array on the left filters: `@(1,2,3) -gt 1` is `@(2,3)`.
            Value::Array(items) => {
                Value::Array(items.into_iter().filter(|i| test(i, &right)).collect())
            }
            scalar => Value::Bool(test(&scalar, &right)),
        })
    }
}
