//! Docker on Windows refuses what Docker on Linux lets through, and rwin's container scripts
//! (src/docker/cli.rs), run through winsim's interpreter (effects dry), cope with it:
//! - a bind mount whose host directory does not exist (moby `volume/mounts/windows_parser.go`:
//!   `errBindSourceDoesNotExist`; Docker on Linux creates the directory instead);
//! - `sleep` as a container's command (Windows images have no `sleep`), and Linux ping's flags
//!   (Windows ping takes `-n COUNT -w MILLISECONDS`; its docs page has no `-W`).

use std::collections::BTreeMap;

use rwin::docker::cli::{ensure_script, Isolation};
use rwin::docker::ensure::ContainerChange;
use rwin::docker::spec::ContainerSpec;
use rwin::os::windows::script_command;
use winsim::effects::Effects;
use winsim::host::Host;

struct Scratch(std::path::PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn host(tag: &str) -> (Host, Scratch) {
    let dir = std::env::temp_dir().join(format!("winsim-containers-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let host = Host::open(
        dir.join("state.json"),
        Effects::new(true, "unix:///nonexistent"),
    )
    .expect("host");
    (host, Scratch(dir))
}

fn run(host: &Host, script: &str) -> (String, String, i32) {
    let out = host.run_sync(&script_command(), script.as_bytes());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.code,
    )
}

/// What docker.exe was asked to do, as `docker ARGS…` lines.
fn docker_calls(host: &Host) -> Vec<String> {
    host.fx
        .log
        .lock()
        .expect("log")
        .iter()
        .filter(|a| a.first().map(String::as_str) == Some("docker"))
        .map(|a| format!("docker {}", a[3..].join(" ")))
        .collect()
}

#[test]
fn docker_run_refuses_a_bind_whose_host_directory_does_not_exist() {
    let (h, _d) = host("bind");
    let run_web =
        "docker run -d --name 'rwin-web' -v 'C:\\rwin\\Web:C:\\inetpub\\logs' 'iis:ltsc2022'";
    let (_, err, _) = run(&h, run_web);
    assert!(
        err.contains(
            "docker: Error response from daemon: invalid volume specification: 'C:\\rwin\\Web:C:\\inetpub\\logs': invalid mount config for type \"bind\": bind source path does not exist: c:\\rwin\\web"
        ),
        "{err}"
    );
    let (out, err, code) = run(&h, &format!("{run_web}\n$LASTEXITCODE"));
    assert_eq!((out.as_str(), code), ("125\r\n", 0), "{err}");
    assert!(docker_calls(&h).is_empty(), "nothing reached the engine");
    // `docker create` is refused the same way, reported without `docker:`.
    let (out, err, _) = run(
        &h,
        "docker create --name 'rwin-web' -v 'C:/rwin/web/:C:\\logs:ro' 'iis:ltsc2022'\n$LASTEXITCODE",
    );
    assert_eq!(out, "1\r\n");
    assert!(
        err.starts_with("Error response from daemon: invalid volume specification: 'C:/rwin/web/:C:\\logs:ro': invalid mount config for type \"bind\": bind source path does not exist: c:\\rwin\\web\n"),
        "{err}"
    );
    // Once the directory exists, the container is made; a named volume, a destination alone
    // and the system drive's root are not binds of a missing directory.
    let (_, err, code) = run(
        &h,
        "New-Item -Path 'C:\\rwin\\web' -ItemType Directory -Force | Out-Null\n\
         docker run -d --name 'rwin-web' -v 'C:\\rwin\\web:C:\\inetpub\\logs' 'iis:ltsc2022'\n\
         if ($LASTEXITCODE -ne 0) { throw 'run' }\n\
         docker create --name 'a' -v 'data:C:\\data' -v 'C:\\scratch' -v 'C:\\:D:' 'iis:ltsc2022'\n\
         if ($LASTEXITCODE -ne 0) { throw 'create' }",
    );
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(
        docker_calls(&h),
        [
            "docker run -d --name rwin-web -v C:\\rwin\\web:C:\\inetpub\\logs iis:ltsc2022",
            "docker create --name a -v data:C:\\data -v C:\\scratch -v C:\\:D: iis:ltsc2022",
        ]
    );
    // A file is no bind source either ("source path must be a directory").
    let (_, err, _) = run(
        &h,
        "$b = [Convert]::FromBase64String('AA==')\n\
         Set-Content -Path 'C:\\rwin\\web\\f.txt' -Value $b -Encoding Byte\n\
         docker run -d --name 'b' -v 'C:\\rwin\\web\\f.txt:C:\\f' 'iis:ltsc2022'",
    );
    assert!(err.contains("source path must be a directory"), "{err}");
}

fn web(binds: &[&str]) -> ContainerSpec {
    ContainerSpec {
        name: "rwin-web".into(),
        component: "web".into(),
        node: "win1".into(),
        image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022".into(),
        entrypoint: None,
        command: vec![],
        env: BTreeMap::new(),
        binds: binds.iter().map(|b| b.to_string()).collect(),
        ports: Vec::new(),
        network: rwin::config::NetworkMode::Pod,
        privileged: false,
        restart: "unless-stopped".into(),
        labels: BTreeMap::new(),
        hash: "3f2a9c0d1b7e4a55".into(),
    }
}

#[test]
fn rwins_container_script_makes_the_bind_directories_first() {
    let (h, _d) = host("rwin-bind");
    let spec = web(&[
        r"C:\rwin\web\logs:C:\inetpub\logs",
        r"C:\ProgramData\rwin\web:C:\data:ro",
    ]);
    let script =
        ensure_script(&spec, &ContainerChange::Create, None, Isolation::Default).expect("script");
    let (out, err, code) = run(&h, script.text());
    assert!(
        rwin::docker::cli::succeeded(&out),
        "exit {code}\nstdout: {out}\nstderr: {err}"
    );
    let st = winsim::state::WinState::load(&_d.0.join("state.json")).expect("state");
    for dir in [r"C:\rwin\web\logs", r"C:\ProgramData\rwin\web"] {
        assert!(
            st.files.get(dir).is_some_and(|f| f.directory),
            "{dir} made: {:?}",
            st.files.keys().collect::<Vec<_>>()
        );
    }
    // Running it again (a replace) finds the directories there.
    let script = ensure_script(
        &spec,
        &ContainerChange::Replace {
            reason: "image changed".into(),
        },
        None,
        Isolation::Default,
    )
    .expect("script");
    let (out, err, code) = run(&h, script.text());
    assert!(
        rwin::docker::cli::succeeded(&out),
        "exit {code}\nstdout: {out}\nstderr: {err}"
    );
}

#[test]
fn windows_images_have_no_sleep_and_windows_ping_refuses_linux_flags() {
    let (h, _d) = host("sleep-ping");
    // `sleep` is no Windows program: the container is created, its process cannot be.
    let (out, err, _) = run(
        &h,
        "docker run -d --name 'rwin-probe' --restart 'no' 'busybox:1' 'sleep' '120'\n$LASTEXITCODE",
    );
    assert_eq!(out, "127\r\n", "{err}");
    assert!(
        err.starts_with("docker: Error response from daemon: container ")
            && err.contains(" encountered an error during hcs::System::CreateProcess: failure in a Windows system call: The system cannot find the file specified. (0x2)"),
        "{err}"
    );
    assert_eq!(
        docker_calls(&h),
        ["docker create --name rwin-probe --restart no busybox:1 sleep 120"]
    );
    // Linux ping's -W is no Windows ping option: ping fails at once (exit 1), pinging nothing.
    let (out, err, _) = run(
        &h,
        "docker exec 'rwin-probe' ping -c 1 -W 2 '10.42.0.2'\n$LASTEXITCODE",
    );
    assert_eq!(out, "Bad option -W.\r\n1\r\n", "{err}");
    assert_eq!(docker_calls(&h).len(), 1, "no exec reached the engine");
    // Windows' own flags, with - or /, run as the Linux ping that does the same.
    let (_, err, code) = run(
        &h,
        "docker exec 'rwin-probe' ping -n 1 -w 2000 '10.42.0.2' | Out-Null\n\
         docker run -d --name 'rwin-probe' 'busybox:1' 'ping' '-t' '127.0.0.1' | Out-Null",
    );
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(
        docker_calls(&h)[1..],
        [
            "docker exec rwin-probe ping -c 1 -W 2 10.42.0.2",
            "docker run -d --name rwin-probe busybox:1 ping 127.0.0.1",
        ]
    );
}

/// doctor's probe on a Windows node runs `KEEP_ALIVE` and `ping_command` whether it goes
/// through scripts (WinRM) or the Docker API (OpenSSH: winsim's dial-stdio makes the same
/// commands Linux's, native/docker.rs `api_request`; the choice itself is tested in
/// src/commands/doctor/probe.rs): winsim's docker takes both.
#[test]
fn the_probe_commands_rwin_uses_on_windows_are_windows_commands() {
    use rwin::docker::cli::probe::{ping_command, KEEP_ALIVE};
    let (h, _d) = host("probe");
    let quoted = |words: &[String]| {
        words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let keep_alive: Vec<String> = KEEP_ALIVE.map(String::from).to_vec();
    let script = format!(
        "docker run -d --name 'rwin-probe' 'busybox:1' {}\nif ($LASTEXITCODE -ne 0) {{ throw 'run' }}\ndocker exec 'rwin-probe' {}\nif ($LASTEXITCODE -ne 0) {{ throw 'exec' }}",
        quoted(&keep_alive),
        quoted(&ping_command("10.42.0.2"))
    );
    let (_, err, code) = run(&h, &script);
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(
        docker_calls(&h),
        [
            "docker run -d --name rwin-probe busybox:1 ping 127.0.0.1",
            "docker exec rwin-probe ping -c 1 -W 2 10.42.0.2",
        ]
    );
}

/// A pull of a Windows base image takes minutes (several GB: the state's `pull_ms` stands for
/// it), and a pull of an image the registry does not have fails with the daemon's message.
#[test]
fn docker_pull_takes_its_time_and_an_image_the_registry_lacks_fails() {
    let (h, d) = host("pull");
    let path = d.0.join("state.json");
    let mut st = winsim::state::WinState::load(&path).expect("state");
    st.pull_ms = 300;
    st.absent_images = vec!["reg.example:5000/web".into()];
    st.save(&path).expect("save");
    let at = std::time::Instant::now();
    let (out, err, code) = run(
        &h,
        "docker pull 'mcr.microsoft.com/windows/servercore:ltsc2022' | Out-Null\n$LASTEXITCODE",
    );
    assert_eq!((out.as_str(), err.as_str(), code), ("0\r\n", "", 0));
    assert!(at.elapsed() >= std::time::Duration::from_millis(300));
    let (out, err, _) = run(&h, "docker pull 'reg.example:5000/web'\n$LASTEXITCODE");
    assert_eq!(out, "1\r\n");
    assert_eq!(
        err,
        "Error response from daemon: manifest for reg.example:5000/web:latest not found: manifest unknown: manifest unknown\n"
    );
    assert_eq!(
        docker_calls(&h),
        ["docker pull mcr.microsoft.com/windows/servercore:ltsc2022"],
        "the missing image reached no engine"
    );
}

/// `docker run --env-file` reads the file on the host as the docker CLI does (a BOM dropped,
/// CRLF line ends, `#` comments, the value kept as written), refuses a missing file with Go's
/// Windows error before anything reaches the engine, and a `finally` block runs after a
/// `throw` in its `try` block (about_Try_Catch_Finally).
#[test]
fn docker_reads_an_env_file_from_the_host_and_a_finally_block_runs_after_a_throw() {
    let (h, _d) = host("env-file");
    let temp = r"C:\Users\Administrator\AppData\Local\Temp";
    let (out, err, code) = run(
        &h,
        "$f = $env:TEMP + '\\web.env'\n\
         Set-Content -LiteralPath $f -Value @('# a comment', '  A= spaced  ', 'B=it''s \"q\"') -Encoding UTF8\n\
         docker run -d --env-file $f --name 'rwin-web' 'busybox:1'\n\
         if ($LASTEXITCODE -ne 0) { throw 'run' }\n\
         Write-Output $f",
    );
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        (format!("{temp}\\web.env\r\n").as_str(), "", 0)
    );
    assert_eq!(
        docker_calls(&h),
        ["docker run -e A= spaced   -e B=it's \"q\" -d --name rwin-web busybox:1"]
    );
    // Windows PowerShell's UTF8: a BOM first, CRLF after every value.
    let st = winsim::state::WinState::load(&_d.0.join("state.json")).expect("state");
    assert_eq!(
        st.files[&format!("{temp}\\web.env")].content.as_deref(),
        Some("\u{feff}# a comment\r\n  A= spaced  \r\nB=it's \"q\"\r\n")
    );
    // A missing file: the CLI's own error (exit 125), nothing reaches the engine.
    let (out, err, _) = run(
        &h,
        "docker run -d --env-file 'C:\\Users\\Administrator\\AppData\\Local\\Temp\\gone.env' 'busybox:1'\n$LASTEXITCODE\n\
         docker create --env-file 'C:\\nowhere\\x.env' 'busybox:1'\n$LASTEXITCODE",
    );
    assert_eq!(out, "125\r\n125\r\n");
    assert_eq!(
        err,
        format!(
            "docker: open {temp}\\gone.env: The system cannot find the file specified.\nSee 'docker run --help'.\n\
             docker: open C:\\nowhere\\x.env: The system cannot find the path specified.\nSee 'docker create --help'.\n"
        )
    );
    assert_eq!(docker_calls(&h).len(), 1);
    // try/finally: the finally block runs, then the error ends the script.
    let (out, err, code) = run(
        &h,
        "$ErrorActionPreference = 'Stop'\n\
         try {\n    Write-Output 'tried'\n    throw 'failed'\n    Write-Output 'not reached'\n} finally {\n    Write-Output 'cleaned'\n}\n\
         Write-Output 'not reached either'",
    );
    assert_eq!((out.as_str(), code), ("tried\r\ncleaned\r\n", 1), "{err}");
    assert!(err.starts_with("failed\r\n"), "{err}");
    let (_, err, _) = run(&h, "try { Write-Output 1 } catch { Write-Output 2 }");
    assert!(err.contains("winsim: unsupported"), "{err}");
}

/// rwin's container script with an environment, run with the shell variables rwin's WinRM
/// connection sets (`container_environment`), on a host that records what Windows can record:
/// the command line of every process (event 4688) and the text of every script block (event
/// 4104). The value reaches the container (winsim's engine gets it) and none of those, and the
/// env file is gone afterwards (issue 13 §9).
#[test]
fn the_environment_reaches_the_container_through_a_file_that_is_gone_afterwards() {
    use rwin::docker::cli::container_environment;
    let (h, d) = host("env-secret");
    let path = d.0.join("state.json");
    let mut st = winsim::state::WinState::load(&path).expect("state");
    st.auditing = true;
    st.save(&path).expect("save");
    const VALUE: &str = "s3cret value; $(calc) 'x'";
    let mut spec = web(&[]);
    spec.env = BTreeMap::from([
        ("SITE_SECRET".into(), VALUE.into()),
        ("EMPTY".into(), String::new()),
    ]);
    let script =
        ensure_script(&spec, &ContainerChange::Create, None, Isolation::Default).expect("script");
    assert!(!script.text().contains("s3cret"), "{}", script.text());
    let env: Vec<(String, String)> = container_environment([&spec])
        .into_iter()
        .map(|(k, v)| (k, v.expose().to_string()))
        .collect();
    let bootstrap = script_command();
    // As over WinRM: the shell's variables and its UTF-8 code page.
    let launch = winsim::runner::Launch {
        env,
        codepage: Some(65001),
    };
    let out = h.run_with(&bootstrap, script.text().as_bytes(), &launch);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        rwin::docker::cli::succeeded(&stdout),
        "exit {}\n{stdout}\n{stderr}",
        out.code
    );
    // The engine got the variables.
    let calls = docker_calls(&h);
    assert!(
        calls[0].starts_with(&format!(
            "docker run -e EMPTY= -e SITE_SECRET={VALUE} -d --name rwin-web "
        )),
        "{calls:?}"
    );
    let st = winsim::state::WinState::load(&path).expect("state");
    // Nothing Windows records holds the value.
    assert!(!st.script_block_events.is_empty() && !st.process_events.is_empty());
    for event in st.script_block_events.iter().chain(&st.process_events) {
        assert!(!event.contains("s3cret"), "{event}");
    }
    let run_line = st
        .process_events
        .iter()
        .find(|e| e.starts_with("docker run"))
        .expect("docker run's command line");
    assert!(
        run_line.starts_with(
            r"docker run -d --name rwin-web --env-file C:\Users\Administrator\AppData\Local\Temp\rwin-web.env "
        ),
        "{run_line}"
    );
    // The file is gone.
    assert!(
        !st.files.keys().any(|k| k.ends_with("rwin-web.env")),
        "{:?}",
        st.files.keys().collect::<Vec<_>>()
    );
    // Without the shell's variables (a script run outside rwin's connection) it stops before
    // the container is touched, and still leaves no file.
    let out = h.run_with(
        &bootstrap,
        script.text().as_bytes(),
        &winsim::runner::Launch {
            env: Vec::new(),
            codepage: Some(65001),
        },
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "the value of env SITE_SECRET is not in the WinRM shell's environment (RWIN_ENV_WEB_1)"
        ),
        "{stderr}"
    );
    assert_eq!(docker_calls(&h).len(), 1);
    let st = winsim::state::WinState::load(&path).expect("state");
    assert!(!st.files.keys().any(|k| k.ends_with("rwin-web.env")));
}
