//! Questions to the operator (dialoguer), asked with progress lines paused.

use std::sync::{Arc, Mutex};

use super::Ui;
use crate::ask::Asker;

/// One question at a time, even when many hosts connect at once.
static PROMPT_LOCK: Mutex<()> = Mutex::new(());

pub struct TerminalAsker {
    pub ui: Arc<Ui>,
}

impl Asker for TerminalAsker {
    fn confirm(&self, question: String) -> bool {
        let _guard = PROMPT_LOCK.lock();
        self.ui.suspend(|| {
            dialoguer::Confirm::new()
                .with_prompt(super::terminal_safe(&question))
                .default(false)
                .interact()
                .unwrap_or(false)
        })
    }

    fn secret(&self, prompt: String) -> Option<String> {
        let _guard = PROMPT_LOCK.lock();
        self.ui.suspend(|| {
            dialoguer::Password::new()
                .with_prompt(super::terminal_safe(&prompt))
                .interact()
                .ok()
        })
    }
}
