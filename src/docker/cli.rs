//! Containers on Windows hosts through the Docker CLI. WinRM carries commands, not byte streams,
//! so the Docker API cannot be tunnelled to a Windows host cheaply; rwin sends one PowerShell
//! script per component per host instead, doing what `ensure::apply` and `health::wait_healthy`
//! do over the API, in the PowerShell subset of `tests/winsim/README.md`, after a command of its
//! own that pulls the image where the host lacks it (`images`). Pure: the caller runs the
//! scripts and hands what came back to `parse_inspect` / `parse_version` / `parse_images`.

mod binds;
mod env_file;
mod health;
mod images;
mod parse;
mod powershell;
pub mod probe;

pub use env_file::container_environment;
pub use images::{has_image, images_script, parse_images, pull_script, registry_name};
pub use parse::{parse_inspect, parse_version, OutputError};
pub use powershell::Script;

use super::ensure::ContainerChange;
use super::spec::{ContainerSpec, POD_NETWORK};
use super::LABEL_CLUSTER;
use crate::config::{Health, NetworkMode, Registry};
use crate::powershell::quote;
use crate::secret::Secret;
use images::registry_password_variable;
use powershell::{arg, Ps};

/// Render health-check templates with this as `container.ip`: the script reads the address
/// from Docker once the container runs and puts it in its place.
pub const CONTAINER_IP: &str = "{{container.ip}}";

/// The Go template `docker container inspect -f` reads a container's address on the pod
/// network with.
pub fn container_address_template() -> String {
    format!("{{{{.NetworkSettings.Networks.{POD_NETWORK}.IPAddress}}}}")
}

/// The last line a script writes when it did everything. Judge success by it, not by the exit
/// code alone: a failed http probe records an error in Windows PowerShell even when a later
/// probe passes, so `powershell.exe` may exit 1 after a script that succeeded.
pub const DONE: &str = "rwin: done";

/// Whether a script's stdout shows it ran to its end (see [`DONE`]).
pub fn succeeded(stdout: &str) -> bool {
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    last.map(str::trim) == Some(DONE)
}

/// How a Windows container is isolated from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// The engine's default (process isolation on Windows Server): the image must match the
    /// host's build.
    #[default]
    Default,
    /// `--isolation hyperv`: a utility VM per container, so images of other builds run.
    HyperV,
}

/// The variables a Windows host's shell needs for [`pull_script`]: each registry password,
/// by the name the script reads it from (`$env:…`). Script Block Logging (event 4104)
/// records a script's text, so the passwords travel in the WinRS shell's environment
/// (WSManCreateShell's WSMAN_ENVIRONMENT_VARIABLE_SET) instead.
pub fn registry_environment(registries: &[Registry]) -> Vec<(String, Secret)> {
    registries
        .iter()
        .enumerate()
        .filter(|(_, r)| r.user.is_some())
        .filter_map(|(i, r)| Some((registry_password_variable(i), r.password.clone()?)))
        .collect()
}

/// The script that makes `spec`'s container match `change`, then waits for `health`. The image
/// must be on the host already ([`pull_script`] runs before, as a command of its own). The
/// container's environment goes in through an env file (`env_file`): its values come from the
/// shell's environment (see [`container_environment`]), never from the script's text or
/// docker.exe's command line. Bind directories and the env file are made before the old
/// container is removed, so a failure there leaves that running. The health check's templates
/// must already be rendered, with [`CONTAINER_IP`] for `container.ip`. Tries are
/// `timeout / interval + 1`; Test-NetConnection has no timeout of its own, so a filtered port
/// can stretch the wait. An error names the component, e.g. for a value docker.exe would not
/// receive unchanged.
pub fn ensure_script(
    spec: &ContainerSpec,
    change: &ContainerChange,
    health: Option<&Health>,
    isolation: Isolation,
) -> Result<Script, String> {
    let in_component = |e: String| format!("component {}: {e}", spec.component);
    let text = script(spec, change, health, isolation).map_err(in_component)?;
    // No secret is in the text: registry passwords and environment values stay in the
    // shell's environment.
    Ok(Script {
        redacted: text.clone(),
        text,
    })
}

