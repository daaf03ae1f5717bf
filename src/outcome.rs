//! What happened to one component on one node, as a value: the `ui` layer and the JSON report
//! render it; nothing compares its words.

use serde::Serialize;

/// The outcome of making one component match on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Replaced,
    Started,
    Unchanged,
    /// Only its published ports were (re)mapped: the container itself was unchanged.
    #[serde(rename = "ports mapped")]
    PortsMapped,
    Failed,
    /// Not tried: its host failed earlier, a component it comes after is unhealthy, or its
    /// host is not in this run.
    Skipped,
}

impl Outcome {
    /// Whether this outcome changed the node.
    pub fn changed(self) -> bool {
        matches!(
            self,
            Outcome::Created | Outcome::Replaced | Outcome::Started | Outcome::PortsMapped
        )
    }

    /// The word as the summary and the progress lines show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Replaced => "replaced",
            Outcome::Started => "started",
            Outcome::Unchanged => "unchanged",
            Outcome::PortsMapped => "ports mapped",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }

    /// The progress line's verb for work about to start ("create rwin-web").
    pub fn verb(self) -> &'static str {
        match self {
            Outcome::Created => "create",
            Outcome::Replaced => "replace",
            Outcome::Started => "start",
            Outcome::PortsMapped => "map ports of",
            Outcome::Unchanged | Outcome::Failed | Outcome::Skipped => "check",
        }
    }
}

/// Compares with the word (tests and callers that read reports).
impl PartialEq<&str> for Outcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn words_and_json_are_the_ones_reports_always_used() {
        for (o, word) in [
            (Outcome::Created, "created"),
            (Outcome::Replaced, "replaced"),
            (Outcome::Started, "started"),
            (Outcome::Unchanged, "unchanged"),
            (Outcome::PortsMapped, "ports mapped"),
            (Outcome::Failed, "failed"),
            (Outcome::Skipped, "skipped"),
        ] {
            assert_eq!(o.to_string(), word);
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{word}\""));
        }
        assert!(Outcome::PortsMapped.changed() && !Outcome::Unchanged.changed());
    }
}
