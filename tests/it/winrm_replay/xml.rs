//! Requests as element trees, read by namespace URI (the prefixes differ between clients:
//! pypsrp writes `wsman:`, rwin `w:`), and the namespaces WinRS requests use.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub const MS_WSMAN: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub const SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
pub const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";

/// One element: namespace URI, local name, attributes by local name (namespace declarations
/// left out), its own text, and its children.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub ns: String,
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// The first element named so, this one or any below it, depth first.
    pub fn find(&self, ns: &str, name: &str) -> Option<&Node> {
        if self.is(ns, name) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(ns, name))
    }

    /// The element's text, trimmed (for ids and numbers).
    pub fn trimmed(&self) -> String {
        self.text.trim().to_string()
    }

    /// `prefix:name`, with the prefixes rwin's envelopes use.
    pub fn qname(&self) -> String {
        let prefix = match self.ns.as_str() {
            SOAP => "s",
            ADDRESSING => "a",
            WSMAN => "w",
            MS_WSMAN => "p",
            SHELL => "rsp",
            TRANSFER => "x",
            other => return format!("{{{other}}}{}", self.name),
        };
        format!("{prefix}:{}", self.name)
    }
}

/// The document element of `xml`; panics (the test fails) on anything that is not XML.
pub fn parse(xml: &str) -> Node {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut open: Vec<Node> = vec![Node::default()];
    loop {
        let (res, ev) = reader
            .read_resolved_event()
            .unwrap_or_else(|e| panic!("request is not XML: {e}\n{xml}"));
        let ns = match res {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(s) => {
                let mut attrs = BTreeMap::new();
                for a in s.attributes() {
                    let a = a.unwrap();
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned();
                    attrs.insert(key, value);
                }
                open.push(Node {
                    ns,
                    name: String::from_utf8_lossy(s.local_name().as_ref()).into_owned(),
                    attrs,
                    ..Node::default()
                });
            }
            Event::End(_) => {
                let done = open.pop().expect("an open element");
                open.last_mut()
                    .expect("the document holder")
                    .children
                    .push(done);
            }
            Event::Text(t) => {
                if let Some(n) = open.last_mut() {
                    n.text.push_str(&t.xml10_content().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(n) = open.last_mut() {
                    let name = r.decode().unwrap();
                    match r.resolve_char_ref().unwrap() {
                        Some(c) => n.text.push(c),
                        None => n
                            .text
                            .push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap()),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut holder = open.pop().expect("the document holder");
    holder.children.pop().expect("a document element")
}
