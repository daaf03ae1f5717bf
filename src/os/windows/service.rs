//! Host-process components: a binary and its files uploaded to a Windows node and registered
//! as a Windows service (seed 000: the per-host-subnet service and the agent run on the host,
//! the agent starting after the network service). Rancher 1.6's layout (seed 002): programs in
//! `C:\Program Files\rwin\<component>`, logs and state in `C:\ProgramData\rwin\<component>`.
//! One read-only facts script per service (file hashes, service state, `sc.exe qc`), then one
//! script that uploads what differs (base64 on stdin, SHA-256 checked) and (re)configures and
//! starts the service.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use crate::config::ServiceFile;
use crate::os::OsFacts;
use crate::powershell::quote;
use crate::state::windows::ServiceRecord;
use crate::state::HostRecord;

/// Where service components' programs go (one directory per component).
pub const PROGRAM_DIR: &str = r"C:\Program Files\rwin";
/// Where service components keep logs and state (one directory per component).
pub const DATA_DIR: &str = r"C:\ProgramData\rwin";
/// The last line an apply script writes when it did everything (the same marker as the
/// container scripts').
pub use crate::docker::cli::DONE;

pub use crate::os::service::{service_name, FileHash, ServiceFacts, ServiceSpec, ServiceWork};

/// `C:\Program Files\rwin\<component>`.
pub fn program_dir(spec: &ServiceSpec) -> String {
    format!(r"{PROGRAM_DIR}\{}", spec.component)
}

/// `C:\ProgramData\rwin\<component>`.
pub fn data_dir(spec: &ServiceSpec) -> String {
    format!(r"{DATA_DIR}\{}", spec.component)
}

/// Where `f` lives on the node.
pub fn remote_path(spec: &ServiceSpec, f: &ServiceFile) -> String {
    format!(r"{}\{}", program_dir(spec), f.name)
}

/// Why the service did not start when Windows answered 1053: the service manager started
/// the program and waited (30 s by default) for it to call StartServiceCtrlDispatcher,
/// which a plain program never does.
pub fn not_a_service(spec: &ServiceSpec) -> String {
    format!(
        "service {}: Windows could not start it (error 1053: the program did not respond to the service manager in time). The binary {} must be a Windows service, a program that connects to the Service Control Manager when it starts (StartServiceCtrlDispatcher; in Go, golang.org/x/sys/windows/svc). A plain program cannot run as one: build it as a service, or make a service wrapper such as WinSW or NSSM the binary and give it the program to run",
        spec.name, spec.binary.name
    )
}

/// What the apply script's answer means: `Ok` when it did everything, or the error to
/// report, in words.
pub fn apply_result(
    spec: &ServiceSpec,
    stdout: &str,
    stderr: &str,
    code: u32,
) -> Result<(), String> {
    if stdout.lines().any(|l| l.trim() == DONE) {
        return Ok(());
    }
    if stdout.lines().any(|l| l.trim() == NOT_A_SERVICE) {
        return Err(not_a_service(spec));
    }
    let why = stderr.trim();
    Err(if why.is_empty() {
        format!("the service script stopped (exit {code}) without saying why")
    } else {
        why.to_string()
    })
}

/// The service's command line as the service manager stores it (`BINARY_PATH_NAME`): the
/// binary's path quoted, then the arguments quoted the way the C runtime splits them.
pub fn bin_path(spec: &ServiceSpec) -> String {
    let mut line = win_arg_quoted(&remote_path(spec, &spec.binary));
    for a in &spec.args {
        line.push(' ');
        line.push_str(&win_arg(a));
    }
    line
}

/// One argument for a Windows command line (CommandLineToArgvW's rules), quoted only when
/// it must be: empty, whitespace, a quote, or a trailing backslash.
fn win_arg(a: &str) -> String {
    if !a.is_empty() && !a.contains([' ', '\t', '"']) && !a.ends_with('\\') {
        return a.to_string();
    }
    win_arg_quoted(a)
}

fn win_arg_quoted(a: &str) -> String {
    format!("\"{}\"", escape_quotes(a, true))
}

/// Backslashes before a `"` (and, with `closing`, at the end) doubled, and `"` escaped as `\"`.
fn escape_quotes(a: &str, closing: bool) -> String {
    let mut out = String::new();
    let mut slashes = 0;
    for ch in a.chars() {
        match ch {
            '\\' => slashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(slashes * 2 + 1));
                out.push('"');
                slashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(slashes));
                out.push(c);
                slashes = 0;
            }
        }
    }
    out.push_str(&"\\".repeat(if closing { slashes * 2 } else { slashes }));
    out
}

