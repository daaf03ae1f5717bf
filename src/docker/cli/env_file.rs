//! A container's environment on a host without the Docker API, kept out of every place Windows
//! records: the script's text (Script Block Logging, event 4104, records it) and docker.exe's
//! command line (process creation auditing, event 4688, records that; other processes can
//! read it while docker runs). The values travel in the WinRS shell's environment, as registry
//! passwords do; the script writes them into an env file in the user's temp directory,
//! `docker run --env-file` reads it, and a `finally` deletes it whatever happens (issue 13 §9).
//!
//! Docker's env-file format (docker/cli `opts/file.go`, `pkg/kvfile`; the `docker run` page's
//! `--env-file`): one `VAR=VAL` per line, a UTF-8 byte order mark dropped, the line's leading
//! whitespace dropped, a line starting with `#` a comment, the value kept as it is to the end
//! of the line (a CR before the LF is part of the line end: Go's `bufio.ScanLines`). So a
//! value holds no line break (validation refuses control characters in values) and a name
//! cannot start with `#`. Windows PowerShell 5.1's `Set-Content -Encoding UTF8` writes a BOM
//! and ends every line with CRLF (about_Character_Encoding; Set-Content's `-NoNewline`).

use std::collections::BTreeMap;

use super::powershell::Ps;
use crate::docker::spec::ContainerSpec;
use crate::powershell::quote;
use crate::secret::Secret;

/// The WinRS shell variable holding the value of the `index`-th variable (in name order) of
/// `component`'s environment.
pub fn env_variable(component: &str, index: usize) -> String {
    // Component names are lowercase letters, digits and '-' (config validation): upper-cased
    // with '_' for '-', they are distinct names PowerShell reads as `$env:NAME`.
    let name: String = component
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("RWIN_ENV_{name}_{index}")
}

/// The shell variables [`super::ensure_script`] reads the environment of `specs`' containers
/// from: every value but empty ones (an empty value is written as it is, and Windows has no
/// empty environment variables).
pub fn container_environment<'a>(
    specs: impl IntoIterator<Item = &'a ContainerSpec>,
) -> Vec<(String, Secret)> {
    specs
        .into_iter()
        .flat_map(|s| {
            s.env
                .values()
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .map(|(i, v)| (env_variable(&s.component, i), Secret::new(v.clone())))
        })
        .collect()
}

/// Opens `try {` and writes `spec`'s environment into its env file there; returns the
/// PowerShell expression naming the file for `docker run --env-file`, `None` (and nothing
/// written) when the container has no environment. [`close`] ends the block.
pub(super) fn open(ps: &mut Ps, spec: &ContainerSpec) -> Result<Option<String>, String> {
    if spec.env.is_empty() {
        return Ok(None);
    }
    let name = &spec.name;
    if let Some(key) = spec.env.keys().find(|k| k.starts_with('#')) {
        return Err(format!(
            "env name `{key}` cannot go into Docker's env file, where a line starting with # is a comment: rename the variable"
        ));
    }
    ps.line(&format!(
        "if (!$env:TEMP) {{ throw {} }}",
        quote(&format!(
            "{name}: TEMP is not set, so there is no private directory for the container's env file"
        ))
    ));
    ps.line(&format!(
        "$envFile = $env:TEMP + {}",
        quote(&format!("\\{name}.env"))
    ));
    ps.open("try");
    let lines = lines(ps, spec);
    ps.line(&format!("$envLines = @({})", lines.join(", ")));
    ps.line("Set-Content -LiteralPath $envFile -Value $envLines -Encoding UTF8");
    Ok(Some("$envFile".into()))
}

/// `KEY=` with the value read from the shell's environment, one PowerShell expression per
/// variable; a value that should be there and is not stops the script.
fn lines(ps: &mut Ps, spec: &ContainerSpec) -> Vec<String> {
    let env: &BTreeMap<String, String> = &spec.env;
    env.iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let key = quote(&format!("{k}="));
            if v.is_empty() {
                return key;
            }
            let variable = env_variable(&spec.component, i);
            let missing = format!(
                "{}: the value of env {k} is not in the WinRM shell's environment ({variable}); this script must run through rwin's WinRM connection",
                spec.name
            );
            ps.line(&format!(
                "if (!$env:{variable}) {{ throw {} }}",
                quote(&missing)
            ));
            format!("({key} + $env:{variable})")
        })
        .collect()
}

/// Ends [`open`]'s `try` with the `finally` that deletes the env file, whether the container
/// started or not.
pub(super) fn close(ps: &mut Ps) {
    ps.close_open("finally");
    ps.line("Remove-Item -LiteralPath $envFile -Force -ErrorAction SilentlyContinue");
    ps.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_has_a_shell_variable_of_its_own_and_empty_ones_none() {
        let spec = ContainerSpec {
            name: "rwin-web-2".into(),
            component: "web-2".into(),
            node: "win1".into(),
            image: "mcr.microsoft.com/windows/nanoserver:ltsc2022".into(),
            entrypoint: None,
            command: Vec::new(),
            env: BTreeMap::from([
                ("A".into(), "x".into()),
                ("B".into(), String::new()),
                ("C".into(), "s3cr'et".into()),
            ]),
            binds: Vec::new(),
            ports: Vec::new(),
            network: crate::config::NetworkMode::Pod,
            privileged: false,
            restart: "no".into(),
            labels: BTreeMap::new(),
            hash: String::new(),
        };
        let env = container_environment([&spec]);
        let names: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.expose())).collect();
        assert_eq!(
            names,
            [("RWIN_ENV_WEB_2_0", "x"), ("RWIN_ENV_WEB_2_2", "s3cr'et")]
        );
        let mut ps = Ps::default();
        open(&mut ps, &spec).unwrap();
        assert!(!ps.text.contains("s3cr"), "{}", ps.text);
        assert!(
            ps.text.contains(
                "$envLines = @(('A=' + $env:RWIN_ENV_WEB_2_0), 'B=', ('C=' + $env:RWIN_ENV_WEB_2_2))"
            ),
            "{}",
            ps.text
        );
        let hashed = ContainerSpec {
            env: BTreeMap::from([("#A".into(), "x".into())]),
            ..spec
        };
        assert!(open(&mut Ps::default(), &hashed)
            .unwrap_err()
            .contains("env name `#A` cannot go into Docker's env file"));
    }
}
