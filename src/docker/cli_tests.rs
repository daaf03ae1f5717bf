use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::config::{HealthCheck, PortMapping};
use crate::docker::{LABEL_COMPONENT, LABEL_HASH};
use crate::secret::Secret;

/// A pod-network web component as `ContainerSpec::build` renders it.
fn web() -> ContainerSpec {
    ContainerSpec {
        name: "rwin-web".into(),
        component: "web".into(),
        node: "win1".into(),
        image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022".into(),
        entrypoint: None,
        command: vec![],
        env: BTreeMap::from([("SITE_NAME".into(), "Default Web Site".into())]),
        binds: vec![r"C:\rwin\web:C:\inetpub\logs".into()],
        ports: vec![PortMapping {
            host: 8080,
            container: 80,
            protocol: "tcp".into(),
        }],
        network: NetworkMode::Pod,
        privileged: false,
        restart: "unless-stopped".into(),
        labels: BTreeMap::from([
            (LABEL_CLUSTER.into(), "demo".into()),
            (LABEL_COMPONENT.into(), "web".into()),
            ("io.rwin.node".into(), "win1".into()),
            (LABEL_HASH.into(), "3f2a9c0d1b7e4a55".into()),
        ]),
        hash: "3f2a9c0d1b7e4a55".into(),
    }
}

fn health(check: HealthCheck) -> Health {
    Health {
        check,
        timeout: Duration::from_secs(10),
        interval: Duration::from_secs(2),
    }
}

fn registry() -> Registry {
    Registry {
        url: "reg.example:5000".into(),
        user: Some("deploy".into()),
        password: Some(Secret::new("s3cr'et$")),
        is_default: true,
    }
}

/// One argument of a command as PowerShell parses it.
#[derive(Debug, PartialEq)]
enum Arg {
    /// A bare word or parameter (`run`, `-d`).
    Word(String),
    /// Exactly one single-quoted string, unescaped.
    Str(String),
    /// Anything else: a variable, an expression, a list.
    Other(String),
}

/// Every command in `script` (name, arguments), parsed with tree-sitter-powershell; fails on
/// any syntax error.
fn commands(script: &str) -> Vec<(String, Vec<Arg>)> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .unwrap();
    let tree = parser.parse(script, None).unwrap();
    assert!(!tree.root_node().has_error(), "syntax error in:\n{script}");
    let text = |n: tree_sitter::Node| n.utf8_text(script.as_bytes()).unwrap().to_string();
    let mut out = vec![];
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
        if node.kind() != "command" {
            continue;
        }
        let name = text(node.child_by_field_name("command_name").unwrap());
        let mut args = vec![];
        if let Some(elements) = node.child_by_field_name("command_elements") {
            let mut cursor = elements.walk();
            for e in elements.named_children(&mut cursor) {
                args.push(match e.kind() {
                    "command_argument_sep" => continue,
                    "generic_token" | "command_parameter" => Arg::Word(text(e)),
                    _ => match only_string(e) {
                        Some(s) => Arg::Str(unquote(&text(s))),
                        None => Arg::Other(text(e)),
                    },
                });
            }
        }
        out.push((name, args));
    }
    out.sort_by_key(|(n, _)| n.clone());
    out
}

/// The verbatim string `node` is made of, if it is just one.
fn only_string(node: tree_sitter::Node) -> Option<tree_sitter::Node> {
    match node.kind() {
        "verbatim_string_characters" => Some(node),
        _ if node.named_child_count() == 1 => only_string(node.named_child(0)?),
        _ => None,
    }
}

fn unquote(s: &str) -> String {
    s[1..s.len() - 1].replace("''", "'")
}

fn docker_run_args(script: &str) -> Vec<Arg> {
    commands(script)
        .into_iter()
        .find(|(n, a)| n == "docker" && a.first() == Some(&Arg::Word("run".into())))
        .map(|(_, a)| a)
        .unwrap()
}

/// `ensure_script` with default isolation.
fn ensure(
    spec: &ContainerSpec,
    change: ContainerChange,
    h: Option<Health>,
) -> Result<Script, String> {
    ensure_script(spec, &change, h.as_ref(), Isolation::Default)
}

