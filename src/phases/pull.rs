//! Pulling an image on a host without the Docker API (Windows over WinRM): a command of its
//! own, before the container's script, with its own time limit (`--pull-timeout`) and its
//! progress on the host's line. Windows base images are several GB (the Windows Server image
//! 3.1 GB, the Windows image 3.4 GB: Microsoft's container base images page), so a pull can
//! take many minutes where every other command is held to `--command-timeout` (issue 12 §2).
//! The transport hands back output only when a command ends, so the line shows the time
//! spent, not docker's layer count.

use std::time::{Duration, Instant};

use super::{Host, RunContext};
use crate::docker::{cli, Engine};

/// How often the progress line's clock moves; a log (no terminal) gets a line per minute.
const TICK: Duration = Duration::from_secs(1);
const LOG_EVERY: u32 = 60;

/// Pull `image` on `h` unless it has it (the script checks again). The error names the image
/// and its registry and says what to do; nothing else on the host has changed then, so the
/// old container, if any, runs on.
pub(crate) async fn pull_image(ctx: &RunContext, h: &Host, image: &str) -> Result<(), String> {
    let name = h.name();
    let (Some(Engine::Cli { command }), Some(transport)) = (&h.engine, &h.transport) else {
        return Err("no docker CLI engine on this host to pull with".into());
    };
    let registry = cli::registry_name(image);
    let script = cli::pull_script(image, &ctx.config.registries)?;
    ctx.ui
        .debug(&format!("{name}: running (pull)\n{}", script.redacted()));
    let step = format!("pulling {image}");
    ctx.ui.host_step(name, &step);
    let limit = ctx.settings.pull_timeout;
    let started = Instant::now();
    let run = transport.exec_within(command, Some(script.text().as_bytes()), limit);
    tokio::pin!(run);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    let mut ticks = 0u32;
    let out = loop {
        tokio::select! {
            out = &mut run => break out,
            _ = tick.tick() => {
                ticks += 1;
                let text = format!("{step} ({})", elapsed(started.elapsed()));
                if ticks % LOG_EVERY == 0 {
                    ctx.ui.host_step(name, &text);
                } else {
                    ctx.ui.host_progress(name, &text);
                }
            }
        }
    };
    let took = elapsed(started.elapsed());
    match out {
        Err(crate::transport::TransportError::CommandTimeout { .. }) => Err(format!(
            "pulling image {image} from registry {registry} did not finish within {} (--pull-timeout); the old container, if any, is left running. Check that the host reaches {registry} and how fast, then run rwin up again, or raise --pull-timeout",
            elapsed(limit)
        )),
        Err(e) => Err(format!(
            "pulling image {image} from registry {registry} after {took}: {e}"
        )),
        Ok(out) if cli::succeeded(&out.stdout) => {
            ctx.ui.debug(&format!("{name}: pulled {image} in {took}"));
            Ok(())
        }
        Ok(out) => {
            let why = out.stderr.trim();
            Err(if why.is_empty() {
                format!("pulling image {image} from registry {registry}: the script stopped (exit {}) without saying why", out.code)
            } else {
                why.to_string()
            })
        }
    }
}

/// `42s`, `3m 05s`, `1h 02m`.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_reads_at_a_glance() {
        let at = |s| elapsed(Duration::from_secs(s));
        assert_eq!(
            [at(0), at(42), at(185), at(3725)],
            ["0s", "42s", "3m 05s", "1h 02m"]
        );
    }
}