/// `value` as a literal Windows PowerShell 5.1 hands to a native command unchanged. 5.1
/// passes embedded double quotes through as they are and only wraps an argument with
/// unquoted whitespace in quotes (NativeCommandParameterBinder.NeedQuotes), so the
/// command's own argument parser would eat them: escape them `\"` for it
/// (PowerShell/PowerShell#1995; fixed only in 7.3 by `$PSNativeCommandArgumentPassing`).
/// `value` must not end with a backslash (5.1 does not double it before its closing quote).
fn native_arg(value: &str) -> String {
    quote(&escape_quotes(value, false))
}

/// The facts script's answer as PowerShell prints it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct WireFacts {
    #[serde(deserialize_with = "super::facts::many")]
    files: Vec<WireHash>,
    status: Option<String>,
    config: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct WireHash {
    path: String,
    hash: String,
}

/// The service's configuration as `sc.exe qc` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueriedConfig {
    pub bin_path: String,
    /// `AUTO_START`, `DEMAND_START`, …
    pub start_type: String,
    pub dependencies: Vec<String>,
}

/// Read `sc.exe qc NAME`'s `KEY : value` lines; DEPENDENCIES continues on lines with no key.
pub fn parse_qc(text: &str) -> QueriedConfig {
    let mut q = QueriedConfig::default();
    let mut last_key = String::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let key = k.trim();
        // `C:\…` in a value: the first colon is the separator only when the key is a word.
        if !key.is_empty() && !key.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            continue;
        }
        let value = v.trim();
        let key = if key.is_empty() {
            last_key.clone()
        } else {
            key.to_string()
        };
        match key.as_str() {
            "BINARY_PATH_NAME" => q.bin_path = value.to_string(),
            "START_TYPE" => {
                q.start_type = value.split_whitespace().nth(1).unwrap_or("").to_string()
            }
            "DEPENDENCIES" if !value.is_empty() => q.dependencies.push(value.to_string()),
            _ => {}
        }
        last_key = key;
    }
    q
}

/// Compare the node's copy with the spec.
pub fn service_work(spec: &ServiceSpec, facts: &ServiceFacts) -> ServiceWork {
    let upload: Vec<ServiceFile> = spec
        .all_files()
        .filter(|f| {
            let path = remote_path(spec, f);
            !facts.files.iter().any(|h| {
                h.path.eq_ignore_ascii_case(&path) && h.hash.eq_ignore_ascii_case(&f.sha256)
            })
        })
        .cloned()
        .collect();
    let create = facts.status.is_none();
    let reconfigure = match (&facts.status, &facts.config) {
        (None, _) => None,
        (Some(_), None) => Some("its configuration could not be read".to_string()),
        (Some(_), Some(text)) => {
            let q = parse_qc(text);
            let want = bin_path(spec);
            if q.bin_path != want {
                Some(format!("command line was {}", q.bin_path))
            } else if q.start_type != "AUTO_START" {
                Some(format!("start type was {}", q.start_type))
            } else if !same_names(&q.dependencies, &spec.depends_on) {
                Some(format!("dependencies were [{}]", q.dependencies.join(", ")))
            } else {
                None
            }
        }
    };
    let running = facts.status.as_deref() == Some("Running");
    let changes = !upload.is_empty() || reconfigure.is_some();
    ServiceWork {
        stop_first: running && changes,
        start: !running || changes,
        upload,
        create,
        reconfigure,
    }
}

fn same_names(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|x| b.iter().any(|y| x.eq_ignore_ascii_case(y)))
}

/// Read-only: the hashes of the component's files on the node, the service's status and its
/// configuration, as one JSON object.
pub fn service_facts_script(spec: &ServiceSpec) -> String {
    let paths = spec
        .all_files()
        .map(|f| quote(&remote_path(spec, f)))
        .collect::<Vec<_>>()
        .join(", ");
    let name = quote(&spec.name);
    format!(
        r#"# rwin facts for service {svc} (component {component}): read-only, prints one JSON object.
$files = @(Get-FileHash -LiteralPath {paths} -Algorithm SHA256 -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ path = [string]$_.Path; hash = [string]$_.Hash }} }})
$status = $null
$config = $null
$svc = Get-Service -Name {name} -ErrorAction SilentlyContinue
if ($null -ne $svc) {{
  $status = [string]$svc.Status
  $config = sc.exe qc {name} | Out-String
}}
[ordered]@{{ files = $files; status = $status; config = $config }} | ConvertTo-Json -Depth 4 -Compress
"#,
        svc = spec.name,
        component = spec.component,
    )
}

