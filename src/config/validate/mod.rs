//! Load cluster.yml and check it. YAML syntax, unknown fields and wrong types stop parsing at
//! the first one (serde's model); every semantic problem after that is collected, so one run of
//! `rwin validate` lists all of them, each at its `file:line:column`.
//!
//! The checks are split by concern: `network` (network:), `registry` (private_registries:),
//! `nodes` (nodes:, with `winrm` for a Windows node's connection), `components` (components:,
//! with `health` and `service`); `place` finds places a value's span does not give.

use std::net::Ipv4Addr;
use std::path::Path;

use super::diag::{Diagnostic, Report};
use super::model::*;
use super::outline::Outline;
use super::schema::*;
use crate::secret::Secret;
use crate::settings::expand_tilde;

mod components;
mod health;
mod network;
mod nodes;
mod place;
mod registry;
mod service;
mod text;
mod winrm;
use components::check_components;
use network::{check_engine_none, check_network};
use nodes::check_nodes;
use place::Place;
use registry::check_registries;
use text::Text;

/// Where a spanned value sits: (line, column).
fn at<T>(s: &S<T>) -> (usize, usize) {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}

struct Checker {
    report: Report,
    /// The file's structure, for places a `Spanned` value does not give: keys, and
    /// expressions inside strings.
    outline: Outline,
}

impl Checker {
    fn error<T>(&mut self, s: &S<T>, msg: impl Into<String>) -> &mut Diagnostic {
        let (l, c) = at(s);
        let i = self.report.diagnostics.len();
        self.report.push(Diagnostic::error(l, c, msg));
        &mut self.report.diagnostics[i]
    }

    fn report_error(&mut self, (l, c): (usize, usize), msg: impl Into<String>) -> &mut Diagnostic {
        let i = self.report.diagnostics.len();
        self.report.push(Diagnostic::error(l, c, msg));
        &mut self.report.diagnostics[i]
    }

    fn warn<T>(&mut self, s: &S<T>, msg: impl Into<String>) -> &mut Diagnostic {
        let (l, c) = at(s);
        let i = self.report.diagnostics.len();
        self.report.push(Diagnostic::warning(l, c, msg));
        &mut self.report.diagnostics[i]
    }
}

fn set_help(d: &mut Diagnostic, help: impl Into<String>) {
    d.help = Some(help.into());
}

/// Read, parse and check `path`. `Ok` carries the config and any warnings; `Err` the report
/// with at least one error.
pub fn load(path: &Path) -> Result<(Config, Report), Report> {
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(err) => {
            let mut r = Report::new(path, String::new());
            r.push(
                Diagnostic::error(0, 0, format!("cannot read {}: {err}", path.display())).help(
                    "pass the path of your cluster description, e.g. `rwin up ./cluster.yml`",
                ),
            );
            return Err(r);
        }
    };
    load_str(path, source)
}

/// Parse and check config text that came from `path`.
pub fn load_str(path: &Path, source: String) -> Result<(Config, Report), Report> {
    let raw: RawConfig = match serde_saphyr::from_str(&source) {
        Ok(raw) => raw,
        Err(err) => {
            let mut r = Report::new(path, source.clone());
            r.push(super::parse_error::diagnostic(&err, &source));
            return Err(r);
        }
    };
    let outline = Outline::parse(&source).unwrap_or_default();
    let mut c = Checker {
        report: Report::new(path, source),
        outline,
    };
    let config = check(&mut c, path, raw);
    if c.report.has_errors() {
        Err(c.report)
    } else {
        match config {
            Some(cfg) => Ok((cfg, c.report)),
            None => Err(c.report),
        }
    }
}

/// Every check, in the order their diagnostics are reported: cluster_name, network:, the
/// passphrase, registries, nodes:, components:, then what container_engine: none rules out.
fn check(c: &mut Checker, path: &Path, raw: RawConfig) -> Option<Config> {
    let cluster_name = match &raw.cluster_name {
        Some(n) if valid_name(&n.value) => n.value.clone(),
        Some(n) => {
            let d = c.error(n, format!("cluster_name `{}` is not a valid name", n.value));
            set_help(d, "use lowercase letters, digits and '-', starting with a letter (it goes into container labels)");
            "invalid".into()
        }
        None => "rwin".into(),
    };

    let network = check_network(c, raw.network.as_ref());
    let passphrase = raw
        .ssh_key_passphrase_env
        .as_ref()
        .and_then(|e| secret_from_env(c, e, "ssh_key_passphrase_env"));
    let registries = check_registries(c, &raw.private_registries);
    if let Some(b) = &raw.bastion_host {
        c.check_host(&b.value.address, "bastion_host address");
        if b.value.port == Some(0) {
            let d = c.error(&b.value.address, "bastion_host has port 0");
            set_help(d, "give the bastion's SSH port (22 when left out)");
        }
        c.check_text_opt(&b.value.user, "bastion_host user", Text::Line);
    }
    let bastion = raw.bastion_host.as_ref().map(|b| Bastion {
        address: b.value.address.value.clone(),
        port: b.value.port.unwrap_or(22),
        user: b
            .value
            .user
            .as_ref()
            .map_or_else(|| "root".into(), |u| u.value.clone()),
        key_path: b
            .value
            .ssh_key_path
            .as_ref()
            .or(raw.ssh_key_path.as_ref())
            .map(|k| expand_tilde(&k.value)),
    });

    let nodes = check_nodes(c, &raw, &network);
    let components = check_components(c, path, &raw, &nodes, &network, &cluster_name);
    check_engine_none(c, &raw, &nodes);

    Some(Config {
        path: path.to_path_buf(),
        cluster_name,
        ssh_key_passphrase: passphrase,
        default_key_path: raw.ssh_key_path.as_ref().map(|k| expand_tilde(&k.value)),
        default_agent_auth: raw.ssh_agent_auth,
        bastion,
        network: network?,
        registries,
        nodes,
        components,
    })
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn secret_from_env(c: &mut Checker, var: &S<String>, field: &str) -> Option<Secret> {
    match std::env::var(&var.value) {
        Ok(v) if !v.is_empty() => Some(Secret::new(v)),
        _ => {
            let d = c.error(
                var,
                format!(
                    "{field} names the environment variable {} but it is not set",
                    var.value
                ),
            );
            set_help(d, format!("export {}=… before running rwin", var.value));
            None
        }
    }
}

fn parse_v4(c: &mut Checker, s: &S<String>, what: &str) -> Option<Ipv4Addr> {
    match s.value.parse::<Ipv4Addr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            c.error(s, format!("{what} `{}` is not an IPv4 address", s.value));
            None
        }
    }
}
/// The values of a list of located strings.
fn values(v: &[S<String>]) -> Vec<String> {
    v.iter().map(|s| s.value.clone()).collect()
}
