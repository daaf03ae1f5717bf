//! `components:`: each component's name, roles, os, image, network, order (`after:`),
//! templates, ports, binds, restart policy, isolation and windows_image builds, with `health`
//! and `service` checked in their own modules; then dependency cycles across components.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::health::check_health;
use super::service::check_service;
use super::text::shown;
use super::{at, set_help, valid_name, Checker, Text, S};
use crate::config::model::{
    windows_build, Component, Network, NetworkMode, Node, Os, PortMapping, Role, Service,
};
use crate::config::schema::{RawComponent, RawConfig};
use crate::config::template::{NodeFacts, TemplateContext};

/// What each component is checked against: the other components, the nodes, and facts good
/// enough to render its templates with.
struct Scope<'a> {
    path: &'a Path,
    nodes: &'a [Node],
    cluster_name: &'a str,
    /// Every component's name.
    names: HashSet<&'a str>,
    /// The names of components with service:.
    service_names: HashSet<&'a str>,
    sample: NodeFacts,
    roles: BTreeMap<Role, Vec<NodeFacts>>,
}

impl<'a> Scope<'a> {
    fn new(
        path: &'a Path,
        raw: &'a RawConfig,
        nodes: &'a [Node],
        network: &Option<Network>,
        cluster_name: &'a str,
    ) -> Self {
        let names: HashSet<&str> = raw
            .components
            .iter()
            .map(|x| x.value.name.value.as_str())
            .collect();
        let service_names: HashSet<&str> = raw
            .components
            .iter()
            .filter(|x| x.value.service.is_some())
            .map(|x| x.value.name.value.as_str())
            .collect();
        // Facts good enough to catch template mistakes before anything runs.
        let sample = NodeFacts {
            name: "node".into(),
            address: "192.0.2.1".into(),
            internal_address: "192.0.2.1".into(),
            subnet: network
                .as_ref()
                .map(|n| n.cluster_cidr.to_string())
                .unwrap_or_default(),
            gateway: "10.42.0.1".into(),
        };
        let roles: BTreeMap<Role, Vec<NodeFacts>> = Role::ALL
            .into_iter()
            .map(|r| (r, vec![sample.clone()]))
            .collect();
        Scope {
            path,
            nodes,
            cluster_name,
            names,
            service_names,
            sample,
            roles,
        }
    }
}

pub(super) fn check_components(
    c: &mut Checker,
    path: &Path,
    raw: &RawConfig,
    nodes: &[Node],
    network: &Option<Network>,
    cluster_name: &str,
) -> Vec<Component> {
    let scope = Scope::new(path, raw, nodes, network, cluster_name);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for comp in &raw.components {
        out.push(check_component(c, &scope, comp, &mut seen));
    }
    check_cycles(c, raw);
    out
}

/// One component, its checks in the order they are reported.
fn check_component<'a>(
    c: &mut Checker,
    scope: &Scope<'_>,
    comp: &'a S<RawComponent>,
    seen: &mut HashMap<&'a str, usize>,
) -> Component {
    let v = &comp.value;
    let name = v.name.value.as_str();
    check_name(c, v, seen);
    check_component_text(c, v);
    let roles = component_roles(c, v);
    let os = component_os(c, v);
    if v.image.is_none() && v.windows_image.is_empty() && v.service.is_none() {
        let d = c.error(&v.name, format!("component {name} has no image"));
        set_help(
            d,
            "add image: (Linux) or windows_image: (Windows, per build)",
        );
    }
    let network_mode = network_mode(c, v);
    check_after(c, v, &scope.names);
    // Arguments are rendered before the container exists, so they cannot use container.ip;
    // health checks run after, so they can.
    let ctx = TemplateContext {
        cluster_name: scope.cluster_name,
        node: &scope.sample,
        roles: &scope.roles,
        container_ip: None,
    };
    for s in v.args.iter().chain(v.env.values()) {
        c.check_template(s, &ctx);
    }
    let ctx = TemplateContext {
        container_ip: Some("10.42.0.2"),
        ..ctx
    };
    let ports = check_ports(c, v, network_mode);
    check_binds(c, v);
    let health = v
        .health
        .as_ref()
        .and_then(|h| check_health(c, h, &ctx, network_mode));
    let restart = restart_policy(c, v);
    let hyperv = hyperv_isolation(c, v);
    check_windows_image_keys(c, comp);
    let service = v
        .service
        .as_ref()
        .and_then(|svc| check_service(c, scope.path, v, svc, &os, &scope.service_names, &ctx));
    let component = Component {
        name: name.to_string(),
        image: v.image.as_ref().map(|i| i.value.clone()),
        windows_image: v
            .windows_image
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect(),
        roles,
        os,
        network: network_mode,
        command: v.command.as_deref().map(super::values),
        entrypoint: v.entrypoint.as_deref().map(super::values),
        args: v.args.iter().map(|a| a.value.clone()).collect(),
        env: v
            .env
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect(),
        binds: v.binds.iter().map(|b| b.value.clone()).collect(),
        ports,
        after: order_after(v, &service),
        health,
        serial: v.serial,
        privileged: v.privileged,
        restart,
        hyperv,
        service,
    };
    check_has_windows_image(c, v, &component);
    check_env_names_for_windows(c, v, &component);
    check_duplicate_ports(c, v, &component);
    check_matches_a_node(c, v, &component, scope.nodes);
    component
}

