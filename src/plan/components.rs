//! The component graph: dependency order from `after`, and each component rendered into one
//! container spec per node it runs on.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::{PlanError, PlannedNode};
use crate::config::{render, Component, Config, Health, NodeFacts, Role, Service, TemplateContext};
use crate::docker::spec::ContainerSpec;
use crate::os::service::ServiceSpec;

#[derive(Debug, Clone, Serialize)]
pub struct PlannedComponent {
    pub name: String,
    pub after: Vec<String>,
    pub serial: bool,
    pub health: Option<Health>,
    pub instances: Vec<ComponentInstance>,
    /// For a service component: its Windows service on each node (`instances` is empty).
    pub services: Vec<ServiceInstance>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceInstance {
    pub node: String,
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentInstance {
    pub node: String,
    pub spec: ContainerSpec,
}

pub fn plan_components(
    config: &Config,
    nodes: &[PlannedNode],
    roles: &BTreeMap<Role, Vec<NodeFacts>>,
) -> Result<Vec<PlannedComponent>, PlanError> {
    let mut ordered = Vec::new();
    let mut placed: HashSet<&str> = HashSet::new();
    // Validation rejected cycles, so each pass places at least one component.
    while placed.len() < config.components.len() {
        let before = placed.len();
        for c in &config.components {
            if !placed.contains(c.name.as_str())
                && c.after.iter().all(|a| placed.contains(a.as_str()))
            {
                placed.insert(&c.name);
                ordered.push(c);
            }
        }
        if placed.len() == before {
            break;
        }
    }
    ordered
        .into_iter()
        .map(|c| {
            if let Some(svc) = &c.service {
                return plan_service(config, c, svc, nodes, roles);
            }
            let instances = nodes
                .iter()
                .filter(|n| c.runs_on(&n.node))
                .map(|n| {
                    let facts = n.facts();
                    let ctx = TemplateContext {
                        cluster_name: &config.cluster_name,
                        node: &facts,
                        roles,
                        container_ip: None,
                    };
                    let err = |reason| PlanError::Template {
                        node: n.name.clone(),
                        component: c.name.clone(),
                        reason,
                    };
                    let args = c
                        .args
                        .iter()
                        .map(|a| render(a, &ctx))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(err)?;
                    let env = c
                        .env
                        .iter()
                        .map(|(k, v)| render(v, &ctx).map(|v| (k.clone(), v)))
                        .collect::<Result<BTreeMap<_, _>, _>>()
                        .map_err(err)?;
                    let spec = ContainerSpec::build(config, c, &n.name, args, env);
                    Ok(ComponentInstance {
                        node: n.name.clone(),
                        spec,
                    })
                })
                .collect::<Result<Vec<_>, PlanError>>()?;
            Ok(PlannedComponent {
                name: c.name.clone(),
                after: c.after.clone(),
                serial: c.serial,
                health: c.health.clone(),
                instances,
                services: Vec::new(),
            })
        })
        .collect()
}

/// A service component: its arguments rendered per node into one Windows service each.
fn plan_service(
    config: &Config,
    c: &Component,
    svc: &Service,
    nodes: &[PlannedNode],
    roles: &BTreeMap<Role, Vec<NodeFacts>>,
) -> Result<PlannedComponent, PlanError> {
    let services = nodes
        .iter()
        .filter(|n| c.runs_on(&n.node))
        .map(|n| {
            let facts = n.facts();
            let ctx = TemplateContext {
                cluster_name: &config.cluster_name,
                node: &facts,
                roles,
                container_ip: None,
            };
            let args = svc
                .args
                .iter()
                .map(|a| render(a, &ctx))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|reason| PlanError::Template {
                    node: n.name.clone(),
                    component: c.name.clone(),
                    reason,
                })?;
            Ok(ServiceInstance {
                node: n.name.clone(),
                spec: ServiceSpec::new(&c.name, svc, args),
            })
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    Ok(PlannedComponent {
        name: c.name.clone(),
        after: c.after.clone(),
        serial: c.serial,
        health: None,
        instances: Vec::new(),
        services,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn etcd_component_renders_to_a_docker_create_body() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        std::fs::write(&key, "k").unwrap();
        let text = format!(
            r#"cluster_name: demo
ssh_key_path: {}
private_registries: [{{url: "reg.example:5000", is_default: true}}]
nodes:
  - {{address: 192.0.2.1, hostname_override: n1, role: [etcd]}}
  - {{address: 192.0.2.2, hostname_override: n2, role: [etcd]}}
components:
  - name: etcd
    image: etcd:3.4
    roles: [etcd]
    network: host
    binds: ["/var/lib/rwin/etcd:/var/lib/etcd"]
    args: ["--name={{{{node.name}}}}", "--initial-cluster={{{{ role.etcd | format \"{{name}}=http://{{internal_address}}:2380\" | join \",\" }}}}"]
  - name: web
    image: reg.example:5000/web:1
    ports: ["8080:80/tcp", "53:53/udp"]
    env: {{NODE: "{{{{node.name}}}}"}}
"#,
            key.display()
        );
        let (config, _) = crate::config::load_str(std::path::Path::new("c.yml"), text)
            .map_err(|r| r.render())
            .unwrap();
        let plan = crate::plan::build(&config, &crate::state::State::default()).unwrap();
        let bodies: Vec<_> = plan
            .components
            .iter()
            .map(|c| {
                (
                    &c.instances[0].spec.name,
                    c.instances[0].spec.to_create_body(),
                )
            })
            .collect();
        // Docker's API types hold maps as HashMaps: sort them so the snapshot is stable.
        insta::with_settings!({ sort_maps => true }, { insta::assert_json_snapshot!(bodies) });
    }
}