/// Read the facts script's answer (the last line that is a JSON object).
pub fn parse_service_facts(stdout: &str) -> Result<ServiceFacts, String> {
    let line = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            format!(
                "the service facts script printed no JSON object: {:?}",
                stdout.chars().take(200).collect::<String>()
            )
        })?;
    let w: WireFacts = serde_json::from_str(line)
        .map_err(|e| format!("the service facts script's answer is not the expected JSON ({e})"))?;
    Ok(ServiceFacts {
        files: w
            .files
            .into_iter()
            .map(|h| FileHash {
                path: h.path,
                hash: h.hash,
            })
            .collect(),
        status: w.status,
        config: w.config,
    })
}

/// The script that makes the node match `spec`: directories, files whose hash differs
/// (`contents` holds the bytes of each file in `work.upload`, in order), the service created
/// or reconfigured with restart-on-failure, and started. A running service is stopped before
/// its files or configuration change (`-Force` also stops the services that depend on it;
/// they are started again when their own component is deployed, which comes later).
pub fn service_apply_script(
    spec: &ServiceSpec,
    work: &ServiceWork,
    contents: &[Vec<u8>],
) -> Result<String, String> {
    use base64::Engine as _;
    if contents.len() != work.upload.len() {
        return Err(format!(
            "{} files to upload but {} contents",
            work.upload.len(),
            contents.len()
        ));
    }
    let name = quote(&spec.name);
    let mut s = format!(
        "# rwin: Windows service {} for component {}; stops at the first failure.\n$ErrorActionPreference = 'Stop'\n",
        spec.name, spec.component
    );
    for dir in [program_dir(spec), data_dir(spec)] {
        let _ = writeln!(
            s,
            "New-Item -Path {} -ItemType Directory -Force | Out-Null",
            quote(&dir)
        );
    }
    if work.stop_first {
        let _ = writeln!(s, "Stop-Service -Name {name} -Force");
    }
    for (f, bytes) in work.upload.iter().zip(contents) {
        let path = quote(&remote_path(spec, f));
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let _ = writeln!(
            s,
            "$bytes = [Convert]::FromBase64String('{data}')\nSet-Content -LiteralPath {path} -Value $bytes -Encoding Byte\n$h = Get-FileHash -LiteralPath {path} -Algorithm SHA256\nif ([string]$h.Hash -ne '{hash}') {{ throw {why} }}",
            hash = f.sha256.to_ascii_uppercase(),
            why = quote(&format!(
                "{}: the copy on the node does not have the SHA-256 of the file sent ({})",
                f.name, f.sha256
            )),
        );
    }
    let bin_path = native_arg(&bin_path(spec));
    let depend = if spec.depends_on.is_empty() {
        String::new()
    } else {
        format!(" depend= {}", quote(&spec.depends_on.join("/")))
    };
    if work.create {
        let _ = writeln!(
            s,
            "sc.exe create {name} binpath= {bin_path} start= auto{depend} | Out-Null\nif ($LASTEXITCODE -ne 0) {{ throw {} }}",
            quote(&format!("sc.exe create {} failed", spec.name))
        );
    } else if work.reconfigure.is_some() {
        // `depend= /` clears the dependencies (sc.exe config's documented form).
        let depend = if depend.is_empty() {
            " depend= '/'".to_string()
        } else {
            depend
        };
        let _ = writeln!(
            s,
            "sc.exe config {name} binpath= {bin_path} start= auto{depend} | Out-Null\nif ($LASTEXITCODE -ne 0) {{ throw {} }}",
            quote(&format!("sc.exe config {} failed", spec.name))
        );
    }
    if work.create || work.reconfigure.is_some() {
        let _ = writeln!(
            s,
            "sc.exe failure {name} reset= 86400 actions= restart/5000 | Out-Null\nif ($LASTEXITCODE -ne 0) {{ throw {} }}",
            quote(&format!("sc.exe failure {} failed", spec.name))
        );
    }
    // `sc.exe start` first: its exit code is the service manager's error, which Start-Service's
    // message leaves out. 1053: the program never connected to the service manager. Any other
    // failure, Start-Service reports; on a service that started it only waits for Running.
    let _ = writeln!(
        s,
        "sc.exe start {name} | Out-Null\nif ($LASTEXITCODE -eq 1053) {{\n  Write-Output '{NOT_A_SERVICE}'\n  throw {}\n}}",
        quote(&not_a_service(spec))
    );
    let _ = writeln!(
        s,
        "Start-Service -Name {name}\n$svc = Get-Service -Name {name}\nif ([string]$svc.Status -ne 'Running') {{ throw {} }}\nWrite-Output '{DONE}'",
        quote(&format!("{} is not running after Start-Service", spec.name))
    );
    Ok(s)
}

