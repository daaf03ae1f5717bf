//! `service:` of a component: a Windows service instead of a container. Its files are read
//! and hashed here, so a missing or unreadable file is a config error with its position, and
//! the hash `up` compares with the node's copy is the one of the file that was checked.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{set_help, Checker, Place, S};
use crate::config::model::{Os, Service, ServiceFile};
use crate::config::schema::{RawComponent, RawService};
use crate::config::template::TemplateContext;
use crate::settings::expand_tilde;

/// Characters Windows does not allow in a file name.
const NOT_IN_WINDOWS_NAMES: &[char] = &['<', '>', ':', '"', '/', '\\', '|', '?', '*'];

pub(super) fn check_service(
    c: &mut Checker,
    config_path: &Path,
    v: &RawComponent,
    svc: &S<RawService>,
    os: &[Os],
    service_names: &HashSet<&str>,
    ctx: &TemplateContext<'_>,
) -> Option<Service> {
    let name = v.name.value.as_str();
    let s = &svc.value;
    let mut ok = check_not_a_container(c, v, svc, os);
    ok &= check_container_keys(c, v, svc);
    let (binary, files, files_ok) = read_service_files(c, config_path, name, s);
    ok &= files_ok;
    let plain = TemplateContext {
        container_ip: None,
        ..ctx.clone()
    };
    for a in &s.args {
        if !c.check_template(a, &plain) {
            ok = false;
        }
    }
    let (depends_on, depends_ok) = check_depends_on(c, name, s, service_names);
    ok &= depends_ok;
    Some(Service {
        binary: binary?,
        files,
        args: s.args.iter().map(|a| a.value.clone()).collect(),
        depends_on,
    })
    .filter(|_| ok)
}

/// A key of the component (`ports:`), found from its service: entry.
fn comp_key(c: &Checker, svc: &S<RawService>, field: &str) -> Option<Place> {
    let outline = &c.outline;
    let comp = outline.nodes[outline.node_at(super::at(svc))?].parent?;
    let (k, _) = outline.child(comp, field)?;
    Some((k.at, Some(k.name.chars().count())))
}

/// A service component has no image: or windows_image:, and runs on Windows only. False when
/// it does not.
fn check_not_a_container(
    c: &mut Checker,
    v: &RawComponent,
    svc: &S<RawService>,
    os: &[Os],
) -> bool {
    let name = v.name.value.as_str();
    let mut ok = true;
    if let Some(image) = &v.image {
        let place = c.key_place(image);
        let d = c.error_place(
            place,
            format!("component {name} has both image: and service:"),
        );
        set_help(
            d,
            "a component is either a container (image:) or a Windows service (service:)",
        );
        ok = false;
    }
    if !v.windows_image.is_empty() {
        let place = comp_key(c, svc, "windows_image").unwrap_or_else(|| c.key_place(svc));
        let d = c.error_place(
            place,
            format!("component {name} has both windows_image: and service:"),
        );
        set_help(
            d,
            "a component is either a container (windows_image:) or a Windows service (service:)",
        );
        ok = false;
    }
    if os.contains(&Os::Linux) {
        let at =
            v.os.iter()
                .find(|o| o.value == "linux")
                .map_or_else(|| super::at(svc), super::at);
        let d = c.report_error(
            at,
            format!("component {name} is a Windows service but its os includes linux"),
        );
        set_help(
            d,
            "service components run on Windows nodes only: os: [windows], or leave os out",
        );
        ok = false;
    }
    ok
}

/// Container settings mean nothing to a Windows service: say so (at the key) rather than
/// ignore them. False when there are any.
fn check_container_keys(c: &mut Checker, v: &RawComponent, svc: &S<RawService>) -> bool {
    let name = v.name.value.as_str();
    let mut ok = true;
    let container_only: [(&str, Option<(usize, usize)>); 10] = [
        ("network", v.network.as_ref().map(super::at)),
        ("ports", v.ports.first().map(super::at)),
        ("binds", v.binds.first().map(super::at)),
        ("env", v.env.values().next().map(super::at)),
        ("args", v.args.first().map(super::at)),
        ("health", v.health.as_ref().map(super::at)),
        ("restart", v.restart.as_ref().map(super::at)),
        ("isolation", v.isolation.as_ref().map(super::at)),
        ("command", v.command.as_ref().map(|_| super::at(&v.name))),
        (
            "entrypoint",
            v.entrypoint.as_ref().map(|_| super::at(&v.name)),
        ),
    ];
    for (field, at) in container_only
        .into_iter()
        .filter_map(|(f, a)| Some((f, a?)))
    {
        let place = comp_key(c, svc, field).unwrap_or((at, None));
        let d = c.error_place(
            place,
            format!("component {name} is a Windows service: `{field}:` is for containers"),
        );
        set_help(
            d,
            if field == "args" {
                "put the service's arguments under service: args:"
            } else {
                "remove it; a service component is restarted by the service manager and is healthy once its service runs"
            },
        );
        ok = false;
    }
    ok
}

