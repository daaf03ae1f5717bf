//! Deploy a service component: on each of its nodes (through the node OS's `HostServices`), one read-only script finds the
//! files' hashes and the service's state, then (only if something differs) one script uploads
//! the files that differ and creates, reconfigures or starts the service. Runs inside the
//! component order of `deploy_components`, so `after:` and `depends_on:` hold; a service is
//! healthy once it runs.

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::outcome::ComponentResult;
use super::{Host, Made, RunContext};
use crate::os::service::ServiceSpec;
use crate::outcome::Outcome;
use crate::plan::PlannedComponent;

/// Deploy `comp`'s services (none for a container component), at most `concurrency` at once.
pub async fn run(
    ctx: &RunContext,
    hosts: &[Host],
    comp: &PlannedComponent,
    concurrency: usize,
) -> Vec<(String, ComponentResult)> {
    futures_util::stream::iter(comp.services.iter())
        .map(|inst| async move {
            let host = hosts.iter().find(|h| h.node.name == inst.node);
            let r = match host {
                Some(h) if h.ok() => match deploy(ctx, h, &inst.spec).await {
                    Ok(outcome) => ComponentResult {
                        component: comp.name.clone(),
                        outcome,
                        detail: None,
                        ok: true,
                    },
                    Err(e) => ComponentResult {
                        component: comp.name.clone(),
                        outcome: Outcome::Failed,
                        detail: Some(e),
                        ok: false,
                    },
                },
                other => ComponentResult::skipped(&comp.name, other),
            };
            (inst.node.clone(), r)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// Make service `spec` on host `h` match; the outcome in the words container components use.
async fn deploy(ctx: &RunContext, h: &Host, spec: &ServiceSpec) -> Result<Outcome, String> {
    let name = h.name();
    let t = h.transport.as_ref().ok_or("not connected")?;
    let os = h.node.host_os;
    let services = os.services().ok_or_else(|| {
        format!(
            "service {}: {} nodes do not run service components",
            spec.name,
            os.os()
        )
    })?;
    let command = os.script_command(&h.node.node.user);
    // Read with the host's facts; read here only if that answer lacked it.
    let facts = match h.facts.as_ref().and_then(|f| f.services.get(&spec.name)) {
        Some(f) => f.clone(),
        None => {
            let facts_script = services.facts_script(&[spec]);
            ctx.ui.debug(&format!("{name}: running\n{facts_script}"));
            let out = t
                .exec(&command, Some(facts_script.as_bytes()))
                .await
                .map_err(|e| format!("reading service {}: {e}", spec.name))?;
            let mut found = services.parse_facts(&[spec], &out.stdout).map_err(|e| {
                let why = out.stderr.trim();
                if why.is_empty() {
                    e
                } else {
                    format!("{e}; stderr: {why}")
                }
            })?;
            found.remove(&spec.name).ok_or_else(|| {
                format!(
                    "reading service {}: the facts script's answer does not mention it (exit {}): {}",
                    spec.name,
                    out.code,
                    out.stderr.trim()
                )
            })?
        }
    };
    let work = services.work(spec, &facts);
    // Recorded before the node changes, so teardown removes it even if the script stops half way.
    super::record(ctx, h, Made::Service(spec)).map_err(|e| e.to_string())?;
    if work.is_unchanged() {
        return Ok(Outcome::Unchanged);
    }
    ctx.ui.host_step(name, &work.describe(spec));
    let contents = work
        .upload
        .iter()
        .map(read_checked)
        .collect::<Result<Vec<_>, _>>()?;
    let script = services.apply_script(spec, &work, &contents)?;
    ctx.ui.debug(&format!(
        "{name}: running the script for service {} ({} bytes)",
        spec.name,
        script.len()
    ));
    let out = t
        .exec(&command, Some(script.as_bytes()))
        .await
        .map_err(|e| e.to_string())?;
    services.apply_result(spec, &out.stdout, &out.stderr, out.code)?;
    Ok(work.outcome())
}

/// The file's bytes, refused if they changed since cluster.yml was checked (the hash the
/// node's copy is compared with is that of the checked file).
fn read_checked(f: &crate::config::ServiceFile) -> Result<Vec<u8>, String> {
    let bytes =
        std::fs::read(&f.local).map_err(|e| format!("reading {}: {e}", f.local.display()))?;
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if hash != f.sha256 {
        return Err(format!(
            "{} changed while rwin ran; run again",
            f.local.display()
        ));
    }
    Ok(bytes)
}
