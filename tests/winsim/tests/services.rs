//! rwin's service-component scripts run end to end through winsim's interpreter (effects dry):
//! upload with the SHA-256 check, `sc.exe create` with a dependency and restart-on-failure,
//! start, the second run finding nothing to do, a changed binary or argument replacing the
//! service, and teardown removing services (dependents first), files and rwin's directories.

use rwin::config::{Service, ServiceFile};
use rwin::os::windows::{
    apply_result, bin_path, parse_qc, parse_service_facts, remote_path, script_command,
    service_apply_script, service_facts_script, service_work, teardown_script, ServiceRecord,
    ServiceSpec, ServiceWork, Teardown, DATA_DIR, PROGRAM_DIR,
};
use sha2::{Digest, Sha256};
use winsim::effects::Effects;
use winsim::host::Host;
use winsim::state::WinState;

struct Sim {
    host: Host,
    path: std::path::PathBuf,
    _dir: Scratch,
}

struct Scratch(std::path::PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sim(tag: &str) -> Sim {
    let dir = std::env::temp_dir().join(format!("winsim-svc-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("state.json");
    let host = Host::open(path.clone(), Effects::new(true, "unix:///nonexistent")).expect("host");
    Sim {
        host,
        path,
        _dir: Scratch(dir),
    }
}

impl Sim {
    fn run(&self, script: &str) -> (String, String, i32) {
        let out = self.host.run_sync(&script_command(), script.as_bytes());
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.code,
        )
    }

    fn state(&self) -> WinState {
        WinState::load(&self.path).expect("state")
    }

    /// What rwin's deploy phase does: facts, then (if needed) the apply script.
    fn deploy(&self, spec: &ServiceSpec, bytes: &dyn Fn(&ServiceFile) -> Vec<u8>) -> ServiceWork {
        let (out, err, _) = self.run(&service_facts_script(spec));
        let facts = parse_service_facts(&out).unwrap_or_else(|e| panic!("{e}\n{err}"));
        let work = service_work(spec, &facts);
        if work.is_unchanged() {
            return work;
        }
        let contents: Vec<Vec<u8>> = work.upload.iter().map(bytes).collect();
        let script = service_apply_script(spec, &work, &contents).expect("script");
        let (out, err, code) = self.run(&script);
        assert!(
            out.lines().any(|l| l.trim() == "rwin: done"),
            "exit {code}\nstdout: {out}\nstderr: {err}"
        );
        work
    }
}

fn file(name: &str, bytes: &[u8]) -> ServiceFile {
    ServiceFile {
        local: name.into(),
        name: name.into(),
        sha256: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        size: bytes.len() as u64,
    }
}

/// The name of the call by which a service program connects to the service manager: a real
/// service's file names it (winsim's test for "is a Windows service"; cmdlets/system.rs).
const SCM_ENTRY: &[u8] = b"StartServiceCtrlDispatcherW";

/// A service program's bytes that are not text: every value 0–255, then [`SCM_ENTRY`].
fn binary(seed: u8) -> Vec<u8> {
    let mut b: Vec<u8> = (0..=255u8).map(|b| b.wrapping_add(seed)).collect();
    b.extend_from_slice(SCM_ENTRY);
    b
}

fn net(args: &[&str]) -> ServiceSpec {
    ServiceSpec::new(
        "network",
        &Service {
            binary: file("per-host-subnet.exe", &binary(1)),
            files: vec![file("network.conf", b"subnet=10.42.1.0/24\r\n")],
            args: Vec::new(),
            depends_on: Vec::new(),
        },
        args.iter().map(|a| a.to_string()).collect(),
    )
}

fn agent(seed: u8) -> ServiceSpec {
    ServiceSpec::new(
        "agent",
        &Service {
            binary: file("agent.exe", &binary(seed)),
            files: Vec::new(),
            args: Vec::new(),
            depends_on: vec!["network".into()],
        },
        vec![
            "--log".into(),
            format!(r"{DATA_DIR}\agent\agent.log"),
            "two words".into(),
        ],
    )
}

fn contents(seed: u8) -> impl Fn(&ServiceFile) -> Vec<u8> {
    move |f: &ServiceFile| match f.name.as_str() {
        "per-host-subnet.exe" => binary(1),
        "network.conf" => b"subnet=10.42.1.0/24\r\n".to_vec(),
        _ => binary(seed),
    }
}

#[test]
fn services_are_uploaded_created_started_and_left_alone_when_unchanged() {
    let s = sim("deploy");
    let net = net(&["--subnet", "10.42.1.0/24"]);
    let agent = agent(7);
    let w = s.deploy(&net, &contents(7));
    assert_eq!(w.outcome(), "created");
    assert_eq!(w.upload.len(), 2);
    let w = s.deploy(&agent, &contents(7));
    assert_eq!(w.outcome(), "created");

    let st = s.state();
    let agent_path = format!(r"{PROGRAM_DIR}\agent\agent.exe");
    let f = &st.files[&agent_path];
    assert_eq!(f.sha256.as_deref(), Some(agent.binary.sha256.as_str()));
    assert_eq!(f.size, Some(256 + SCM_ENTRY.len() as u64));
    for dir in [
        format!(r"{PROGRAM_DIR}\agent"),
        format!(r"{DATA_DIR}\agent"),
        PROGRAM_DIR.to_string(),
    ] {
        assert!(st.files[&dir].directory, "{dir}");
    }
    let svc = st
        .services
        .iter()
        .find(|x| x.name == "rwin-agent")
        .expect("rwin-agent exists");
    assert_eq!(svc.status, "Running");
    assert_eq!(svc.start_type, "Automatic");
    assert_eq!(svc.depend, vec!["rwin-network".to_string()]);
    assert_eq!(
        svc.failure_actions.as_deref(),
        Some("reset= 86400 actions= restart/5000")
    );
    // What sc.exe stored is the command line rwin meant, quotes and all.
    assert_eq!(svc.bin_path, bin_path(&agent));
    assert_eq!(
        svc.bin_path,
        r#""C:\Program Files\rwin\agent\agent.exe" --log C:\ProgramData\rwin\agent\agent.log "two words""#
    );

    // A second run: same hashes, same configuration, running: nothing to do.
    assert!(s.deploy(&net, &contents(7)).is_unchanged());
    assert!(s.deploy(&agent, &contents(7)).is_unchanged());
    let (out, _, _) = s.run(&service_facts_script(&agent));
    let facts = parse_service_facts(&out).expect("facts");
    let qc = parse_qc(facts.config.as_deref().expect("sc.exe qc output"));
    assert_eq!(qc.dependencies, vec!["rwin-network".to_string()]);
    assert_eq!(qc.start_type, "AUTO_START");
}

#[test]
fn a_changed_binary_or_argument_replaces_and_restarts_the_service() {
    let s = sim("change");
    s.deploy(&net(&[]), &contents(7));
    s.deploy(&agent(7), &contents(7));

    // A new agent binary: only it is uploaded; the service is stopped, replaced, started.
    let newer = agent(9);
    let w = s.deploy(&newer, &contents(9));
    assert_eq!(w.outcome(), "replaced");
    assert!(w.stop_first && w.reconfigure.is_none());
    assert_eq!(w.upload.len(), 1);
    let st = s.state();
    assert_eq!(
        st.files[&format!(r"{PROGRAM_DIR}\agent\agent.exe")]
            .sha256
            .as_deref(),
        Some(newer.binary.sha256.as_str())
    );
    assert_eq!(
        st.service("rwin-agent").map(|x| x.status.as_str()),
        Some("Running")
    );

    // New arguments for the network service: reconfigured; stopping it (-Force) stops the agent
    // that depends on it, and the agent's own deploy starts it again.
    let w = s.deploy(&net(&["--verbose"]), &contents(9));
    assert!(w.reconfigure.is_some(), "{w:?}");
    assert!(w.upload.is_empty());
    let st = s.state();
    assert_eq!(
        st.service("rwin-network").map(|x| x.status.as_str()),
        Some("Running")
    );
    assert!(st
        .service("rwin-network")
        .is_some_and(|x| x.bin_path.ends_with("per-host-subnet.exe\" --verbose")));
    assert_eq!(
        st.service("rwin-agent").map(|x| x.status.as_str()),
        Some("Stopped")
    );
    assert_eq!(s.deploy(&newer, &contents(9)).outcome(), "started");
    assert_eq!(
        s.state().service("rwin-agent").map(|x| x.status.as_str()),
        Some("Running")
    );
}

#[test]
fn teardown_removes_dependents_first_then_files_and_directories() {
    let s = sim("teardown");
    let (n, a) = (net(&[]), agent(7));
    s.deploy(&n, &contents(7));
    s.deploy(&a, &contents(7));
    let record = |spec: &ServiceSpec| ServiceRecord {
        name: spec.name.clone(),
        depends_on: spec.depends_on.clone(),
        files: spec.all_files().map(|f| remote_path(spec, f)).collect(),
    };
    // Recorded network first: teardown must still take the agent first (stopping the network
    // service while the agent runs would need -Force).
    let t = Teardown {
        cluster: "demo".into(),
        services: vec![record(&n), record(&a)],
        ..Default::default()
    };
    let script = teardown_script(&t);
    assert!(
        script.find("'rwin-agent'").expect("agent in the script")
            < script
                .find("'rwin-network'")
                .expect("network in the script")
    );
    let (out, err, _) = s.run(&script);
    assert!(!out.contains("left="), "{out}\n{err}");
    for what in [
        "removed=Windows service rwin-agent",
        "removed=Windows service rwin-network",
        r"removed=file C:\Program Files\rwin\agent\agent.exe",
        r"removed=directory C:\Program Files\rwin",
        r"removed=directory C:\ProgramData\rwin",
    ] {
        assert!(out.contains(what), "{what} missing from\n{out}");
    }
    let st = s.state();
    assert!(st.services.iter().all(|x| !x.name.starts_with("rwin-")));
    assert!(
        st.files
            .keys()
            .all(|k| !k.starts_with(PROGRAM_DIR) && !k.starts_with(DATA_DIR)),
        "{:?}",
        st.files.keys().collect::<Vec<_>>()
    );
}

#[test]
/// What these assertions rest on is Windows' documented behaviour, each with its source; the
/// test shows that winsim imitates it (it cannot show Windows does it: nothing here is Windows).
fn winsim_refuses_what_windows_documents_it_refuses() {
    let s = sim("faithful");
    s.deploy(&net(&[]), &contents(7));
    s.deploy(&agent(7), &contents(7));
    // Stopping a service others depend on needs -Force. Source: Stop-Service, -Force: "Forces
    // cmdlets to stop a service even if it has dependent services."
    // https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-service?view=powershell-5.1
    let (_, err, code) =
        s.run("$ErrorActionPreference = 'Stop'\nStop-Service -Name 'rwin-network'\n");
    assert_eq!(code, 1);
    assert!(err.contains("dependent services"), "{err}");
    // Deleting a running service only marks it; it goes when it stops, and its name cannot be
    // created again until then. Sources: DeleteService ("marks a service for deletion ... The
    // database entry is not removed until ... the service is not running"),
    // https://learn.microsoft.com/windows/win32/api/winsvc/nf-winsvc-deleteservice, and
    // ERROR_SERVICE_MARKED_FOR_DELETE = 1072 in
    // https://learn.microsoft.com/windows/win32/debug/system-error-codes--1000-1299-
    let (out, _, _) = s.run("sc.exe delete 'rwin-agent'\n$LASTEXITCODE\n");
    assert!(out.contains("DeleteService SUCCESS"), "{out}");
    assert!(s.state().service("rwin-agent").is_some());
    let (out, _, _) =
        s.run("sc.exe create 'rwin-agent' binPath= 'C:\\x.exe' start= auto\n$LASTEXITCODE\n");
    assert!(out.contains("1072"), "{out}");
    s.run("Stop-Service -Name 'rwin-agent'\n");
    assert!(s.state().service("rwin-agent").is_none());
    // Writing into a directory that does not exist fails: .NET Framework (which Windows
    // PowerShell 5.1 runs on) turns ERROR_PATH_NOT_FOUND into DirectoryNotFoundException,
    // "Could not find a part of the path '{0}'." (__Error.WinIOError,
    // https://referencesource.microsoft.com/#mscorlib/system/io/__error.cs).
    let (_, err, code) = s.run("$ErrorActionPreference = 'Stop'\n$bytes = [Convert]::FromBase64String('AAE=')\nSet-Content -Path 'C:\\nowhere\\x.bin' -Value $bytes -Encoding Byte\n");
    assert_eq!(code, 1);
    assert!(err.contains("Could not find a part of the path"), "{err}");
}

/// A program that does not connect to the service manager cannot run as a service: the
/// service manager starts its process, waits ServicesPipeTimeout (30 s by default) for it to
/// call StartServiceCtrlDispatcher, and gives up with ERROR_SERVICE_REQUEST_TIMEOUT (1053).
/// Sources: StartService, "ERROR_SERVICE_REQUEST_TIMEOUT: The process for the service was
/// started, but it did not call StartServiceCtrlDispatcher",
/// https://learn.microsoft.com/windows/win32/api/winsvc/nf-winsvc-startservicew; 1053's text,
/// https://learn.microsoft.com/windows/win32/debug/system-error-codes--1000-1299-; the 30 s
/// default, Event ID 7009, https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/cc756342(v=ws.10).
/// Start-Service reports it as ServiceController.Start's InvalidOperationException, whose
/// message names no error code (PowerShell `ServiceResources.CouldNotStartService`, .NET
/// `CannotStart`). winsim answers at once: the 30 s are not waited.
#[test]
fn a_program_that_is_no_service_fails_to_start_with_1053() {
    let s = sim("no-scm");
    let setup = "$ErrorActionPreference = 'Stop'
New-Item -Path 'C:\\Program Files\\plain' -ItemType Directory -Force | Out-Null
$b = [Convert]::FromBase64String('TVqQAA==')
Set-Content -Path 'C:\\Program Files\\plain\\plain.exe' -Value $b -Encoding Byte
sc.exe create 'plain' binpath= '\\\"C:\\Program Files\\plain\\plain.exe\\\" --x' start= auto | Out-Null
sc.exe create 'needs-plain' binpath= 'C:\\Windows\\System32\\svchost.exe -k x' start= auto depend= plain | Out-Null
";
    let (_, err, code) = s.run(setup);
    assert_eq!((err.as_str(), code), ("", 0));
    let (out, err, _) = s.run("sc.exe start 'plain'\n$LASTEXITCODE\n");
    assert_eq!(
        out,
        "[SC] StartService FAILED 1053:\r\n\r\nThe service did not respond to the start or control request in a timely fashion.\r\n\r\n1053\r\n",
        "{err}"
    );
    let (_, err, code) = s.run("$ErrorActionPreference = 'Stop'\nStart-Service -Name 'plain'\n");
    assert_eq!(code, 1);
    assert!(
        err.contains("Service 'plain (plain)' cannot be started due to the following error: Cannot start service plain on computer '.'."),
        "{err}"
    );
    assert!(
        !err.contains("1053"),
        "Start-Service's message names no code: {err}"
    );
    assert_eq!(
        s.state().service("plain").map(|x| x.status.as_str()),
        Some("Stopped")
    );
    // A service that depends on it fails with 1068.
    let (out, _, _) = s.run("sc.exe start 'needs-plain' | Out-Null\n$LASTEXITCODE\n");
    assert_eq!(out, "1068\r\n");
    // The same file with the service manager's entry point named in it starts; starting it
    // again is 1056, which Start-Service takes as done.
    let mut bytes = b"MZ".to_vec();
    bytes.extend_from_slice(SCM_ENTRY);
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    let (out, err, code) = s.run(&format!(
        "$b = [Convert]::FromBase64String('{b64}')\nSet-Content -Path 'C:\\Program Files\\plain\\plain.exe' -Value $b -Encoding Byte\nsc.exe start 'plain' | Out-Null\n$LASTEXITCODE\nsc.exe start 'plain' | Out-Null\n$LASTEXITCODE\nStart-Service -Name 'plain'\n(Get-Service -Name 'plain').Status\n"
    ));
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("0\r\n1056\r\nRunning\r\n", "", 0)
    );
}

/// rwin deploying a service component whose binary is a plain program, not a Windows service:
/// Windows refuses to start it (1053, see above), and rwin must say why in words the operator
/// can act on, not just that the start failed.
#[test]
fn rwin_says_plainly_that_a_service_binary_must_be_a_windows_service() {
    let s = sim("rwin-no-scm");
    const PLAIN: &[u8] = b"MZ a console program that never calls the service manager";
    let spec = ServiceSpec::new(
        "plain",
        &Service {
            binary: file("plain.exe", PLAIN),
            files: Vec::new(),
            args: Vec::new(),
            depends_on: Vec::new(),
        },
        Vec::new(),
    );
    let plain = |_: &ServiceFile| PLAIN.to_vec();
    let (out, _, _) = s.run(&service_facts_script(&spec));
    let facts = parse_service_facts(&out).expect("facts");
    let work = service_work(&spec, &facts);
    let contents: Vec<Vec<u8>> = work.upload.iter().map(plain).collect();
    let script = service_apply_script(&spec, &work, &contents).expect("script");
    let (out, err, code) = s.run(&script);
    let e = apply_result(&spec, &out, &err, code as u32)
        .expect_err("a plain program cannot start as a service");
    assert!(
        e.contains("1053") && e.contains("must be a Windows service"),
        "rwin's error: {e}"
    );
}
