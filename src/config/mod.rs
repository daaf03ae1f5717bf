//! cluster.yml: the schema as written (`schema`), the checked model the rest of rwin uses
//! (`model`), and validation that reports every problem with its `file:line:column` (`validate`).

mod diag;
pub mod edit;
mod model;
mod outline;
mod parse_error;
mod schema;
mod template;
mod unclosed;
mod validate;

pub use diag::{Diagnostic, Report, Severity};
pub use model::*;
pub use template::{render, NodeFacts, TemplateContext, TemplateError};
pub use validate::{load, load_str};