/// The old container goes only once the bind folders and the env file are there, so a failure
/// before leaves it running; the env file goes in a `finally`, whatever happened. No pull: it
/// is a command of its own (`pull_script`).
#[test]
fn replacing_a_pod_container_writes_the_env_file_then_removes_runs_and_waits_for_http() {
    let check = HealthCheck::Http(format!("http://{CONTAINER_IP}:80/healthz"));
    let reason = "configuration changed".into();
    let s = ensure(
        &web(),
        ContainerChange::Replace { reason },
        Some(health(check)),
    )
    .unwrap();
    assert_eq!(s.text(), s.redacted());
    let text = s.text();
    let pos = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    assert!(
        pos("New-Item") < pos("Set-Content")
            && pos("Set-Content") < pos("docker rm -f")
            && pos("docker rm -f") < pos("docker run")
            && pos("docker run") < pos("} finally {")
            && pos("} finally {") < pos("Remove-Item -LiteralPath $envFile"),
        "{text}"
    );
    assert!(!text.contains("docker pull") && !text.contains("docker login"));
    // The value is in neither the script nor docker's command line.
    assert!(!text.contains("Default Web Site"), "{text}");
    let args = docker_run_args(text);
    assert!(args.contains(&Arg::Other("$envFile".into())), "{args:?}");
    assert!(!args.contains(&Arg::Word("-e".into())), "{args:?}");
    insta::assert_snapshot!(text);
}

#[test]
fn pulling_from_a_private_registry_logs_in_and_out_and_keeps_the_password_out() {
    let s = pull_script("reg.example:5000/web:1.2", &[registry()]).unwrap();
    let (_, login) = commands(s.text())
        .into_iter()
        .find(|(n, a)| n == "docker" && a.first() == Some(&Arg::Word("login".into())))
        .unwrap();
    assert_eq!(login[2], Arg::Str("deploy".into()));
    // The password is not in the script (Script Block Logging, event 4104, records script
    // text): it comes from the WinRS shell's environment, which the transport sets up.
    assert!(!s.text().contains("s3cr"), "{}", s.text());
    assert!(s
        .text()
        .contains("$env:RWIN_REGISTRY_PASSWORD_0 | docker login"));
    assert_eq!(
        registry_environment(&[registry()])
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect::<Vec<_>>(),
        [("RWIN_REGISTRY_PASSWORD_0", "s3cr'et$")]
    );
    assert!(!s.redacted().contains("s3cr") && !format!("{s:?}").contains("s3cr"));
    // Logged out after the pull, whether it worked or not: `docker login` leaves the
    // credentials in the host's Docker config otherwise.
    let at = |w: &str| s.text().find(w).unwrap_or_else(|| panic!("no {w}"));
    assert!(
        at("docker login") < at("docker pull") && at("docker pull") < at("docker logout"),
        "{}",
        s.text()
    );
    assert!(s.text().contains("docker logout 'reg.example:5000'"));
    // A failure names the image and the registry, and says what to check.
    assert!(s.text().contains("pulling image reg.example:5000/web:1.2 from registry reg.example:5000 failed (Docker''s message is above): check the image''s name and tag, that the host reaches it, and its user and password_env in private_registries; the old container, if any, is left running"), "{}", s.text());
    assert!(s.text().trim_end().ends_with("Write-Output 'rwin: done'"));
    insta::assert_snapshot!(s.redacted());
    // Without credentials for the image's registry: no login, Docker Hub named as the registry.
    let hub = pull_script("busybox:1", &[registry()]).unwrap();
    assert!(!hub.text().contains("docker login"), "{}", hub.text());
    assert!(hub
        .text()
        .contains("pulling image busybox:1 from registry docker.io failed"));
}

#[test]
fn start_and_unchanged_only_start_and_wait() {
    let exec = || {
        Some(health(HealthCheck::Exec(vec![
            "cmd".into(),
            "/c".into(),
            "exit 0".into(),
        ])))
    };
    let start = ensure(&web(), ContainerChange::Start, exec()).unwrap();
    let unchanged = ensure(&web(), ContainerChange::Unchanged, exec()).unwrap();
    for s in [&start, &unchanged] {
        assert!(!s.text().contains("docker pull") && !s.text().contains("docker run"));
        assert!(s
            .text()
            .contains("docker exec 'rwin-web' 'cmd' '/c' 'exit 0' | Out-Null"));
    }
    assert!(start.text().contains("docker start 'rwin-web'"));
    assert!(!unchanged.text().contains("docker start"));
    insta::assert_snapshot!(unchanged.text());
}

