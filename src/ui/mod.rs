//! Everything user-facing goes through here: per-host progress (indicatif on a terminal, plain
//! timestamped lines otherwise), tables (tabled), prompts (dialoguer). Nothing else prints.

mod escape;
mod prompt;
pub mod table;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::settings::Settings;

pub use escape::{one_line, terminal_safe};
pub use prompt::TerminalAsker;
pub use table::labels_text;

pub struct Ui {
    quiet: bool,
    json: bool,
    verbose: u8,
    color: bool,
    interactive: bool,
    start: Instant,
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Ui {
    pub fn new(s: &Settings) -> Ui {
        let animated = !s.quiet && !s.json && std::io::stderr().is_terminal();
        Ui {
            quiet: s.quiet,
            json: s.json,
            verbose: s.verbose,
            color: s.color,
            interactive: s.interactive,
            start: Instant::now(),
            multi: animated.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bars: Mutex::new(HashMap::new()),
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// A prompt, only where there is a terminal and `--yes` was not given.
    pub fn asker(self: &Arc<Self>) -> Option<Arc<dyn crate::ask::Asker>> {
        self.interactive
            .then(|| Arc::new(TerminalAsker { ui: self.clone() }) as Arc<dyn crate::ask::Asker>)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// One timestamped line. `text` is escaped by the caller (it may hold rwin's own colours).
    fn line(&self, text: &str) {
        let stamped = format!("[{:>6.2}s] {text}", self.start.elapsed().as_secs_f64());
        match &self.multi {
            Some(m) => {
                let _ = m.println(stamped);
            }
            None => {
                let _ = writeln!(std::io::stderr(), "{stamped}");
            }
        }
    }

    /// A host moved on to a new step.
    pub fn host_step(&self, node: &str, step: &str) {
        if self.quiet || self.json {
            return;
        }
        match &self.multi {
            Some(m) => {
                let Ok(mut bars) = self.bars.lock() else {
                    return;
                };
                let bar = bars.entry(node.to_string()).or_insert_with(|| {
                    let b = m.add(ProgressBar::new_spinner());
                    b.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:<14} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    b.set_prefix(node.to_string());
                    b.enable_steady_tick(std::time::Duration::from_millis(120));
                    b
                });
                bar.set_message(terminal_safe(step));
            }
            None => self.line(&terminal_safe(&format!("{node}: {step}"))),
        }
    }

    /// How a long step goes, on the host's progress line: shown only where that line is
    /// animated (a terminal), so a log gets the step's own lines, not one a second.
    pub fn host_progress(&self, node: &str, step: &str) {
        if self.multi.is_some() {
            self.host_step(node, step);
        }
    }

    /// A host finished (ok or not); its progress line stops.
    pub fn host_done(&self, node: &str, ok: bool, text: &str) {
        if let Ok(mut bars) = self.bars.lock() {
            if let Some(b) = bars.remove(node) {
                b.finish_and_clear();
            }
        }
        if self.quiet || self.json {
            return;
        }
        let mark = if ok {
            self.paint("32", "✔")
        } else {
            self.paint("31", "✘")
        };
        // Error texts already start with the node's name; don't say it twice.
        let text = text.strip_prefix(&format!("{node}: ")).unwrap_or(text);
        self.line(&format!(
            "{mark} {}",
            terminal_safe(&format!("{node}: {text}"))
        ));
    }

    /// Detail shown with -v (commands sent, timings).
    pub fn debug(&self, text: &str) {
        if self.verbose > 0 && !self.json {
            self.line(&terminal_safe(text));
        }
    }

    pub fn info(&self, text: &str) {
        if !self.quiet && !self.json {
            self.line(&terminal_safe(text));
        }
    }

    pub fn warn(&self, text: &str) {
        let label = self.paint("33", "warning");
        let text = terminal_safe(text);
        self.suspend(|| eprintln!("{label}: {text}"));
    }

    pub fn error(&self, text: &str) {
        let label = self.paint("31", "error");
        let text = terminal_safe(text);
        self.suspend(|| eprintln!("{label}: {text}"));
    }

    /// Text meant for stdout (plans, summaries, JSON, completions).
    pub fn print(&self, text: &str) {
        // JSON escapes its own control characters, and `\u{..}` would make it invalid JSON.
        let text = if self.json {
            text.to_string()
        } else {
            terminal_safe(text)
        };
        self.suspend(|| {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            if !text.ends_with('\n') {
                let _ = out.write_all(b"\n");
            }
        });
    }

    /// Raw diagnostics (config errors) to stderr, as rendered.
    pub fn diagnostics(&self, text: &str) {
        let text = terminal_safe(text);
        self.suspend(|| eprint!("{text}"));
    }

    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.multi {
            Some(m) => m.suspend(f),
            None => f(),
        }
    }

    pub fn clear_progress(&self) {
        if let Ok(mut bars) = self.bars.lock() {
            for (_, b) in bars.drain() {
                b.finish_and_clear();
            }
        }
    }
}
