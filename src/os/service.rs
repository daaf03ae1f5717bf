//! Host-process components ("services"): a binary and its files that rwin uploads to a node
//! and runs under the OS's service manager instead of in a container. The data is the same for
//! every OS: what the plan wants, what the node has, and what differs. How a node is read and
//! changed is its OS's [`HostServices`] (only Windows has one: validation keeps service
//! components to Windows nodes).

use std::collections::BTreeMap;

use serde::Serialize;

use super::OsFacts;
use crate::config::{Service, ServiceFile};
use crate::outcome::Outcome;
use crate::state::HostRecord;

/// One service component on one node, with its arguments rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSpec {
    pub component: String,
    /// The service's name on the node: `rwin-<component>`.
    pub name: String,
    pub binary: ServiceFile,
    pub files: Vec<ServiceFile>,
    pub args: Vec<String>,
    /// Service names this one depends on.
    pub depends_on: Vec<String>,
}

/// The service name of a service component.
pub fn service_name(component: &str) -> String {
    format!("rwin-{component}")
}

impl ServiceSpec {
    pub fn new(component: &str, svc: &Service, args: Vec<String>) -> ServiceSpec {
        ServiceSpec {
            component: component.to_string(),
            name: service_name(component),
            binary: svc.binary.clone(),
            files: svc.files.clone(),
            args,
            depends_on: svc.depends_on.iter().map(|d| service_name(d)).collect(),
        }
    }

    /// The binary first, then the other files.
    pub fn all_files(&self) -> impl Iterator<Item = &ServiceFile> {
        std::iter::once(&self.binary).chain(&self.files)
    }
}

/// What the node has of one service component.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceFacts {
    /// The component's files that exist on the node, with their SHA-256.
    pub files: Vec<FileHash>,
    /// `Running`, `Stopped`, …; `None`: no such service.
    pub status: Option<String>,
    /// The service's configuration as the service manager prints it, when it exists.
    pub config: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileHash {
    pub path: String,
    /// Hex, either case.
    pub hash: String,
}

/// What `up` does about one service on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceWork {
    /// Files missing or with another hash on the node.
    pub upload: Vec<ServiceFile>,
    /// The service does not exist.
    pub create: bool,
    /// Its command line, start type or dependencies differ: why.
    pub reconfigure: Option<String>,
    /// It runs and must stop first (its files or configuration change).
    pub stop_first: bool,
    /// It is not running.
    pub start: bool,
}

impl ServiceWork {
    pub fn is_unchanged(&self) -> bool {
        self.upload.is_empty() && !self.create && self.reconfigure.is_none() && !self.start
    }

    /// Created, replaced, started or unchanged, as for container components.
    pub fn outcome(&self) -> Outcome {
        if self.create {
            Outcome::Created
        } else if !self.upload.is_empty() || self.reconfigure.is_some() {
            Outcome::Replaced
        } else if self.start {
            Outcome::Started
        } else {
            Outcome::Unchanged
        }
    }

    /// What the progress line says while this work is done.
    pub fn describe(&self, spec: &ServiceSpec) -> String {
        let mut parts = Vec::new();
        if !self.upload.is_empty() {
            let names: Vec<&str> = self.upload.iter().map(|f| f.name.as_str()).collect();
            parts.push(format!("uploading {}", names.join(", ")));
        }
        if self.create {
            parts.push("creating the service".into());
        } else if let Some(why) = &self.reconfigure {
            parts.push(format!("reconfiguring the service ({why})"));
        }
        if self.start {
            parts.push("starting it".into());
        }
        format!("service {}: {}", spec.name, parts.join(", "))
    }
}

/// How an OS reads and changes service components. Scripts are read-only unless they say
/// otherwise; each answer is parsed by the same implementation that wrote its script.
pub trait HostServices: Send + Sync {
    /// One read-only script that reports every one of `specs` (files and service), and its
    /// answer read, by service name.
    fn facts_script(&self, specs: &[&ServiceSpec]) -> String;
    fn parse_facts(
        &self,
        specs: &[&ServiceSpec],
        stdout: &str,
    ) -> Result<BTreeMap<String, ServiceFacts>, String>;

    /// What differs between `spec` and what the node has.
    fn work(&self, spec: &ServiceSpec, facts: &ServiceFacts) -> ServiceWork;
    /// The script that does `work` (`contents`: the bytes of each file of `work.upload`, in
    /// order), and what its answer means (`Ok` when it did everything).
    fn apply_script(
        &self,
        spec: &ServiceSpec,
        work: &ServiceWork,
        contents: &[Vec<u8>],
    ) -> Result<String, String>;
    fn apply_result(
        &self,
        spec: &ServiceSpec,
        stdout: &str,
        stderr: &str,
        code: u32,
    ) -> Result<(), String>;

    /// Record `spec` in the host's record before the node changes, so teardown removes it
    /// even if the script stops half way.
    fn record(&self, rec: &mut HostRecord, spec: &ServiceSpec);
    /// Whether `component` is a service the record says rwin made (not a container).
    fn is_recorded(&self, rec: &HostRecord, component: &str) -> bool;
    /// The names of the rwin services installed on the node, as its facts list them.
    fn installed(&self, f: &OsFacts) -> Vec<String>;
    /// Where the service's logs are on the node, for a failed check's advice.
    fn logs(&self, spec: &ServiceSpec) -> String;
    /// How to remove, by hand, a service rwin made that no component claims.
    fn remove_by_hand(&self) -> &'static str;
}
