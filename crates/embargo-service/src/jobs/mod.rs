//! The outbox's job types, one file each: its typed payload (what the
//! outbox row keeps, sealed), its idempotency key (the same work has the
//! same key, so it is queued once however often it is found due) and, in
//! its documentation, what doing it records on the case. The types know
//! nothing of how the work is done, so every module may queue them; the
//! worker's one dispatch (`outbox::perform`) reads the payload of the kind
//! a row names and hands it to the adapter that does it. A kind it does not
//! know fails the job, which is kept, retried, given up and shown on the
//! case like any failure.
//!
//! Payloads keep the field names of the rows written before they were
//! typed, so jobs queued by an older version still run.

pub mod announce;
pub mod backup;
pub mod ci_run;
pub mod cve_github_poll;
pub mod cve_publish;
pub mod cve_request;
pub mod digest;
pub mod embargo_notice;
pub mod fork_open;
pub mod ghsa_publish;
pub mod mail_reporter;
pub mod merge_check;
pub mod notice;
pub mod notify_person;
pub mod team_notice;
pub mod timeline_notice;
pub mod webhook;

use embargo_store::{Lane, NewJob, OutboxJob, StoreError};
use serde::{Serialize, de::DeserializeOwned};

use crate::AppState;

/// A job type.
pub trait Job: Serialize + DeserializeOwned {
    /// The kind its rows carry.
    const KIND: &'static str;
    /// The lane its rows run in.
    const LANE: Lane = Lane::Main;
    /// Its idempotency key.
    fn key(&self) -> String;
    /// The case it is about, if any (its attempts show on the case).
    fn case_id(&self) -> Option<&str>;

    /// Its outbox row, for the store's writer to insert with a change.
    fn row(&self, at: i64) -> NewJob {
        NewJob {
            key: self.key(),
            kind: Self::KIND.into(),
            case_id: self.case_id().map(str::to_owned),
            payload: serde_json::to_value(self).unwrap_or_default(),
            at,
        }
    }
}

/// Queues `job` now, once per key (`false`: its key was queued before).
pub async fn enqueue<J: Job>(state: &AppState, job: &J) -> Result<bool, StoreError> {
    enqueue_in(&state.store, job, state.clock.unix()).await
}

/// As [`enqueue`], into `store` at `now` (a command run beside the server).
pub async fn enqueue_in<J: Job>(
    store: &embargo_store::Store,
    job: &J,
    now: i64,
) -> Result<bool, StoreError> {
    let payload = serde_json::to_value(job).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store
        .enqueue_in(J::LANE, &job.key(), J::KIND, job.case_id(), &payload, now)
        .await
}

/// As [`enqueue`], reading first: a pass that finds the job queued before
/// writes nothing.
pub async fn enqueue_once<J: Job>(state: &AppState, job: &J) -> Result<bool, StoreError> {
    if state.store.job_exists(&job.key()).await? {
        return Ok(false);
    }
    enqueue(state, job).await
}

/// The typed payload of `job`, a row of kind `J::KIND`.
pub fn decode<J: Job>(job: &OutboxJob) -> Result<J, String> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| format!("the {} job's payload does not read: {e}", J::KIND))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use serde_json::json;

    use super::*;

    fn row(kind: &str, payload: serde_json::Value) -> OutboxJob {
        OutboxJob {
            id: 1,
            key: "k".into(),
            kind: kind.into(),
            case_id: None,
            payload,
            attempts: 0,
        }
    }

    /// Rows queued before the payloads were typed still read, and the keys
    /// the types make are the ones those rows were queued under, so an
    /// upgrade neither drops a pending job nor queues one twice.
    #[test]
    fn rows_written_before_the_types_read_and_keys_stay_the_same() {
        let id = "EMB-2026-7K5JK5";
        let notice: notice::Notice = decode(&row(
            "notice",
            json!({"case_id": id, "clock": "acknowledgement", "notice": "warning", "percent": 50, "due": "2026-03-03T09:00:00Z"}),
        ))
        .unwrap();
        assert_eq!(notice.body.percent, Some(50));
        assert_eq!(notice.body.notice.as_deref(), Some("warning"));
        let person: notify_person::NotifyPerson = decode(&row(
            "notify_person",
            json!({"case_id": id, "guard": "remove the fork", "person": "sam"}),
        ))
        .unwrap();
        assert_eq!(
            (person.person.as_str(), person.body.guard.as_deref()),
            ("sam", Some("remove the fork"))
        );
        let hook: webhook::Webhook = decode(&row(
            "webhook",
            json!({"case_id": id, "notice": "escalation", "webhook": 2}),
        ))
        .unwrap();
        assert_eq!(hook.webhook, 2);
        let mail: mail_reporter::MailReporter = decode(&row(
            "mail_reporter",
            json!({"case_id": id, "subject": "s", "text": "t"}),
        ))
        .unwrap();
        assert_eq!(mail.text, "t");
        let ci: ci_run::CiRun =
            decode(&row("ci_run", json!({"case_id": id, "project": "numpy"}))).unwrap();
        assert_eq!(ci.project, "numpy");
        let check: merge_check::MergeCheck = decode(&row(
            "merge_check",
            json!({"case_id": id, "project": "numpy", "commits": ["abc"]}),
        ))
        .unwrap();
        assert_eq!(check.commits, ["abc"]);
        assert!(
            decode::<cve_request::CveRequest>(&row("cve_request", json!({"via": "github"})))
                .is_err()
        );

        let notice = embargo_notice::EmbargoNotice {
            case_id: id.into(),
            project: "numpy".into(),
            distributor: "debian".into(),
            disclose_at: "2026-03-05T16:00:00Z".into(),
            revised: false,
            lifted: false,
        };
        assert_eq!(
            notice.key(),
            format!("embargo-notice:{id}:numpy:debian:1772726400")
        );
        let lifted = embargo_notice::EmbargoNotice {
            lifted: true,
            ..notice.clone()
        };
        assert_eq!(lifted.key(), format!("embargo-lifted:{id}:numpy:debian"));
        let person = notify_person::NotifyPerson {
            body: notice::NoticeBody::default(),
            person: "sam".into(),
            notice_key: format!("guard-fork_alive:{id}"),
        };
        assert_eq!(person.key(), format!("guard-fork_alive:{id}|to:sam"));
        let request = cve_request::CveRequest {
            case_id: id.into(),
            via: "github".into(),
            request: 1,
        };
        assert_eq!(request.key(), format!("cve-request:{id}:1"));
        let r = request.row(5);
        assert_eq!(
            (r.kind.as_str(), r.case_id.as_deref(), r.at),
            ("cve_request", Some(id), 5)
        );
        assert_eq!(r.payload["via"], "github");
        assert_eq!(ci_run::CiRun::LANE, Lane::Long);
    }
}
