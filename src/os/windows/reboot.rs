//! Restarting a Windows host when `--allow-reboot` is given and a change needs it (the wait
//! for it to come back is the reboot phase's, by the boot time `HostOs::boot_time` reads).

use crate::docker::cli::DONE;

/// `Restart-Computer -Force`: Windows starts shutting down and the command returns (or the
/// connection drops first; the caller accepts both).
pub fn reboot_script() -> String {
    format!(
        "# rwin: restart the host (--allow-reboot): a change needs a reboot to take full effect.\nRestart-Computer -Force\nWrite-Output {}\n",
        crate::powershell::quote(DONE)
    )
}
