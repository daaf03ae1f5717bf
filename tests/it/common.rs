//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `rwin` with a clean environment for colours and prompts.
pub fn rwin() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("rwin").expect("the rwin binary is built");
    cmd.env("NO_COLOR", "1").env_remove("RWIN_KNOWN_HOSTS");
    cmd
}
