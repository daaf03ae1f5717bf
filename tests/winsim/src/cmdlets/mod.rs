//! The host cmdlets of README.md's table: their parameters (anything else is refused) and the
//! objects they return, with Windows' property names and enum types.

mod firewall;
mod net;
pub mod reboot;
pub(crate) mod system;

use crate::ps::args::{Bound, Kind, Spec};
use crate::ps::value::Value;
use crate::ps::{Flow, Interp};
use tree_sitter::Node;

/// How a cmdlet failed: ErrorAction decides whether NotFound and Failed stop the script.
#[derive(Debug)]
pub enum Fail {
    NotFound(String),
    Failed(String),
    /// Some of the cmdlet's inputs (e.g. one of several `-Name`s) failed with non-terminating
    /// errors while the others produced output: the output is kept, and ErrorAction decides
    /// what the errors do (SilentlyContinue drops them, Continue writes them to stderr, Stop
    /// turns the first into a terminating error).
    Partial(Vec<Value>, Vec<String>),
    /// A statement-terminating error: a parameter binding error (ParameterBindingException,
    /// e.g. a value outside a parameter's accepted set) or a cmdlet's ThrowTerminatingError.
    /// `-ErrorAction` cannot change it, `$ErrorActionPreference` can (about_Error_Handling).
    Terminating(String),
    Flow(Flow),
}

/// Turns output plus per-input errors into a cmdlet result.
pub fn partial(out: Vec<Value>, errors: Vec<String>) -> CmdResult {
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Fail::Partial(out, errors))
    }
}

/// True when a `-Name` value is a wildcard pattern (`*`, `?`; winsim does not model `[…]`):
/// such a name matching nothing is no error.
pub fn is_wildcard(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Matches a `-Name` value against a name: wildcard pattern or, otherwise, case-insensitive
/// equality.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if is_wildcard(pattern) {
        crate::ps::value::like(name, pattern)
    } else {
        pattern.eq_ignore_ascii_case(name)
    }
}

impl From<Flow> for Fail {
    fn from(f: Flow) -> Fail {
        Fail::Flow(f)
    }
}

pub type CmdResult = Result<Vec<Value>, Fail>;

use Kind::{Switch as S, Value as V};

