//! The health wait inside an ensure script: a fixed number of tries with a sleep between them
//! (the PowerShell subset has no clock). Failed probes are expected until the last try; only
//! then does the script throw.

use std::time::Duration;

use super::powershell::{arg, ArgError, Ps};
use super::CONTAINER_IP;
use crate::config::{Health, HealthCheck};
use crate::docker::spec::POD_NETWORK;
use crate::powershell::quote;

/// Why a health check cannot be written as PowerShell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthScriptError {
    #[error("health check tcp `{target}` is not host:port")]
    NotHostPort { target: String },

    #[error("health check exec has no command")]
    NoCommand,

    /// A name or value docker.exe would not receive unchanged.
    #[error(transparent)]
    Arg(#[from] ArgError),
}

/// The script builders in `cli.rs` still return `Result<_, String>`: `?` turns the error into
/// its text there. Remove once they return typed errors.
impl From<HealthScriptError> for String {
    fn from(e: HealthScriptError) -> String {
        e.to_string()
    }
}

pub(super) fn wait(ps: &mut Ps, name: &str, h: &Health) -> Result<(), HealthScriptError> {
    let ip = super::container_address_template();
    let unreadable = format!("{name}: reading the container's address failed");
    let needs_ip = match &h.check {
        HealthCheck::Http(v) | HealthCheck::Tcp(v) => v.contains(CONTAINER_IP),
        HealthCheck::Exec(_) => false,
    };
    if needs_ip {
        let call = format!(
            "$ip = docker container inspect -f {} {}",
            quote(&ip),
            arg("name", name)?
        );
        ps.docker(&call, &unreadable);
        let none = format!(
            "{name}: the container has no address on network {POD_NETWORK}: is it running?"
        );
        ps.line(&format!("if (!$ip) {{ throw {} }}", quote(&none)));
    }
    // A PowerShell expression for `v`, which may hold the container's address.
    let value = |ps: &mut Ps, v: &str| -> Result<String, HealthScriptError> {
        if v == CONTAINER_IP {
            return Ok("$ip".into());
        }
        if !v.contains(CONTAINER_IP) {
            return Ok(quote(v));
        }
        // The subset has no string concatenation: Docker's Go template builds the value.
        let literal: Vec<String> = v
            .split(CONTAINER_IP)
            .map(|l| l.replace('{', "{{`{`}}"))
            .collect();
        let template = arg("health check", &literal.join(&ip))?;
        ps.docker(
            &format!(
                "$target = docker container inspect -f {template} {}",
                arg("name", name)?
            ),
            &unreadable,
        );
        Ok("$target".into())
    };
    let (probe, check): (Vec<String>, String) = match &h.check {
        HealthCheck::Tcp(t) => {
            let bad = || HealthScriptError::NotHostPort { target: t.clone() };
            let (host, port) = t.rsplit_once(':').ok_or_else(bad)?;
            let port: u16 = port.parse().map_err(|_| bad())?;
            let host = value(ps, host)?;
            let probe = format!("$healthy = Test-NetConnection -ComputerName {host} -Port {port} -InformationLevel Quiet");
            (vec![probe], format!("tcp {t} accepted no connection"))
        }
        HealthCheck::Http(u) => {
            let uri = value(ps, u)?;
            let per_try = h.timeout.as_secs().clamp(1, 10);
            let probe = vec![
                // A failed request is a statement-terminating error, expected until the last
                // try: under 'Continue' it is shown and the script goes on ($response keeps its
                // value); under the script's 'Stop' it would end the script.
                "$response = $null".into(),
                "$ErrorActionPreference = 'Continue'".into(),
                format!("$response = Invoke-WebRequest -Uri {uri} -UseBasicParsing -TimeoutSec {per_try}"),
                "$ErrorActionPreference = 'Stop'".into(),
                "if ($response.StatusCode -ge 200 -and $response.StatusCode -lt 300) { $healthy = $true }".into(),
            ];
            (probe, format!("http {u} did not answer 2xx"))
        }
        HealthCheck::Exec(cmd) => {
            let mut call = format!("docker exec {}", arg("name", name)?);
            if cmd.is_empty() {
                return Err(HealthScriptError::NoCommand);
            }
            for w in cmd {
                call += &format!(" {}", arg("health check argument", w)?);
            }
            let probe = vec![
                call + " | Out-Null",
                "if ($LASTEXITCODE -eq 0) { $healthy = $true }".into(),
            ];
            (probe, format!("exec {} did not exit 0", cmd.join(" ")))
        }
    };
    let interval = h.interval.max(Duration::from_millis(100));
    let tries = h.timeout.as_millis() / interval.as_millis() + 1;
    let sleep = match interval.subsec_millis() {
        0 => format!("-Seconds {}", interval.as_secs()),
        _ => format!("-Milliseconds {}", interval.as_millis()),
    };
    // A counted loop: the script is the same size whatever the number of tries (a list of
    // every try's number grew with timeout/interval).
    ps.line("$healthy = $false");
    ps.line("$attempt = 0");
    ps.open(&format!("while (!$healthy -and $attempt -lt {tries})"));
    ps.line("$attempt = $attempt + 1");
    ps.line(&format!("if ($attempt -gt 1) {{ Start-Sleep {sleep} }}"));
    for statement in &probe {
        ps.line(statement);
    }
    ps.close();
    let secs = h.timeout.as_secs_f64();
    let failed = format!("{name}: not healthy after {secs}s ({tries} tries): {check}");
    ps.line(&format!("if (!$healthy) {{ throw {} }}", quote(&failed)));
    Ok(())
}
