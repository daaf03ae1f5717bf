//! Reading what the Docker CLI prints on a Windows host.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::docker::ensure::Existing;
use crate::docker::{LABEL_COMPONENT, LABEL_HASH};

/// What the Docker CLI printed is not what rwin asked for.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("docker container inspect printed something that is not its JSON: {0}")]
    Inspect(#[source] serde_json::Error),

    #[error("docker version printed something that is not its JSON: {0}")]
    Version(#[source] serde_json::Error),

    /// `docker version` answered for the client only.
    #[error("Docker is not running on this host (docker version found no server): start the docker service")]
    NoServer,
}

/// The fields of `docker container inspect` (the API's ContainerInspectResponse) rwin reads.
/// Only these, so an engine that adds or changes others cannot break the parse.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inspected {
    id: String,
    config: Option<InspectedConfig>,
    state: Option<InspectedState>,
    restart_count: Option<i64>,
    network_settings: Option<InspectedNetworkSettings>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedNetworkSettings {
    networks: Option<BTreeMap<String, InspectedEndpoint>>,
}

#[derive(Deserialize)]
struct InspectedEndpoint {
    #[serde(rename = "IPAddress")]
    ip_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedConfig {
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedState {
    running: Option<bool>,
}

/// `docker container inspect` output → component (label `io.rwin.component`) → what is there.
/// Containers without that label are left out; of two with one component, the first counts.
/// Empty output (no containers to inspect) is an empty map.
pub fn parse_inspect(json: &str) -> Result<BTreeMap<String, Existing>, OutputError> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let list: Vec<Inspected> = serde_json::from_str(json).map_err(OutputError::Inspect)?;
    let mut out = BTreeMap::new();
    for c in list {
        let labels = c.config.and_then(|c| c.labels).unwrap_or_default();
        let Some(component) = labels.get(LABEL_COMPONENT) else {
            continue;
        };
        out.entry(component.clone()).or_insert(Existing {
            id: c.id,
            hash: labels.get(LABEL_HASH).cloned(),
            running: c.state.and_then(|s| s.running).unwrap_or(false),
            restart_count: c.restart_count.unwrap_or(0),
            pod_ip: c
                .network_settings
                .and_then(|n| n.networks)
                .and_then(|mut n| n.remove(crate::docker::spec::POD_NETWORK)?.ip_address)
                .filter(|ip| !ip.is_empty()),
        });
    }
    Ok(out)
}

/// `docker version --format '{{json .}}'` output → the server's version.
pub fn parse_version(json: &str) -> Result<String, OutputError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Version {
        server: Option<Server>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Server {
        version: String,
    }
    let v: Version = serde_json::from_str(json.trim()).map_err(OutputError::Version)?;
    v.server.map(|s| s.version).ok_or(OutputError::NoServer)
}
