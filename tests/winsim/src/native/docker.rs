//! The docker CLI against winsim's dockerd, limited to the subcommands rwin uses. A transparent
//! or l2bridge network becomes a Linux bridge without the gateway on it (Windows' transparent
//! network does not put it on the host either), and `network inspect`/`version` are rewritten to
//! show what Windows would: the Windows driver and its windowsshim options, Os "windows".

use super::{failed, ok, NativeOut};
use crate::host::Ctx;
use crate::state::{Adapter, ContainerNetwork};
use std::collections::BTreeMap;

const PASS_THROUGH: [&str; 13] = [
    "ps",
    "images",
    "container",
    "pull",
    "login",
    "logout",
    "create",
    "run",
    "start",
    "stop",
    "rm",
    "exec",
    "network",
];

pub fn run(ctx: &mut Ctx, args: &[String], stdin: Option<&str>) -> Result<NativeOut, String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["version", "--format", f] if *f == "{{json .}}" => Ok(version(ctx)),
        ["network", "create", rest @ ..] => network_create(ctx, rest),
        ["network", "rm", name] => network_rm(ctx, name),
        ["network", "inspect", ids @ ..] if !ids.is_empty() => Ok(network_inspect(ctx, args)),
        ["network", "ls", "-q", "--filter", f] if f.starts_with("label=") => {
            if ctx.fx.dry {
                let want = f.trim_start_matches("label=");
                let (k, v) = want
                    .split_once('=')
                    .map_or((want, None), |(k, v)| (k, Some(v)));
                let ids: String = ctx
                    .state
                    .networks
                    .iter()
                    .filter(|n| n.labels.get(k).is_some_and(|x| v.is_none_or(|v| v == x)))
                    .map(|n| format!("{}\n", &n.id[..12]))
                    .collect();
                return Ok(ok(&ids));
            }
            Ok(ctx.fx.docker(args, None))
        }
        // `docker ps` filters (docs.docker.com/reference/cli/docker/container/ls/#filter):
        // `label=` and `network=`, each after its own `--filter`; the engine applies them.
        ["ps", "-aq", filters @ ..]
            if !filters.is_empty()
                && filters.chunks(2).all(|f| {
                    matches!(f, ["--filter", v] if v.starts_with("label=") || v.starts_with("network="))
                }) =>
        {
            Ok(ctx.fx.docker(args, None))
        }
        ["exec", _, _, ..] => exec(ctx, args),
        ["container", "inspect", ..]
        | ["images", "-q", _]
        | ["images", "--digests", "--format", _] => Ok(ctx.fx.docker(args, None)),
        ["pull", image] => Ok(pull(ctx, args, image)),
        ["login", "-u", _, "--password-stdin", _] => Ok(ctx.fx.docker(args, stdin)),
        ["logout", _] => Ok(ctx.fx.docker(args, None)),
        ["create" | "run", ..] if a.first() == Some(&"create") || a.contains(&"-d") => {
            container_run(ctx, args)
        }
        ["start", name] => Ok(start(ctx, name)),
        ["stop", _] => Ok(ctx.fx.docker(args, None)),
        ["rm", "-f", name] => {
            let out = ctx.fx.docker(args, None);
            if out.code == 0 {
                ctx.state.container_dns.remove(*name);
            }
            Ok(out)
        }
        [first, ..] if PASS_THROUGH.contains(first) => {
            Err(format!("docker command line 'docker {}'", a.join(" ")))
        }
        _ => Err(format!(
            "docker subcommand '{}'",
            a.first().copied().unwrap_or("")
        )),
    }
}

/// `docker pull IMAGE`: it answers after the state's `pull_ms` (a Windows base image is
/// several GB: `WinState::pull_ms`). An image in the state's `absent_images` fails as the
/// daemon reports a manifest the registry does not have (moby `distribution/errors.go`,
/// `notFoundError`: "manifest for <ref> not found: <registry error>", the reference as
/// `reference.FamiliarString` prints it, with the CLI's default `:latest`; the registry's
/// error for a missing manifest is "manifest unknown: manifest unknown"). The docker CLI
/// prints the daemon's error as `Error response from daemon: …` and exits 1.
fn pull(ctx: &mut Ctx, args: &[String], image: &str) -> NativeOut {
    if ctx.state.pull_ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ctx.state.pull_ms));
    }
    if ctx.state.absent_images.iter().any(|i| i == image) {
        let last = image.rsplit('/').next().unwrap_or(image);
        let tagged = if image.contains('@') || last.contains(':') {
            image.to_string()
        } else {
            format!("{image}:latest")
        };
        return failed(
            1,
            "",
            &format!("Error response from daemon: manifest for {tagged} not found: manifest unknown: manifest unknown\n"),
        );
    }
    ctx.fx.docker(args, None)
}

/// Windows ping's options, each with whether it takes a value: those its docs page lists (case
/// matters: `/r` and `/R` differ), plus `-c COMPARTMENT` and `-p`, which current builds'
/// usage text shows but Microsoft's page does not (third-party reference: pg-fl.jp's ping
/// page), and `-i`, the page's `/I` as ping's usage spells it. Windows ping reads `-x` as `/x`.
const PING_OPTIONS: [(&str, bool); 20] = [
    ("t", false),
    ("a", false),
    ("n", true),
    ("l", true),
    ("f", false),
    ("I", true),
    ("i", true),
    ("v", true),
    ("r", true),
    ("s", true),
    ("j", true),
    ("k", true),
    ("w", true),
    ("R", false),
    ("S", true),
    ("4", false),
    ("6", false),
    ("c", true),
    ("p", false),
    ("?", false),
];

