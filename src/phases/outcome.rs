//! A component's result on one node, shared by the container and service deploy phases.

use serde::Serialize;

use super::Host;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Serialize)]
pub struct ComponentResult {
    pub component: String,
    pub outcome: Outcome,
    pub detail: Option<String>,
    pub ok: bool,
}

impl ComponentResult {
    /// Not tried on this node: its host failed earlier, or is not in this run.
    pub(crate) fn skipped(component: &str, host: Option<&Host>) -> ComponentResult {
        ComponentResult {
            component: component.to_string(),
            outcome: Outcome::Skipped,
            detail: host.map(|h| {
                format!(
                    "host failed: {}",
                    h.error
                        .as_ref()
                        .map(|e| e.message.as_str())
                        .unwrap_or_default()
                )
            }),
            ok: false,
        }
    }
}
