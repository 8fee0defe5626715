//! The deployment's own addresses: the base of every link embargo puts in
//! a page, a mail, a feed or an export.

use crate::AppState;

/// The public base URL (configured, or the address the server listens on),
/// without a trailing slash.
pub fn base_url(state: &AppState) -> String {
    state
        .config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.local_addr))
        .trim_end_matches('/')
        .to_owned()
}

/// The base URL for links people open in a browser. Without a configured
/// public URL on a loopback address, `localhost`: browsers keep the `Secure`
/// session cookie over plain HTTP for `localhost`.
pub fn browser_base_url(state: &AppState) -> String {
    let base = base_url(state);
    if state.config.server.public_url.is_none() && state.local_addr.ip().is_loopback() {
        format!("http://localhost:{}", state.local_addr.port())
    } else {
        base
    }
}
