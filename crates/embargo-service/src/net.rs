//! Outbound connections: TLS as every one makes it, and the HTTP client
//! for the services outside (GitHub, webhooks, CVE Services).

use std::sync::Arc;

/// TLS as every outbound connection makes it: rustls with the ring provider
/// and the Mozilla roots (no OpenSSL, no C).
pub fn tls_config() -> Result<tokio_rustls::rustls::ClientConfig, String> {
    crate::install_tls_provider();
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(
        tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// The HTTP client for outside services (GitHub, webhooks, CVE Services):
/// rustls with the web's roots, a time limit, embargo's user agent.
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .timeout(timeout)
        .user_agent("embargo")
        .build()
        .map_err(|e| e.to_string())
}
