//! PowerShell values as winsim models them: just the kinds the contract's scripts can produce,
//! with PowerShell's comparison and conversion rules (case-insensitive strings, the left operand's
//! type wins, enums compare by name or number, arrays filter).

/// One PowerShell value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// A .NET enum: shown and compared by name, serialised by ConvertTo-Json as its number.
    Enum(&'static str, i64),
    Array(Vec<Value>),
    /// `@{}` (ordered = false) or `[ordered]@{}`; insertion order is kept for both.
    Hash(Vec<(String, Value)>, bool),
    /// A cmdlet's output object: a .NET/CIM type name and its properties in Windows' order.
    Object(Obj),
    ScriptBlock(String),
}

/// An object with named properties, as cmdlets return them.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj {
    pub type_name: &'static str,
    pub props: Vec<(String, Value)>,
}

impl Obj {
    pub fn new(type_name: &'static str) -> Obj {
        Obj {
            type_name,
            props: Vec::new(),
        }
    }
    pub fn with(mut self, name: &str, v: impl Into<Value>) -> Obj {
        self.props.push((name.to_string(), v.into()));
        self
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Value {
        Value::Int(i64::from(i))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<Obj> for Value {
    fn from(o: Obj) -> Value {
        Value::Object(o)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::Array(v)
    }
}

impl Value {
    /// PowerShell's truthiness: `$null`, `$false`, 0, '' and empty arrays are false; a one-element
    /// array is its element's truth.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Enum(_, i) => *i != 0,
            Value::Str(s) => !s.is_empty(),
            Value::Array(a) => match a.len() {
                0 => false,
                1 => a[0].truthy(),
                _ => true,
            },
            _ => true,
        }
    }

    /// The string PowerShell shows for the value (`[string]`, interpolation into native args).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Str(s) => s.clone(),
            Value::Enum(n, _) => (*n).to_string(),
            Value::Array(a) => a.iter().map(Value::to_text).collect::<Vec<_>>().join(" "),
            Value::Hash(_, false) => "System.Collections.Hashtable".into(),
            Value::Hash(_, true) => "System.Collections.Specialized.OrderedDictionary".into(),
            Value::Object(o) => o.type_name.to_string(),
            Value::ScriptBlock(s) => s.clone(),
        }
    }

    /// Items as the pipeline sees them: arrays are enumerated, `$null` is nothing.
    pub fn into_items(self) -> Vec<Value> {
        match self {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            v => vec![v],
        }
    }

    /// What a pipeline's collected output becomes when assigned: nothing → `$null`, one item →
    /// that item, more → an array.
    pub fn from_items(mut items: Vec<Value>) -> Value {
        match items.len() {
            0 => Value::Null,
            1 => items.remove(0),
            _ => Value::Array(items),
        }
    }

    /// A property by name, case-insensitive. `Count`/`Length` exist on everything, and on an
    /// array other names map over the elements (member enumeration).
    pub fn member(&self, name: &str) -> Value {
        let lname = name.to_ascii_lowercase();
        match self {
            Value::Array(a) => {
                if lname == "count" || lname == "length" {
                    return Value::Int(a.len() as i64);
                }
                let items: Vec<Value> = a
                    .iter()
                    .map(|v| v.member(name))
                    .flat_map(|v| match v {
                        Value::Null => Vec::new(),
                        other => other.into_items(),
                    })
                    .collect();
                Value::from_items(items)
            }
            Value::Hash(entries, _) => {
                if let Some((_, v)) = entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    return v.clone();
                }
                match lname.as_str() {
                    "count" => Value::Int(entries.len() as i64),
                    "keys" => {
                        Value::Array(entries.iter().map(|(k, _)| k.as_str().into()).collect())
                    }
                    "values" => Value::Array(entries.iter().map(|(_, v)| v.clone()).collect()),
                    _ => Value::Null,
                }
            }
            Value::Object(o) => o
                .props
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or(if lname == "count" {
                    Value::Int(1)
                } else {
                    Value::Null
                }),
            Value::Str(s) if lname == "length" => Value::Int(s.chars().count() as i64),
            Value::Null if lname == "count" => Value::Int(0),
            _ if lname == "count" => Value::Int(1),
            _ => Value::Null,
        }
    }

    /// Converts to an integer the way `[int]` does, or says why not.
    pub fn to_int(&self) -> Result<i64, String> {
        match self {
            Value::Int(i) | Value::Enum(_, i) => Ok(*i),
            Value::Bool(b) => Ok(i64::from(*b)),
            Value::Null => Ok(0),
            Value::Str(s) => s.trim().parse::<i64>().map_err(|_| {
                format!("Cannot convert value \"{s}\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\"")
            }),
            other => Err(format!(
                "Cannot convert the \"{}\" value to type \"System.Int32\".",
                other.to_text()
            )),
        }
    }
}

/// `-eq` between two scalars: the right operand is converted to the left one's type.
pub fn scalar_eq(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Int(a), _) => r.to_int().map(|b| *a == b).unwrap_or(false),
        (Value::Enum(n, v), Value::Str(s)) => n.eq_ignore_ascii_case(s) || v.to_string() == *s,
        (Value::Enum(_, v), _) => r.to_int().map(|b| *v == b).unwrap_or(false),
        (Value::Bool(a), _) => *a == r.truthy(),
        (Value::Str(a), _) => a.eq_ignore_ascii_case(&r.to_text()),
        _ => l == r,
    }
}

/// Ordering for `-gt` and friends: numbers when the left side is a number, else strings
/// compared case-insensitively.
pub fn scalar_cmp(l: &Value, r: &Value) -> Option<std::cmp::Ordering> {
    match l {
        Value::Int(a) | Value::Enum(_, a) => r.to_int().ok().map(|b| a.cmp(&b)),
        Value::Null => Some(if matches!(r, Value::Null) {
            std::cmp::Ordering::Equal
        } else {
            std::cmp::Ordering::Less
        }),
        _ => Some(
            l.to_text()
                .to_ascii_lowercase()
                .cmp(&r.to_text().to_ascii_lowercase()),
        ),
    }
}

/// `-like` with `*`, `?` wildcards, case-insensitive.
pub fn like(text: &str, pattern: &str) -> bool {
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('?') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some(c) => t
                .first()
                .is_some_and(|x| x.eq_ignore_ascii_case(c) && go(&t[1..], &p[1..])),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&t, &p)
}
