//! Reading request envelopes: a small element tree over quick-xml with names resolved to their
//! namespace URIs, so winsim accepts whatever prefixes a client picks (pywinrm, rwin, pypsrp
//! all differ) and refuses what is not one well-formed document.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

const MAX_DEPTH: usize = 64;

pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";

/// One element: namespace URI, local name, unprefixed attributes, own text, children.
#[derive(Debug, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse one document into its root element.
pub fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("malformed XML: {e}"))?;
        let ns = match resolved {
            ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(p) => {
                return Err(format!(
                    "undeclared prefix {}:",
                    String::from_utf8_lossy(&p)
                ))
            }
        };
        match event {
            Event::Start(start) => {
                if root.is_some() || stack.len() >= MAX_DEPTH {
                    return Err("not one envelope of sane depth".into());
                }
                let mut el = Element {
                    ns,
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
                    if attr.key.prefix().is_some() || attr.key.as_ref() == b"xmlns" {
                        continue;
                    }
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| format!("bad attribute value: {e}"))?;
                    let local = attr.key.local_name();
                    let name = String::from_utf8_lossy(local.as_ref()).into_owned();
                    el.attrs.push((name, value.into_owned()));
                }
                stack.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("closing tag without an opening one")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().map_err(|e| format!("bad text: {e}"))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| format!("bad reference: {e}"))?;
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?
                        .to_string(),
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&ch);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// Escape text for an element or a double-quoted attribute.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_do_not_matter_and_entities_resolve() {
        let doc = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><Body xmlns="http://www.w3.org/2003/05/soap-envelope" Name="a&amp;b">x &lt;&#65;</Body></e:Envelope>"#;
        let root = parse(doc).unwrap();
        assert!(root.is(NS_SOAP, "Envelope"));
        let body = root.child(NS_SOAP, "Body").unwrap();
        assert_eq!(body.attr("Name"), Some("a&b"));
        assert_eq!(body.text, "x <A");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<p:a/>").is_err());
    }
}
