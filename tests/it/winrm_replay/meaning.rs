//! What a WS-Management request *does*, as named fields two clients can be compared on: every
//! header that changes meaning (each header has a rule below, with the reason), every
//! selector and option with its attributes, and the whole body. Plus the small table of
//! differences rwin makes on purpose from pypsrp, the client the recordings were made with.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::xml::{parse, Node, ADDRESSING, SHELL, SOAP};

// ---------------------------------------------------------------- which headers count

/// Whether a header takes part in the comparison.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Compare,
    Ignore,
}

/// Every header a request may carry, and why it is or is not compared. A header not listed
/// fails the request: someone must decide first whether it changes what the request does.
const HEADERS: &[(&str, Rule, &str)] = &[
    ("a:Action", Rule::Compare, "the operation itself"),
    (
        "a:To",
        Rule::Ignore,
        "the address the recording was made at; the replay server's differs by construction, \
         and a host answers on whatever address reached it",
    ),
    (
        "a:MessageID",
        Rule::Ignore,
        "unique to each message; the answer is rewritten to relate to the client's own",
    ),
    (
        "a:ReplyTo",
        Rule::Compare,
        "anonymous means: answer on this connection; any other address sends the answer elsewhere",
    ),
    (
        "w:ResourceURI",
        Rule::Compare,
        "what is acted on (the cmd shell, the service configuration)",
    ),
    (
        "w:SelectorSet",
        Rule::Compare,
        "which instance of the resource (the shell); every selector narrows the request",
    ),
    (
        "w:OptionSet",
        Rule::Compare,
        "how the host creates the shell or runs the command (code page, cmd.exe or not, \
         keep-alive); mustUnderstand and MustComply say whether the host may ignore them",
    ),
    (
        "w:OperationTimeout",
        Rule::Compare,
        "how long the host may hold the request: a Receive answers w:TimedOut after it, so the \
         recorded TimedOut faults belong to the recorded timeout",
    ),
    (
        "w:MaxEnvelopeSize",
        Rule::Compare,
        "the largest answer the host may send; another size splits or refuses answers otherwise",
    ),
    (
        "w:Locale",
        Rule::Compare,
        "the language of the host's fault texts, which rwin shows to the user; the recorded \
         answers are in the recorded language",
    ),
    (
        "p:DataLocale",
        Rule::Compare,
        "the locale numbers and dates in the answers are formatted in",
    ),
    (
        "p:SessionId",
        Rule::Compare,
        "compared so that leaving it out is a stated difference (see ALLOWED), not an unnoticed one",
    ),
];

// ---------------------------------------------------------------- a request's meaning

/// A request as fields: `path → value`. A path names elements by prefix and local name from
/// the header entry or the body down (`w:OptionSet/w:Option[WINRS_CODEPAGE]`; a `Name`
/// attribute goes into the path, a repeated sibling gets `#2`, `#3`); the value is the text,
/// quoted, then the other attributes (`"65001" {MustComply=true}`). Every element without
/// children and every element with attributes is a field, so nothing a client adds or leaves
/// out goes unseen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meaning {
    /// The last segment of the Action URI (`Create`, `Command`, …).
    pub action: String,
    pub fields: BTreeMap<String, String>,
}

impl Meaning {
    /// One field per line, for failure messages.
    pub fn dump(&self) -> String {
        self.fields
            .iter()
            .map(|(k, v)| format!("      {k} = {v}\n"))
            .collect()
    }
}

/// The meaning of request `xml`, or why it cannot be compared (a header without a rule).
pub fn meaning(xml: &str) -> Result<Meaning, String> {
    let root = parse(xml);
    let empty = Node::default();
    let header = root.child(SOAP, "Header").unwrap_or(&empty);
    let body = root.child(SOAP, "Body").unwrap_or(&empty);
    let mut fields = BTreeMap::new();
    let mut no_rule = Vec::new();
    for entry in &header.children {
        let name = entry.qname();
        match HEADERS.iter().find(|(n, _, _)| *n == name) {
            Some((_, Rule::Compare, _)) => walk(entry, "", &mut fields),
            Some((_, Rule::Ignore, _)) => {}
            None => no_rule.push(name),
        }
    }
    if !no_rule.is_empty() {
        return Err(format!(
            "header {} has no rule in HEADERS: decide whether it changes what the request does",
            no_rule.join(", ")
        ));
    }
    for part in &body.children {
        walk(part, "", &mut fields);
    }
    let action = header
        .child(ADDRESSING, "Action")
        .map(|a| a.trimmed())
        .unwrap_or_default();
    Ok(Meaning {
        action: action.rsplit('/').next().unwrap_or_default().to_string(),
        fields,
    })
}

