//! The docker CLI against winsim's dockerd, limited to the subcommands rwin uses. A transparent
//! or l2bridge network becomes a Linux bridge without the gateway on it (Windows' transparent
//! network does not put it on the host either), and `network inspect`/`version` are rewritten to
//! show what Windows would: the Windows driver and its windowsshim options, Os "windows".

use super::{failed, ok, NativeOut};
use crate::host::Ctx;
use crate::state::{Adapter, ContainerNetwork};
use std::collections::BTreeMap;

const PASS_THROUGH: [&str; 12] = [
    "ps",
    "images",
    "container",
    "pull",
    "login",
    "create",
    "run",
    "start",
    "stop",
    "rm",
    "exec",
    "network",
];

pub fn run(ctx: &mut Ctx, args: &[String], stdin: Option<&str>) -> Result<NativeOut, String> {
    let args = &linux_ping(args)?;
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
        ["ps", "-aq", "--filter", f] if f.starts_with("label=") => Ok(ctx.fx.docker(args, None)),
        ["container", "inspect", ..] | ["pull", _] | ["exec", _, _, ..] | ["images", "-q", _] => {
            Ok(ctx.fx.docker(args, None))
        }
        ["login", "-u", _, "--password-stdin", _] => Ok(ctx.fx.docker(args, stdin)),
        ["create" | "run", ..] if a.first() == Some(&"create") || a.contains(&"-d") => {
            container_run(ctx, args)
        }
        ["start" | "stop", _] | ["rm", "-f", _] => Ok(ctx.fx.docker(args, None)),
        [first, ..] if PASS_THROUGH.contains(first) => {
            Err(format!("docker command line 'docker {}'", a.join(" ")))
        }
        _ => Err(format!(
            "docker subcommand '{}'",
            a.first().copied().unwrap_or("")
        )),
    }
}

/// winsim's containers are Linux containers, so a Windows ping command line rwin runs in one
/// (doctor's probe: `docker exec NAME ping /n 1 /w 2000 ADDR`, and the probe container's
/// `ping /t 127.0.0.1`) becomes the Linux ping that does the same: `/n N` is `-c N`, `/w MS` is
/// `-W` in whole seconds (at least 1), `/t` is dropped (Linux ping runs until stopped). Other
/// Windows ping flags are refused; a ping without any is passed as it is.
fn linux_ping(args: &[String]) -> Result<Vec<String>, String> {
    let container_command = matches!(
        args.first().map(String::as_str),
        Some("exec" | "run" | "create")
    );
    let Some(at) = args.iter().position(|a| a == "ping") else {
        return Ok(args.to_vec());
    };
    if !container_command || !args[at + 1..].iter().any(|a| a.starts_with('/')) {
        return Ok(args.to_vec());
    }
    let mut out = args[..=at].to_vec();
    let mut rest = args[at + 1..].iter();
    while let Some(a) = rest.next() {
        let mut value = || {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("ping {a} without a value"))
        };
        match a.as_str() {
            "/n" => out.extend(["-c".to_string(), value()?]),
            "/w" => {
                let ms = value()?;
                let ms: u64 = ms.parse().map_err(|_| format!("ping /w {ms}"))?;
                out.extend(["-W".to_string(), ms.div_ceil(1000).max(1).to_string()]);
            }
            "/t" => {}
            flag if flag.starts_with('/') => return Err(format!("ping flag '{flag}'")),
            other => out.push(other.to_string()),
        }
    }
    Ok(out)
}

/// The options of `docker create|run` that take a value (the ones rwin's scripts use), as the
/// docker CLI reads them: `--name x` or `--name=x`.
const RUN_VALUE_OPTIONS: [&str; 13] = [
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
        if args.get(i).is_none() {
            return Err(format!("docker {verb} without an image"));
        }
        Ok(RunLine { verb, options })
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
    for spec in line.values(&["-v", "--volume"]) {
        if let Some(why) = refused_bind(ctx, spec) {
            let msg = format!(
                "Error response from daemon: invalid volume specification: '{spec}': {why}"
            );
            return Ok(daemon_error(&line.verb, &msg));
        }
    }
    Ok(ctx.fx.docker(args, None))
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
    let Some(nic) = state
        .adapter_by_name(&nic_name)
        .cloned()
        .filter(|a| a.uplink.is_none() && a.linux_dev != "lo")
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
    // The host's own addresses and routes move to the new vEthernet adapter, as on Windows.
    for ip in state
        .addresses
        .iter_mut()
        .filter(|x| x.if_index == nic.if_index)
    {
        ip.if_index = if_index;
    }
    for r in state
        .routes
        .iter_mut()
        .filter(|r| r.if_index == nic.if_index)
    {
        r.if_index = if_index;
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
    state
        .routes
        .retain(|r| !(r.if_index == net.adapter_index && r.prefix == sub));
    if let Some(p) = physical {
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