#[test]
fn hostile_values_arrive_as_one_string_argument() {
    let hostile = "a b'; Remove-Item C:\\ -Recurse; $(calc) `n $env:X & echo %PATH% | x";
    let mut spec = web();
    spec.env = BTreeMap::from([("EVIL'; calc; '".into(), hostile.into())]);
    spec.command = vec![hostile.into(), "--flag=it's".into()];
    spec.binds = vec![format!("C:\\data {hostile}:C:\\data")];
    let s = ensure(&spec, ContainerChange::Create, None).unwrap();
    let cmds = commands(s.text());
    let names: Vec<&str> = cmds.iter().map(|(n, _)| n.as_str()).collect();
    let allowed = [
        "docker",
        "New-Item",
        "Out-Null",
        "Write-Output",
        "Set-Content",
        "Remove-Item",
    ];
    assert!(names.iter().all(|n| allowed.contains(n)), "{names:?}");
    // The only Remove-Item is the env file's.
    let removes: Vec<&Vec<Arg>> = cmds
        .iter()
        .filter(|(n, _)| n == "Remove-Item")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(removes.len(), 1, "{removes:?}");
    assert_eq!(removes[0][1], Arg::Other("$envFile".into()));
    // The environment's name is one quoted string, its value is not in the script at all.
    assert!(s
        .text()
        .contains("('EVIL''; calc; ''=' + $env:RWIN_ENV_WEB_0)"));
    // The bind's host directory is made first, its path one single-quoted string.
    let (_, new_item) = cmds
        .iter()
        .find(|(n, _)| n == "New-Item")
        .expect("New-Item");
    assert_eq!(
        new_item[1],
        Arg::Str("C:\\data a b'; Remove-Item C".into()),
        "{new_item:?}"
    );
    let args = docker_run_args(s.text());
    assert!(args.contains(&Arg::Str(format!("C:\\data {hostile}:C:\\data"))));
    assert!(args.ends_with(&[Arg::Str(hostile.into()), Arg::Str("--flag=it's".into())]));
    let other: Vec<&Arg> = args.iter().filter(|a| matches!(a, Arg::Other(_))).collect();
    assert_eq!(other, [&Arg::Other("$envFile".into())], "{args:?}");
}

#[test]
fn values_windows_powershell_would_change_are_refused() {
    for (value, why) in [
        ("{\"a\":1}", "double quote"),
        ("", "empty"),
        ("C:\\my dir\\", "backslash"),
    ] {
        let mut spec = web();
        spec.command = vec![value.into()];
        let e = ensure(&spec, ContainerChange::Create, None).unwrap_err();
        assert!(
            e.starts_with("component web: command argument") && e.contains(why),
            "{e}"
        );
    }
    let mut r = registry();
    r.password = Some(Secret::new("pässword"));
    let e = pull_script("reg.example:5000/web:1.2", &[r]).unwrap_err();
    assert!(e.contains("non-ASCII") && !e.contains("pässword"), "{e}");
}

#[test]
fn a_multi_line_value_is_not_re_indented_inside_the_health_loop() {
    let value = "Write-Output ok\n  second line";
    let words = vec!["powershell".into(), "-Command".into(), value.into()];
    let s = ensure(
        &web(),
        ContainerChange::Unchanged,
        Some(health(HealthCheck::Exec(words))),
    );
    let s = s.unwrap();
    let (_, args) = commands(s.text())
        .into_iter()
        .find(|(n, _)| n == "docker")
        .unwrap();
    assert_eq!(args.last(), Some(&Arg::Str(value.into())), "{}", s.text());
}

#[test]
fn an_untagged_image_is_looked_for_as_latest_and_a_line_break_cannot_leave_the_comment() {
    let s = pull_script("reg.example:5000/tools/busybox", &[]).unwrap();
    assert!(s
        .text()
        .contains("docker images -q 'reg.example:5000/tools/busybox:latest'"));
    assert!(s
        .text()
        .contains("docker pull 'reg.example:5000/tools/busybox' |"));
    let reason = "x\nRemove-Item C:\\".into();
    let s = ensure(&web(), ContainerChange::Replace { reason }, None).unwrap();
    let removes: Vec<_> = commands(s.text())
        .into_iter()
        .filter(|(n, _)| n == "Remove-Item")
        .collect();
    assert_eq!(removes.len(), 1, "only the env file's: {removes:?}");
    assert_eq!(images::with_tag("busybox@sha256:ab"), "busybox@sha256:ab");
    assert_eq!(
        images::with_tag("localhost:5000/busybox:1"),
        "localhost:5000/busybox:1"
    );
}

#[test]
fn typographic_single_quotes_are_doubled_as_powershell_ends_strings_at_them() {
    assert_eq!(quote("it’s ‘x’"), "'it’’s ‘‘x’’'");
    assert_eq!(quote("a'b"), "'a''b'");
}