/// Adds `node` and everything below it to `fields`, under `parent`.
fn walk(node: &Node, parent: &str, fields: &mut BTreeMap<String, String>) {
    let mut path = format!("{parent}{}", node.qname());
    if let Some(name) = node.attrs.get("Name") {
        path = format!("{path}[{name}]");
    }
    let mut key = path.clone();
    let mut n = 1;
    while fields.contains_key(&key) {
        n += 1;
        key = format!("{path}#{n}");
    }
    let mut attrs: BTreeMap<&str, String> = node
        .attrs
        .iter()
        .filter(|(k, _)| k.as_str() != "Name")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let text = if node.is(SHELL, "Stream") && parent.ends_with("rsp:Send/") {
        // Stdin: the bytes, not their base64; End is an xs:boolean that defaults to false
        // ([MS-WSMV] Send), which pypsrp writes on every chunk ("False", "True") and rwin only
        // on the last ("true"): the same request either way.
        let end = attrs
            .get("End")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        attrs.insert("End", end.to_string());
        match base64::engine::general_purpose::STANDARD.decode(node.text.trim()) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => format!("{s:?}"),
                Err(e) => format!("bytes {:?}", e.into_bytes()),
            },
            Err(e) => format!("<not base64: {e}> {:?}", node.text),
        }
    } else if node.children.is_empty() {
        format!("{:?}", node.text)
    } else {
        String::from("\"\"")
    };
    if node.children.is_empty() || !attrs.is_empty() {
        let mut value = text;
        if !attrs.is_empty() {
            let list: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            value = format!("{value} {{{}}}", list.join(", "));
        }
        fields.insert(key.clone(), value);
    }
    for child in &node.children {
        walk(child, &format!("{key}/"), fields);
    }
}

// ---------------------------------------------------------------- rwin's deliberate differences

/// One value of a field in a row of [`ALLOWED`].
#[derive(Debug, Clone, Copy)]
pub enum Want {
    Absent,
    /// Exactly this (as [`Meaning`] writes values: quoted text, then attributes).
    Is(&'static str),
    /// This, where `*` stands for any one run of characters (a recorded random id).
    Like(&'static str),
}

impl Want {
    fn matches(self, value: Option<&String>) -> bool {
        match (self, value) {
            (Want::Absent, None) => true,
            (Want::Is(want), Some(v)) => v == want,
            (Want::Like(pattern), Some(v)) => {
                let (head, tail) = pattern.split_once('*').unwrap_or((pattern, ""));
                v.len() >= head.len() + tail.len() && v.starts_with(head) && v.ends_with(tail)
            }
            _ => false,
        }
    }
}

/// A difference rwin makes on purpose: in requests of `action` (or `*`, all), `field` may be
/// `client` where the recording has `recorded`, and only exactly that.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub action: &'static str,
    pub field: &'static str,
    pub recorded: Want,
    pub client: Want,
    pub why: &'static str,
}

/// Where rwin differs from pypsrp on purpose. Every row is needed by the recordings
/// (`each_allowed_difference_is_one_rwin_makes`); any other difference fails.
pub const ALLOWED: &[Allowed] = &[
    Allowed {
        action: "Create",
        field: "w:OptionSet/w:Option[WINRS_CODEPAGE]",
        recorded: Want::Absent,
        client: Want::Is("\"65001\""),
        why: "rwin asks for UTF-8 (code page 65001) so non-ASCII text in scripts and output \
              survives; pypsrp names no code page and gets the host's OEM one (437 here)",
    },
    Allowed {
        action: "Create",
        field: "w:OptionSet/w:Option[WINRS_NOPROFILE]",
        recorded: Want::Absent,
        client: Want::Is("\"FALSE\""),
        why: "rwin states the default (load the user's profile) as pywinrm's open_shell does",
    },
    Allowed {
        action: "Command",
        field: "w:OptionSet/w:Option[WINRS_SKIP_CMD_SHELL]",
        recorded: Want::Is("\"False\""),
        client: Want::Is("\"FALSE\""),
        why: "the same boolean, upper case as pywinrm writes its options (str(bool).upper()) \
              to real hosts",
    },
    Allowed {
        action: "Receive",
        field: "w:OptionSet/w:Option[WSMAN_CMDSHELL_OPTION_KEEPALIVE]",
        recorded: Want::Is("\"True\""),
        client: Want::Is("\"TRUE\""),
        why: "the same boolean, spelled as rwin spells every WinRS boolean (pywinrm's spelling)",
    },
    Allowed {
        action: "Signal",
        field: "rsp:Signal/rsp:Code",
        recorded: Want::Is(
            "\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c\"",
        ),
        client: Want::Is(
            "\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate\"",
        ),
        why: "pypsrp presses Ctrl+C once a command has ended (its Process.signal(CTRL_C)); rwin \
              releases the command with terminate, as pywinrm's cleanup_command does",
    },
    Allowed {
        action: "*",
        field: "p:SessionId",
        recorded: Want::Like("\"uuid:*\" {mustUnderstand=false}"),
        client: Want::Absent,
        why: "pypsrp names a client session; rwin sends none. A server MAY process it, to group \
              a client's operations ([MS-WSMV] 3.1.4.1.37); no answer depends on it",
    },
];

/// Compares the client's request with the recorded one. Differences a row of `allowed` names
/// exactly pass (their indexes are added to `used`); any other fails, with both versions.
pub fn compare(
    got: &Meaning,
    want: &Meaning,
    allowed: &[Allowed],
    used: &mut std::collections::BTreeSet<usize>,
) -> Result<(), String> {
    let absent = || "<absent>".to_string();
    let mut lines = Vec::new();
    let keys: std::collections::BTreeSet<&String> =
        got.fields.keys().chain(want.fields.keys()).collect();
    for key in keys {
        let (g, w) = (got.fields.get(key), want.fields.get(key));
        if g == w {
            continue;
        }
        let rows: Vec<(usize, &Allowed)> = allowed
            .iter()
            .enumerate()
            .filter(|(_, a)| a.field == key && (a.action == "*" || a.action == want.action))
            .collect();
        if let Some((i, _)) = rows
            .iter()
            .find(|(_, a)| a.recorded.matches(w) && a.client.matches(g))
        {
            used.insert(*i);
            continue;
        }
        let mut line = format!(
            "  {key}:\n    client:   {}\n    recorded: {}",
            g.cloned().unwrap_or_else(absent),
            w.cloned().unwrap_or_else(absent)
        );
        for (_, a) in rows {
            line.push_str(&format!(
                "\n    (allowed only as {:?} -> {:?}: {})",
                a.recorded, a.client, a.why
            ));
        }
        lines.push(line);
    }
    if got.action != want.action {
        lines.insert(
            0,
            format!(
                "  action: client {:?}, recorded {:?}",
                got.action, want.action
            ),
        );
    }
    if lines.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} differs from the recording in:\n{}\n  the client's request:\n{}  the recorded one:\n{}",
        want.action,
        lines.join("\n"),
        got.dump(),
        want.dump()
    ))
}

