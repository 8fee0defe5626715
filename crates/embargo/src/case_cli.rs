//! `embargo case …`: the CLI over the JSON API. It builds `CommandRequest`s
//! and sends them; the server decides. There is no second implementation.

use std::io::Read;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use embargo_api::{ApiError, CaseView, CommandRequest, EventView, NewReport};
use serde::de::DeserializeOwned;

/// Where the server is and who is calling.
#[derive(Args)]
pub struct Conn {
    /// The server's base URL.
    #[arg(
        long,
        env = "EMBARGO_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    /// An API token (printed by `embargo serve` on first start).
    #[arg(long, env = "EMBARGO_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
}

/// The case commands.
#[derive(Subcommand)]
pub enum CaseCmd {
    /// Enter a report received elsewhere (body from --body, --body-file, or stdin).
    New {
        #[arg(long)]
        project: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        body: Option<String>,
        #[arg(long)]
        body_file: Option<std::path::PathBuf>,
        #[arg(long)]
        reporter_name: Option<String>,
        #[arg(long)]
        reporter_email: Option<String>,
        /// api, forum, bounty, other, email, web, github.
        #[arg(long, default_value = "other")]
        channel: String,
    },
    /// Acknowledge a report (answers the reporter).
    Ack {
        id: String,
        #[arg(
            long,
            default_value = "Thank you for your report. We have received it and will triage it."
        )]
        message: String,
    },
    /// Record triage: reproduction, affected ranges, CVSS, CWE, TLP.
    Triage {
        id: String,
        /// yes, partly or no.
        #[arg(long)]
        reproduced: String,
        #[arg(long)]
        notes: String,
        /// CLEAR, GREEN, AMBER, AMBER+STRICT or RED.
        #[arg(long)]
        tlp: String,
        /// ECOSYSTEM:NAME:INTRODUCED..FIXED, repeatable.
        #[arg(long)]
        affected: Vec<String>,
        /// A CVSS:3.1 or CVSS:4.0 vector, repeatable.
        #[arg(long)]
        cvss: Vec<String>,
        #[arg(long)]
        cwe: Option<String>,
        /// A row of the status matrix, PROJECT:STATUS (under-investigation,
        /// affected, not-affected, fixed), repeatable.
        #[arg(long)]
        project_status: Vec<String>,
    },
    /// Pass a report held for screening to the inbox.
    Pass {
        id: String,
        /// Why (for the team).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Answer held reports with a canned reply and reject them: incomplete,
    /// not-a-vulnerability, out-of-scope or spam (no reply). Prints each
    /// case with `rejected` or why not.
    Screen {
        #[arg(long)]
        answer: String,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// The sender's other reports (same address, or the same verified key).
    History { id: String },
    /// Reject: duplicate, not-a-vulnerability, out-of-scope, not-reproducible or spam.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        duplicate_of: Option<String>,
        #[arg(long)]
        explanation: String,
    },
    /// Accept and assign the coordinator and fixing team.
    Assign {
        id: String,
        #[arg(long)]
        coordinator: String,
        #[arg(long = "fixer", required = true)]
        fixers: Vec<String>,
    },
    /// Propose, accept or decline the disclosure timeline.
    Timeline {
        id: String,
        #[command(subcommand)]
        action: TimelineCmd,
    },
    /// Write a new advisory revision.
    Advisory {
        id: String,
        #[arg(long)]
        summary: String,
        #[arg(long)]
        details: String,
        #[arg(long)]
        cve: Option<String>,
        #[arg(long)]
        mitigation: Option<String>,
        #[arg(long)]
        upgrade: Option<String>,
        #[arg(long)]
        ghsa: Option<String>,
        /// Who is affected and how badly.
        #[arg(long)]
        impact: Option<String>,
        /// ECOSYSTEM:NAME:RANGE[,RANGE] (RANGE: a..b, a.., a..=b), repeatable.
        #[arg(long = "affected")]
        affected: Vec<String>,
        /// CWE-N, repeatable.
        #[arg(long = "cwe")]
        cwes: Vec<String>,
        /// A CVSS v3.1 or v4.0 vector, repeatable.
        #[arg(long = "cvss")]
        cvss: Vec<String>,
        /// TYPE=URL (FIX=https://…), repeatable.
        #[arg(long = "reference")]
        references: Vec<String>,
        /// TYPE=NAME[@HOLDER] (FINDER=Ada@reporter), repeatable; a holder
        /// (`reporter` or a person's id) must accept the credit.
        #[arg(long = "credit")]
        credits: Vec<String>,
        /// Team-only notes, never exported.
        #[arg(long)]
        confidential: Option<String>,
        /// The revision this edit is based on (default: the current one).
        #[arg(long)]
        base_revision: Option<u32>,
    },
    /// Review the advisory: submit the current revision, approve it, or send it back.
    Review {
        id: String,
        #[command(subcommand)]
        action: ReviewCmd,
    },
    /// Accept or decline the credits that name you.
    Credit {
        id: String,
        #[arg(long, conflicts_with = "decline")]
        accept: bool,
        #[arg(long)]
        decline: bool,
        /// How to name you instead (with --accept).
        #[arg(long, requires = "accept")]
        name: Option<String>,
    },
    /// Request a CVE (github or cve_services), or enter one obtained elsewhere.
    Cve {
        id: String,
        #[command(subcommand)]
        action: CveCmd,
    },
    /// Record the private fork's opening or removal.
    Fork {
        id: String,
        #[command(subcommand)]
        action: ForkCmd,
    },
    /// Record that the fix exists.
    FixReady { id: String },
    /// Tick a release-day step: merge_fix, patch_release, publish_packages, send_announcement.
    Release {
        id: String,
        step: String,
        #[arg(long)]
        package: Option<String>,
        #[arg(long)]
        version: Option<String>,
    },
    /// Disclose now: the advisory goes public. At the agreed moment embargo
    /// does this by itself; earlier, it lifts the embargo and needs a reason,
    /// which the reporter and the distributors are told.
    Publish {
        id: String,
        /// Disclose without a released fix (the advisory must give a mitigation).
        #[arg(long)]
        without_fix: bool,
        /// Why the embargo is lifted before its moment.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Close the case.
    Close {
        id: String,
        #[arg(long)]
        note: String,
    },
    /// Preview the SPEC-11 announcement (Markdown, or `--plain` as the lists
    /// get it), or `--approve` it (the preview, or `--file`): the approved
    /// text is mailed to the lists at the disclosure moment.
    Announce {
        id: String,
        /// Show it as the plain-text email.
        #[arg(long)]
        plain: bool,
        /// Approve it for sending.
        #[arg(long)]
        approve: bool,
        /// Approve this text (Markdown, first line `Subject: ...`) instead.
        #[arg(long, requires = "approve")]
        file: Option<std::path::PathBuf>,
        /// Only print (the default without --approve).
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the retrospective (kept with the case, or drafted from the log),
    /// or keep an edited one with `--write FILE`.
    Retrospective {
        id: String,
        #[arg(long)]
        write: Option<std::path::PathBuf>,
    },
    /// Name a further affected project's own fixing team (they see only
    /// that project's part of the case).
    Team {
        id: String,
        project: String,
        #[arg(long = "fixer", required = true)]
        fixers: Vec<String>,
    },
    /// The release plan: the disclosure moment in several zones, forks, CI
    /// runs, the checklist, the announcement, guards (JSON).
    Plan { id: String },
    /// Export the advisory's current draft (a preview; feeds carry the approved revision).
    Export {
        id: String,
        /// Output format.
        #[arg(long, value_parser = ["osv", "cve", "csaf", "markdown"])]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Show a case and its event timeline.
    Show { id: String },
    /// List cases (every page, what is due first), or find them.
    List {
        /// Find cases by id, title words (all of them) or package
        /// (`PyPI:numpy`, or a package's name), newest first.
        #[arg(long)]
        search: Option<String>,
        /// Only this stage (`screening` lists the held reports).
        #[arg(long)]
        stage: Option<String>,
    },
}

/// Timeline actions.
#[derive(Subcommand)]
pub enum ReviewCmd {
    /// Put the current revision up for review.
    Submit,
    /// Approve the revision in review (not its author).
    Approve,
    /// Send the revision in review back.
    Changes {
        #[arg(long)]
        comment: String,
    },
}

#[derive(Subcommand)]
pub enum CveCmd {
    /// Ask GitHub or CVE Services (done in the background; see `case show`).
    Request {
        #[arg(long, value_parser = ["github", "cve_services"])]
        via: String,
    },
    /// Enter a CVE id obtained elsewhere.
    Assign { cve: String },
}

#[derive(Subcommand)]
pub enum TimelineCmd {
    /// Propose a moment (RFC 3339), or the next disclosure slot after the policy's lead time.
    Propose {
        #[arg(long)]
        at: Option<String>,
    },
    /// Accept the proposal.
    Accept,
    /// Decline the proposal.
    Decline {
        #[arg(long)]
        reason: String,
    },
}

/// Fork actions.
#[derive(Subcommand)]
pub enum ForkCmd {
    /// Open a private fork: `--host builtin` (a git repository here, cloned
    /// from the project's upstream, CI on every push), `--host github` (the
    /// repository advisory's temporary private fork), or `--url` elsewhere.
    /// A fork made here is asked for: a job makes it a moment later, and
    /// `embargo case plan ID` shows it (or why it could not be made).
    Open {
        #[arg(long)]
        url: Option<String>,
        #[arg(long, value_parser = ["builtin", "github", "elsewhere"])]
        host: Option<String>,
        /// The project (the reported one by default).
        #[arg(long)]
        project: Option<String>,
    },
    /// Record its removal.
    Close {
        #[arg(long)]
        project: Option<String>,
    },
    /// A git credential for your built-in fork (shown once; a new one
    /// replaces the old).
    Credential {
        #[arg(long)]
        project: Option<String>,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// A client for the server and token in `conn`.
    fn new(conn: Conn) -> anyhow::Result<Self> {
        let token = conn.token.context(
            "no API token: pass --token or set EMBARGO_TOKEN (embargo serve prints one on first start)",
        )?;
        Ok(Client {
            http: reqwest::Client::new(),
            base: conn.server.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Sends `req` with the token: the body of a success and the path of
    /// the next page (a `Link: <…>; rel="next"` header), or the server's
    /// error in words.
    async fn fetch(
        &self,
        req: reqwest::RequestBuilder,
    ) -> anyhow::Result<(Vec<u8>, Option<String>)> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach embargo at {}", self.base))?;
        let next = resp
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_suffix(">; rel=\"next\""))
            .and_then(|v| v.strip_prefix('<'))
            .filter(|p| p.starts_with('/'))
            .map(str::to_owned);
        let status = resp.status();
        let bytes = resp.bytes().await?.to_vec();
        if status.is_success() {
            return Ok((bytes, next));
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(err) => bail!("{} ({})", err.message, err.code),
            Err(_) => bail!("the server answered {status}"),
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let (bytes, _) = self.fetch(req).await?;
        serde_json::from_slice(&bytes).context("the server sent an unexpected response")
    }

    /// One page of a list, and the path of the next one, if any.
    async fn get_page<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> anyhow::Result<(Vec<T>, Option<String>)> {
        let (bytes, next) = self
            .fetch(self.http.get(format!("{}{path}", self.base)))
            .await?;
        let items =
            serde_json::from_slice(&bytes).context("the server sent an unexpected response")?;
        Ok((items, next))
    }

    async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let (bytes, _) = self
            .fetch(self.http.get(format!("{}{path}", self.base)))
            .await?;
        String::from_utf8(bytes).context("the server sent text that is not UTF-8")
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> anyhow::Result<T> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    async fn command(&self, id: &str, cmd: CommandRequest) -> anyhow::Result<CaseView> {
        self.post(&format!("/api/v1/cases/{id}/commands"), &cmd)
            .await
    }
}

/// Runs one case command and prints its result.
pub async fn run(conn: Conn, cmd: CaseCmd, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let client = Client::new(conn)?;
    use CommandRequest as R;
    let (id, request) = match cmd {
        CaseCmd::New {
            project,
            title,
            body,
            body_file,
            reporter_name,
            reporter_email,
            channel,
        } => {
            let body = match (body, body_file) {
                (Some(b), _) => b,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .with_context(|| format!("reading {}", f.display()))?,
                (None, None) => {
                    let mut b = String::new();
                    std::io::stdin()
                        .read_to_string(&mut b)
                        .context("reading the report body from stdin")?;
                    b
                }
            };
            let report = NewReport {
                project,
                title,
                body,
                reporter_name,
                reporter_email,
                channel: Some(channel),
            };
            let case: CaseView = client.post("/api/v1/cases", &report).await?;
            writeln!(out, "{}", case.id)?;
            // Shown once, for the SRT to pass on to the reporter; stdout
            // stays the id alone for scripts.
            if let Some(url) = &case.status_url {
                eprintln!("the reporter's private status link (shown once): {url}");
            }
            return Ok(());
        }
        CaseCmd::Show { id } => {
            let case: CaseView = client.get(&format!("/api/v1/cases/{id}")).await?;
            let events: Vec<EventView> = client.get(&format!("/api/v1/cases/{id}/events")).await?;
            print_case(out, &case)?;
            writeln!(out, "\ntimeline:")?;
            for e in events {
                writeln!(out, "  #{:<5} {}  {:<24} {}", e.seq, e.at, e.kind, e.actor)?;
            }
            return Ok(());
        }
        CaseCmd::Announce {
            id,
            plain,
            approve: false,
            ..
        } => {
            let path = if plain {
                format!("/api/v1/cases/{id}/announcement.txt")
            } else {
                format!("/api/v1/cases/{id}/announcement")
            };
            write!(out, "{}", client.get_text(&path).await?)?;
            return Ok(());
        }
        CaseCmd::Plan { id } => {
            let plan: serde_json::Value =
                client.get(&format!("/api/v1/cases/{id}/release")).await?;
            writeln!(out, "{}", serde_json::to_string_pretty(&plan)?)?;
            return Ok(());
        }
        CaseCmd::Fork {
            id,
            action: ForkCmd::Credential { project },
        } => {
            let c: embargo_api::ForkCredential = client
                .post(
                    &format!("/api/v1/cases/{id}/fork-credential"),
                    &serde_json::json!({ "project": project }),
                )
                .await?;
            writeln!(
                out,
                "url:      {}\nusername: {}\npassword: {}\n(shown once; keep it in your git credential helper)",
                c.url, c.username, c.password
            )?;
            return Ok(());
        }
        CaseCmd::Retrospective { id, write: None } => {
            write!(
                out,
                "{}",
                client
                    .get_text(&format!("/api/v1/cases/{id}/retrospective"))
                    .await?
            )?;
            return Ok(());
        }
        CaseCmd::Export {
            id,
            format,
            out: file,
        } => {
            let body = client
                .get_text(&format!("/api/v1/cases/{id}/export/{format}"))
                .await?;
            let pretty = if format == "markdown" {
                body + "\n"
            } else {
                let value: serde_json::Value =
                    serde_json::from_str(&body).context("the server sent invalid JSON")?;
                serde_json::to_string_pretty(&value)? + "\n"
            };
            match file {
                Some(f) => std::fs::write(&f, pretty)
                    .with_context(|| format!("writing {}", f.display()))?,
                None => write!(out, "{pretty}")?,
            }
            return Ok(());
        }
        CaseCmd::List { search, stage } => {
            // Every page, what is due first; or the search's matches.
            let stage = stage
                .map(|s| format!("&stage={}", s.replace(' ', "%20")))
                .unwrap_or_default();
            let mut path = Some(match search {
                Some(q) => format!(
                    "/api/v1/cases?limit=500&q={}",
                    q.bytes()
                        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                            char::from(b).to_string()
                        } else {
                            format!("%{b:02X}")
                        })
                        .collect::<String>()
                ),
                None => format!("/api/v1/cases?limit=500{stage}"),
            });
            while let Some(p) = path {
                let (cases, next): (Vec<CaseView>, _) = client.get_page(&p).await?;
                for c in cases {
                    writeln!(out, "{}\t{}\t{}\t{}", c.id, c.stage, c.project, c.title)?;
                }
                path = next;
            }
            return Ok(());
        }
        CaseCmd::Ack { id, message } => (id, R::Acknowledge { message }),
        CaseCmd::Pass { id, note } => (id, R::PassScreening { note }),
        CaseCmd::Screen { answer, ids } => {
            let done: Vec<embargo_api::ScreeningAnswered> = client
                .post(
                    "/api/v1/screening/reject",
                    &embargo_api::ScreeningReject { cases: ids, answer },
                )
                .await?;
            let mut refused = 0;
            for d in &done {
                match &d.refused {
                    None => writeln!(out, "{}\trejected", d.case)?,
                    Some(why) => {
                        refused += 1;
                        writeln!(out, "{}\tnot done: {why}", d.case)?;
                    }
                }
            }
            if refused > 0 {
                anyhow::bail!("{refused} of {} not done", done.len());
            }
            return Ok(());
        }
        CaseCmd::History { id } => {
            let history: Vec<embargo_api::ReporterCaseView> = client
                .get(&format!("/api/v1/cases/{id}/reporter-history"))
                .await?;
            for h in history {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    h.case,
                    h.received_at,
                    h.stage,
                    h.rejected.unwrap_or_default()
                )?;
            }
            return Ok(());
        }
        CaseCmd::Triage {
            id,
            reproduced,
            notes,
            tlp,
            affected,
            cvss,
            cwe,
            project_status,
        } => {
            let (v4, v3): (Vec<String>, Vec<String>) =
                cvss.into_iter().partition(|v| v.starts_with("CVSS:4"));
            if v3.len() > 1 || v4.len() > 1 {
                bail!("give at most one CVSS v3 and one CVSS v4 vector");
            }
            let cvss_v31 = v3.into_iter().next();
            let cvss_v40 = v4.into_iter().next();
            (
                id,
                R::Triage {
                    reproduced,
                    notes,
                    affected,
                    cvss_v31,
                    cvss_v40,
                    cwe,
                    tlp,
                    projects: project_status,
                },
            )
        }
        CaseCmd::Reject {
            id,
            reason,
            duplicate_of,
            explanation,
        } => (
            id,
            R::Reject {
                reason,
                duplicate_of,
                explanation,
            },
        ),
        CaseCmd::Assign {
            id,
            coordinator,
            fixers,
        } => (
            id,
            R::AssignFixingTeam {
                coordinator,
                fixers,
            },
        ),
        CaseCmd::Timeline { id, action } => match action {
            TimelineCmd::Propose { at } => (id, R::ProposeTimeline { disclose_at: at }),
            TimelineCmd::Accept => (id, R::AcceptTimeline),
            TimelineCmd::Decline { reason } => (id, R::DeclineTimeline { reason }),
        },
        CaseCmd::Advisory {
            id,
            summary,
            details,
            cve,
            mitigation,
            upgrade,
            ghsa,
            impact,
            affected,
            cwes,
            cvss,
            references,
            credits,
            confidential,
            base_revision,
        } => {
            let base_revision = match base_revision {
                Some(b) => b,
                None => {
                    client
                        .get::<CaseView>(&format!("/api/v1/cases/{id}"))
                        .await?
                        .advisory_revision
                }
            };
            let advisory = embargo_api::AdvisoryWire {
                summary,
                details,
                cve,
                ghsa,
                aliases: Vec::new(),
                impact,
                affected: affected
                    .iter()
                    .map(|a| parse_affected(a))
                    .collect::<anyhow::Result<_>>()?,
                mitigation,
                upgrade,
                references: references
                    .iter()
                    .map(|r| {
                        let (kind, url) = r.split_once('=').ok_or_else(|| {
                            anyhow::anyhow!("--reference `{r}`: expected TYPE=URL")
                        })?;
                        Ok(embargo_api::ReferenceWire {
                            kind: kind.into(),
                            url: url.into(),
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
                cwes,
                cvss,
                credits: credits
                    .iter()
                    .map(|c| {
                        let (kind, rest) = c.split_once('=').ok_or_else(|| {
                            anyhow::anyhow!("--credit `{c}`: expected TYPE=NAME[@HOLDER]")
                        })?;
                        let (name, holder) = match rest.rsplit_once('@') {
                            Some((n, h)) if !h.contains('.') => (n, Some(h.to_owned())),
                            _ => (rest, None),
                        };
                        Ok(embargo_api::CreditWire {
                            name: name.into(),
                            kind: Some(kind.into()),
                            contact: Vec::new(),
                            holder,
                            accepted: None,
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
                confidential,
            };
            (
                id,
                R::ReviseAdvisory {
                    base_revision,
                    advisory,
                },
            )
        }
        CaseCmd::Review { id, action } => {
            let revision = client
                .get::<CaseView>(&format!("/api/v1/cases/{id}"))
                .await?
                .advisory_revision;
            match action {
                ReviewCmd::Submit => (id, R::SubmitAdvisory { revision }),
                ReviewCmd::Approve => (id, R::ApproveAdvisory { revision }),
                ReviewCmd::Changes { comment } => {
                    (id, R::RequestAdvisoryChanges { revision, comment })
                }
            }
        }
        CaseCmd::Credit {
            id,
            accept,
            decline,
            name,
        } => {
            if accept == decline {
                anyhow::bail!("say --accept or --decline");
            }
            (
                id,
                R::AnswerCredit {
                    accepted: accept,
                    name,
                },
            )
        }
        CaseCmd::Cve { id, action } => match action {
            CveCmd::Request { via } => (id, R::RequestCve { via }),
            CveCmd::Assign { cve } => (id, R::AssignCve { cve }),
        },
        CaseCmd::Fork { id, action } => match action {
            ForkCmd::Open { url, host, project } => (id, R::OpenPrivateFork { url, project, host }),
            ForkCmd::Close { project } => (id, R::ClosePrivateFork { project }),
            ForkCmd::Credential { .. } => unreachable!("handled above"),
        },
        CaseCmd::Announce { id, file, .. } => {
            let text = match file {
                Some(f) => Some(
                    std::fs::read_to_string(&f)
                        .with_context(|| format!("cannot read {}", f.display()))?,
                ),
                None => None,
            };
            (id, R::ApproveAnnouncement { text })
        }
        CaseCmd::Retrospective { id, write: Some(f) } => {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            (id, R::WriteRetrospective { text: Some(text) })
        }
        CaseCmd::Team {
            id,
            project,
            fixers,
        } => (id, R::AssignProjectTeam { project, fixers }),
        CaseCmd::FixReady { id } => (id, R::MarkFixReady),
        CaseCmd::Release {
            id,
            step,
            package,
            version,
        } => (
            id,
            R::CompleteReleaseStep {
                step,
                package,
                version,
            },
        ),
        CaseCmd::Publish {
            id,
            without_fix,
            reason,
        } => (
            id,
            R::Publish {
                without_fix,
                reason,
            },
        ),
        CaseCmd::Close { id, note } => (id, R::Close { note }),
    };
    let case = client.command(&id, request).await?;
    writeln!(out, "{}: {}", case.id, case.stage)?;
    Ok(())
}

fn print_case(out: &mut impl std::io::Write, c: &CaseView) -> std::io::Result<()> {
    writeln!(out, "{}  {}", c.id, c.title)?;
    writeln!(out, "project:   {}", c.project)?;
    writeln!(
        out,
        "stage:     {} (handling {}, embargo {})",
        c.stage, c.handling, c.embargo
    )?;
    if let Some(at) = &c.disclose_at {
        writeln!(out, "disclose:  {at}")?;
    }
    if let Some(tlp) = &c.tlp {
        writeln!(out, "tlp:       {tlp}")?;
    }
    writeln!(
        out,
        "received:  {} (acknowledge by {})",
        c.received_at, c.ack_due
    )?;
    writeln!(out, "advisory:  revision {}", c.advisory_revision)?;
    for why in &c.screening {
        writeln!(out, "held:      {why}")?;
    }
    for j in &c.failed_jobs {
        writeln!(
            out,
            "GIVEN UP:  {} ({}) after {} attempts, at {}: {}",
            j.kind, j.key, j.attempts, j.failed_at, j.error
        )?;
    }
    writeln!(out, "next:      {}", c.allowed.join(", "))
}

/// People and projects (admins).
#[derive(Subcommand)]
pub enum OrgCmd {
    /// Invite a person; prints the one-time link where they set a password.
    Invite {
        /// Their handle (used on cases and in the log).
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// admin, srt or maintainer.
        #[arg(long, default_value = "maintainer")]
        role: String,
    },
    /// Add or replace a project.
    Project {
        name: String,
        /// A repository URL, repeatable.
        #[arg(long)]
        repository: Vec<String>,
        /// ECOSYSTEM:NAME (PyPI:numpy), repeatable.
        #[arg(long)]
        package: Vec<String>,
        /// A supported release series, repeatable.
        #[arg(long)]
        series: Vec<String>,
        /// A maintainer's handle, repeatable.
        #[arg(long)]
        maintainer: Vec<String>,
    },
    /// List people.
    People,
    /// Show a project's release settings, or change them (in force at
    /// once; what is not given stays as it is).
    Release {
        name: String,
        /// The repository its built-in fork is cloned from.
        #[arg(long)]
        upstream: Option<String>,
        /// The command run on every push to the fork.
        #[arg(long)]
        test_command: Option<String>,
        /// An announcement list, repeatable (replaces the lists).
        #[arg(long)]
        announce_to: Vec<String>,
        /// Days before the moment the distributors hear.
        #[arg(long)]
        prenotify_days: Option<u16>,
        /// Add (or replace) a distributor by name; needs --email and --key-file.
        #[arg(long, requires_all = ["email", "key_file"])]
        add_distributor: Option<String>,
        /// The added distributor's address.
        #[arg(long)]
        email: Option<String>,
        /// The added distributor's armored OpenPGP public key.
        #[arg(long)]
        key_file: Option<std::path::PathBuf>,
        /// Remove a distributor by name.
        #[arg(long)]
        remove_distributor: Option<String>,
    },
}

/// Runs one organisation command and prints its result.
pub async fn run_org(conn: Conn, cmd: OrgCmd, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let client = Client::new(conn)?;
    match cmd {
        OrgCmd::Invite {
            id,
            name,
            email,
            role,
        } => {
            let inv: embargo_api::InvitationView = client
                .post(
                    "/api/v1/people",
                    &embargo_api::NewPerson {
                        id,
                        name,
                        email,
                        role,
                    },
                )
                .await?;
            writeln!(out, "{}", inv.invitation_url)?;
        }
        OrgCmd::Project {
            name,
            repository,
            package,
            series,
            maintainer,
        } => {
            let p: embargo_api::ProjectWire = client
                .post(
                    "/api/v1/projects",
                    &embargo_api::ProjectWire {
                        name,
                        repositories: repository,
                        packages: package,
                        series,
                        maintainers: maintainer,
                    },
                )
                .await?;
            writeln!(out, "{}", p.name)?;
        }
        OrgCmd::Release {
            name,
            upstream,
            test_command,
            announce_to,
            prenotify_days,
            add_distributor,
            email,
            key_file,
            remove_distributor,
        } => {
            let path = format!("/api/v1/projects/{name}/release");
            let mut s: embargo_api::ReleaseSettingsWire = client.get(&path).await?;
            let before = s.clone();
            if let Some(u) = upstream {
                s.upstream = Some(u);
            }
            if let Some(c) = test_command {
                s.test_command = Some(c);
            }
            if !announce_to.is_empty() {
                s.announce_to = Some(announce_to);
            }
            if let Some(d) = prenotify_days {
                s.prenotify_days = d;
            }
            if let Some(gone) = remove_distributor {
                s.distributors.retain(|d| d.name != gone);
            }
            if let (Some(d), Some(email), Some(file)) = (add_distributor, email, key_file) {
                let key = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                s.distributors.retain(|x| x.name != d);
                s.distributors.push(embargo_api::DistributorWire {
                    name: d,
                    email,
                    key,
                });
            }
            if s != before {
                s = client
                    .send(client.http.put(format!("{}{path}", client.base)).json(&s))
                    .await?;
            }
            writeln!(
                out,
                "upstream:      {}",
                s.upstream.as_deref().unwrap_or("(the first repository)")
            )?;
            writeln!(
                out,
                "test command:  {}",
                s.test_command.as_deref().unwrap_or("(none)")
            )?;
            writeln!(
                out,
                "announce to:   {}",
                s.announce_to
                    .map_or_else(|| "(the [release] default)".to_owned(), |l| l.join(", "))
            )?;
            writeln!(out, "prenotify:     {} days", s.prenotify_days)?;
            for d in s.distributors {
                writeln!(out, "distributor:   {} <{}>", d.name, d.email)?;
            }
        }
        OrgCmd::People => {
            let people: Vec<embargo_api::PersonView> = client.get("/api/v1/people").await?;
            for p in people {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    p.id,
                    p.role,
                    if p.active { "active" } else { "invited" },
                    p.name
                )?;
            }
        }
    }
    Ok(())
}

/// Posts one raw email to the server and prints what became of it.
pub async fn ingest_mail(
    conn: Conn,
    raw: Vec<u8>,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let client = Client::new(conn)?;
    let got: embargo_api::MailReceived = client
        .send(
            client
                .http
                .post(format!("{}/api/v1/intake/mail", client.base))
                .header("content-type", "message/rfc822")
                .body(raw),
        )
        .await?;
    match (got.outcome.as_str(), &got.case_id) {
        ("case", Some(c)) => writeln!(out, "new case {c}")?,
        ("reply", Some(c)) => writeln!(out, "reply on {c}")?,
        ("quarantined", _) => writeln!(
            out,
            "quarantined #{}: {}",
            got.quarantine_id.unwrap_or_default(),
            got.reason.as_deref().unwrap_or_default()
        )?,
        ("already_received", Some(c)) => writeln!(out, "already received ({c})")?,
        ("already_received", None) => writeln!(out, "already received")?,
        (other, _) => writeln!(out, "{other}")?,
    }
    Ok(())
}

/// The channel inventory commands.
#[derive(Subcommand)]
pub enum ChannelCmd {
    /// List every channel with its health.
    List,
    /// Add a channel (admins).
    ///
    /// An IMAP mailbox needs --setting host=… username=… password=… (and
    /// port, tls=false for a server on this machine, mailbox,
    /// canary_address, canary_every_seconds, canary_timeout_seconds).
    Add {
        /// imap, pipe, web, github, api, forum, bounty, other.
        kind: String,
        /// A unique name.
        name: String,
        /// `org` (default) or the project it serves.
        #[arg(long)]
        scope: Option<String>,
        /// Seconds between checks (imap, github).
        #[arg(long)]
        interval: Option<i64>,
        /// KEY=VALUE, repeatable; numbers and true/false are read as such.
        #[arg(long = "setting")]
        settings: Vec<String>,
    },
    /// Remove a channel (admins).
    Remove {
        /// Its name.
        name: String,
    },
    /// Check a channel now and print its health.
    Check {
        /// Its name.
        name: String,
    },
}

fn channel_line(c: &embargo_api::ChannelWire) -> String {
    format!(
        "{}\t{}\t{}\t{}\tlast check {}\tlast message {}",
        c.name,
        c.kind,
        c.scope,
        c.health,
        c.last_check.as_deref().unwrap_or("never"),
        c.last_message.as_deref().unwrap_or("none")
    )
}

/// Runs one channel command and prints its result.
pub async fn run_channel(
    conn: Conn,
    cmd: ChannelCmd,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let client = Client::new(conn)?;
    match cmd {
        ChannelCmd::List => {
            let all: Vec<embargo_api::ChannelWire> = client.get("/api/v1/channels").await?;
            for c in &all {
                writeln!(out, "{}", channel_line(c))?;
            }
        }
        ChannelCmd::Add {
            kind,
            name,
            scope,
            interval,
            settings,
        } => {
            let mut map = serde_json::Map::new();
            for s in settings {
                let (k, v) = s
                    .split_once('=')
                    .with_context(|| format!("`{s}` is not KEY=VALUE"))?;
                let value = match v {
                    "true" => serde_json::Value::Bool(true),
                    "false" => serde_json::Value::Bool(false),
                    n if n.parse::<i64>().is_ok() => serde_json::json!(n.parse::<i64>()?),
                    other => serde_json::Value::String(other.to_owned()),
                };
                map.insert(k.to_owned(), value);
            }
            let c: embargo_api::ChannelWire = client
                .post(
                    "/api/v1/channels",
                    &embargo_api::NewChannel {
                        kind,
                        name,
                        scope,
                        interval_seconds: interval,
                        settings: if map.is_empty() {
                            serde_json::Value::Null
                        } else {
                            serde_json::Value::Object(map)
                        },
                    },
                )
                .await?;
            writeln!(out, "{}", channel_line(&c))?;
        }
        ChannelCmd::Remove { name } => {
            let resp = client
                .http
                .post(format!("{}/api/v1/channels/{name}/remove", client.base))
                .bearer_auth(&client.token)
                .send()
                .await
                .with_context(|| format!("cannot reach embargo at {}", client.base))?;
            if !resp.status().is_success() {
                bail!("no channel `{name}` (or you are not an admin)");
            }
            writeln!(out, "removed {name}")?;
        }
        ChannelCmd::Check { name } => {
            let c: embargo_api::ChannelWire = client
                .post(
                    &format!("/api/v1/channels/{name}/check"),
                    &serde_json::json!({}),
                )
                .await?;
            writeln!(out, "{}", channel_line(&c))?;
        }
    }
    Ok(())
}

/// Reports.
#[derive(Subcommand)]
pub enum ReportCmd {
    /// The SPEC-11 compliance report: channels watched, promises kept,
    /// advisories published for shipped fixes. Exits 1 if a check is broken.
    Compliance {
        /// One project (default: all).
        #[arg(long)]
        project: Option<String>,
        /// Over the reports received in the last N days (default 365).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..=36_500))]
        days: Option<i64>,
    },
}

/// Runs a report; `Ok(false)` when a check is broken.
pub async fn run_report(
    conn: Conn,
    cmd: ReportCmd,
    out: &mut impl std::io::Write,
) -> anyhow::Result<bool> {
    let client = Client::new(conn)?;
    match cmd {
        ReportCmd::Compliance { project, days } => {
            let mut path = match &project {
                Some(p) => {
                    let encoded: String = p
                        .bytes()
                        .map(|b| {
                            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                                char::from(b).to_string()
                            } else {
                                format!("%{b:02X}")
                            }
                        })
                        .collect();
                    format!("/api/v1/compliance?project={encoded}")
                }
                None => "/api/v1/compliance".to_owned(),
            };
            if let Some(days) = days {
                path.push(if project.is_some() { '&' } else { '?' });
                path.push_str(&format!("days={days}"));
            }
            let checks: Vec<embargo_api::CheckWire> = client.get(&path).await?;
            writeln!(
                out,
                "SPEC-11 compliance: {}, reports of the last {} days",
                project.as_deref().unwrap_or("all projects"),
                days.unwrap_or(365)
            )?;
            for c in &checks {
                writeln!(out, "{:<8} {}: {}", c.status, c.check, c.detail)?;
            }
            Ok(!checks.iter().any(|c| c.status == "broken"))
        }
    }
}

/// `ECOSYSTEM:NAME:RANGE[,RANGE]` as the API's affected package.
fn parse_affected(spec: &str) -> anyhow::Result<embargo_api::AffectedWire> {
    let mut parts = spec.splitn(3, ':');
    let (Some(eco), Some(name), Some(ranges)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!(
            "--affected `{spec}`: expected ECOSYSTEM:NAME:RANGE[,RANGE], e.g. PyPI:numpy:1.22.0..1.26.4"
        );
    };
    Ok(embargo_api::AffectedWire {
        ecosystem: eco.into(),
        name: name.into(),
        ranges: ranges.split(',').map(str::to_owned).collect(),
        versions: Vec::new(),
        purl: None,
    })
}