/// Every value that reaches a host: images and URLs are single words; commands, arguments and
/// environment values may hold anything printable and tab (they are quoted where they go),
/// but no other control character.
fn check_component_text(c: &mut Checker, v: &RawComponent) {
    let who = format!("component {}", shown(&v.name.value));
    c.check_text_opt(&v.image, &format!("{who}: image"), Text::Word);
    for (build, image) in &v.windows_image {
        let what = format!("{who}: windows_image `{}`", shown(build));
        c.check_text(image, &what, Text::Word);
    }
    let lists = [
        ("command", v.command.as_deref().unwrap_or_default()),
        ("entrypoint", v.entrypoint.as_deref().unwrap_or_default()),
        ("argument", &v.args),
    ];
    for (what, list) in lists {
        for s in list {
            c.check_text(s, &format!("{who}: {what}"), Text::Free);
        }
    }
    for (key, value) in &v.env {
        let what = format!("{who}: env `{}`", shown(key));
        c.check_text(value, &what, Text::Free);
        let bad_key = key.is_empty()
            || key
                .chars()
                .any(|ch| ch == '=' || ch.is_whitespace() || ch.is_control());
        if bad_key {
            let place = c.key_place(value);
            let d = c.error_place(
                place,
                format!("{who}: env name `{}` is not a variable name", shown(key)),
            );
            set_help(d, "a name has no '=', spaces or control characters");
        }
    }
    for b in &v.binds {
        c.check_text(b, &format!("{who}: bind"), Text::Line);
    }
    if let Some(h) = &v.health {
        for s in [&h.value.http, &h.value.tcp].into_iter().flatten() {
            c.check_text(s, &format!("{who}: health check"), Text::Word);
        }
        for s in h.value.exec.iter().flatten() {
            c.check_text(s, &format!("{who}: health exec"), Text::Free);
        }
    }
    for s in v.service.iter().flat_map(|svc| &svc.value.args) {
        c.check_text(s, &format!("{who}: service argument"), Text::Free);
    }
}

/// A valid name, not used by an earlier component.
fn check_name<'a>(c: &mut Checker, v: &'a RawComponent, seen: &mut HashMap<&'a str, usize>) {
    let name = v.name.value.as_str();
    if !valid_name(name) {
        let d = c.error(
            &v.name,
            format!("component name `{name}` is not a valid name"),
        );
        set_help(
            d,
            "use lowercase letters, digits and '-', starting with a letter",
        );
    }
    if let Some(line) = seen.get(name) {
        c.error(
            &v.name,
            format!("duplicate component {name} (first defined on line {line})"),
        );
    } else {
        seen.insert(name, at(&v.name).0);
    }
}

fn component_roles(c: &mut Checker, v: &RawComponent) -> Vec<Role> {
    let mut roles = Vec::new();
    for r in &v.roles {
        match Role::parse(&r.value) {
            Some(role) => roles.push(role),
            None => {
                let d = c.error(r, format!("unknown role `{}`", r.value));
                set_help(d, "roles are: etcd, controlplane, worker");
            }
        }
    }
    roles
}

/// The written os, else what the component's images (or service) run on.
fn component_os(c: &mut Checker, v: &RawComponent) -> Vec<Os> {
    let mut os = Vec::new();
    for o in &v.os {
        match o.value.as_str() {
            "linux" => os.push(Os::Linux),
            "windows" => os.push(Os::Windows),
            other => {
                c.error(o, format!("os `{other}` is not one of: linux, windows"));
            }
        }
    }
    if os.is_empty() && v.service.is_some() {
        os.push(Os::Windows);
    }
    if os.is_empty() {
        if v.image.is_some() {
            os.push(Os::Linux);
        }
        if !v.windows_image.is_empty() {
            os.push(Os::Windows);
        }
    }
    os
}