const SPECS: &[Spec] = &[
    Spec {
        name: "Get-ItemProperty",
        params: &[("Path", V), ("Name", V)],
        positional: &["Path", "Name"],
    },
    Spec {
        name: "Set-ItemProperty",
        params: &[("Path", V), ("Name", V), ("Value", V), ("Type", V)],
        positional: &["Path", "Name", "Value"],
    },
    Spec {
        name: "Test-Path",
        params: &[("Path", V), ("LiteralPath", V)],
        positional: &["Path"],
    },
    Spec {
        name: "Get-WindowsFeature",
        params: &[("Name", V)],
        positional: &["Name"],
    },
    Spec {
        name: "Install-WindowsFeature",
        params: &[("Name", V), ("IncludeManagementTools", S)],
        positional: &["Name"],
    },
    Spec {
        name: "Uninstall-WindowsFeature",
        params: &[("Name", V)],
        positional: &["Name"],
    },
    Spec {
        name: "Install-RemoteAccess",
        params: &[("VpnType", V)],
        positional: &[],
    },
    Spec {
        name: "Get-RemoteAccess",
        params: &[],
        positional: &[],
    },
    Spec {
        name: "Uninstall-RemoteAccess",
        params: &[("Force", S)],
        positional: &[],
    },
    Spec {
        name: "Get-Service",
        params: &[("Name", V)],
        positional: &["Name"],
    },
    Spec {
        name: "Set-Service",
        params: &[("Name", V), ("StartupType", V)],
        positional: &["Name"],
    },
    Spec {
        name: "Start-Service",
        params: &[("Name", V)],
        positional: &["Name"],
    },
    Spec {
        name: "Stop-Service",
        params: &[("Name", V), ("Force", S)],
        positional: &["Name"],
    },
    Spec {
        name: "Restart-Service",
        params: &[("Name", V), ("Force", S)],
        positional: &["Name"],
    },
    Spec {
        name: "Get-DnsClientServerAddress",
        params: &[("AddressFamily", V)],
        positional: &[],
    },
    Spec {
        name: "Get-NetAdapter",
        params: &[],
        positional: &[],
    },
    Spec {
        name: "Get-NetIPAddress",
        params: &[
            ("AddressFamily", V),
            ("InterfaceIndex", V),
            ("IPAddress", V),
        ],
        positional: &[],
    },
    Spec {
        name: "New-NetIPAddress",
        params: &[("InterfaceIndex", V), ("IPAddress", V), ("PrefixLength", V)],
        positional: &[],
    },
    Spec {
        name: "Remove-NetIPAddress",
        params: &[
            ("IPAddress", V),
            ("InterfaceIndex", V),
            ("AddressFamily", V),
        ],
        positional: &[],
    },
    Spec {
        name: "Get-NetIPInterface",
        params: &[("AddressFamily", V), ("InterfaceIndex", V)],
        positional: &[],
    },
    Spec {
        name: "Set-NetIPInterface",
        params: &[
            ("InterfaceIndex", V),
            ("AddressFamily", V),
            ("Forwarding", V),
            ("Dhcp", V),
        ],
        positional: &[],
    },
    Spec {
        name: "Rename-NetAdapter",
        params: &[("Name", V), ("NewName", V)],
        positional: &["Name", "NewName"],
    },
    Spec {
        name: "Get-NetRoute",
        params: &[
            ("AddressFamily", V),
            ("DestinationPrefix", V),
            ("InterfaceIndex", V),
            ("PolicyStore", V),
        ],
        positional: &["DestinationPrefix"],
    },
    Spec {
        name: "New-NetRoute",
        params: &[
            ("DestinationPrefix", V),
            ("InterfaceIndex", V),
            ("NextHop", V),
            ("RouteMetric", V),
        ],
        positional: &["DestinationPrefix"],
    },
    Spec {
        name: "Remove-NetRoute",
        params: &[
            ("DestinationPrefix", V),
            ("InterfaceIndex", V),
            ("NextHop", V),
        ],
        positional: &[],
    },
    Spec {
        name: "Get-NetFirewallRule",
        params: &[("Name", V)],
        positional: &[],
    },
    Spec {
        name: "Get-NetFirewallAddressFilter",
        params: &[],
        positional: &[],
    },
    Spec {
        name: "New-NetFirewallRule",
        params: &[
            ("Name", V),
            ("DisplayName", V),
            ("Direction", V),
            ("Action", V),
            ("RemoteAddress", V),
            ("Profile", V),
        ],
        positional: &[],
    },
    Spec {
        name: "Remove-NetFirewallRule",
        params: &[("Name", V)],
        positional: &[],
    },
    Spec {
        name: "Test-NetConnection",
        params: &[("ComputerName", V), ("Port", V), ("InformationLevel", V)],
        positional: &["ComputerName"],
    },
    Spec {
        name: "Invoke-WebRequest",
        params: &[("Uri", V), ("UseBasicParsing", S), ("TimeoutSec", V)],
        positional: &["Uri"],
    },
    Spec {
        name: "Restart-Computer",
        params: &[("Force", S)],
        positional: &[],
    },
    Spec {
        name: "Get-CimInstance",
        params: &[("ClassName", V), ("Property", V)],
        positional: &["ClassName"],
    },
    Spec {
        name: "Start-Sleep",
        params: &[("Seconds", V), ("Milliseconds", V)],
        positional: &["Seconds"],
    },
    Spec {
        name: "Get-FileHash",
        params: &[("Path", V), ("LiteralPath", V), ("Algorithm", V)],
        positional: &["Path"],
    },
    Spec {
        name: "New-Item",
        params: &[("Path", V), ("ItemType", V), ("Force", S)],
        positional: &["Path"],
    },
    Spec {
        name: "Set-Content",
        params: &[
            ("Path", V),
            ("LiteralPath", V),
            ("Value", V),
            ("Encoding", V),
        ],
        positional: &["Path", "Value"],
    },
    Spec {
        name: "Remove-Item",
        params: &[
            ("Path", V),
            ("LiteralPath", V),
            ("Recurse", S),
            ("Force", S),
        ],
        positional: &["Path"],
    },
];

