//! Places a `Spanned` value does not give, found in the file's outline: the key a value is
//! under (`health:`), a key further down a mapping (`windows_image:` → `server2022`), and a
//! `{{…}}` expression inside a string.

use super::{at, Checker, S};
use crate::config::diag::Diagnostic;
use crate::config::template::{failing_expression, render, TemplateContext};

/// A place in the file and how many characters to underline there (`None`: the value).
pub(super) type Place = ((usize, usize), Option<usize>);

impl Checker {
    pub(super) fn error_place(
        &mut self,
        ((l, c), width): Place,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        let d = self.report_error((l, c), msg);
        d.width = width;
        d
    }

    /// The key a spanned value is under (`health:` for the health mapping); the value itself
    /// when it has none. For problems with a field being there at all, not with its value.
    pub(super) fn key_place<T>(&self, s: &S<T>) -> Place {
        match self.outline.key_of(at(s)) {
            Some(k) => (k.at, Some(k.name.chars().count())),
            None => (at(s), None),
        }
    }

    /// The key at the end of `path` from the mapping `s` (a component, say), if written.
    pub(super) fn key_path<T>(&self, s: &S<T>, path: &[&str]) -> Option<Place> {
        let k = self.outline.key_path(at(s), path)?;
        Some((k.at, Some(k.name.chars().count())))
    }

    /// A template error in string `s`, at the `{{…}}` it is about (`range` of the value) when
    /// that can be found in the text as written; at the string otherwise.
    pub(super) fn template_error(
        &mut self,
        s: &S<String>,
        range: Option<std::ops::Range<usize>>,
        msg: String,
    ) {
        let place = range
            .and_then(|r| self.outline.in_scalar(at(s), r))
            .map_or((at(s), None), |(p, w)| (p, Some(w)));
        self.error_place(place, msg);
    }

    /// Render `s` as a template with `ctx`, reporting an error at the failing expression.
    pub(super) fn check_template(&mut self, s: &S<String>, ctx: &TemplateContext<'_>) -> bool {
        match render(&s.value, ctx) {
            Ok(_) => true,
            Err(e) => {
                self.template_error(s, failing_expression(&s.value, ctx), e.to_string());
                false
            }
        }
    }
}
