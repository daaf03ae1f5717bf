//! Registry, Windows features, RRAS configuration, services, files and Start-Sleep.

use super::{is_wildcard, name_matches, need, partial, Fail};
use crate::ps::args::Bound;
use crate::ps::value::{Obj, Value};
use crate::ps::Interp;
use crate::state::Service;
use tree_sitter::Node;

/// `HKLM:\X` → `X`; other registry spellings are outside the subset.
fn hklm(path: &str) -> Option<&str> {
    path.strip_prefix(r"HKLM:\")
        .or_else(|| path.strip_prefix(r"hklm:\"))
        .map(|p| p.trim_end_matches('\\'))
}

fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Number(n) => n.as_i64().map(Value::Int).unwrap_or(Value::Null),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        _ => Value::Null,
    }
}

fn install_state(s: &str) -> Value {
    match s {
        "Installed" => Value::Enum("Installed", 1),
        "InstallPending" => Value::Enum("InstallPending", 2),
        _ => Value::Enum("Available", 0),
    }
}

fn status_enum(s: &str) -> Value {
    if s == "Running" {
        Value::Enum("Running", 4)
    } else {
        Value::Enum("Stopped", 1)
    }
}

fn start_enum(s: &str) -> Value {
    match s {
        "Automatic" => Value::Enum("Automatic", 2),
        "Disabled" => Value::Enum("Disabled", 4),
        _ => Value::Enum("Manual", 3),
    }
}

fn service_obj(s: &Service) -> Value {
    Obj::new("System.ServiceProcess.ServiceController")
        .with("Name", s.name.as_str())
        .with("DisplayName", s.name.as_str())
        .with("ServiceName", s.name.as_str())
        .with("Status", status_enum(&s.status))
        .with("StartType", start_enum(&s.start_type))
        .into()
}

fn not_found_service(name: &str) -> String {
    format!("Cannot find any service with service name '{name}'.")
}

fn effect(r: Result<(), String>) -> Result<(), Fail> {
    r.map_err(|e| Fail::Failed(format!("winsim effect failed: {e}")))
}

pub fn run(i: &mut Interp, name: &str, b: &Bound, at: Node) -> Result<Option<Vec<Value>>, Fail> {
    let state = &mut *i.ctx.state;
    let fx = i.ctx.fx;
    let out: Vec<Value> = match name {
        "Get-ItemProperty" | "Set-ItemProperty" | "Test-Path" => {
            let path = need(b, "Path", name)?;
            if name == "Test-Path" {
                let exists = match hklm(&path) {
                    Some(key) => state.reg_key_exists(key),
                    None => state.files.keys().any(|f| f.eq_ignore_ascii_case(&path)),
                };
                return Ok(Some(vec![Value::Bool(exists)]));
            }
            let Some(key) = hklm(&path) else {
                return Err(Fail::Flow(crate::ps::unsupported(
                    format!("registry path '{path}'"),
                    at,
                    i.line_base,
                )));
            };
            let missing = || {
                Fail::NotFound(format!(
                    "Cannot find path '{path}' because it does not exist."
                ))
            };
            if name == "Get-ItemProperty" {
                let values = state.reg_key(key).ok_or_else(missing)?;
                let mut obj = Obj::new("System.Management.Automation.PSCustomObject");
                let wanted = b.text("Name");
                for (k, v) in values {
                    if wanted.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(k)) {
                        obj.props.push((k.clone(), json_to_value(v)));
                    }
                }
                if let Some(w) = wanted {
                    if obj.props.is_empty() {
                        return Err(Fail::Failed(format!(
                            "Property {w} does not exist at path {path}."
                        )));
                    }
                }
                let child = key.rsplit('\\').next().unwrap_or(key);
                obj = obj
                    .with(
                        "PSPath",
                        format!(r"Microsoft.PowerShell.Core\Registry::HKEY_LOCAL_MACHINE\{key}"),
                    )
                    .with("PSChildName", child)
                    .with("PSDrive", "HKLM")
                    .with("PSProvider", r"Microsoft.PowerShell.Core\Registry");
                vec![obj.into()]
            } else {
                let value_name = need(b, "Name", name)?;
                let value = b.get("Value").cloned().unwrap_or(Value::Null);
                let json = match (&value, b.text("Type").as_deref()) {
                    (_, Some(t)) if t.eq_ignore_ascii_case("DWord") => {
                        serde_json::json!(value.to_int().map_err(Fail::Failed)?)
                    }
                    (Value::Int(n), None) => serde_json::json!(n),
                    (_, None) => serde_json::json!(value.to_text()),
                    (_, Some(t)) => {
                        return Err(Fail::Flow(crate::ps::unsupported(
                            format!("-Type {t}"),
                            at,
                            i.line_base,
                        )))
                    }
                };
                let real_key = state
                    .registry
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(key))
                    .cloned()
                    .ok_or_else(missing)?;
                // A registry write marks no reboot pending, not even IPEnableRouter's (Windows
                // sets no such key for it; the value just takes full effect at the next boot).
                state
                    .registry
                    .entry(real_key)
                    .or_default()
                    .insert(value_name, json);
                Vec::new()
            }
        }
        // Every feature some name matches (wildcards too); a name matching nothing is no
        // error, as on Windows (Get-WindowsFeature just returns nothing for it).
        "Get-WindowsFeature" => state
            .features
            .iter()
            .filter(|(k, _)| {
                let names = b.list("Name");
                names.is_empty() || names.iter().any(|n| name_matches(n, k))
            })
            .map(|(k, s)| {
                Obj::new("Microsoft.Windows.ServerManager.Commands.Feature")
                    .with("Name", k.as_str())
                    .with("DisplayName", k.as_str())
                    .with("Installed", s == "Installed")
                    .with("InstallState", install_state(s))
                    .into()
            })
            .collect(),
        "Install-WindowsFeature" => {
            let names = b.list("Name");
            if let Some(bad) = names
                .iter()
                .find(|n| !state.features.keys().any(|k| k.eq_ignore_ascii_case(n)))
            {
                return Err(Fail::Failed(format!(
                    "ArgumentNotValid: The role, role service, or feature name is not valid: '{bad}'. The name was not found."
                )));
            }
            let pending = state.feature_install_needs_reboot;
            let mut changed = false;
            for (k, s) in state.features.iter_mut() {
                if names.iter().any(|n| n.eq_ignore_ascii_case(k)) && s == "Available" {
                    *s = if pending {
                        "InstallPending"
                    } else {
                        "Installed"
                    }
                    .into();
                    changed = true;
                }
            }
            if changed && pending {
                state.reboot_pending.push("feature install".into());
            }
            let wants_ra = names.iter().any(|n| n.eq_ignore_ascii_case("RemoteAccess"));
            if wants_ra && state.service_mut("RemoteAccess").is_none() {
                state.services.push(Service {
                    name: "RemoteAccess".into(),
                    status: "Stopped".into(),
                    start_type: "Manual".into(),
                    bin_path: r"C:\Windows\System32\svchost.exe -k netsvcs".into(),
                    depend: Vec::new(),
                    failure_actions: None,
                });
            }
            let restart = if changed && pending { "Yes" } else { "No" };
            vec![
                Obj::new("Microsoft.Windows.ServerManager.Commands.FeatureOperationResult")
                    .with("Success", true)
                    .with(
                        "RestartNeeded",
                        Value::Enum(restart, i64::from(restart == "Yes")),
                    )
                    .with(
                        "ExitCode",
                        if changed {
                            if pending {
                                "SuccessRestartRequired"
                            } else {
                                "Success"
                            }
                        } else {
                            "NoChangeNeeded"
                        },
                    )
                    .into(),
            ]
        }
        "Uninstall-WindowsFeature" => {
            let names = b.list("Name");
            if let Some(bad) = names
                .iter()
                .find(|n| !state.features.keys().any(|k| k.eq_ignore_ascii_case(n)))
            {
                return Err(Fail::Failed(format!(
                    "ArgumentNotValid: The role, role service, or feature name is not valid: '{bad}'. The name was not found."
                )));
            }
            let mut changed = false;
            for (k, s) in state.features.iter_mut() {
                if names.iter().any(|n| n.eq_ignore_ascii_case(k)) && s != "Available" {
                    *s = "Available".into();
                    changed = true;
                }
            }
            // Removing a role completes at the next boot on Windows: a reboot is pending.
            if changed {
                state.reboot_pending.push("feature removal".into());
            }
            let restart = if changed { "Yes" } else { "No" };
            vec![
                Obj::new("Microsoft.Windows.ServerManager.Commands.FeatureOperationResult")
                    .with("Success", true)
                    .with("RestartNeeded", Value::Enum(restart, i64::from(changed)))
                    .with(
                        "ExitCode",
                        if changed {
                            "SuccessRestartRequired"
                        } else {
                            "NoChangeNeeded"
                        },
                    )
                    .into(),
            ]
        }
        "Install-RemoteAccess" => {
            let vpn = need(b, "VpnType", name)?;
            if !vpn.eq_ignore_ascii_case("RoutingOnly") {
                return Err(Fail::Flow(crate::ps::unsupported(
                    format!("-VpnType {vpn}"),
                    at,
                    i.line_base,
                )));
            }
            if state.features.get("RemoteAccess").map(String::as_str) != Some("Installed") {
                return Err(Fail::Failed(
                    "The RemoteAccess role is not installed.".into(),
                ));
            }
            if state.remote_access.is_some() {
                return Err(Fail::Failed("RoutingOnly is already installed.".into()));
            }
            state.remote_access = Some("RoutingOnly".into());
            if let Some(s) = state.service_mut("RemoteAccess") {
                s.status = "Running".into();
                s.start_type = "Automatic".into();
            }
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        "Uninstall-RemoteAccess" => {
            state.remote_access = None;
            if let Some(s) = state.service_mut("RemoteAccess") {
                s.status = "Stopped".into();
            }
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        "Get-RemoteAccess" => {
            let routing = if state.remote_access.is_some() {
                "Installed"
            } else {
                "Uninstalled"
            };
            vec![
                Obj::new("Microsoft.Management.Infrastructure.CimInstance#RemoteAccess")
                    .with("VpnStatus", "Uninstalled")
                    .with("RoutingStatus", routing)
                    .with("DAStatus", "Uninstalled")
                    .into(),
            ]
        }
        "Get-Service" => {
            // Every service some name matches, once each, in the order of the names; a literal
            // name matching nothing is a non-terminating error, a wildcard none at all.
            let mut found: Vec<&Service> = Vec::new();
            let mut errors = Vec::new();
            for n in b.list("Name") {
                let matches: Vec<&Service> = state
                    .services
                    .iter()
                    .filter(|s| name_matches(&n, &s.name))
                    .collect();
                if matches.is_empty() && !is_wildcard(&n) {
                    errors.push(not_found_service(&n));
                }
                for s in matches {
                    if !found.iter().any(|f| f.name == s.name) {
                        found.push(s);
                    }
                }
            }
            let out = found.into_iter().map(service_obj).collect();
            return partial(out, errors).map(Some);
        }
        "Set-Service" | "Start-Service" | "Stop-Service" => {
            let n = need(b, "Name", name)?;
            let s = state
                .service_mut(&n)
                .ok_or_else(|| Fail::NotFound(not_found_service(&n)))?;
            match name {
                "Set-Service" => {
                    let t = need(b, "StartupType", name)?;
                    let canon = ["Automatic", "Manual", "Disabled"].into_iter().find(|c| c.eq_ignore_ascii_case(&t));
                    s.start_type = canon
                        .ok_or_else(|| Fail::Failed(format!("Cannot bind parameter 'StartupType': '{t}' is not a valid value.")))?
                        .into();
                }
                "Start-Service" if s.start_type == "Disabled" => {
                    return Err(Fail::Failed(format!(
                        "Service '{n} ({n})' cannot be started due to the following error: Cannot start service {n} on computer '.'."
                    )))
                }
                "Start-Service" => s.status = "Running".into(),
                _ => s.status = "Stopped".into(),
            }
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        "Start-Sleep" => {
            let ms = b.int("Milliseconds")?.unwrap_or(0) + b.int("Seconds")?.unwrap_or(0) * 1000;
            std::thread::sleep(std::time::Duration::from_millis(ms.clamp(0, 60_000) as u64));
            Vec::new()
        }
        "Get-FileHash" => {
            let path = need(b, "Path", name)?;
            let algo = b.text("Algorithm").unwrap_or_else(|| "SHA256".into());
            if !algo.eq_ignore_ascii_case("SHA256") {
                return Err(Fail::Flow(crate::ps::unsupported(
                    format!("-Algorithm {algo}"),
                    at,
                    i.line_base,
                )));
            }
            let entry = state
                .files
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&path));
            match entry {
                Some((_, f)) if !f.directory => {
                    vec![Obj::new("Microsoft.Powershell.Utility.FileHash")
                        .with("Algorithm", "SHA256")
                        .with(
                            "Hash",
                            f.sha256.clone().unwrap_or_default().to_ascii_uppercase(),
                        )
                        .with("Path", path.as_str())
                        .into()]
                }
                _ => {
                    return Err(Fail::NotFound(format!(
                        "Cannot find path '{path}' because it does not exist."
                    )))
                }
            }
        }
        "New-Item" => {
            let path = need(b, "Path", name)?;
            let kind = b.text("ItemType").unwrap_or_default();
            if !kind.eq_ignore_ascii_case("Directory") {
                return Err(Fail::Flow(crate::ps::unsupported(
                    format!("New-Item -ItemType '{kind}'"),
                    at,
                    i.line_base,
                )));
            }
            let exists = state.files.keys().any(|k| k.eq_ignore_ascii_case(&path));
            if exists && !b.switch("Force") {
                return Err(Fail::Failed(format!(
                    "An item with the specified name {path} already exists."
                )));
            }
            if !exists {
                state.files.insert(
                    path.clone(),
                    crate::state::FileEntry {
                        directory: true,
                        sha256: None,
                    },
                );
            }
            let leaf = path.rsplit('\\').next().unwrap_or(&path).to_string();
            vec![Obj::new("System.IO.DirectoryInfo")
                .with("Name", leaf)
                .with("FullName", path)
                .into()]
        }
        "Remove-Item" => {
            let path = need(b, "Path", name)?;
            let lower = path.to_ascii_lowercase();
            let prefix = format!("{}\\", lower.trim_end_matches('\\'));
            let before = state.files.len();
            let recurse = b.switch("Recurse");
            state.files.retain(|k, _| {
                let k = k.to_ascii_lowercase();
                k != lower && !(recurse && k.starts_with(&prefix))
            });
            if before == state.files.len() {
                return Err(Fail::NotFound(format!(
                    "Cannot find path '{path}' because it does not exist."
                )));
            }
            Vec::new()
        }
        _ => return Ok(None),
    };
    Ok(Some(out))
}
