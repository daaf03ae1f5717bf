//! "Ensure" semantics for containers and the node's container network (rke's
//! `docker.DoRunContainer`): inspect, compare with the desired configuration, act only on a
//! difference, and say what was done.

use std::collections::HashMap;

use bollard::auth::DockerCredentials;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use ipnet::Ipv4Net;
use serde::Serialize;

use super::spec::{registry_of, ContainerSpec};
use super::{describe, LABEL_CLUSTER, LABEL_HASH};
use crate::config::Registry;

/// A container rwin finds on a host.
#[derive(Debug, Clone, Serialize)]
pub struct Existing {
    pub id: String,
    pub hash: Option<String>,
    pub running: bool,
    pub restart_count: i64,
    /// Its address on the pod network, if it has one (published ports on Windows map to it).
    pub pod_ip: Option<String>,
}

/// What `up` does about one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum ContainerChange {
    Create,
    Replace { reason: String },
    Start,
    Unchanged,
}

/// Compare what is there with what should be. Pure.
pub fn decide(spec: &ContainerSpec, existing: Option<&Existing>) -> ContainerChange {
    match existing {
        None => ContainerChange::Create,
        Some(e) if e.hash.as_deref() != Some(spec.hash.as_str()) => ContainerChange::Replace {
            reason: match &e.hash {
                Some(_) => "configuration changed".into(),
                None => "not created by rwin (no configuration hash)".into(),
            },
        },
        Some(e) if !e.running => ContainerChange::Start,
        Some(_) => ContainerChange::Unchanged,
    }
}

pub async fn inspect(docker: &Docker, name: &str) -> Result<Option<Existing>, String> {
    match docker.inspect_container(name, None).await {
        Ok(c) => Ok(Some(Existing {
            id: c.id.unwrap_or_default(),
            hash: c
                .config
                .and_then(|cfg| cfg.labels)
                .and_then(|l| l.get(LABEL_HASH).cloned()),
            running: c.state.as_ref().and_then(|s| s.running).unwrap_or(false),
            restart_count: c.restart_count.unwrap_or(0),
            pod_ip: c
                .network_settings
                .and_then(|n| n.networks)
                .and_then(|n| n.get(super::spec::POD_NETWORK)?.ip_address.clone())
                .filter(|ip| !ip.is_empty()),
        })),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(describe(&e)),
    }
}

/// Containers labelled for `cluster` on this host: name → component label.
pub async fn list_cluster_containers(
    docker: &Docker,
    cluster: &str,
) -> Result<Vec<(String, String)>, String> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{LABEL_CLUSTER}={cluster}")],
    )]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let list = docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| describe(&e))?;
    Ok(list
        .into_iter()
        .map(|c| {
            let name = c
                .names
                .unwrap_or_default()
                .first()
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let comp = c
                .labels
                .unwrap_or_default()
                .get(super::LABEL_COMPONENT)
                .cloned()
                .unwrap_or_default();
            (name, comp)
        })
        .collect())
}

/// Carry out `change` for `spec`.
pub async fn apply(
    docker: &Docker,
    spec: &ContainerSpec,
    change: &ContainerChange,
    registries: &[Registry],
) -> Result<(), String> {
    let start = |id: String| async move {
        docker
            .start_container(&id, None)
            .await
            .map_err(|e| format!("starting {}: {}", spec.name, describe(&e)))
    };
    match change {
        // Nothing to ask Docker: the facts already showed this container as it should be.
        ContainerChange::Unchanged => Ok(()),
        ContainerChange::Start => start(spec.name.clone()).await,
        ContainerChange::Create | ContainerChange::Replace { .. } => {
            // Pull first: if the pull fails, the old container keeps running.
            ensure_image(docker, &spec.image, registries).await?;
            if matches!(change, ContainerChange::Replace { .. }) {
                remove(docker, &spec.name).await?;
            }
            let opts = CreateContainerOptionsBuilder::default()
                .name(&spec.name)
                .build();
            let created = docker
                .create_container(Some(opts), spec.to_create_body())
                .await
                .map_err(|e| format!("creating {}: {}", spec.name, describe(&e)))?;
            start(created.id).await
        }
    }
}