/// What a Windows ping command line becomes in winsim, whose containers are Linux containers.
enum Ping {
    /// The Linux ping arguments that do the same: `/n N` is `-c N`, `/w MS` is `-W` in whole
    /// seconds (at least 1), `/t` ("until interrupted") is dropped, as Linux ping runs until
    /// stopped.
    Linux(Vec<String>),
    /// Windows ping refuses the option (not one of the page's): what it prints.
    BadOption(String),
}

/// Windows ping's arguments `args` (after `ping`) as Linux ping's. A documented option winsim
/// does not translate is outside the contract (Err).
fn linux_ping(args: &[String]) -> Result<Ping, String> {
    // Windows ping reads every option before it sends anything: one it does not know fails
    // the whole command line, wherever it is [unverified: the exact text it prints].
    let mut words = args.iter();
    while let Some(a) = words.next() {
        if let Some(name) = a.strip_prefix('/').or_else(|| a.strip_prefix('-')) {
            match PING_OPTIONS.iter().find(|(o, _)| *o == name) {
                None => return Ok(Ping::BadOption(format!("Bad option {a}.\r\n"))),
                Some((_, true)) => {
                    words.next();
                }
                Some((_, false)) => {}
            }
        }
    }
    let mut out = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        let Some(name) = a.strip_prefix('/').or_else(|| a.strip_prefix('-')) else {
            out.push(a.clone());
            continue;
        };
        let takes_value = PING_OPTIONS.iter().any(|(o, v)| *o == name && *v);
        let value = if takes_value {
            Some(
                rest.next()
                    .cloned()
                    .ok_or_else(|| format!("ping {a} without a value"))?,
            )
        } else {
            None
        };
        match (name, value) {
            ("n", Some(n)) => out.extend(["-c".to_string(), n]),
            ("w", Some(ms)) => {
                let ms: u64 = ms.parse().map_err(|_| format!("ping {a} {ms}"))?;
                out.extend(["-W".to_string(), ms.div_ceil(1000).max(1).to_string()]);
            }
            ("t", None) => {}
            _ => return Err(format!("ping flag '{a}'")),
        }
    }
    Ok(Ping::Linux(out))
}

/// True for a program Windows container images do not have: `sleep` is no Windows command
/// (Windows pauses with `timeout`; Microsoft's own examples keep a container running with
/// `ping -t`), so starting a container whose command is `sleep` fails to create the process.
fn missing_on_windows(program: &str) -> bool {
    let p = program.to_ascii_lowercase();
    p == "sleep" || p == "sleep.exe"
}

/// How Docker on Windows reports a container command that is not in the image: hcsshim cannot
/// create the process (0x2, ERROR_FILE_NOT_FOUND).
fn no_such_program(id: &str) -> String {
    format!("Error response from daemon: container {id} encountered an error during hcs::System::CreateProcess: failure in a Windows system call: The system cannot find the file specified. (0x2)")
}

/// `docker exec NAME CMD…`: Windows ping runs as the Linux ping that does the same, and one
/// with an option Windows ping does not have fails as Windows ping does (exit 1).
fn exec(ctx: &mut Ctx, args: &[String]) -> Result<NativeOut, String> {
    if args[2] != "ping" {
        return Ok(ctx.fx.docker(args, None));
    }
    match linux_ping(&args[3..])? {
        Ping::BadOption(msg) => Ok(failed(1, &msg, "")),
        Ping::Linux(ping) => {
            let mut argv = args[..3].to_vec();
            argv.extend(ping);
            Ok(ctx.fx.docker(&argv, None))
        }
    }
}

/// `docker start NAME`: a container whose command Windows images lack does not start (winsim
/// reads the command from its dockerd; with dry effects there is none to read).
fn start(ctx: &mut Ctx, name: &str) -> NativeOut {
    if !ctx.fx.dry {
        let path = ctx.fx.docker(
            &[
                "container".into(),
                "inspect".into(),
                "-f".into(),
                "{{.Id}} {{.Path}}".into(),
                name.into(),
            ],
            None,
        );
        if let Some((id, program)) = path.stdout.trim().split_once(' ') {
            if path.code == 0 && missing_on_windows(program) {
                return failed(
                    1,
                    "",
                    &format!(
                        "{}\nError: failed to start containers: {name}\n",
                        no_such_program(id)
                    ),
                );
            }
        }
    }
    ctx.fx
        .docker(&["start".to_string(), name.to_string()], None)
}

/// The options of `docker create|run` that take a value (the ones rwin's scripts use), as the
/// docker CLI reads them: `--name x` or `--name=x`.
const RUN_VALUE_OPTIONS: [&str; 14] = [
    "--env-file",
    "--name",
    "--label",
    "-l",
    "--restart",
    "--network",
    "--isolation",
    "-e",
    "--env",
    "-v",
    "--volume",
    "-p",
    "--publish",
    "--entrypoint",
];
const RUN_SWITCHES: [&str; 3] = ["-d", "--detach", "--privileged"];

/// A `docker create|run` command line split the way the docker CLI splits it: options up to the
/// first word that is not one, then the image, then the container's command.
struct RunLine {
    /// `create` or `run`.
    verb: String,
    /// Every option with its value (`None` for a switch), in order.
    options: Vec<(String, Option<String>)>,
    image: String,
    /// The words after the image.
    command: Vec<String>,
}