/// The module a host cmdlet comes from (its docs page's "Module Name"), for the modules a
/// host may lack (`WinState::missing_modules`): calling a cmdlet of a missing module is a
/// CommandNotFoundException.
pub fn module_of(cmdlet: &str) -> Option<&'static str> {
    Some(match cmdlet {
        "Install-RemoteAccess" | "Get-RemoteAccess" | "Uninstall-RemoteAccess" => "RemoteAccess",
        "Get-WindowsFeature" | "Install-WindowsFeature" | "Uninstall-WindowsFeature" => {
            "ServerManager"
        }
        "Get-NetAdapter" | "Rename-NetAdapter" => "NetAdapter",
        "Get-DnsClientServerAddress" => "DnsClient",
        "Get-NetIPAddress"
        | "New-NetIPAddress"
        | "Remove-NetIPAddress"
        | "Get-NetIPInterface"
        | "Set-NetIPInterface"
        | "Get-NetRoute"
        | "New-NetRoute"
        | "Remove-NetRoute"
        | "Test-NetConnection" => "NetTCPIP",
        "Get-NetFirewallRule"
        | "Get-NetFirewallAddressFilter"
        | "New-NetFirewallRule"
        | "Remove-NetFirewallRule" => "NetSecurity",
        _ => return None,
    })
}

/// What Windows PowerShell 5.1's host says when a cmdlet asks to confirm under
/// `powershell.exe -NonInteractive` (BEHAVIOURS.md, "Confirmation prompts").
pub const NON_INTERACTIVE_PROMPT: &str =
    "Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.";

/// Cmdlets that ask to confirm by default: their ConfirmImpact is High, which is the default
/// `$ConfirmPreference` (about_Preference_Variables). Install-RemoteAccess: its docs page shows
/// it asking ("Do you want to install Remote Access?", Example 2; that it asks for
/// `-VpnType RoutingOnly` too is **inferred**, no source shows it).
const CONFIRM_IMPACT_HIGH: [&str; 1] = ["Install-RemoteAccess"];

/// Whether the cmdlet asks to confirm before acting: `-Confirm` decides when given
/// (`-Confirm:$false` never asks); otherwise a High-impact cmdlet asks unless
/// `$ConfirmPreference` is 'None' (about_Preference_Variables: it asks when its impact is at or
/// above the preference). Err: a preference winsim does not model (Low, Medium: which cmdlets
/// are Medium or Low is not modelled).
pub fn asks_to_confirm(cmdlet: &str, b: &Bound, preference: &str) -> Result<bool, String> {
    if let Some(v) = b.get("Confirm") {
        return Ok(v.truthy());
    }
    if preference.eq_ignore_ascii_case("None") {
        return Ok(false);
    }
    if !preference.eq_ignore_ascii_case("High") {
        return Err(format!("$ConfirmPreference '{preference}'"));
    }
    Ok(CONFIRM_IMPACT_HIGH
        .iter()
        .any(|c| c.eq_ignore_ascii_case(cmdlet)))
}

/// The declared cmdlet, by case-insensitive name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// All declared cmdlets and their parameters, for the contract table's tests.
pub fn all() -> &'static [Spec] {
    SPECS
}

/// A required parameter's text.
/// `-LiteralPath`, else `-Path` (winsim expands no wildcards either way; the two differ on
/// Windows only in that `-Path` would, about_Wildcards).
pub fn path(b: &Bound, cmdlet: &str) -> Result<String, Fail> {
    match b.text("LiteralPath") {
        Some(p) => Ok(p),
        None => need(b, "Path", cmdlet),
    }
}

pub fn need(b: &Bound, name: &str, cmdlet: &str) -> Result<String, Fail> {
    b.text(name).ok_or_else(|| {
        Fail::Failed(format!(
            "Cannot process command because of one or more missing mandatory parameters: {name}. ({cmdlet})"
        ))
    })
}

/// Runs a bound cmdlet.
pub fn run(interp: &mut Interp, spec: &Spec, b: &Bound, input: Vec<Value>, at: Node) -> CmdResult {
    let name = spec.name;
    if name == "Restart-Computer" {
        let force = b.switch("Force");
        return reboot::run(interp.ctx.state, force);
    }
    if let Some(r) = system::run(interp, name, b, at)? {
        return Ok(r);
    }
    if let Some(r) = net::run(interp, name, b)? {
        return Ok(r);
    }
    if let Some(r) = firewall::run(interp, name, b, input)? {
        return Ok(r);
    }
    Err(Fail::Flow(crate::ps::unsupported(
        format!("cmdlet '{name}'"),
        at,
        interp.line_base,
    )))
}
