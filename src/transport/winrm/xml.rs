//! A small element tree over quick-xml with every element and attribute name resolved to its
//! namespace URI, so the response parsers ask "is this `{shell}CommandState`?" and never care
//! which prefix a server chose. WinRM answers are at most MaxEnvelopeSize (≤ 500 KiB), so a
//! tree is cheap; nesting is capped so a hostile answer cannot exhaust the stack.

use quick_xml::encoding::EncodingError;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::Event;
use quick_xml::name::{QName, ResolveResult};
use quick_xml::{NsReader, XmlVersion};

/// Deeper than any SOAP answer; a cap keeps dropping the tree from recursing without bound.
const MAX_DEPTH: usize = 64;

/// Why a text is not one well-formed XML document this parser accepts.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML near byte {pos}: {source}")]
    Malformed {
        pos: u64,
        #[source]
        source: quick_xml::Error,
    },

    #[error("undeclared prefix {prefix}:")]
    UndeclaredPrefix { prefix: String },

    #[error("more than one root element")]
    MoreThanOneRoot,

    #[error("elements nested deeper than {}", MAX_DEPTH)]
    TooDeep,

    #[error("bad attribute: {0}")]
    BadAttribute(#[source] AttrError),

    #[error("bad attribute value: {0}")]
    BadAttributeValue(#[source] quick_xml::Error),

    #[error("bad text: {0}")]
    BadText(#[source] EncodingError),

    #[error("bad CDATA: {0}")]
    BadCData(#[source] EncodingError),

    #[error("bad reference: {0}")]
    BadReference(#[source] EncodingError),

    #[error("bad character reference &{name};")]
    BadCharRef { name: String },

    #[error("unknown entity &{name};")]
    UnknownEntity { name: String },

    #[error("unexpected empty element event")]
    UnexpectedEmpty,

    #[error("closing tag without an opening one")]
    UnmatchedClose,

    #[error("document ends inside an element")]
    Unclosed,

    #[error("no root element")]
    NoRoot,

    #[error("text outside the root element")]
    TextOutsideRoot,
}

/// One element: namespace URI (empty when unbound), local name, attributes, text, children.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    attrs: Vec<Attr>,
    text: String,
    /// The text read as a qualified name (`w:TimedOut`) resolved with the element's in-scope
    /// namespaces, as SOAP fault codes require.
    qname: Option<(String, String)>,
    pub children: Vec<Element>,
}

#[derive(Debug, Clone)]
struct Attr {
    ns: String,
    name: String,
    value: String,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The first child `{ns}name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every child `{ns}name`, in document order.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Follow a path of child names from this element.
    pub fn path(&self, steps: &[(&str, &str)]) -> Option<&Element> {
        steps
            .iter()
            .try_fold(self, |el, (ns, name)| el.child(ns, name))
    }

    /// An attribute without a namespace prefix (all WinRS attributes are unprefixed).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The element's own text (not its children's), as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text of this element and all its descendants, in document order.
    pub fn all_text(&self) -> String {
        let mut out = self.text.clone();
        for c in &self.children {
            out.push_str(&c.all_text());
        }
        out
    }

    /// The text as a resolved qualified name `(namespace URI, local name)`, if it is one.
    pub fn text_qname(&self) -> Option<(&str, &str)> {
        self.qname.as_ref().map(|(n, l)| (n.as_str(), l.as_str()))
    }
}

/// Parse a whole document into its root element.
pub fn parse(xml: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let pos = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|source| XmlError::Malformed { pos, source })?;
        let ns = namespace(resolved)?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(XmlError::MoreThanOneRoot);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                let mut el = Element {
                    ns,
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(XmlError::BadAttribute)?;
                    let key = attr.key.as_ref();
                    if key == b"xmlns" || key.starts_with(b"xmlns:") {
                        continue;
                    }
                    let (res, local) = reader.resolver().resolve_attribute(attr.key);
                    let ns = namespace(res)?;
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(XmlError::BadAttributeValue)?
                        .into_owned();
                    el.attrs.push(Attr {
                        ns,
                        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
                        value,
                    });
                }
                stack.push(el);
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(XmlError::UnmatchedClose);
                };
                el.qname = resolve_qname_text(&reader, &el.text);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().map_err(XmlError::BadText)?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(c) => {
                let text = c.decode().map_err(XmlError::BadCData)?;
                push_text(&mut stack, &text)?;
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(XmlError::BadReference)?;
                let ch = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(XmlError::BadCharRef { name: name.into() }),
                    }
                } else {
                    match resolve_predefined_entity(&name) {
                        Some(s) => s.to_string(),
                        None => return Err(XmlError::UnknownEntity { name: name.into() }),
                    }
                };
                push_text(&mut stack, &ch)?;
            }
            Event::Empty(_) => return Err(XmlError::UnexpectedEmpty),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Unclosed);
    }
    root.ok_or(XmlError::NoRoot)
}

fn namespace(res: ResolveResult<'_>) -> Result<String, XmlError> {
    match res {
        ResolveResult::Bound(ns) => Ok(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(XmlError::UndeclaredPrefix {
            prefix: String::from_utf8_lossy(&prefix).into_owned(),
        }),
    }
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::TextOutsideRoot),
    }
}

/// `prefix:local` text resolved against the namespaces in scope at the element's end tag.
fn resolve_qname_text(reader: &NsReader<&[u8]>, text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let (prefix, local) = text.split_once(':')?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !plain(prefix) || !plain(local) {
        return None;
    }
    let (res, _) = reader.resolver().resolve_element(QName(text.as_bytes()));
    match res {
        ResolveResult::Bound(ns) => Some((
            String::from_utf8_lossy(ns.as_ref()).into_owned(),
            local.to_string(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_by_uri_whatever_the_prefix() {
        let a = parse(r#"<x:a xmlns:x="urn:one"><x:b k="v">t</x:b></x:a>"#).unwrap();
        let b = parse(r#"<a xmlns="urn:one"><y:b xmlns:y="urn:one" k="v">t</y:b></a>"#).unwrap();
        for root in [a, b] {
            assert!(root.is("urn:one", "a"));
            let child = root.child("urn:one", "b").unwrap();
            assert_eq!(child.attr("k"), Some("v"));
            assert_eq!(child.text(), "t");
        }
    }

    #[test]
    fn entities_and_qname_text() {
        let root = parse(
            r#"<r xmlns:w="urn:w"><v>w:TimedOut</v><t>a &amp;&#x41;&lt;</t><u>http://x/y</u></r>"#,
        )
        .unwrap();
        assert_eq!(
            root.child("", "v").unwrap().text_qname(),
            Some(("urn:w", "TimedOut"))
        );
        assert_eq!(root.child("", "t").unwrap().text(), "a &A<");
        assert_eq!(root.child("", "u").unwrap().text_qname(), None);
    }

    #[test]
    fn rejects_what_is_not_one_wellformed_document() {
        assert!(parse("").is_err());
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>&foo;</a>").is_err());
        assert!(parse("<p:a/>").is_err());
        assert!(parse("<a/><b/>").is_err());
        let deep = "<a>".repeat(1000) + &"</a>".repeat(1000);
        let err = parse(&deep).unwrap_err();
        assert!(matches!(err, XmlError::TooDeep), "{err}");
        assert!(err.to_string().contains("deeper"));
    }
}