impl RunLine {
    fn parse(args: &[String]) -> Result<RunLine, String> {
        let verb = args.first().cloned().unwrap_or_default();
        let mut options = Vec::new();
        let mut i = 1;
        while let Some(a) = args.get(i) {
            if !a.starts_with('-') {
                break;
            }
            if let Some((k, v)) = a.split_once('=').filter(|_| a.starts_with("--")) {
                if !RUN_VALUE_OPTIONS.contains(&k) {
                    return Err(format!("docker {verb} option '{k}'"));
                }
                options.push((k.to_string(), Some(v.to_string())));
                i += 1;
            } else if RUN_SWITCHES.contains(&a.as_str()) {
                options.push((a.clone(), None));
                i += 1;
            } else if RUN_VALUE_OPTIONS.contains(&a.as_str()) {
                let v = args
                    .get(i + 1)
                    .ok_or_else(|| format!("docker {verb} {a} without a value"))?;
                options.push((a.clone(), Some(v.clone())));
                i += 2;
            } else {
                return Err(format!("docker {verb} option '{a}'"));
            }
        }
        let image = args
            .get(i)
            .cloned()
            .ok_or_else(|| format!("docker {verb} without an image"))?;
        Ok(RunLine {
            verb,
            options,
            image,
            command: args[i + 1..].to_vec(),
        })
    }

    /// The container's program: `--entrypoint`'s, else the command's first word.
    fn program(&self) -> Option<&str> {
        match self.values(&["--entrypoint"]).last() {
            Some(e) if !e.is_empty() => Some(e),
            _ => self.command.first().map(String::as_str),
        }
    }

    /// The words the program is given (the command, after an entrypoint its arguments).
    fn program_args(&self) -> &[String] {
        match self.values(&["--entrypoint"]).last() {
            Some(e) if !e.is_empty() => &self.command,
            _ => self.command.get(1..).unwrap_or_default(),
        }
    }

    /// The command line again, with `args` for the program's arguments and without the
    /// options in `drop`.
    fn with_program_args(&self, verb: &str, drop: &[&str], args: &[String]) -> Vec<String> {
        let mut out = vec![verb.to_string()];
        for (k, v) in &self.options {
            if drop.contains(&k.as_str()) {
                continue;
            }
            out.push(k.clone());
            out.extend(v.clone());
        }
        out.push(self.image.clone());
        let kept = self.command.len() - self.program_args().len();
        out.extend(self.command[..kept].iter().cloned());
        out.extend(args.iter().cloned());
        out
    }

    /// The command line again with the env files' variables as `-e NAME=VALUE` in place of
    /// `--env-file`: what winsim's Linux dockerd is given (on its own host, not Windows).
    fn with_env(&self, vars: &[String]) -> Vec<String> {
        let mut out = vec![self.verb.clone()];
        for v in vars {
            out.extend(["-e".to_string(), v.clone()]);
        }
        for (k, v) in self.options.iter().filter(|(k, _)| k != "--env-file") {
            out.push(k.clone());
            out.extend(v.clone());
        }
        out.push(self.image.clone());
        out.extend(self.command.iter().cloned());
        out
    }

    /// The values of option `-x`/`--long`.
    fn values<'a>(&'a self, names: &'a [&str]) -> impl Iterator<Item = &'a str> + 'a {
        self.options
            .iter()
            .filter(move |(k, _)| names.contains(&k.as_str()))
            .filter_map(|(_, v)| v.as_deref())
    }
}

/// `docker create` / `docker run -d`. Docker on Windows validates every `-v` before it creates
/// the container (moby `volume/mounts/windows_parser.go`, `validateMountConfigReg`): a bind
/// whose host directory does not exist is refused with `errBindSourceDoesNotExist`, where
/// Docker on Linux would create the directory. Here "exists" means a directory in winsim's
/// simulated filesystem (`New-Item -ItemType Directory` makes one).
fn container_run(ctx: &mut Ctx, args: &[String]) -> Result<NativeOut, String> {
    let line = RunLine::parse(args)?;
    let files: Vec<String> = line.values(&["--env-file"]).map(String::from).collect();
    let args = &if files.is_empty() {
        args.to_vec()
    } else {
        match env_files(ctx, &files)? {
            Ok(vars) => line.with_env(&vars),
            Err(msg) => {
                // The docker CLI reads env files before it asks the daemon for anything
                // (docker/cli `cli/command/container/opts.go`, `parse`), and reports a
                // failure as any other of its own (`reportError`: `docker: …`, 125).
                return Ok(failed(
                    125,
                    "",
                    &format!(
                        "docker: {}.\nSee 'docker {} --help'.\n",
                        msg.trim_end_matches('.'),
                        line.verb
                    ),
                ));
            }
        }
    };
    let line = RunLine::parse(args)?;
    for spec in line.values(&["-v", "--volume"]) {
        if let Some(why) = refused_bind(ctx, spec) {
            let msg = format!(
                "Error response from daemon: invalid volume specification: '{spec}': {why}"
            );
            return Ok(daemon_error(&line.verb, &msg));
        }
    }
    let dns = container_dns(ctx, &line);
    let mut argv = args.to_vec();
    match line.program() {
        // Created fine; the process cannot be, so `run` leaves the container created and fails
        // as the docker CLI reports a missing command (exit 127, docker/cli run.go).
        Some(p) if missing_on_windows(p) && line.verb == "run" => {
            let create = line.with_program_args("create", &["-d", "--detach"], line.program_args());
            let made = ctx.fx.docker(&with_dns(create, dns.as_deref()), None);
            if made.code != 0 {
                return Ok(made);
            }
            remember_dns(ctx, &line, dns);
            let id = match made.stdout.trim() {
                "" => fake_id(&line.image),
                id => id.to_string(),
            };
            return Ok(failed(
                127,
                "",
                &format!("docker: {}\n", no_such_program(&id)),
            ));
        }
        Some("ping") => match linux_ping(line.program_args())? {
            Ping::Linux(ping) => argv = line.with_program_args(&line.verb, &[], &ping),
            // The container would start and its ping exit at once: not modelled.
            Ping::BadOption(_) => {
                return Err(format!(
                    "docker {} of a Windows ping with an option Windows ping refuses",
                    line.verb
                ))
            }
        },
        _ => {}
    }
    let out = ctx.fx.docker(&with_dns(argv, dns.as_deref()), None);
    if out.code == 0 {
        remember_dns(ctx, &line, dns);
    }
    Ok(out)
}