fn network_mode(c: &mut Checker, v: &RawComponent) -> NetworkMode {
    match &v.network {
        None => NetworkMode::Pod,
        Some(s) => match s.value.as_str() {
            "host" => NetworkMode::Host,
            "pod" => NetworkMode::Pod,
            "none" => NetworkMode::None,
            other => {
                c.error(
                    s,
                    format!("network `{other}` is not one of: host, pod, none"),
                );
                NetworkMode::Pod
            }
        },
    }
}

/// Each `after:` entry names another component.
fn check_after(c: &mut Checker, v: &RawComponent, names: &HashSet<&str>) {
    let name = v.name.value.as_str();
    for a in &v.after {
        if a.value == name {
            c.error(a, format!("component {name} cannot come after itself"));
        } else if !names.contains(a.value.as_str()) {
            let d = c.error(
                a,
                format!(
                    "component {name} comes after `{}`, which is not a component",
                    a.value
                ),
            );
            set_help(d, format!("components are: {}", sorted_names(names)));
        }
    }
}

/// Each port is HOST:CONTAINER[/tcp|/udp], and only a pod-network component publishes any.
fn check_ports(c: &mut Checker, v: &RawComponent, network_mode: NetworkMode) -> Vec<PortMapping> {
    let mut ports = Vec::new();
    for p in &v.ports {
        match parse_port(&p.value) {
            Some(pm) => ports.push(pm),
            None => {
                let d = c.error(
                    p,
                    format!("port `{}` is not HOST:CONTAINER[/tcp|/udp]", p.value),
                );
                set_help(d, "for example \"8080:80/tcp\"");
            }
        }
    }
    if !ports.is_empty() && network_mode != NetworkMode::Pod {
        let name = &v.name.value;
        c.error(
            &v.ports[0],
            format!("component {name} publishes ports but its network is not pod"),
        );
    }
    ports
}

fn check_binds(c: &mut Checker, v: &RawComponent) {
    for b in &v.binds {
        let parts: Vec<&str> = b.value.split(':').collect();
        let ok = (2..=3).contains(&parts.len())
            && parts[..2].iter().all(|p| !p.is_empty())
            && parts
                .get(2)
                .is_none_or(|m| m.split(',').all(|o| matches!(o, "ro" | "rw" | "z" | "Z")));
        if !ok {
            let d = c.error(
                b,
                format!("bind `{}` is not HOST_PATH:CONTAINER_PATH[:ro]", b.value),
            );
            set_help(d, "for example \"/var/lib/web:/data\"");
        }
    }
}

fn restart_policy(c: &mut Checker, v: &RawComponent) -> String {
    match &v.restart {
        None => "unless-stopped".to_string(),
        Some(r)
            if matches!(
                r.value.as_str(),
                "no" | "always" | "unless-stopped" | "on-failure"
            ) =>
        {
            r.value.clone()
        }
        Some(r) => {
            c.error(
                r,
                format!(
                    "restart `{}` is not one of: no, always, unless-stopped, on-failure",
                    r.value
                ),
            );
            "unless-stopped".into()
        }
    }
}

/// Whether `isolation:` asks for Hyper-V.
fn hyperv_isolation(c: &mut Checker, v: &RawComponent) -> bool {
    match &v.isolation {
        None => false,
        Some(i) => match i.value.as_str() {
            "process" | "default" => false,
            "hyperv" => true,
            other => {
                c.error(
                    i,
                    format!("isolation `{other}` is not one of: process, hyperv"),
                );
                false
            }
        },
    }
}

/// Each windows_image key is a Windows build, reported at the key.
fn check_windows_image_keys(c: &mut Checker, comp: &S<RawComponent>) {
    let v = &comp.value;
    let name = v.name.value.as_str();
    for key in v.windows_image.keys() {
        if windows_build(key).is_none() {
            let place = c
                .key_path(comp, &["windows_image", key])
                .unwrap_or((at(&v.name), None));
            let d = c.error_place(
                place,
                format!("component {name}: windows_image key `{key}` is not a Windows build"),
            );
            set_help(
                d,
                "use a build number or name: 17763 or ltsc2019, 20348 or ltsc2022, 26100 or ltsc2025",
            );
        }
    }
}

/// `after:`, then the services it depends on: a service starts after them, so they come first
/// in the order.
fn order_after(v: &RawComponent, service: &Option<Service>) -> Vec<String> {
    let mut after: Vec<String> = v.after.iter().map(|a| a.value.clone()).collect();
    for d in service.iter().flat_map(|s| &s.depends_on) {
        if !after.contains(d) {
            after.push(d.clone());
        }
    }
    after
}

