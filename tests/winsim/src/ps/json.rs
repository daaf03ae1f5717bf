//! ConvertTo-Json and ConvertFrom-Json as Windows PowerShell 5.1 does them: JavaScriptSerializer's
//! escaping (`'` is `\u0027`), enums as numbers, `-Depth` (default 2) past which values become
//! their type name, and 5.1's own pretty layout (`"key":  value`, CRLF, nested blocks indented
//! from the column of their opening bracket).

use super::value::{Obj, Value};

/// `ConvertTo-Json [-Depth N] [-Compress]` of one value.
pub fn to_json(v: &Value, depth: usize, compress: bool) -> String {
    let mut out = String::new();
    if compress {
        compact(v, 0, depth, &mut out);
    } else {
        pretty(v, 0, depth, 0, &mut out);
    }
    out
}

fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\'' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Members of a value that serialises as a JSON object, or None for scalars and arrays.
fn members(v: &Value) -> Option<&[(String, Value)]> {
    match v {
        Value::Hash(e, _) => Some(e),
        Value::Object(Obj { props, .. }) => Some(props),
        _ => None,
    }
}

fn scalar(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Enum(_, i) => out.push_str(&i.to_string()),
        other => escape(&other.to_text(), out),
    }
}

fn compact(v: &Value, level: usize, max: usize, out: &mut String) {
    if let Some(m) = members(v) {
        if level > max {
            return escape(&v.to_text(), out);
        }
        out.push('{');
        for (i, (k, val)) in m.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            escape(k, out);
            out.push(':');
            compact(val, level + 1, max, out);
        }
        out.push('}');
    } else if let Value::Array(a) = v {
        if level > max {
            return escape(&v.to_text(), out);
        }
        out.push('[');
        for (i, item) in a.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            compact(item, level + 1, max, out);
        }
        out.push(']');
    } else {
        scalar(v, out);
    }
}

/// `col` is the column where this value starts; nested lines are indented from it.
fn pretty(v: &Value, level: usize, max: usize, col: usize, out: &mut String) {
    let pad = |n: usize| " ".repeat(n);
    if let Some(m) = members(v) {
        if level > max {
            return escape(&v.to_text(), out);
        }
        out.push_str("{\r\n");
        for (i, (k, val)) in m.iter().enumerate() {
            let mut key = String::new();
            escape(k, &mut key);
            let line_start = format!("{}{}:  ", pad(col + 4), key);
            out.push_str(&line_start);
            pretty(val, level + 1, max, line_start.chars().count(), out);
            out.push_str(if i + 1 < m.len() { ",\r\n" } else { "\r\n" });
        }
        out.push_str(&pad(col));
        out.push('}');
    } else if let Value::Array(a) = v {
        if level > max {
            return escape(&v.to_text(), out);
        }
        out.push_str("[\r\n");
        if a.is_empty() {
            out.push_str("\r\n");
        }
        for (i, item) in a.iter().enumerate() {
            out.push_str(&pad(col + 4));
            pretty(item, level + 1, max, col + 4, out);
            out.push_str(if i + 1 < a.len() { ",\r\n" } else { "\r\n" });
        }
        out.push_str(&pad(col));
        out.push(']');
    } else {
        scalar(v, out);
    }
}