/// Force-remove a container; a missing one is fine.
pub async fn remove(docker: &Docker, name: &str) -> Result<(), String> {
    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(name, Some(opts)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(format!("removing {name}: {}", describe(&e))),
    }
}

/// Pull `image` unless the host has it, with the credentials of the registry it names.
pub async fn ensure_image(
    docker: &Docker,
    image: &str,
    registries: &[Registry],
) -> Result<(), String> {
    if docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    let registry = registry_of(image).and_then(|host| registries.iter().find(|r| r.url == host));
    let creds = registry.and_then(|r| {
        r.user.as_ref().map(|u| DockerCredentials {
            username: Some(u.clone()),
            password: r.password.as_ref().map(|p| p.expose().to_string()),
            serveraddress: Some(r.url.clone()),
            ..Default::default()
        })
    });
    // The Engine API's `tag` is a tag or a digest (Docker Engine API, ImageCreate).
    let r = crate::docker::spec::ImageRef::parse(image);
    let (name, tag) = (r.name, r.pin());
    let opts = CreateImageOptionsBuilder::default()
        .from_image(name)
        .tag(tag)
        .build();
    let mut stream = docker.create_image(Some(opts), None, creds);
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            let from = registry_of(image).unwrap_or("Docker Hub");
            let who = registry
                .and_then(|r| r.user.as_deref())
                .map(|u| format!(" as user {u}"))
                .unwrap_or_default();
            let text = describe(&e);
            let hint = if text.contains("unauthorized")
                || text.contains("authentication")
                || text.contains("401")
            {
                " — the registry rejected the credentials: check user and password_env in private_registries"
            } else if text.contains("certificate") || text.contains("x509") {
                " — the host does not trust the registry's certificate: put its CA in /etc/docker/certs.d/<registry>/ca.crt"
            } else {
                ""
            };
            return Err(format!(
                "pulling {image} from registry {from}{who} failed: {text}{hint}"
            ));
        }
    }
    Ok(())
}

/// The node's container network as it is on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkFacts {
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub driver: String,
    pub containers: usize,
}

pub async fn inspect_network(docker: &Docker, name: &str) -> Result<Option<NetworkFacts>, String> {
    match docker.inspect_network(name, None).await {
        Ok(n) => {
            let cfg = n
                .ipam
                .and_then(|i| i.config)
                .and_then(|c| c.into_iter().next());
            Ok(Some(NetworkFacts {
                subnet: cfg.as_ref().and_then(|c| c.subnet.clone()),
                gateway: cfg.as_ref().and_then(|c| c.gateway.clone()),
                driver: n.driver.unwrap_or_default(),
                containers: n.containers.map(|c| c.len()).unwrap_or(0),
            }))
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(describe(&e)),
    }
}

/// Create the container network with the node's subnet and gateway. Masquerading is left to
/// rwin's own rule, so traffic to other nodes' subnets keeps its source address.
pub async fn create_network(
    docker: &Docker,
    name: &str,
    driver: &str,
    subnet: Ipv4Net,
    gateway: std::net::Ipv4Addr,
    options: HashMap<String, String>,
    cluster: &str,
) -> Result<(), String> {
    let req = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some(driver.to_string()),
        ipam: Some(Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.to_string()),
                gateway: Some(gateway.to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        options: Some(options),
        labels: Some(HashMap::from([(
            LABEL_CLUSTER.to_string(),
            cluster.to_string(),
        )])),
        ..Default::default()
    };
    docker
        .create_network(req)
        .await
        .map(|_| ())
        .map_err(|e| format!("creating network {name}: {}", describe(&e)))
}

pub async fn remove_network(docker: &Docker, name: &str) -> Result<(), String> {
    match docker.remove_network(name).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(format!("removing network {name}: {}", describe(&e))),
    }
}

/// The container's address on the pod network.
pub async fn container_ip(docker: &Docker, name: &str, network: &str) -> Option<String> {
    let c = docker.inspect_container(name, None).await.ok()?;
    c.network_settings?
        .networks?
        .get(network)?
        .ip_address
        .clone()
        .filter(|ip| !ip.is_empty())
}