/// The line an apply script prints when Windows refused to start the service with error 1053
/// (ERROR_SERVICE_REQUEST_TIMEOUT): its program did not connect to the service manager.
pub const NOT_A_SERVICE: &str = "rwin: service start failed with error 1053";

/// Before each service's part of the facts script's answer.
const SERVICE_MARK: &str = "--- rwin: service ";

/// Windows services, made with `sc.exe` and read with `Get-Service` and `sc.exe qc`.
pub struct WindowsServices;

impl crate::os::service::HostServices for WindowsServices {
    fn facts_script(&self, specs: &[&ServiceSpec]) -> String {
        let mut s = String::new();
        for spec in specs {
            let _ = writeln!(
                s,
                "Write-Output {}",
                quote(&format!("{SERVICE_MARK}{}", spec.name))
            );
            s.push_str(&service_facts_script(spec));
            s.push('\n');
        }
        s
    }

    fn parse_facts(
        &self,
        specs: &[&ServiceSpec],
        stdout: &str,
    ) -> Result<BTreeMap<String, ServiceFacts>, String> {
        let mut found = BTreeMap::new();
        for part in stdout.split(SERVICE_MARK).skip(1) {
            let (name, rest) = part.split_once('\n').unwrap_or((part, ""));
            if let Some(spec) = specs.iter().find(|s| s.name == name.trim()) {
                found.insert(spec.name.clone(), parse_service_facts(rest)?);
            }
        }
        Ok(found)
    }

    fn work(&self, spec: &ServiceSpec, facts: &ServiceFacts) -> ServiceWork {
        service_work(spec, facts)
    }

    fn apply_script(
        &self,
        spec: &ServiceSpec,
        work: &ServiceWork,
        contents: &[Vec<u8>],
    ) -> Result<String, String> {
        service_apply_script(spec, work, contents)
    }

    fn apply_result(
        &self,
        spec: &ServiceSpec,
        stdout: &str,
        stderr: &str,
        code: u32,
    ) -> Result<(), String> {
        apply_result(spec, stdout, stderr, code)
    }

    fn record(&self, rec: &mut HostRecord, spec: &ServiceSpec) {
        let files: Vec<String> = spec.all_files().map(|f| remote_path(spec, f)).collect();
        rec.components.insert(spec.component.clone());
        let win = rec.windows.get_or_insert_with(Default::default);
        match win.services.iter_mut().find(|r| r.name == spec.name) {
            Some(r) => {
                for f in files {
                    if !r.files.contains(&f) {
                        r.files.push(f);
                    }
                }
                r.depends_on = spec.depends_on.clone();
            }
            None => win.services.push(ServiceRecord {
                name: spec.name.clone(),
                depends_on: spec.depends_on.clone(),
                files,
            }),
        }
    }

    fn is_recorded(&self, rec: &HostRecord, component: &str) -> bool {
        let name = service_name(component);
        rec.windows
            .as_ref()
            .is_some_and(|w| w.services.iter().any(|r| r.name == name))
    }

