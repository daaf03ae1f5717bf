//! The one seam between winsim's front doors (SSH, WinRM) and the simulated host: run a command
//! line with its stdin and return what a Windows process would have returned.

use futures_util::future::BoxFuture;

/// What a finished command left behind, as the front doors report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

/// What a front door starts a command with besides its command line and stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launch {
    /// Environment variables (`name`, `value`) in the process, as a WinRS shell created with
    /// an `rsp:Environment` gives its commands (WSManCreateShell's
    /// WSMAN_ENVIRONMENT_VARIABLE_SET).
    pub env: Vec<(String, String)>,
    /// The console code page the process starts in: a WinRS shell's WINRS_CODEPAGE, which the
    /// service sets as the shell's input and output code page ([MS-WSMV], Remote Shells:
    /// https://learn.microsoft.com/openspecs/windows_protocols/ms-wsmv/593f3ed0-0c7a-4158-a4be-0b429b597e31);
    /// `None` for the host's OEM code page, what an OpenSSH session's console gets.
    pub codepage: Option<u32>,
}

/// Runs one command line on the simulated host. `command_line` is what the client asked for:
/// the whole string of an SSH `exec`, or WinRS's `<rsp:Command>` and `<rsp:Arguments>` joined by
/// spaces. `stdin` is everything the client sent before closing stdin.
pub trait CommandRunner: Send + Sync + 'static {
    fn run<'a>(&'a self, command_line: &'a str, stdin: &'a [u8]) -> BoxFuture<'a, Output>;

    /// [`CommandRunner::run`] started as `launch` says. Runners without environment variables
    /// or a console ignore it.
    fn launch<'a>(
        &'a self,
        command_line: &'a str,
        stdin: &'a [u8],
        _launch: &'a Launch,
    ) -> BoxFuture<'a, Output> {
        self.run(command_line, stdin)
    }

    /// Whether the host answers at all: not while it restarts (Restart-Computer), when the
    /// front doors drop their connections and refuse new ones.
    fn reachable(&self) -> bool {
        true
    }
}

/// Resolves once the host stops answering (it restarts); checked four times a second.
pub async fn until_unreachable(runner: &dyn CommandRunner) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if !runner.reachable() {
            return;
        }
    }
}