/// The binary and the other files, read and hashed, no two with the same name. The bool is
/// false when one of `files:` could not be used (a bad binary leaves it `None`).
fn read_service_files(
    c: &mut Checker,
    config_path: &Path,
    name: &str,
    s: &RawService,
) -> (Option<ServiceFile>, Vec<ServiceFile>, bool) {
    let base = config_path.parent().unwrap_or(Path::new("."));
    let mut names: Vec<(String, (usize, usize))> = Vec::new();
    let mut read = |c: &mut Checker, f: &S<String>| -> Option<ServiceFile> {
        let file = read_file(c, base, f)?;
        if let Some((_, (line, _))) = names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&file.name))
        {
            let d = c.error(
                f,
                format!(
                    "component {name}: a second file named {} (first on line {line})",
                    file.name
                ),
            );
            set_help(d, "files land side by side in the component's directory on the node: give them different names");
            return None;
        }
        names.push((file.name.clone(), super::at(f)));
        Some(file)
    };
    let binary = read(c, &s.binary);
    let mut files = Vec::new();
    let mut ok = true;
    for f in &s.files {
        match read(c, f) {
            Some(file) => files.push(file),
            None => ok = false,
        }
    }
    (binary, files, ok)
}

/// depends_on: other service components, each once. False when one is not.
fn check_depends_on(
    c: &mut Checker,
    name: &str,
    s: &RawService,
    service_names: &HashSet<&str>,
) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut depends_on = Vec::new();
    for d in &s.depends_on {
        let dep = d.value.as_str();
        if dep == name {
            c.error(d, format!("component {name} cannot depend on itself"));
            ok = false;
        } else if !service_names.contains(dep) {
            let diag = c.error(
                d,
                format!("component {name} depends on `{dep}`, which is not a service component"),
            );
            let mut known: Vec<&str> = service_names
                .iter()
                .copied()
                .filter(|n| *n != name)
                .collect();
            known.sort_unstable();
            set_help(
                diag,
                if known.is_empty() {
                    "depends_on names other components that have service:; order containers with after:".to_string()
                } else {
                    format!("service components are: {}", known.join(", "))
                },
            );
            ok = false;
        } else if !depends_on.iter().any(|x| x == dep) {
            depends_on.push(dep.to_string());
        }
    }
    (depends_on, ok)
}

/// Read and hash one file named in `service:`.
/// The largest file a service component uploads (it travels base64 inside a script).
const MAX_UPLOAD_BYTES: u64 = 64 * 1024 * 1024;

fn read_file(c: &mut Checker, base: &Path, f: &S<String>) -> Option<ServiceFile> {
    let expanded = expand_tilde(&f.value);
    let local: PathBuf = if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    };
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty() || name.contains(NOT_IN_WINDOWS_NAMES) || name.ends_with(['.', ' ']) {
        let d = c.error(
            f,
            format!("`{}` is not a file name Windows accepts", f.value),
        );
        set_help(
            d,
            "rename the file: no < > : \" / \\ | ? *, and no trailing dot or space",
        );
        return None;
    }
    // A device or FIFO (/dev/zero) would never end; a huge file would go base64 through a
    // script. Uploads are meant for service binaries and their configuration.
    match std::fs::metadata(&local) {
        Ok(m) if !m.is_file() => {
            let d = c.error(f, format!("{} is not a regular file", local.display()));
            set_help(d, "point binary/files at the file to upload");
            return None;
        }
        Ok(m) if m.len() > MAX_UPLOAD_BYTES => {
            let d = c.error(
                f,
                format!(
                    "{} is {} MiB; rwin uploads at most {} MiB per file",
                    local.display(),
                    m.len() / (1024 * 1024),
                    MAX_UPLOAD_BYTES / (1024 * 1024)
                ),
            );
            set_help(
                d,
                "ship large payloads in a container image or install them on the host beforehand",
            );
            return None;
        }
        _ => {}
    }
    let bytes = match std::fs::read(&local) {
        Ok(b) => b,
        Err(e) => {
            let d = c.error(f, format!("cannot read {}: {e}", local.display()));
            set_help(
                d,
                "paths are on this machine, relative to cluster.yml's directory",
            );
            return None;
        }
    };
    Some(ServiceFile {
        local,
        name,
        sha256: hex(&Sha256::digest(&bytes)),
        size: bytes.len() as u64,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
