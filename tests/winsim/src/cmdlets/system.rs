//! Registry, Windows features, RRAS configuration, services, files, Win32_OperatingSystem and
//! Start-Sleep.

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
            let path = super::path(b, name)?;
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
                    delete_pending: false,
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
                state.rras_started();
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
        "Start-Service" => {
            let n = need(b, "Name", name)?;
            start_service(state, &n)?;
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        "Stop-Service" => {
            let n = need(b, "Name", name)?;
            stop_service(state, &n, b.switch("Force"))?;
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        // A stop, then a start ("If a service was already stopped, it is started without
        // notifying you of an error"; -Force "Restarts a service that has dependent
        // services": without it, Stop-Service's refusal). Restart-Service docs, 5.1.
        "Restart-Service" => {
            let n = need(b, "Name", name)?;
            if state.service(&n).is_some_and(|s| s.status == "Running") {
                stop_service(state, &n, b.switch("Force"))?;
            }
            start_service(state, &n)?;
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        "Set-Service" => {
            let n = need(b, "Name", name)?;
            let s = state
                .service_mut(&n)
                .ok_or_else(|| Fail::NotFound(not_found_service(&n)))?;
            let t = need(b, "StartupType", name)?;
            let canon = ["Automatic", "Manual", "Disabled"]
                .into_iter()
                .find(|c| c.eq_ignore_ascii_case(&t));
            s.start_type = canon
                .ok_or_else(|| {
                    Fail::Failed(format!(
                        "Cannot bind parameter 'StartupType': '{t}' is not a valid value."
                    ))
                })?
                .into();
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        // Win32_OperatingSystem, the only class in the subset: LastBootUpTime is when the host
        // last booted (cmdlets/reboot.rs). Windows returns a DateTime; winsim returns the text
        // `[string]` makes of one (invariant culture, `MM/dd/yyyy HH:mm:ss`), so scripts must
        // cast it [unverified: that rendering; rwin only compares two of them].
        // https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem
        "Get-CimInstance" => {
            let class = need(b, "ClassName", name)?;
            if !class.eq_ignore_ascii_case("Win32_OperatingSystem") {
                return Err(Fail::Flow(crate::ps::unsupported(
                    format!("Get-CimInstance -ClassName {class}"),
                    at,
                    i.line_base,
                )));
            }
            let cv = state.reg_key(crate::state::CURRENT_VERSION);
            let text = |k: &str| {
                cv.and_then(|v| v.get(k))
                    .map(|v| json_to_value(v).to_text())
                    .unwrap_or_default()
            };
            let build = text("CurrentBuildNumber");
            let all = [
                ("Caption", format!("Microsoft {}", text("ProductName"))),
                ("Version", format!("10.0.{build}")),
                ("BuildNumber", build.clone()),
                ("LastBootUpTime", invariant_date_time(state.last_boot_ms)),
            ];
            // -Property: "Other properties of the class are present but they are not populated."
            let wanted = b.list("Property");
            let mut obj = Obj::new(
                "Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_OperatingSystem",
            );
            for (k, v) in all {
                if wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(k)) {
                    obj.props.push((k.to_string(), Value::Str(v)));
                } else {
                    obj.props.push((k.to_string(), Value::Null));
                }
            }
            vec![obj.into()]
        }
        "Start-Sleep" => {
            let ms = b.int("Milliseconds")?.unwrap_or(0) + b.int("Seconds")?.unwrap_or(0) * 1000;
            std::thread::sleep(std::time::Duration::from_millis(ms.clamp(0, 60_000) as u64));
            Vec::new()
        }
        "Set-Content" => {
            let path = super::path(b, name)?;
            let encoding = b.text("Encoding").unwrap_or_default();
            let items = b.get("Value").cloned().unwrap_or(Value::Null).into_items();
            let mut bytes = Vec::new();
            let mut content = None;
            if encoding.eq_ignore_ascii_case("Byte") {
                for v in items {
                    let n = v.to_int().map_err(Fail::Failed)?;
                    let byte = u8::try_from(n).map_err(|_| {
                        Fail::Failed(format!(
                            "Cannot convert value \"{n}\" to type \"System.Byte\". Value was either too large or too small for an unsigned byte."
                        ))
                    })?;
                    bytes.push(byte);
                }
            } else if encoding.eq_ignore_ascii_case("UTF8") {
                // Windows PowerShell writes a BOM with every Unicode encoding but UTF7
                // (about_Character_Encoding), and each value's text followed by a newline,
                // CRLF on Windows (Set-Content: `-NoNewline` is what leaves it out).
                let mut text = String::from('\u{feff}');
                for v in items {
                    text.push_str(&v.to_text());
                    text.push_str("\r\n");
                }
                bytes = text.as_bytes().to_vec();
                content = Some(text);
            } else {
                return Err(Fail::Flow(crate::ps::unsupported(
                    format!("Set-Content -Encoding '{encoding}' (the subset writes Byte and UTF8)"),
                    at,
                    i.line_base,
                )));
            }
            let parent = path.rsplit_once('\\').map(|(p, _)| p).unwrap_or("");
            let parent_is_dir = state
                .files
                .iter()
                .any(|(k, f)| f.directory && k.eq_ignore_ascii_case(parent));
            if !parent_is_dir {
                return Err(Fail::NotFound(format!(
                    "Could not find a part of the path '{path}'."
                )));
            }
            if let Some((_, f)) = state
                .files
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&path))
            {
                if f.directory {
                    return Err(Fail::Failed(format!(
                        "Access to the path '{path}' is denied."
                    )));
                }
            }
            let key = state
                .files
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&path))
                .cloned()
                .unwrap_or(path);
            state.files.insert(
                key,
                crate::state::FileEntry {
                    directory: false,
                    sha256: Some(sha256_hex(&bytes)),
                    size: Some(bytes.len() as u64),
                    calls_scm: names_scm_entry(&bytes),
                    content,
                },
            );
            Vec::new()
        }
        "Get-FileHash" => {
            let algo = b.text("Algorithm").unwrap_or_else(|| "SHA256".into());
            if !algo.eq_ignore_ascii_case("SHA256") {
                return Err(Fail::Flow(crate::ps::unsupported(
                    format!("-Algorithm {algo}"),
                    at,
                    i.line_base,
                )));
            }
            let mut paths = b.list("LiteralPath");
            if paths.is_empty() {
                paths = b.list("Path");
            }
            if paths.is_empty() {
                need(b, "Path", name)?;
            }
            let mut out = Vec::new();
            let mut errors = Vec::new();
            for path in paths {
                let entry = state
                    .files
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&path));
                match entry {
                    Some((k, f)) if !f.directory => out.push(
                        Obj::new("Microsoft.Powershell.Utility.FileHash")
                            .with("Algorithm", "SHA256")
                            .with(
                                "Hash",
                                f.sha256.clone().unwrap_or_default().to_ascii_uppercase(),
                            )
                            .with("Path", k.as_str())
                            .into(),
                    ),
                    _ => errors.push(format!(
                        "Cannot find path '{path}' because it does not exist."
                    )),
                }
            }
            return partial(out, errors).map(Some);
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
            if exists
                && !state
                    .files
                    .iter()
                    .any(|(k, f)| f.directory && k.eq_ignore_ascii_case(&path))
            {
                return Err(Fail::Failed(format!(
                    "An item with the specified name {path} already exists."
                )));
            }
            // Like Windows, the directories on the way are created too (not the drive root).
            let mut at_len = 0;
            for (n, part) in path.split('\\').enumerate() {
                at_len += part.len() + usize::from(n > 0);
                if n == 0 {
                    continue;
                }
                let dir = &path[..at_len];
                if !state.files.keys().any(|k| k.eq_ignore_ascii_case(dir)) {
                    state.files.insert(
                        dir.to_string(),
                        crate::state::FileEntry {
                            directory: true,
                            sha256: None,
                            size: None,
                            calls_scm: false,
                            content: None,
                        },
                    );
                }
            }
            let leaf = path.rsplit('\\').next().unwrap_or(&path).to_string();
            vec![Obj::new("System.IO.DirectoryInfo")
                .with("Name", leaf)
                .with("FullName", path)
                .into()]
        }
        "Remove-Item" => {
            let path = super::path(b, name)?;
            let lower = path.to_ascii_lowercase();
            let prefix = format!("{}\\", lower.trim_end_matches('\\'));
            let before = state.files.len();
            let recurse = b.switch("Recurse");
            let has_children = state
                .files
                .keys()
                .any(|k| k.to_ascii_lowercase().starts_with(&prefix));
            if has_children && !recurse {
                return Err(Fail::Failed(format!(
                    "The item at {path} has children and the Recurse parameter was not specified."
                )));
            }
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

/// `ms` since the Unix epoch as `[string]` renders a DateTime: `MM/dd/yyyy HH:mm:ss` (UTC).
fn invariant_date_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{month:02}/{day:02}/{year:04} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a program's bytes name `StartServiceCtrlDispatcher` (the ANSI or wide export): a
/// service process must call it to connect to the service manager (Microsoft's
/// StartServiceCtrlDispatcher and Service Main Function pages). A native service imports it
/// by that name from advapi32.dll, and Go's golang.org/x/sys/windows/svc loads it by name, so
/// the name is in the file. winsim decides "is a service" by it; test files carry the name.
/// (A .NET service calls it from the framework's System.ServiceProcess, not from its own
/// file: winsim would call such a program no service.)
fn names_scm_entry(bytes: &[u8]) -> bool {
    const NAME: &[u8] = b"StartServiceCtrlDispatcher";
    bytes.windows(NAME.len()).any(|w| w == NAME)
}

/// Why the service manager did not start a service: a Win32 error (System Error Codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StartError {
    pub code: u32,
    pub text: &'static str,
}