/// A container component that runs on Windows has an image for it.
fn check_has_windows_image(c: &mut Checker, v: &RawComponent, component: &Component) {
    if component.os.contains(&Os::Windows)
        && component.windows_image.is_empty()
        && v.service.is_none()
    {
        let name = &component.name;
        let d = c.error(
            &v.name,
            format!("component {name} runs on Windows but has no windows_image"),
        );
        set_help(
            d,
            "add windows_image: {\"20348\": image-for-ltsc2022, …}, or os: [linux]",
        );
    }
}

/// On Windows the environment reaches docker.exe through an env file (docker::cli), where a
/// line starting with `#` is a comment (Docker's env-file format): such a name would be lost.
fn check_env_names_for_windows(c: &mut Checker, v: &RawComponent, component: &Component) {
    if !component.os.contains(&Os::Windows) || v.service.is_some() {
        return;
    }
    let name = &component.name;
    for (key, value) in v.env.iter().filter(|(k, _)| k.starts_with('#')) {
        let place = c.key_place(value);
        let d = c.error_place(
            place,
            format!(
                "component {name}: env name `{}` cannot reach a Windows container: Docker's env file, which carries the environment there, reads a line starting with # as a comment",
                shown(key)
            ),
        );
        set_help(d, "rename the variable");
    }
}

fn check_duplicate_ports(c: &mut Checker, v: &RawComponent, component: &Component) {
    let mut seen_ports = HashSet::new();
    for (p, span) in component.ports.iter().zip(&v.ports) {
        if !seen_ports.insert((p.host, p.protocol.clone())) {
            c.error(
                span,
                format!("host port {}/{} is published twice", p.host, p.protocol),
            );
        }
    }
}

fn check_matches_a_node(c: &mut Checker, v: &RawComponent, component: &Component, nodes: &[Node]) {
    if !nodes.is_empty() && !component.os.is_empty() && !nodes.iter().any(|n| component.runs_on(n))
    {
        let name = &component.name;
        let d = c.error(&v.name, format!("component {name} matches no node"));
        set_help(
            d,
            "check its roles: and os: against the nodes' role: and os:",
        );
    }
}

fn sorted_names(names: &HashSet<&str>) -> String {
    let mut v: Vec<&str> = names.iter().copied().collect();
    v.sort_unstable();
    v.join(", ")
}

fn parse_port(s: &str) -> Option<PortMapping> {
    let (ports, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    if proto != "tcp" && proto != "udp" {
        return None;
    }
    let (h, ct) = ports.split_once(':')?;
    Some(PortMapping {
        host: h.parse().ok().filter(|p| *p > 0)?,
        container: ct.parse().ok().filter(|p| *p > 0)?,
        protocol: proto.into(),
    })
}

/// Report each dependency cycle once, at the component where it is first entered.
fn check_cycles(c: &mut Checker, raw: &RawConfig) {
    let deps: HashMap<&str, Vec<&str>> = raw
        .components
        .iter()
        .map(|x| {
            (
                x.value.name.value.as_str(),
                x.value
                    .after
                    .iter()
                    .chain(x.value.service.iter().flat_map(|s| &s.value.depends_on))
                    .map(|a| a.value.as_str())
                    .collect(),
            )
        })
        .collect();
    let mut done: HashSet<&str> = HashSet::new();
    for comp in &raw.components {
        let start = comp.value.name.value.as_str();
        let mut path = vec![start];
        if let Some(cycle) = find_cycle(&deps, &mut path, &mut done) {
            let d = c.error(
                &comp.value.name,
                format!("dependency cycle: {}", cycle.join(" → ")),
            );
            set_help(
                d,
                "remove one of the `after:` (or `depends_on:`) entries in the cycle",
            );
        }
    }
}

fn find_cycle<'a>(
    deps: &HashMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut HashSet<&'a str>,
) -> Option<Vec<&'a str>> {
    let cur = *path.last()?;
    if done.contains(cur) {
        return None;
    }
    // A component naming itself is reported on its own; it is not a cycle to trace.
    for next in deps.get(cur).into_iter().flatten().filter(|n| **n != cur) {
        if let Some(pos) = path.iter().position(|p| p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            for p in path.iter() {
                done.insert(p);
            }
            return Some(cycle);
        }
        path.push(next);
        if let Some(cycle) = find_cycle(deps, path, done) {
            return Some(cycle);
        }
        path.pop();
    }
    done.insert(cur);
    None
}