fn script(
    spec: &ContainerSpec,
    change: &ContainerChange,
    health: Option<&Health>,
    isolation: Isolation,
) -> Result<String, String> {
    let mut ps = Ps::default();
    let name = &spec.name;
    let what = match change {
        ContainerChange::Replace { reason } => format!("replace ({reason})"),
        other => format!("{other:?}").to_lowercase(),
    };
    let comment = format!(
        "# rwin: container {name} of component {}: {what}",
        spec.component
    );
    // A line break in a name or reason must not end the comment and start code.
    ps.line(&crate::powershell::comment_text(&comment));
    let quoted_name = arg("name", name)?;
    match change {
        ContainerChange::Create | ContainerChange::Replace { .. } => {
            // Docker on Windows refuses a bind whose host directory is missing (Linux makes it).
            for b in &spec.binds {
                if let Some(dir) = binds::host_dir(b) {
                    ps.line(&format!(
                        "New-Item -Path {} -ItemType Directory -Force -ErrorAction Stop | Out-Null",
                        quote(dir)
                    ));
                }
            }
            let env_file = env_file::open(&mut ps, spec)?;
            if matches!(change, ContainerChange::Replace { .. }) {
                let failed = format!("{name}: removing the old container failed");
                ps.docker(&format!("docker rm -f {quoted_name} | Out-Null"), &failed);
            }
            let run = format!(
                "docker run -d {} | Out-Null",
                run_args(spec, isolation, env_file.as_deref())?.join(" ")
            );
            ps.docker(&run, &format!("{name}: creating and starting the container failed (Docker's message is above)"));
            if env_file.is_some() {
                env_file::close(&mut ps);
            }
        }
        ContainerChange::Start => {
            let failed = format!("{name}: starting the container failed");
            ps.docker(&format!("docker start {quoted_name} | Out-Null"), &failed);
        }
        ContainerChange::Unchanged => {}
    }
    if let Some(h) = health {
        health::wait(&mut ps, name, h)?;
    }
    ps.line(&format!("Write-Output {}", quote(DONE)));
    Ok(ps.text)
}

/// Everything after `docker run -d`, quoted; the environment is in the file `env_file` (a
/// PowerShell expression) when there is one.
fn run_args(
    spec: &ContainerSpec,
    isolation: Isolation,
    env_file: Option<&str>,
) -> Result<Vec<String>, String> {
    let mut a = vec!["--name".to_string(), arg("name", &spec.name)?];
    if let Some(file) = env_file {
        a.extend(["--env-file".into(), file.to_string()]);
    }
    for (k, v) in &spec.labels {
        a.extend(["--label".into(), arg("label", &format!("{k}={v}"))?]);
    }
    // The same mapping as `ContainerSpec::to_create_body`.
    let restart = match spec.restart.as_str() {
        r @ ("no" | "always" | "on-failure") => r,
        _ => "unless-stopped",
    };
    let network = match spec.network {
        NetworkMode::Host => "host",
        NetworkMode::Pod => POD_NETWORK,
        NetworkMode::None => "none",
    };
    a.extend([
        "--restart".into(),
        quote(restart),
        "--network".into(),
        quote(network),
    ]);
    if isolation == Isolation::HyperV {
        a.extend(["--isolation".into(), quote("hyperv")]);
    }
    if spec.privileged {
        a.push("--privileged".into());
    }
    for b in &spec.binds {
        a.extend(["-v".into(), arg("bind", b)?]);
    }
    for p in &spec.ports {
        let port = format!("{}:{}/{}", p.host, p.container, p.protocol);
        a.extend(["-p".into(), arg("port", &port)?]);
    }
    // `--entrypoint` takes one word: the rest of the entrypoint goes before the command, which
    // runs the same argv. An empty entrypoint (`--entrypoint=`) clears the image's.
    let mut rest: &[String] = &[];
    match spec.entrypoint.as_deref() {
        Some([]) => a.push(quote("--entrypoint=")),
        Some([first, tail @ ..]) => {
            a.extend(["--entrypoint".into(), arg("entrypoint", first)?]);
            rest = tail;
        }
        None => {}
    }
    a.push(arg("image", &spec.image)?);
    for v in rest.iter().chain(&spec.command) {
        a.push(arg("command argument", v)?);
    }
    Ok(a)
}

/// Remove these containers (names or IDs). One already gone is fine: `docker rm -f` says so
/// on stderr and exits 0.
pub fn remove_script(names: &[String]) -> Result<String, String> {
    let mut ps = Ps::default();
    for n in names {
        let call = format!("docker rm -f {} | Out-Null", arg("container", n)?);
        ps.docker(&call, &format!("removing container {n} failed"));
    }
    ps.line(&format!("Write-Output {}", quote(DONE)));
    Ok(ps.text)
}

/// Inspect every container of `cluster` on the host; the output is `parse_inspect`'s input.
pub fn inspect_script(cluster: &str) -> Result<String, String> {
    let mut ps = Ps::default();
    let filter = arg("cluster name", &format!("label={LABEL_CLUSTER}={cluster}"))?;
    let no_docker = "listing containers failed: is Docker running on this host?";
    ps.docker(
        &format!("$ids = docker ps -aq --filter {filter}"),
        no_docker,
    );
    ps.open("if ($ids)");
    ps.docker(
        "docker container inspect $ids",
        "inspecting containers failed",
    );
    ps.close();
    Ok(ps.text)
}

/// Ask the engine for its version; the output is `parse_version`'s input.
pub fn version_script() -> String {
    let mut ps = Ps::default();
    let down = "Docker is not running on this host (docker version found no server): start the docker service";
    ps.docker("docker version --format '{{json .}}'", down);
    ps.text
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
