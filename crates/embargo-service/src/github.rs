//! GitHub private vulnerability reporting into the inbox.
//!
//! A `github` channel names a repository and a token. Each check lists the
//! repository's security advisories in `triage` state (REST: `GET
//! /repos/{owner}/{repo}/security-advisories?state=triage`, API version
//! 2022-11-28, following `Link: rel="next"` pages) and files each one not
//! seen before as a case, its GHSA id as the channel reference: a report is
//! imported once, however often it is listed. A failing GitHub makes the
//! check fail (the channel turns unhealthy); the next check simply lists
//! again.

use serde::Deserialize;

use embargo_core::event::{Channel, Intake, Report};
use embargo_store::ChannelRow;

use crate::{AppState, intake};

/// A `github` channel's settings.
#[derive(Clone, Deserialize)]
pub struct Settings {
    /// `owner/name`.
    pub repository: String,
    /// A token with read access to the repository's security advisories.
    pub token: String,
    /// The API root; GitHub's own unless set (GitHub Enterprise, tests).
    #[serde(default = "api_root")]
    pub api_url: String,
    /// The project the reports are filed under (default: the channel's scope).
    #[serde(default)]
    pub project: Option<String>,
}

fn api_root() -> String {
    "https://api.github.com".into()
}

/// A GitHub channel's settings from its stored JSON.
pub fn settings(value: &serde_json::Value) -> Result<Settings, String> {
    let s: Settings =
        serde_json::from_value(value.clone()).map_err(|e| format!("GitHub settings: {e}"))?;
    let ok = s
        .repository
        .split_once('/')
        .is_some_and(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'));
    if !ok {
        return Err(format!("`{}` is not owner/name", s.repository));
    }
    Ok(s)
}

/// The parts of a repository advisory the inbox needs (GitHub's REST
/// description, `repository-advisory`).
#[derive(Deserialize)]
struct Advisory {
    ghsa_id: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    author: Option<User>,
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
    #[serde(default)]
    cwe_ids: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Deserialize)]
struct Vulnerability {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    vulnerable_version_range: Option<String>,
    #[serde(default)]
    patched_versions: Option<String>,
}

#[derive(Deserialize)]
struct Package {
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn body(a: &Advisory) -> String {
    let mut out = String::new();
    out.push_str(a.description.as_deref().unwrap_or("(no description)"));
    out.push_str("\n\n## From GitHub private vulnerability reporting\n\n");
    out.push_str(&format!("- Advisory: {}\n", a.ghsa_id));
    if let Some(url) = &a.html_url {
        out.push_str(&format!("- Link: {url}\n"));
    }
    if let Some(s) = &a.severity {
        out.push_str(&format!("- Severity suggested by the reporter: {s}\n"));
    }
    if let Some(cwes) = a.cwe_ids.as_ref().filter(|c| !c.is_empty()) {
        out.push_str(&format!("- Weakness: {}\n", cwes.join(", ")));
    }
    for v in a.vulnerabilities.iter().flatten() {
        let pkg = v.package.as_ref();
        out.push_str(&format!(
            "- Affected: {}:{} {} (patched: {})\n",
            pkg.and_then(|p| p.ecosystem.as_deref()).unwrap_or("?"),
            pkg.and_then(|p| p.name.as_deref()).unwrap_or("?"),
            v.vulnerable_version_range.as_deref().unwrap_or("?"),
            v.patched_versions.as_deref().unwrap_or("none yet"),
        ));
    }
    out
}

/// The `rel="next"` URL of a `Link` header.
fn next_page(link: Option<&str>) -> Option<String> {
    link?.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// One check: lists the advisories in triage and files the new ones.
pub async fn poll(state: &AppState, row: &ChannelRow) -> Result<(), String> {
    let s = settings(&row.settings)?;
    let client = crate::net::http_client(std::time::Duration::from_secs(30))?;
    let mut url = Some(format!(
        "{}/repos/{}/security-advisories?state=triage&per_page=100",
        s.api_url.trim_end_matches('/'),
        s.repository
    ));
    let project = s.project.clone().unwrap_or_else(|| {
        if row.scope == "org" {
            s.repository
                .rsplit('/')
                .next()
                .unwrap_or(&s.repository)
                .to_owned()
        } else {
            row.scope.clone()
        }
    });
    let mut pages = 0;
    while let Some(u) = url.take() {
        pages += 1;
        if pages > 50 {
            return Err("more than 50 pages of advisories in triage".into());
        }
        let resp = client
            .get(&u)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .bearer_auth(&s.token)
            .send()
            .await
            .map_err(|e| format!("cannot reach GitHub at {}: {e}", s.api_url))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("GitHub answered {status} for {}", s.repository));
        }
        url = next_page(resp.headers().get("link").and_then(|v| v.to_str().ok()));
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        let items: Vec<serde_json::Value> = serde_json::from_slice(&bytes)
            .map_err(|e| format!("GitHub's answer is not a list of advisories: {e}"))?;
        for item in items {
            let raw = serde_json::to_vec(&item).map_err(|e| e.to_string())?;
            let a: Advisory = match serde_json::from_value(item) {
                Ok(a) => a,
                Err(_) => {
                    // Not serde's text, which can quote the advisory's values.
                    let reason = "a GitHub advisory that cannot be read: a field embargo \
                                  needs is missing or of the wrong type"
                        .to_owned();
                    let _ =
                        intake::quarantine(state, Channel::Github, &row.name, None, raw, &reason)
                            .await;
                    continue;
                }
            };
            if a.state.as_deref().is_some_and(|st| st != "triage") {
                continue;
            }
            if state
                .store
                .already_received("github", &a.ghsa_id)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                continue;
            }
            let report = Report {
                project: project.clone(),
                title: if a.summary.trim().is_empty() {
                    format!("GitHub report {}", a.ghsa_id)
                } else {
                    a.summary.chars().take(300).collect()
                },
                body: body(&a),
                reporter_name: a.author.as_ref().map(|u| u.login.clone()),
                reporter_email: None,
                channel: Channel::Github,
                intake: Intake::default(),
            };
            let submission = intake::Submission {
                channel: Channel::Github,
                source: format!("github {}", s.repository),
                reference: Some(a.ghsa_id.clone()),
                raw: raw.clone(),
                report,
                attachments: Vec::new(),
                entered_by: None,
            };
            match intake::receive(state, submission).await {
                Ok(_) | Err(intake::IntakeError::AlreadyReceived(_)) => {}
                // Kept with the reason, under its GHSA id so it is not retried.
                Err(intake::IntakeError::Invalid(reason)) => {
                    intake::quarantine(
                        state,
                        Channel::Github,
                        &row.name,
                        Some(a.ghsa_id.clone()),
                        raw,
                        &reason,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                Err(e) => return Err(e.to_string()),
            }
            state
                .store
                .record_message_on(row.id, state.clock.unix())
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_comes_from_the_link_header() {
        let link = r#"<https://api.github.com/repositories/1/security-advisories?page=2>; rel="next", <https://api.github.com/repositories/1/security-advisories?page=5>; rel="last""#;
        assert_eq!(
            next_page(Some(link)).as_deref(),
            Some("https://api.github.com/repositories/1/security-advisories?page=2")
        );
        assert_eq!(next_page(Some(r#"<https://x/?page=1>; rel="prev""#)), None);
        assert_eq!(next_page(None), None);
    }
}
