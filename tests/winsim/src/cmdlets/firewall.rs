//! Firewall rules (state only: the namespace has no Windows firewall to model), and the two
//! probes that reach out from the host for real: Test-NetConnection and Invoke-WebRequest.

use super::{is_wildcard, name_matches, need, partial, Fail};
use crate::ps::args::Bound;
use crate::ps::value::{Obj, Value};
use crate::ps::Interp;
use crate::state::FirewallRule;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

fn rule_obj(r: &FirewallRule) -> Value {
    let (dir, dir_n) = if r.direction == "Outbound" {
        ("Outbound", 2)
    } else {
        ("Inbound", 1)
    };
    let (act, act_n) = if r.action == "Block" {
        ("Block", 4)
    } else {
        ("Allow", 2)
    };
    Obj::new(
        "Microsoft.Management.Infrastructure.CimInstance#root/StandardCimv2/MSFT_NetFirewallRule",
    )
    .with("Name", r.name.as_str())
    .with("DisplayName", r.display_name.as_str())
    .with(
        "Enabled",
        if r.enabled {
            Value::Enum("True", 1)
        } else {
            Value::Enum("False", 2)
        },
    )
    .with("Direction", Value::Enum(dir, dir_n))
    .with("Action", Value::Enum(act, act_n))
    .with("Profile", Value::Enum("Any", 0))
    .into()
}

fn connect(host: &str, port: u16, timeout: Duration) -> Option<TcpStream> {
    let addrs = (host, port).to_socket_addrs().ok()?;
    addrs
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, timeout).ok())
}

pub fn run(
    i: &mut Interp,
    name: &str,
    b: &Bound,
    input: Vec<Value>,
) -> Result<Option<Vec<Value>>, Fail> {
    let state = &mut *i.ctx.state;
    let out = match name {
        "Get-NetFirewallRule" => {
            need(b, "Name", name)?;
            // Each name on its own: a literal one matching nothing is a non-terminating error,
            // the rules the other names match are still returned.
            let mut found: Vec<&FirewallRule> = Vec::new();
            let mut errors = Vec::new();
            for n in b.list("Name") {
                let matches: Vec<&FirewallRule> = state.firewall_rules.iter().filter(|r| name_matches(&n, &r.name)).collect();
                if matches.is_empty() && !is_wildcard(&n) {
                    errors.push(format!(
                        "No MSFT_NetFirewallRule objects found with property 'Name' equal to '{n}'.  Verify the value of the property and retry."
                    ));
                }
                for r in matches {
                    if !found.iter().any(|f| f.name == r.name) {
                        found.push(r);
                    }
                }
            }
            return partial(found.into_iter().map(rule_obj).collect(), errors).map(Some);
        }
        "Get-NetFirewallAddressFilter" => input
            .iter()
            .filter_map(|v| {
                let n = v.member("Name").to_text();
                state.firewall_rules.iter().find(|r| r.name == n)
            })
            .map(|r| {
                let remote: Vec<Value> = r.remote_address.iter().map(|s| s.as_str().into()).collect();
                Obj::new("Microsoft.Management.Infrastructure.CimInstance#root/StandardCimv2/MSFT_NetAddressFilter")
                    .with("RemoteAddress", Value::from_items(remote))
                    .with("LocalAddress", "Any")
                    .into()
            })
            .collect(),
        "New-NetFirewallRule" => {
            let n = need(b, "Name", name)?;
            if state.firewall_rules.iter().any(|r| r.name.eq_ignore_ascii_case(&n)) {
                return Err(Fail::Failed("Cannot create a file when that file already exists.".into()));
            }
            let direction = b.text("Direction").unwrap_or_else(|| "Inbound".into());
            let action = b.text("Action").unwrap_or_else(|| "Allow".into());
            for (param, v, ok) in [
                ("Direction", &direction, &["Inbound", "Outbound"][..]),
                ("Action", &action, &["Allow", "Block"][..]),
            ] {
                if !ok.iter().any(|o| o.eq_ignore_ascii_case(v)) {
                    // A value outside the parameter's enum: a binding error.
                    return Err(Fail::Terminating(format!("Cannot bind parameter '{param}': '{v}' is not valid.")));
                }
            }
            let rule = FirewallRule {
                display_name: b.text("DisplayName").unwrap_or_else(|| n.clone()),
                name: n,
                direction,
                action,
                remote_address: b.list("RemoteAddress"),
                profile: b.text("Profile").unwrap_or_else(|| "Any".into()),
                enabled: true,
            };
            let obj = rule_obj(&rule);
            state.firewall_rules.push(rule);
            vec![obj]
        }
        "Remove-NetFirewallRule" => {
            let n = need(b, "Name", name)?;
            let before = state.firewall_rules.len();
            state.firewall_rules.retain(|r| !r.name.eq_ignore_ascii_case(&n));
            if before == state.firewall_rules.len() {
                return Err(Fail::NotFound(format!("No MSFT_NetFirewallRule objects found with property 'Name' equal to '{n}'.")));
            }
            Vec::new()
        }
        "Test-NetConnection" => {
            let host = need(b, "ComputerName", name)?;
            let port = b.int("Port")?.and_then(|p| u16::try_from(p).ok()).ok_or_else(|| Fail::Failed("Test-NetConnection: -Port is required by winsim".into()))?;
            match b.text("InformationLevel") {
                Some(l) if l.eq_ignore_ascii_case("Quiet") => {}
                _ => return Err(Fail::Failed("Test-NetConnection: winsim models -InformationLevel Quiet only".into())),
            }
            vec![Value::Bool(connect(&host, port, Duration::from_secs(2)).is_some())]
        }
        "Invoke-WebRequest" => {
            let uri = need(b, "Uri", name)?;
            let timeout = Duration::from_secs(b.int("TimeoutSec")?.unwrap_or(10).clamp(1, 120) as u64);
            // A request that fails, or answers an error status, is a ThrowTerminatingError
            // (WebCmdletWebResponseException in PowerShell's WebRequestPSCmdlet.cs): a
            // statement-terminating error, which -ErrorAction does not reach.
            let (status, body) = http_get(&uri, timeout).map_err(Fail::Terminating)?;
            if status >= 400 {
                return Err(Fail::Terminating(format!("The remote server returned an error: ({status}).")));
            }
            vec![Obj::new("Microsoft.PowerShell.Commands.BasicHtmlWebResponseObject")
                .with("StatusCode", i64::from(status))
                .with("Content", body)
                .into()]
        }
        _ => return Ok(None),
    };
    Ok(Some(out))
}

/// A plain HTTP/1.0 GET (http:// only): enough for health endpoints.
fn http_get(uri: &str, timeout: Duration) -> Result<(u16, String), String> {
    let rest = uri
        .strip_prefix("http://")
        .ok_or_else(|| format!("winsim: Invoke-WebRequest supports http:// only, not {uri}"))?;
    let (authority, path) = match rest.find('/') {
        Some(p) => (&rest[..p], &rest[p..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>().map_err(|_| format!("bad port in {uri}"))?,
        ),
        None => (authority, 80),
    };
    let mut s = connect(host, port, timeout)
        .ok_or_else(|| "Unable to connect to the remote server".to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: Mozilla/5.0 (Windows NT; Windows NT 10.0) WindowsPowerShell/5.1\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .map_err(|_| "The operation has timed out.".to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| "The server committed a protocol violation.".to_string())?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