/// The DNS servers a container made by `line` has on Windows, when it joins one of the host's
/// transparent or l2bridge networks (`None`: another network, which winsim leaves to its
/// dockerd): the network's `com.docker.network.windowsshim.dnsservers`, else none. Docker on
/// Windows hands the network's list to HNS and gives only `nat` networks the gateway's DNS
/// (moby `daemon/libnetwork/drivers/windows/windows.go`: `DNSServerList: config.DNSServers`,
/// `EnableInternalDNS` for nat only), so a container on a transparent network created without
/// the option has no DNS server (rancher/rancher#11419). `--dns` is outside winsim's contract.
fn container_dns(ctx: &Ctx, line: &RunLine) -> Option<Vec<String>> {
    let name = line.values(&["--network"]).last()?;
    let net = ctx.state.networks.iter().find(|n| n.name == name)?;
    Some(
        net.options
            .get("com.docker.network.windowsshim.dnsservers")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// The command line for winsim's dockerd with the container's DNS servers as `--dns` (its
/// Linux container then uses them). No server: left to the dockerd, whose embedded DNS still
/// answers the Linux container — the namespace does not model "no DNS" (BEHAVIOURS.md).
fn with_dns(mut argv: Vec<String>, dns: Option<&[String]>) -> Vec<String> {
    for d in dns.unwrap_or_default().iter().rev() {
        argv.splice(1..1, ["--dns".to_string(), d.clone()]);
    }
    argv
}

/// Records the DNS servers of a container just made (by its `--name`).
fn remember_dns(ctx: &mut Ctx, line: &RunLine, dns: Option<Vec<String>>) {
    if let (Some(dns), Some(name)) = (dns, line.values(&["--name"]).last()) {
        ctx.state.container_dns.insert(name.to_string(), dns);
    }
}

/// The variables of `docker create|run --env-file` files, read from winsim's file system as
/// the docker CLI reads them on the host (docker/cli 24.0.7, the version winsim's engine
/// reports: `opts/file.go` `parseKeyValueFile`, the format its `pkg/kvfile` documents):
/// a UTF-8 BOM at the start is dropped; each line (Go's `bufio.ScanLines`: LF ends it, a CR
/// before it goes too) loses its leading whitespace; empty lines and lines starting with `#`
/// are skipped; `NAME=VALUE` is taken as it is (the value not trimmed, quotes kept), a bare
/// `NAME` takes the value of docker.exe's own environment variable of that name if it has one.
/// A name with a space or tab, or no name, is refused ("poorly formatted environment: …").
/// A file that is not there fails as Go's `os.Open` does on Windows (`open PATH: The system
/// cannot find the file specified.`, or "…the path specified." when its folder is missing).
/// `Ok(Err(message))` is the CLI's error; `Err` is outside the contract (a folder, a file
/// written as bytes).
fn env_files(ctx: &Ctx, files: &[String]) -> Result<Result<Vec<String>, String>, String> {
    let mut vars = Vec::new();
    for path in files {
        let entry = ctx
            .state
            .files
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(path))
            .map(|(_, f)| f);
        let parent = path.rsplit_once('\\').map_or("", |(p, _)| p);
        let text = match entry {
            Some(f) if !f.directory => f.content.clone().ok_or_else(|| {
                format!("docker --env-file {path}: a file winsim has only the bytes' hash of (write it with Set-Content -Encoding UTF8)")
            })?,
            Some(_) => return Err(format!("docker --env-file {path}: a folder")),
            None if ctx
                .state
                .files
                .iter()
                .any(|(k, f)| f.directory && k.eq_ignore_ascii_case(parent)) =>
            {
                return Ok(Err(format!(
                    "open {path}: The system cannot find the file specified."
                )))
            }
            None => {
                return Ok(Err(format!(
                    "open {path}: The system cannot find the path specified."
                )))
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for raw in text.split('\n') {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let line = raw.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = match line.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (line, None),
            };
            let name = name.trim_start_matches([' ', '\t']);
            if name.contains([' ', '\t']) {
                return Ok(Err(format!(
                    "poorly formatted environment: variable '{name}' contains whitespaces"
                )));
            }
            if name.is_empty() {
                return Ok(Err(format!(
                    "poorly formatted environment: no variable name on line '{line}'"
                )));
            }
            match value {
                Some(v) => vars.push(format!("{name}={v}")),
                None => {
                    let own = ctx.env.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
                    if let Some((_, v)) = own {
                        vars.push(format!("{}={v}", name.trim()));
                    }
                }
            }
        }
    }
    Ok(Ok(vars))
}

/// What the docker CLI prints and returns when the daemon refuses `docker create|run`: `run`
/// reports it as `docker: …` and exits 125 ("the error is with Docker daemon itself"), `create`
/// prints the error as it is and exits 1 (docker/cli `cli/command/container/run.go`, `create.go`).
fn daemon_error(verb: &str, msg: &str) -> NativeOut {
    if verb == "run" {
        failed(
            125,
            "",
            &format!("docker: {msg}\nSee 'docker run --help'.\n"),
        )
    } else {
        failed(1, "", &format!("{msg}\n"))
    }
}

/// Why Docker on Windows refuses the `-v` value `spec`, if it does. moby's Windows parser splits
/// `[source:]destination[:mode]` by regular expressions and lowercases what it matched
/// (`splitRawSpec`); a source that is a host path (`c:\…`, `\\?\c:\…`) is a bind, one that is a
/// name is a named volume, `\\.\pipe\…` a named pipe. Only binds are checked against the host's
/// filesystem (`validateMountConfigReg`): the path must exist and be a directory.
fn refused_bind(ctx: &Ctx, spec: &str) -> Option<String> {
    let source = bind_source(spec)?;
    // parseMountSpec: `/` becomes `\` and a trailing `\` goes, except in `c:\`.
    let mut path = source.replace('/', "\\");
    if path.len() > 3 && path.ends_with('\\') {
        path.pop();
    }
    let bare = path.strip_prefix(r"\\?\").unwrap_or(&path);
    let drive_root = bare.len() <= 3;
    let entry = ctx
        .state
        .files
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(bare))
        .map(|(_, f)| f);
    let invalid = "invalid mount config for type \"bind\"";
    match entry {
        // The system drive's root exists on every host; winsim has no other drive.
        None if drive_root && bare.to_ascii_lowercase().starts_with("c:") => None,
        None => Some(format!(
            "{invalid}: bind source path does not exist: {path}"
        )),
        Some(f) if !f.directory => Some(format!("{invalid}: source path must be a directory")),
        Some(_) => None,
    }
}

/// The host path of a bind in a `-v` value, lowercased as moby's Windows parser reports it;
/// `None` for a named volume, a named pipe or a destination alone. moby's `rxHostDir` is
/// `(?:\\\\\?\\)?[a-z]:[\\/](?:[^\\/:*?"<>|\r\n]+[\\/]?)*`: after the drive, a host path holds no
/// `:`, so it ends at the next one, which must be followed by the destination.
fn bind_source(spec: &str) -> Option<String> {
    let lower = spec.to_ascii_lowercase();
    let start = if lower.starts_with(r"\\?\") { 4 } else { 0 };
    let b = lower.as_bytes();
    let drive = b.get(start).is_some_and(u8::is_ascii_alphabetic)
        && b.get(start + 1) == Some(&b':')
        && matches!(b.get(start + 2), Some(b'\\' | b'/'));
    if !drive {
        return None;
    }
    let end = start + 2 + lower[start + 2..].find(':')?;
    let source = &lower[..end];
    if source[start + 2..]
        .chars()
        .any(|c| matches!(c, '*' | '?' | '"' | '<' | '>' | '|' | '\r' | '\n'))
    {
        return None;
    }
    Some(source.to_string())
}

/// A container command as a Windows image runs it, in winsim's Linux containers: Windows ping
/// becomes the Linux ping that does the same, a ping with an option Windows ping refuses
/// prints what Windows ping does and exits 1, and a program Windows images lack (`sleep`)
/// is not found. `None`: nothing to change; `Err`: outside the contract.
fn api_command(cmd: &[String]) -> Result<Option<Vec<String>>, String> {
    let Some((program, args)) = cmd.split_first() else {
        return Ok(None);
    };
    if missing_on_windows(program) {
        // Not in the image: the dockerd fails to start it, as Docker on Windows does.
        let mut out = vec![format!("/winsim/not-in-windows-images/{program}")];
        out.extend(args.iter().cloned());
        return Ok(Some(out));
    }
    if program != "ping" {
        return Ok(None);
    }
    Ok(Some(match linux_ping(args)? {
        Ping::Linux(ping) => std::iter::once("ping".to_string()).chain(ping).collect(),
        Ping::BadOption(msg) => vec![
            "sh".into(),
            "-c".into(),
            "echo \"$0\"; exit 1".into(),
            msg.trim_end().to_string(),
        ],
    }))
}

/// What winsim does with a Docker API request that arrives through `docker system dial-stdio`
/// (SSH): the bytes to send on to its dockerd, or why it refuses.
pub enum ApiRequest {
    Forward(Vec<u8>),
    Refuse(String),
}

/// One Docker API request (`head`: request line and headers, up to and with the blank line;
/// `body`: its Content-Length bytes). A container's or an exec's command in
/// `POST /containers/create` and `POST /containers/{id}/exec` is made what a Windows image
/// would run ([`api_command`]); every other request goes on unchanged, byte for byte.
pub fn api_request(head: &[u8], body: &[u8]) -> ApiRequest {
    let unchanged = || ApiRequest::Forward([head, body].concat());
    let Ok(text) = std::str::from_utf8(head) else {
        return unchanged();
    };
    let mut words = text.split_whitespace();
    let (Some("POST"), Some(target)) = (words.next(), words.next()) else {
        return unchanged();
    };
    let path = target.split('?').next().unwrap_or_default();
    // Without the API version prefix (`/v1.43`).
    let path = match path.strip_prefix("/v") {
        Some(rest) => rest.find('/').map_or(path, |i| &rest[i..]),
        None => path,
    };
    let parts: Vec<&str> = path.split('/').collect();
    let is_create = parts == ["", "containers", "create"];
    let is_exec = parts.len() == 4 && parts[1] == "containers" && parts[3] == "exec";
    if !is_create && !is_exec {
        return unchanged();
    }
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return unchanged();
    };
    let words = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let entrypoint = words(json.get("Entrypoint"));
    let cmd = words(json.get("Cmd"));
    // The program is the entrypoint's first word if there is one, else the command's.
    let (key, whole) = if entrypoint.is_empty() {
        ("Cmd", cmd.clone())
    } else {
        (
            "Entrypoint",
            entrypoint.iter().chain(&cmd).cloned().collect(),
        )
    };
    let new = match api_command(&whole) {
        Ok(Some(new)) => new,
        Ok(None) => return unchanged(),
        Err(what) => return ApiRequest::Refuse(format!("winsim: unsupported {what} (Docker API)")),
    };
    if key == "Cmd" {
        json["Cmd"] = serde_json::json!(new);
    } else {
        json["Entrypoint"] = serde_json::json!(new);
        json["Cmd"] = serde_json::json!(Vec::<String>::new());
    }
    let body = json.to_string().into_bytes();
    let mut out = String::new();
    for line in text.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    ApiRequest::Forward([out.into_bytes(), body].concat())
}

fn version(ctx: &Ctx) -> NativeOut {
    let mut out = if ctx.fx.dry {
        ok(
            r#"{"Client":{"Version":"24.0.7","ApiVersion":"1.43","Os":"linux","Arch":"amd64"},"Server":{"Platform":{"Name":"Docker Engine - Community"},"Version":"24.0.7","ApiVersion":"1.43","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"}}"#,
        )
    } else {
        ctx.fx.docker(
            &["version".into(), "--format".into(), "{{json .}}".into()],
            None,
        )
    };
    if out.code != 0 {
        return out;
    }
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(out.stdout.trim()) {
        for side in ["Client", "Server"] {
            if let Some(o) = v.get_mut(side).and_then(|s| s.as_object_mut()) {
                o.insert("Os".into(), "windows".into());
            }
        }
        if let Some(o) = v.get_mut("Server").and_then(|s| s.as_object_mut()) {
            o.insert(
                "KernelVersion".into(),
                "10.0 20348 (20348.1.amd64fre.fe_release.210507-1500)".into(),
            );
        }
        out.stdout = format!("{v}\n");
    }
    out
}

fn network_create(ctx: &mut Ctx, rest: &[&str]) -> Result<NativeOut, String> {
    let (mut driver, mut subnet, mut gateway, mut name) = (None, None, None, None);
    let mut options = BTreeMap::new();
    let mut labels = BTreeMap::new();
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        let mut val = || {
            it.next()
                .map(|s| s.to_string())
                .ok_or_else(|| format!("docker network create {w} without a value"))
        };
        match *w {
            "-d" | "--driver" => driver = Some(val()?),
            "--subnet" => subnet = Some(val()?),
            "--gateway" => gateway = Some(val()?),
            "-o" | "--opt" => {
                let v = val()?;
                let (k, x) = v
                    .split_once('=')
                    .ok_or_else(|| format!("docker network create -o {v}"))?;
                if !k.starts_with("com.docker.network.windowsshim.") {
                    return Err(format!("docker network option '{k}'"));
                }
                options.insert(k.to_string(), x.to_string());
            }
            "--label" => {
                let v = val()?;
                let (k, x) = v.split_once('=').unwrap_or((v.as_str(), ""));
                labels.insert(k.to_string(), x.to_string());
            }
            n if !n.starts_with('-') && name.is_none() => name = Some(n.to_string()),
            other => return Err(format!("docker network create argument '{other}'")),
        }
    }
    let driver = driver.unwrap_or_default();
    if driver != "transparent" && driver != "l2bridge" {
        return Err(format!(
            "docker network driver '{driver}' (transparent or l2bridge)"
        ));
    }
    let (Some(subnet), Some(gateway), Some(name)) = (subnet, gateway, name) else {
        return Err("docker network create without --subnet, --gateway and a name".into());
    };
    let state = &mut *ctx.state;
    let daemon = |m: &str| failed(1, "", &format!("Error response from daemon: {m}\n"));
    if state.networks.iter().any(|n| n.name == name) {
        return Ok(daemon(&format!("network with name {name} already exists")));
    }
    let Some(nic_name) = options
        .get("com.docker.network.windowsshim.interface")
        .cloned()
    else {
        return Ok(daemon("HNS failed with error : The parameter is incorrect. (transparent network without com.docker.network.windowsshim.interface)"));
    };
    // HNS binds a transparent/l2bridge network to a NIC with TCP/IP (hcsshim#95); not to a
    // vEthernet adapter (docker/for-win#4581) and not to one a vSwitch already took.
    let now = crate::state::now_ms();
    let Some(nic) = state
        .adapter_by_name(&nic_name)
        .cloned()
        .filter(|a| a.uplink.is_none() && a.linux_dev != "lo" && a.is_ip_interface(now))
    else {
        return Ok(daemon(&format!(
            "HNS failed with error : The network adapter {nic_name} was not found."
        )));
    };
    let vname = format!("vEthernet ({})", nic.name);
    if state.adapter_by_name(&vname).is_some() {
        return Ok(daemon(&format!(
            "HNS failed with error : an external switch is already bound to {}",
            nic.name
        )));
    }
    let if_index = state.next_if_index();
    let bridge = format!("wsim{if_index}");
    let mut argv: Vec<String> = [
        "network",
        "create",
        "-d",
        "bridge",
        "--subnet",
        &subnet,
        "--gateway",
        &gateway,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for o in [
        format!("com.docker.network.bridge.name={bridge}"),
        "com.docker.network.bridge.inhibit_ipv4=true".into(),
        "com.docker.network.bridge.enable_ip_masquerade=false".into(),
    ] {
        argv.extend(["-o".to_string(), o]);
    }
    for (k, v) in &labels {
        argv.extend(["--label".to_string(), format!("{k}={v}")]);
    }
    argv.push(name.clone());
    let mut out = ctx.fx.docker(&argv, None);
    if ctx.fx.dry {
        out = ok(&format!("{}\n", fake_id(&name)));
    }
    if out.code != 0 {
        return Ok(out);
    }
    let id = out.stdout.trim().to_string();
    // An external vSwitch on the NIC: the NIC loses its TCP/IP binding, and a new adapter
    // `vEthernet (<NIC>)` with the NIC's MAC and DHCP setting takes its addresses and routes
    // (Server 2019+; flannel's hostgw_windows.go waits for the renamed interface and its
    // management IP). HNS does this asynchronously: the vEthernet appears after `vswitch_ms`
    // (flannel-io/flannel#1857), and until then connections through the NIC are down
    // (microsoft/SDN#306; hcsshim#108: a connection right after the network is created fails
    // with "unreachable network").
    let ready_at = now + state.vswitch_ms;
    for ip in state
        .addresses
        .iter_mut()
        .filter(|x| x.if_index == nic.if_index)
    {
        ip.if_index = if_index;
    }
    let mut nic_routes = Vec::new();
    for r in state
        .routes
        .iter_mut()
        .filter(|r| r.if_index == nic.if_index)
    {
        r.if_index = if_index;
        nic_routes.push((r.prefix.clone(), r.next_hop.clone()));
    }
    if let Some(a) = state
        .adapters
        .iter_mut()
        .find(|a| a.if_index == nic.if_index)
    {
        a.ip_bound = false;
    }
    if nic.linux_dev == FRONT_DOOR_DEV {
        state.nic_down_until_ms = Some(ready_at);
    }
    state.adapters.push(Adapter {
        name: vname,
        if_index,
        mac: nic.mac.clone(),
        description: "Hyper-V Virtual Ethernet Adapter".into(),
        status: "Up".into(),
        linux_dev: bridge.clone(),
        uplink: Some(nic.linux_dev.clone()),
        forwarding: false,
        dhcp: nic.dhcp,
        ip_bound: true,
        ready_at_ms: Some(ready_at),
        instance_id: None,
        // With the NIC's IP configuration [inferred: as its addresses and DHCP setting].
        dns_servers: nic.dns_servers.clone(),
    });
    state.networks.push(ContainerNetwork {
        name,
        id,
        driver,
        subnet,
        gateway,
        interface: nic.name,
        options,
        labels,
        linux_bridge: bridge,
        adapter_index: if_index,
        nic_routes,
    });
    if let Err(e) = ctx.fx.sync_forwarding(ctx.state) {
        return Ok(failed(
            1,
            &out.stdout,
            &format!("winsim effect failed: {e}\n"),
        ));
    }
    Ok(out)
}

/// The Linux device of the NIC the front doors (SSH, WinRM) are reached through.
const FRONT_DOOR_DEV: &str = "eth0";

fn fake_id(name: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}").repeat(4)
}

fn network_rm(ctx: &mut Ctx, name: &str) -> Result<NativeOut, String> {
    let state = &mut *ctx.state;
    let Some(pos) = state
        .networks
        .iter()
        .position(|n| n.name == name || n.id.starts_with(name))
    else {
        return Ok(failed(
            1,
            "",
            &format!("Error response from daemon: network {name} not found\n"),
        ));
    };
    let net = state.networks[pos].clone();
    let out = if ctx.fx.dry {
        ok(&format!("{name}\n"))
    } else {
        ctx.fx
            .docker(&["network".into(), "rm".into(), name.into()], None)
    };
    if out.code != 0 {
        return Ok(out);
    }
    state.networks.remove(pos);
    let physical = state.adapter_by_name(&net.interface).map(|a| a.if_index);
    state.adapters.retain(|a| a.if_index != net.adapter_index);
    let sub = net.subnet.clone();
    state
        .addresses
        .retain(|x| !(x.if_index == net.adapter_index && crate::net::contains(&sub, &x.ip)));
    // The vEthernet's own routes (the subnet's, and any made on it later, such as a host
    // route to a metadata address) go with it; the NIC's come back with its addresses
    // [inferred: a route belongs to its interface; the sources say the NIC gets its binding
    // and addresses back, BEHAVIOURS.md].
    state.routes.retain(|r| {
        r.if_index != net.adapter_index
            || (r.prefix != sub
                && net
                    .nic_routes
                    .iter()
                    .any(|(p, h)| *p == r.prefix && *h == r.next_hop))
    });
    if let Some(p) = physical {
        // Without the vSwitch the NIC has TCP/IP bound again.
        if let Some(a) = state.adapters.iter_mut().find(|a| a.if_index == p) {
            a.ip_bound = true;
        }
        for ip in state
            .addresses
            .iter_mut()
            .filter(|x| x.if_index == net.adapter_index)
        {
            ip.if_index = p;
        }
        for r in state
            .routes
            .iter_mut()
            .filter(|r| r.if_index == net.adapter_index)
        {
            r.if_index = p;
        }
    }
    Ok(out)
}

fn network_inspect(ctx: &Ctx, args: &[String]) -> NativeOut {
    let state = &*ctx.state;
    let mut items: Vec<serde_json::Value> = if ctx.fx.dry {
        let mut v = Vec::new();
        for id in &args[2..] {
            match state.networks.iter().find(|n| &n.name == id || n.id.starts_with(id.as_str())) {
                Some(n) => v.push(serde_json::json!({
                    "Name": n.name, "Id": n.id, "Scope": "local", "Driver": "bridge",
                    "IPAM": {"Driver": "default", "Config": [{"Subnet": n.subnet, "Gateway": n.gateway}]},
                    "Containers": {}, "Options": {}, "Labels": n.labels,
                })),
                None => return failed(1, "[]\n", &format!("Error: No such network: {id}\n")),
            }
        }
        v
    } else {
        let out = ctx.fx.docker(args, None);
        match serde_json::from_str::<Vec<serde_json::Value>>(&out.stdout) {
            Ok(v) if out.code == 0 => v,
            _ => return out,
        }
    };
    for item in &mut items {
        let name = item["Name"].as_str().unwrap_or_default().to_string();
        if let Some(n) = state.networks.iter().find(|n| n.name == name) {
            item["Driver"] = n.driver.clone().into();
            item["Options"] = serde_json::to_value(&n.options).unwrap_or_default();
        }
    }
    let text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into());
    ok(&format!("{text}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, body: &serde_json::Value) -> (Vec<u8>, Vec<u8>) {
        let body = body.to_string().into_bytes();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        (head.into_bytes(), body)
    }

    fn forwarded(r: ApiRequest) -> (String, serde_json::Value) {
        let ApiRequest::Forward(bytes) = r else {
            panic!("refused")
        };
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
        (head.to_string(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn container_commands_over_the_api_run_as_a_windows_image_would() {
        // doctor's probe over the API: Windows' keep-alive and ping become Linux's.
        let (h, b) = request(
            "/v1.43/containers/create?name=rwin-probe",
            &serde_json::json!({"Image": "busybox:1", "Cmd": ["ping", "/t", "127.0.0.1"], "Entrypoint": null}),
        );
        let (head, json) = forwarded(api_request(&h, &b));
        assert!(head.starts_with("POST /v1.43/containers/create?name=rwin-probe HTTP/1.1\r\n"));
        assert_eq!(json["Cmd"], serde_json::json!(["ping", "127.0.0.1"]));
        assert_eq!(json["Image"], "busybox:1");
        let (h, b) = request(
            "/v1.43/containers/rwin-probe/exec",
            &serde_json::json!({"AttachStdout": true, "Cmd": ["ping", "/n", "1", "/w", "2000", "10.42.1.2"]}),
        );
        let (_, json) = forwarded(api_request(&h, &b));
        assert_eq!(
            json["Cmd"],
            serde_json::json!(["ping", "-c", "1", "-W", "2", "10.42.1.2"])
        );
        // Linux's: no `sleep` in the image, and `-W` makes Windows ping fail.
        let (h, b) = request(
            "/v1.43/containers/create?name=rwin-probe",
            &serde_json::json!({"Cmd": ["sleep", "120"]}),
        );
        let (_, json) = forwarded(api_request(&h, &b));
        assert_eq!(
            json["Cmd"],
            serde_json::json!(["/winsim/not-in-windows-images/sleep", "120"])
        );
        let (h, b) = request(
            "/v1.43/containers/rwin-probe/exec",
            &serde_json::json!({"Cmd": ["ping", "-c", "1", "-W", "2", "10.42.1.2"]}),
        );
        let (_, json) = forwarded(api_request(&h, &b));
        assert_eq!(
            json["Cmd"],
            serde_json::json!(["sh", "-c", "echo \"$0\"; exit 1", "Bad option -W."])
        );
        // Anything else goes on byte for byte.
        let (h, b) = request(
            "/v1.43/containers/create?name=rwin-web",
            &serde_json::json!({"Cmd": ["httpd", "-f"]}),
        );
        let ApiRequest::Forward(bytes) = api_request(&h, &b) else {
            panic!("refused")
        };
        assert_eq!(bytes, [h, b].concat());
        let get = b"GET /v1.43/version HTTP/1.1\r\nHost: docker\r\n\r\n".to_vec();
        let ApiRequest::Forward(bytes) = api_request(&get, b"") else {
            panic!("refused")
        };
        assert_eq!(bytes, get);
    }
}