#[cfg(test)]
mod tests {
    use super::super::xml::WSMAN;
    use super::*;

    #[test]
    fn fields_name_options_selectors_and_attributes() {
        let xml = format!(
            "<s:Envelope xmlns:s=\"{SOAP}\" xmlns:a=\"{ADDRESSING}\" xmlns:w=\"{WSMAN}\" xmlns:rsp=\"{SHELL}\"><s:Header>\
             <a:Action>{SHELL}/Command</a:Action><a:MessageID>uuid:1</a:MessageID>\
             <w:OptionSet s:mustUnderstand=\"true\"><w:Option Name=\"X\" MustComply=\"true\">1</w:Option></w:OptionSet>\
             <w:SelectorSet><w:Selector Name=\"ShellId\">S</w:Selector></w:SelectorSet></s:Header>\
             <s:Body><rsp:CommandLine><rsp:Command>cmd.exe</rsp:Command><rsp:Arguments>/c</rsp:Arguments>\
             <rsp:Arguments> a &amp; b </rsp:Arguments></rsp:CommandLine></s:Body></s:Envelope>"
        );
        let m = meaning(&xml).unwrap();
        assert_eq!(m.action, "Command");
        let fields: Vec<(&str, &str)> = m
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                (
                    "a:Action",
                    "\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command\""
                ),
                ("rsp:CommandLine/rsp:Arguments", "\"/c\""),
                ("rsp:CommandLine/rsp:Arguments#2", "\" a & b \""),
                ("rsp:CommandLine/rsp:Command", "\"cmd.exe\""),
                ("w:OptionSet", "\"\" {mustUnderstand=true}"),
                ("w:OptionSet/w:Option[X]", "\"1\" {MustComply=true}"),
                ("w:SelectorSet/w:Selector[ShellId]", "\"S\""),
            ]
        );
    }

    #[test]
    fn like_matches_one_wildcard() {
        let v = |s: &str| Some(s.to_string());
        assert!(Want::Like("\"uuid:*\" {m=f}").matches(v("\"uuid:AB-1\" {m=f}").as_ref()));
        assert!(!Want::Like("\"uuid:*\" {m=f}").matches(v("\"uuid:AB-1\"").as_ref()));
        assert!(!Want::Like("\"uuid:*\"").matches(None));
        assert!(Want::Absent.matches(None));
        assert!(!Want::Is("\"1\"").matches(v("\"2\"").as_ref()));
    }
}