#[test]
fn entrypoint_takes_one_word_and_the_rest_goes_before_the_command() {
    let mut spec = web();
    spec.entrypoint = Some(vec!["powershell.exe".into(), "-Command".into()]);
    spec.command = vec!["Start-Service w3svc".into()];
    let s = ensure(&spec, ContainerChange::Create, None).unwrap();
    let args = docker_run_args(s.text());
    let tail = [
        "powershell.exe",
        &spec.image,
        "-Command",
        "Start-Service w3svc",
    ]
    .map(|s| Arg::Str(s.into()));
    assert_eq!(args[args.len() - 4..], tail[..]);
    spec.entrypoint = Some(vec![]);
    let s = ensure(&spec, ContainerChange::Create, None).unwrap();
    assert!(docker_run_args(s.text()).contains(&Arg::Str("--entrypoint=".into())));
}

#[test]
fn an_address_inside_a_value_is_built_by_docker_s_template() {
    let http = health(HealthCheck::Http(format!("http://{CONTAINER_IP}:80/{{x}}")));
    let s = ensure(&web(), ContainerChange::Unchanged, Some(http)).unwrap();
    let template = "'http://{{.NetworkSettings.Networks.rwin.IPAddress}}:80/{{`{`}}x}'";
    let expected = format!("$target = docker container inspect -f {template} 'rwin-web'");
    assert!(s.text().contains(&expected), "{}", s.text());
    assert!(s.text().contains("-Uri $target "));
    let tcp = health(HealthCheck::Tcp(format!("{CONTAINER_IP}:2379")));
    let s = ensure(&web(), ContainerChange::Unchanged, Some(tcp)).unwrap();
    let probe = "Test-NetConnection -ComputerName $ip -Port 2379 -InformationLevel Quiet";
    assert!(s.text().contains(probe));
    commands(s.text());
}

#[test]
fn remove_script_removes_each_container_and_checks_docker() {
    let s = remove_script(&["rwin-old".into(), "3f2a9c0d1b7e".into()]).unwrap();
    insta::assert_snapshot!(s);
    assert!(remove_script(&[String::new()]).is_err());
}

#[test]
fn success_is_judged_by_the_last_line() {
    assert!(succeeded(
        "WARNING: TCP connect to 10.42.3.17:80 failed\nrwin: done\r\n\r\n"
    ));
    assert!(!succeeded("rwin: done\nmore"));
    assert!(!succeeded(""));
}

/// The fixture is hand-written in the shape Docker prints on Windows Server 2022 (not recorded
/// from a host): a labelled running container, a stopped one without a hash, an unlabelled one.
#[test]
fn inspect_output_maps_components_to_what_is_there() {
    let json = include_str!("../../tests/fixtures/docker-inspect-windows.json");
    insta::assert_json_snapshot!(parse_inspect(json).unwrap());
    assert!(parse_inspect(" \r\n").unwrap().is_empty());
    let e = parse_inspect("Error: No such container: x").unwrap_err();
    assert!(matches!(e, OutputError::Inspect(_)), "{e}");
    assert!(e.to_string().contains("not its JSON"), "{e}");
    let script = inspect_script("demo").unwrap();
    assert!(script.contains("docker ps -aq --filter 'label=io.rwin.cluster=demo'"));
    commands(&script);
}

#[test]
fn version_output_gives_the_server_version() {
    let json = r#"{"Client":{"Platform":{"Name":""},"Version":"24.0.7","ApiVersion":"1.43","Os":"windows","Arch":"amd64"},"Server":{"Platform":{"Name":"Docker Engine - Community"},"Components":[{"Name":"Engine","Version":"24.0.7","Details":{"Os":"windows"}}],"Version":"24.0.7","ApiVersion":"1.43","MinAPIVersion":"1.24","Os":"windows","Arch":"amd64","KernelVersion":"10.0 20348 (20348.1.amd64fre.fe_release.210507-1500)"}}"#;
    assert_eq!(parse_version(json).unwrap(), "24.0.7");
    let down = r#"{"Client":{"Version":"24.0.7"},"Server":null}"#;
    let e = parse_version(down).unwrap_err();
    assert!(matches!(e, OutputError::NoServer), "{e}");
    assert!(e.to_string().contains("not running"));
    commands(&version_script());
}

/// The health wait is a counted loop: its script is the same size for a one-minute and a
/// 24-hour timeout (a list of every try's number made 864,000 entries of the latter).
#[test]
fn the_health_wait_does_not_grow_with_the_timeout() {
    let size = |timeout: u64| {
        let h = Health {
            check: HealthCheck::Tcp("10.0.0.7:8080".into()),
            timeout: Duration::from_secs(timeout),
            interval: Duration::from_millis(100),
        };
        ensure(&web(), ContainerChange::Start, Some(h))
            .unwrap()
            .text()
            .len()
    };
    let (minute, day) = (size(60), size(86_400));
    assert!(day - minute < 16, "{minute} bytes for 60 s, {day} for 24 h");
}
