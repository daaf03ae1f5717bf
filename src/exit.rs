//! Exit codes, mapped in one place and documented in the README.

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done (or, for `plan`, shown).
    Success,
    /// The operation failed on at least one host.
    Failure,
    /// Bad usage or an invalid configuration: nothing was touched.
    Usage,
    /// Interrupted by Ctrl-C (SIGINT).
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}