impl StartError {
    pub const REQUEST_TIMEOUT: StartError = StartError {
        code: 1053,
        text: "The service did not respond to the start or control request in a timely fashion.",
    };
    pub const ALREADY_RUNNING: StartError = StartError {
        code: 1056,
        text: "An instance of the service is already running.",
    };
    pub const DISABLED: StartError = StartError {
        code: 1058,
        text: "The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.",
    };
    pub const DOES_NOT_EXIST: StartError = StartError {
        code: 1060,
        text: "The specified service does not exist as an installed service.",
    };
    pub const DEPENDENCY_FAIL: StartError = StartError {
        code: 1068,
        text: "The dependency service or group failed to start.",
    };
    pub const MARKED_FOR_DELETE: StartError = StartError {
        code: 1072,
        text: "The specified service has been marked for deletion.",
    };
    pub const DEPENDENCY_DELETED: StartError = StartError {
        code: 1075,
        text: "The dependency service does not exist or has been marked for deletion.",
    };
}

/// The service manager's StartService, for Start-Service and `sc.exe start`: the services it
/// depends on are started first (one that fails makes it fail with 1068); a disabled service
/// or one marked for deletion does not start. No process runs: `Running` is bookkeeping. A
/// service whose binary is a file winsim holds must be a service program (`calls_scm`):
/// otherwise the service manager waits ServicesPipeTimeout (30 s by default) for it to
/// connect and gives up with 1053 — winsim answers at once, the wait is not simulated. A
/// binary winsim does not hold (the built-in services' own) counts as a service.
pub(crate) fn scm_start(
    state: &mut crate::state::WinState,
    n: &str,
    seen: &mut Vec<String>,
) -> Result<(), StartError> {
    let s = state.service(n).ok_or(StartError::DOES_NOT_EXIST)?.clone();
    if s.delete_pending {
        return Err(StartError::MARKED_FOR_DELETE);
    }
    if s.start_type == "Disabled" {
        return Err(StartError::DISABLED);
    }
    if s.status == "Running" {
        return Err(StartError::ALREADY_RUNNING);
    }
    if seen.iter().any(|x| x.eq_ignore_ascii_case(&s.name)) {
        return Ok(());
    }
    seen.push(s.name.clone());
    for d in &s.depend {
        match state.service(d) {
            None => return Err(StartError::DEPENDENCY_DELETED),
            Some(x) if x.delete_pending => return Err(StartError::DEPENDENCY_DELETED),
            Some(_) => {}
        }
        match scm_start(state, d, seen) {
            Ok(()) | Err(StartError::ALREADY_RUNNING) => {}
            Err(_) => return Err(StartError::DEPENDENCY_FAIL),
        }
    }
    let program = program_path(&s.bin_path);
    let held = state
        .files
        .iter()
        .find(|(k, f)| !f.directory && k.eq_ignore_ascii_case(&program));
    if let Some((_, f)) = held {
        if !f.calls_scm {
            return Err(StartError::REQUEST_TIMEOUT);
        }
    }
    if let Some(s) = state.service_mut(n) {
        s.status = "Running".into();
    }
    if s.name.eq_ignore_ascii_case("RemoteAccess") {
        state.rras_started();
    }
    Ok(())
}