    fn installed(&self, f: &OsFacts) -> Vec<String> {
        f.windows()
            .map(|w| {
                w.services
                    .iter()
                    .map(|s| s.name.clone())
                    .filter(|n| n.starts_with("rwin-"))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn logs(&self, spec: &ServiceSpec) -> String {
        data_dir(spec)
    }

    fn remove_by_hand(&self) -> &'static str {
        "Stop-Service NAME; sc.exe delete NAME"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Service;

    fn spec(args: &[&str], depends_on: &[&str]) -> ServiceSpec {
        let f = |name: &str| ServiceFile {
            local: name.into(),
            name: name.into(),
            sha256: "ab".repeat(32),
            size: 1,
        };
        ServiceSpec::new(
            "agent",
            &Service {
                binary: f("agent.exe"),
                files: vec![f("agent.conf")],
                args: Vec::new(),
                depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            },
            args.iter().map(|a| a.to_string()).collect(),
        )
    }

    #[test]
    fn the_command_line_quotes_the_path_and_only_the_arguments_that_need_it() {
        let s = spec(&["-v", "a b", r#"say "hi""#, r"C:\data\", ""], &[]);
        assert_eq!(
            bin_path(&s),
            r#""C:\Program Files\rwin\agent\agent.exe" -v "a b" "say \"hi\"" "C:\data\\" """#
        );
        // What Windows PowerShell 5.1 must be given for sc.exe to receive that.
        assert_eq!(
            native_arg(r#""C:\x y\a.exe" "say \"hi\"""#),
            r#"'\"C:\x y\a.exe\" \"say \\\"hi\\\"\"'"#
        );
    }

    #[test]
    fn sc_qc_output_is_read_with_every_dependency() {
        let text = "[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: rwin-agent\r\n        TYPE               : 10  WIN32_OWN_PROCESS\r\n        START_TYPE         : 2   AUTO_START\r\n        BINARY_PATH_NAME   : \"C:\\Program Files\\rwin\\agent\\agent.exe\" -v\r\n        DEPENDENCIES       : rwin-network\r\n                           : rwin-dns\r\n        SERVICE_START_NAME : LocalSystem\r\n";
        let q = parse_qc(text);
        assert_eq!(q.bin_path, r#""C:\Program Files\rwin\agent\agent.exe" -v"#);
        assert_eq!(q.start_type, "AUTO_START");
        assert_eq!(q.dependencies, vec!["rwin-network", "rwin-dns"]);
    }

    #[test]
    fn work_is_what_differs() {
        let s = spec(&["-v"], &["network"]);
        assert_eq!(s.depends_on, vec!["rwin-network"]);
        let fresh = service_work(&s, &ServiceFacts::default());
        assert!(fresh.create && fresh.start && !fresh.stop_first);
        assert_eq!(fresh.upload.len(), 2);
        assert_eq!(fresh.outcome(), "created");
        let qc = format!(
            "START_TYPE : 2   AUTO_START\r\nBINARY_PATH_NAME : {}\r\nDEPENDENCIES : rwin-network\r\n",
            bin_path(&s)
        );
        let same = ServiceFacts {
            files: s
                .all_files()
                .map(|f| FileHash {
                    path: remote_path(&s, f).to_uppercase(),
                    hash: f.sha256.to_uppercase(),
                })
                .collect(),
            status: Some("Running".into()),
            config: Some(qc.clone()),
        };
        assert!(service_work(&s, &same).is_unchanged());
        let stopped = ServiceFacts {
            status: Some("Stopped".into()),
            ..same.clone()
        };
        assert_eq!(service_work(&s, &stopped).outcome(), "started");
        let other_args = spec(&["-w"], &["network"]);
        let w = service_work(&other_args, &same);
        assert!(w.stop_first && w.reconfigure.is_some() && w.upload.is_empty());
        assert_eq!(w.outcome(), "replaced");
    }

    #[test]
    fn a_refused_start_with_1053_is_reported_as_a_binary_that_is_no_service() {
        let s = spec(&[], &[]);
        let script = service_apply_script(&s, &ServiceWork::default(), &[]).unwrap();
        assert!(
            script.contains("sc.exe start 'rwin-agent' | Out-Null\nif ($LASTEXITCODE -eq 1053)")
        );
        let e = apply_result(&s, &format!("{NOT_A_SERVICE}\r\n"), "Exception: ...", 1).unwrap_err();
        assert!(
            e.starts_with("service rwin-agent: Windows could not start it (error 1053"),
            "{e}"
        );
        assert!(e.contains("agent.exe must be a Windows service"), "{e}");
        assert_eq!(apply_result(&s, "rwin: done\r\n", "", 1), Ok(()));
        assert_eq!(
            apply_result(&s, "", "", 1),
            Err("the service script stopped (exit 1) without saying why".into())
        );
    }

    /// A file name Windows accepts may hold `[` and `]`, which `-Path` reads as a wildcard
    /// range (about_Wildcards): every cmdlet that names an uploaded file takes `-LiteralPath`.
    #[test]
    fn file_cmdlets_take_the_path_literally() {
        let mut s = spec(&[], &[]);
        s.binary.name = "agent[1].exe".into();
        let scripts = [
            service_facts_script(&s),
            service_apply_script(
                &s,
                &ServiceWork {
                    upload: vec![s.binary.clone()],
                    ..ServiceWork::default()
                },
                &[vec![0u8]],
            )
            .unwrap(),
        ];
        for script in &scripts {
            for cmdlet in ["Get-FileHash", "Set-Content", "Test-Path", "Remove-Item"] {
                assert!(
                    !script.contains(&format!("{cmdlet} -Path")),
                    "{cmdlet} -Path in:\n{script}"
                );
            }
            assert!(
                script.contains(r"-LiteralPath 'C:\Program Files\rwin\agent\agent[1].exe'"),
                "{script}"
            );
        }
        let mut t = String::new();
        super::super::service_teardown::teardown_services(
            &mut t,
            &[ServiceRecord {
                name: "rwin-agent".into(),
                depends_on: Vec::new(),
                files: vec![remote_path(&s, &s.binary)],
            }],
        );
        assert!(!t.contains(" -Path "), "{t}");
    }
}
