//! The native commands a script may run (docker, netsh, sc.exe), each with a whitelist of
//! subcommands. Their output goes to the pipeline as lines and their exit code to $LASTEXITCODE.

mod devcon;
mod docker;
mod netsh;
mod sc;

pub use crate::effects::NativeOut;
use crate::host::Ctx;
pub use docker::{api_request, ApiRequest};

/// True for the command names handled here rather than as cmdlets.
pub fn is_native(name: &str) -> bool {
    ["docker", "docker.exe", "netsh", "netsh.exe", "sc.exe"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// True for a path to devcon.exe (Microsoft's Device Console, a WDK tool no Windows ships: the
/// user supplies it, so it runs by the path where it was put; native/devcon.rs).
pub fn is_devcon(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("\\devcon.exe") && lower.len() > "\\devcon.exe".len()
}

/// Runs a native command; Err names what is outside the contract.
pub fn run(
    ctx: &mut Ctx,
    name: &str,
    args: &[String],
    stdin: Option<&str>,
) -> Result<NativeOut, String> {
    if ctx.state.auditing {
        // Event 4688 records a process's command line: Windows PowerShell builds it from the
        // arguments as it does for every native program (native/sc.rs).
        let mut line = vec![name.to_string()];
        line.extend(args.iter().cloned());
        ctx.state.process_events.push(sc::command_line(&line));
    }
    if is_devcon(name) {
        return devcon::run(ctx, args);
    }
    let lower = name.to_ascii_lowercase();
    match lower.trim_end_matches(".exe") {
        "docker" => docker::run(ctx, args, stdin),
        "netsh" => netsh::run(ctx, args),
        _ => sc::run(ctx, args),
    }
}

/// A failed native command's answer.
pub fn failed(code: i32, stdout: &str, stderr: &str) -> NativeOut {
    NativeOut {
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
        code,
    }
}

/// A successful native command's answer.
pub fn ok(stdout: &str) -> NativeOut {
    failed(0, stdout, "")
}