/// The program of a service command line (`BINARY_PATH_NAME`): the first argument as the C
/// runtime splits it (a quoted path may hold spaces).
fn program_path(bin_path: &str) -> String {
    let t = bin_path.trim_start();
    match t.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or_default().to_string(),
        None => t.split_whitespace().next().unwrap_or_default().to_string(),
    }
}

/// Stop-Service: refused while services that depend on it run, unless -Force, which stops
/// them too. A service marked for deletion goes once stopped.
fn stop_service(state: &mut crate::state::WinState, n: &str, force: bool) -> Result<(), Fail> {
    let name = state
        .service_mut(n)
        .ok_or_else(|| Fail::NotFound(not_found_service(n)))?
        .name
        .clone();
    let dependents: Vec<String> = state
        .services
        .iter()
        .filter(|s| s.status == "Running" && s.depend.iter().any(|d| d.eq_ignore_ascii_case(&name)))
        .map(|s| s.name.clone())
        .collect();
    if !dependents.is_empty() && !force {
        return Err(Fail::Failed(format!(
            "Cannot stop service '{name} ({name})' because it has dependent services. It can only be stopped if the Force flag is set."
        )));
    }
    for d in dependents {
        stop_service(state, &d, true)?;
    }
    if let Some(s) = state.service_mut(&name) {
        s.status = "Stopped".into();
    }
    state
        .services
        .retain(|s| !(s.delete_pending && s.status == "Stopped"));
    Ok(())
}

/// Start-Service's (and Restart-Service's) start of `n`, as PowerShell reports its failures.
fn start_service(state: &mut crate::state::WinState, n: &str) -> Result<(), Fail> {
    match scm_start(state, n, &mut Vec::new()) {
        // ServiceController.Start's ERROR_SERVICE_ALREADY_RUNNING is no error here.
        Ok(()) | Err(StartError::ALREADY_RUNNING) => Ok(()),
        Err(StartError::DOES_NOT_EXIST) => Err(Fail::NotFound(not_found_service(n))),
        // PowerShell reports the InvalidOperationException ServiceController.Start throws,
        // whose message does not carry the Win32 error (only its inner exception does):
        // `CouldNotStartService` around .NET's `CannotStart`.
        Err(_) => {
            let real = state.service(n).map_or(n.to_string(), |s| s.name.clone());
            Err(Fail::Failed(format!(
                "Service '{real} ({real})' cannot be started due to the following error: Cannot start service {real} on computer '.'."
            )))
        }
    }
}
