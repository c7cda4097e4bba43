//! Error texts that say why: the libraries this project talks to through keep the reason
//! in an error's source, not in its own text.

use std::error::Error;

/// `error` and its causes, each once: tokio-postgres writes "error connecting to server"
/// and keeps "Connection refused" or "password authentication failed" in the source;
/// reqwest writes "error sending request" without saying whether the connection was
/// refused, timed out or failed TLS.
pub fn with_causes(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.ends_with(&inner_text) {
            text = format!("{text}: {inner_text}");
        }
        cause = inner.source();
    }
    text
}
