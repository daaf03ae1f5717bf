//! Questions to the operator, as a port: the SSH transport asks them (trust this host key?
//! the key's passphrase?) and the ui layer answers them on a terminal. Neither imports the
//! other; both import this.

use std::sync::Arc;

/// Asks the operator. Provided by the ui layer, and only when there is a terminal to ask on.
pub trait Asker: Send + Sync {
    fn confirm(&self, question: String) -> bool;
    fn secret(&self, prompt: String) -> Option<String>;
}

pub type Confirm = Arc<dyn Asker>;
