//! Component → container configuration, pure and snapshot-tested. The configuration hash goes
//! into a label, so `ensure` can tell "unchanged" from "changed" without guessing.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{LABEL_CLUSTER, LABEL_COMPONENT, LABEL_HASH, LABEL_NODE};
use crate::config::{Component, Config, NetworkMode, PortMapping};

/// Name of the per-node container network (the node's subnet).
pub const POD_NETWORK: &str = "rwin";

/// One component's container on one node, fully rendered.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub component: String,
    pub node: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub binds: Vec<String>,
    pub ports: Vec<PortMapping>,
    pub network: NetworkMode,
    pub privileged: bool,
    pub restart: String,
    pub labels: BTreeMap<String, String>,
    /// Hash of everything above but the labels.
    pub hash: String,
}

impl ContainerSpec {
    pub fn build(
        config: &Config,
        c: &Component,
        node: &str,
        args: Vec<String>,
        env: BTreeMap<String, String>,
    ) -> Self {
        let image = resolve_image(config, c.image.as_deref().unwrap_or_default());
        let mut command = c.command.clone().unwrap_or_default();
        command.extend(args);
        let mut spec = ContainerSpec {
            name: format!("rwin-{}", c.name),
            component: c.name.clone(),
            node: node.to_string(),
            image,
            entrypoint: c.entrypoint.clone(),
            command,
            env,
            binds: c.binds.clone(),
            ports: c.ports.clone(),
            network: c.network,
            privileged: c.privileged,
            restart: c.restart.clone(),
            labels: BTreeMap::new(),
            hash: String::new(),
        };
        spec.hash = spec.compute_hash();
        spec.labels = BTreeMap::from([
            (LABEL_CLUSTER.to_string(), config.cluster_name.clone()),
            (LABEL_COMPONENT.to_string(), c.name.clone()),
            (LABEL_NODE.to_string(), node.to_string()),
            (LABEL_HASH.to_string(), spec.hash.clone()),
        ]);
        spec
    }

    /// The same container with another image (a Windows host's build picks its image).
    pub fn with_image(&self, image: String) -> ContainerSpec {
        let mut spec = ContainerSpec {
            image,
            ..self.clone()
        };
        spec.hash = spec.compute_hash();
        spec.labels
            .insert(LABEL_HASH.to_string(), spec.hash.clone());
        spec
    }

    fn compute_hash(&self) -> String {
        let json = serde_json::to_vec(&(
            &self.image,
            &self.entrypoint,
            &self.command,
            &self.env,
            &self.binds,
            &self.ports,
            self.network,
            self.privileged,
            &self.restart,
        ))
        .unwrap_or_default();
        let digest = Sha256::digest(&json);
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The Docker API body that creates this container.
    pub fn to_create_body(&self) -> ContainerCreateBody {
        let network_mode = match self.network {
            NetworkMode::Host => "host",
            NetworkMode::Pod => POD_NETWORK,
            NetworkMode::None => "none",
        };
        let port_key = |p: &PortMapping| format!("{}/{}", p.container, p.protocol);
        let exposed: Vec<String> = self.ports.iter().map(port_key).collect();
        let bindings: HashMap<String, Option<Vec<PortBinding>>> = self
            .ports
            .iter()
            .map(|p| {
                (
                    port_key(p),
                    Some(vec![PortBinding {
                        host_ip: None,
                        host_port: Some(p.host.to_string()),
                    }]),
                )
            })
            .collect();
        let restart = match self.restart.as_str() {
            "no" => RestartPolicyNameEnum::NO,
            "always" => RestartPolicyNameEnum::ALWAYS,
            "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
            _ => RestartPolicyNameEnum::UNLESS_STOPPED,
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            entrypoint: self.entrypoint.clone(),
            cmd: (!self.command.is_empty()).then(|| self.command.clone()),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(self.labels.clone().into_iter().collect()),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            host_config: Some(HostConfig {
                binds: (!self.binds.is_empty()).then(|| self.binds.clone()),
                network_mode: Some(network_mode.to_string()),
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                privileged: Some(self.privileged),
                restart_policy: Some(RestartPolicy {
                    name: Some(restart),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// An image without a registry host goes to the default private registry, as in RKE.
pub fn resolve_image(config: &Config, image: &str) -> String {
    if registry_of(image).is_some() {
        return image.to_string();
    }
    match config.registries.iter().find(|r| r.is_default) {
        Some(r) => format!("{}/{image}", r.url),
        None => image.to_string(),
    }
}

/// An image reference in its parts, as Docker's reference grammar splits it
/// (distribution/reference: `NAME[:TAG][@DIGEST]`, a `:` after the last `/` starting the tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub name: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(image: &'a str) -> ImageRef<'a> {
        let (rest, digest) = match image.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (image, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t)),
            _ => (rest, None),
        };
        ImageRef { name, tag, digest }
    }

    /// What pins the image: its digest, else its tag, else Docker's default tag `latest`.
    pub fn pin(&self) -> &'a str {
        self.digest.or(self.tag).unwrap_or("latest")
    }
}

/// The registry host an image names, if any (`host:port/x`, `a.b/x`, `localhost/x`).
pub fn registry_of(image: &str) -> Option<&str> {
    let (first, _) = image.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_as_docker_splits_them() {
        let r = ImageRef::parse("10.77.0.5:5000/etcd:3.4");
        assert_eq!(
            (r.name, r.tag, r.digest),
            ("10.77.0.5:5000/etcd", Some("3.4"), None)
        );
        assert_eq!(r.pin(), "3.4");
        let r = ImageRef::parse("10.77.0.5:5000/etcd");
        assert_eq!(
            (r.name, r.tag, r.pin()),
            ("10.77.0.5:5000/etcd", None, "latest")
        );
        // A digest pins the image; the Engine API takes it as the pull's `tag`.
        let r = ImageRef::parse("busybox:1.36@sha256:abc");
        assert_eq!(
            (r.name, r.tag, r.digest, r.pin()),
            ("busybox", Some("1.36"), Some("sha256:abc"), "sha256:abc")
        );
    }

    #[test]
    fn registry_host_is_recognised() {
        assert_eq!(
            registry_of("10.77.0.5:5000/etcd:3.4"),
            Some("10.77.0.5:5000")
        );
        assert_eq!(registry_of("registry.example/x"), Some("registry.example"));
        assert_eq!(registry_of("library/busybox"), None);
        assert_eq!(registry_of("busybox:1"), None);
    }
}