/// `ConvertFrom-Json`: objects become PSCustomObjects with their keys in order.
pub fn from_json(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("Invalid JSON primitive at position {}.", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn err<T>(&self) -> Result<T, String> {
        Err(format!("Invalid JSON primitive at position {}.", self.i))
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut obj = Obj::new("System.Management.Automation.PSCustomObject");
                if self.eat(b'}') {
                    return Ok(obj.into());
                }
                loop {
                    self.ws();
                    let Value::Str(k) = self.string()? else {
                        return self.err();
                    };
                    if !self.eat(b':') {
                        return self.err();
                    }
                    let v = self.value()?;
                    obj.props.push((k, v));
                    if self.eat(b'}') {
                        return Ok(obj.into());
                    }
                    if !self.eat(b',') {
                        return self.err();
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    if self.eat(b']') {
                        return Ok(Value::Array(items));
                    }
                    if !self.eat(b',') {
                        return self.err();
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(_) => {
                let start = self.i;
                while self.i < self.s.len() && !b",]} \t\r\n".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let word = String::from_utf8_lossy(&self.s[start..self.i]).to_string();
                match word.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    w => match w.parse::<i64>() {
                        Ok(n) => Ok(Value::Int(n)),
                        Err(_) if w.parse::<f64>().is_ok() => Ok(Value::Str(w.to_string())),
                        Err(_) => {
                            self.i = start;
                            self.err()
                        }
                    },
                }
            }
            None => self.err(),
        }
    }
    fn string(&mut self) -> Result<Value, String> {
        if self.s.get(self.i) != Some(&b'"') {
            return self.err();
        }
        self.i += 1;
        // Collected as UTF-16 so that `\u` surrogate pairs join up.
        let mut buf: Vec<u16> = Vec::new();
        let push = |buf: &mut Vec<u16>, c: char| buf.extend(c.encode_utf16(&mut [0; 2]).iter());
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return self.err();
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err();
                    };
                    self.i += 1;
                    match e {
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).unwrap_or_default();
                            let code = u16::from_str_radix(&String::from_utf8_lossy(hex), 16)
                                .or_else(|_| self.err())?;
                            self.i += 4;
                            buf.push(code);
                        }
                        b'n' => push(&mut buf, '\n'),
                        b'r' => push(&mut buf, '\r'),
                        b't' => push(&mut buf, '\t'),
                        b'b' => push(&mut buf, '\u{8}'),
                        b'f' => push(&mut buf, '\u{c}'),
                        other => push(&mut buf, other as char),
                    }
                }
                _ => {
                    let start = self.i - 1;
                    let end = (start + utf8_len(c)).min(self.s.len());
                    for ch in String::from_utf8_lossy(&self.s[start..end]).chars() {
                        push(&mut buf, ch);
                    }
                    self.i = end;
                }
            }
        }
        Ok(Value::Str(String::from_utf16_lossy(&buf)))
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_escapes_like_javascriptserializer() {
        let v = Value::Hash(
            vec![
                ("a".into(), Value::Str("it's <x>".into())),
                (
                    "b".into(),
                    Value::Array(vec![Value::Int(1), Value::Bool(true)]),
                ),
                ("s".into(), Value::Enum("Running", 4)),
            ],
            true,
        );
        assert_eq!(
            to_json(&v, 2, true),
            r#"{"a":"it\u0027s \u003cx\u003e","b":[1,true],"s":4}"#
        );
    }

    #[test]
    fn pretty_is_51_layout() {
        let v = Value::Hash(
            vec![
                ("a".into(), Value::Int(1)),
                ("b".into(), Value::Array(vec![Value::Int(1), Value::Int(2)])),
            ],
            false,
        );
        assert_eq!(
            to_json(&v, 2, false),
            "{\r\n    \"a\":  1,\r\n    \"b\":  [\r\n              1,\r\n              2\r\n          ]\r\n}"
        );
    }

    #[test]
    fn depth_cuts_to_type_names() {
        let inner = Value::Hash(vec![("x".into(), Value::Int(1))], false);
        let v = Value::Hash(vec![("a".into(), inner)], false);
        assert_eq!(
            to_json(&v, 0, true),
            r#"{"a":"System.Collections.Hashtable"}"#
        );
    }

    #[test]
    fn from_json_keeps_order_and_escapes() {
        let v = from_json(r#"{"z":1,"a":["x\u0027y",null]}"#).expect("parses");
        assert_eq!(v.member("a"), Value::Array(vec!["x'y".into(), Value::Null]));
        let Value::Object(o) = v else {
            panic!("object")
        };
        assert_eq!(o.props[0].0, "z");
    }
}
