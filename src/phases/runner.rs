//! The phases of a run as values, in the order the runner walks them, and the runner. A phase
//! never runs another phase: what happens after a reboot (read the facts again, work out the
//! changes again, apply what is still to do) is a list here, walked by the runner.

use super::{connect, deploy_components, diff, enable_routing, gather_facts, reboot};
use super::{ErrorKind, Host, RunContext};

/// One step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    GatherFacts,
    Diff,
    EnableRouting,
    /// `--allow-reboot`: restart the hosts whose changes need it and wait for them.
    Reboot,
    DeployComponents,
}

/// Read-only: what `plan`, `doctor` and the start of `up` run.
pub const SURVEY: &[Phase] = &[Phase::Connect, Phase::GatherFacts, Phase::Diff];
/// What `up` runs after the survey: the only phases that change hosts.
pub const APPLY: &[Phase] = &[Phase::EnableRouting, Phase::Reboot, Phase::DeployComponents];
/// What a host that was restarted goes through again before the components (never a second
/// reboot: `Host::rebooted` is set).
const AFTER_REBOOT: &[Phase] = &[Phase::GatherFacts, Phase::Diff, Phase::EnableRouting];

impl Phase {
    /// What the phase does, as a heading.
    pub fn title(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::GatherFacts => "read host facts",
            Phase::Diff => "work out the changes",
            Phase::EnableRouting => "routing, subnet, routes and NAT",
            Phase::Reboot => "reboot where needed (--allow-reboot)",
            Phase::DeployComponents => "components in dependency order",
        }
    }

    /// Whether the phase works host by host. Consecutive ones run as one pipeline per host (a
    /// slow host does not hold the others back); the others see every host at once.
    fn per_host(self) -> bool {
        !matches!(self, Phase::DeployComponents)
    }

    /// Run a per-host phase on `h`.
    async fn run_on(self, ctx: &RunContext, h: &mut Host) {
        match self {
            Phase::Connect => connect::run(ctx, h).await,
            Phase::GatherFacts => gather_facts::run(ctx, h).await,
            Phase::Diff => diff::run(ctx, h),
            Phase::EnableRouting => enable_routing::run(ctx, h).await,
            Phase::Reboot => restart(ctx, h).await,
            Phase::DeployComponents => unreachable!("the components phase sees every host"),
        }
    }
}

/// Restart `h` if its applied changes asked for it and the run allows it, then walk it
/// through [`AFTER_REBOOT`].
async fn restart(ctx: &RunContext, h: &mut Host) {
    if !h.reboot_wanted || h.rebooted || !h.desired.windows.allow_reboot {
        return;
    }
    let name = h.node.name.clone();
    if let Err(e) = reboot::run(ctx, h).await {
        return h.fail(
            &ctx.ui,
            ErrorKind::Reboot,
            format!("{name}: rebooting: {e}"),
        );
    }
    h.rebooted = true;
    h.reboot_wanted = false;
    h.applied
        .push("~ rebooted (--allow-reboot), facts read again".into());
    for phase in AFTER_REBOOT {
        if !h.ok() {
            return;
        }
        Box::pin(phase.run_on(ctx, h)).await;
    }
}

/// Walk `phases` over `hosts`, at most `--concurrency` hosts at once; a host that failed
/// stops there and the others go on. Records kept in memory by a phase are written once at
/// the end of each run of per-host phases.
pub async fn walk(ctx: &RunContext, hosts: &mut [Host], phases: &[Phase]) {
    let mut i = 0;
    while i < phases.len() {
        if phases[i].per_host() {
            let end = phases[i..]
                .iter()
                .position(|p| !p.per_host())
                .map_or(phases.len(), |n| i + n);
            let run = &phases[i..end];
            super::for_each_host(hosts, ctx.settings.concurrency, |h| async move {
                for phase in run {
                    if !h.ok() {
                        return;
                    }
                    phase.run_on(ctx, h).await;
                }
            })
            .await;
            if let Err(e) = ctx.state.flush() {
                for h in hosts.iter_mut().filter(|h| h.ok()) {
                    h.fail(&ctx.ui, ErrorKind::State, format!("{}: {e}", h.node.name));
                }
                return;
            }
            i = end;
        } else {
            match phases[i] {
                Phase::DeployComponents => deploy_components::run(ctx, hosts).await,
                other => unreachable!("{other:?} works host by host"),
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_in_run_order_and_only_apply_changes_hosts() {
        assert_eq!(SURVEY, &[Phase::Connect, Phase::GatherFacts, Phase::Diff]);
        assert_eq!(
            APPLY,
            &[Phase::EnableRouting, Phase::Reboot, Phase::DeployComponents]
        );
        assert!(
            !AFTER_REBOOT.contains(&Phase::Reboot),
            "never a second reboot"
        );
        for p in SURVEY.iter().chain(APPLY) {
            assert!(!p.title().is_empty());
        }
    }
}
