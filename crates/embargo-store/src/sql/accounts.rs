//! People, invitations, sessions, projects and the access log.
//!
//! These are plain tables rather than events: they describe the organisation,
//! not a case. Every change to a case still goes through the event log.
//! Tokens arrive here already hashed; the store never sees a usable secret
//! except the TOTP seed, which checking a code needs: it is sealed with the
//! master key before it is written.

use super::{DbRow, Store, dialect};
use crate::{
    AccessEntry, Keys, Person, Prefs, Project, Session, SigninAttempt, SigninPolicy, StoreError,
};
use embargo_core::{PersonId, access::OrgRole};
use sqlx::Row;

/// A person from a row of `PERSON_COLUMNS`; `seed`: the master key to
/// open their TOTP seed with, or `None` to leave it sealed in the row.
fn person_from(row: &DbRow, seed: Option<&Keys>) -> Result<Person, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("people: {e}"));
    let id = PersonId::new(row.try_get::<String, _>("id")?).map_err(|e| corrupt(e.0))?;
    let sealed_seed: Option<String> = match seed {
        Some(_) => row.try_get("totp_secret")?,
        None => None,
    };
    let totp_secret = match (sealed_seed, seed) {
        (Some(s), Some(m)) => Some(m.open_value(&totp_label(&id), &s)?),
        _ => None,
    };
    Ok(Person {
        id,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        role: row
            .try_get::<String, _>("org_role")?
            .parse()
            .map_err(|e: embargo_core::ids::InvalidValue| corrupt(e.0))?,
        password_hash: row.try_get("password_hash")?,
        totp_secret,
        totp_enrolled: row.try_get::<i64, _>("totp_enrolled")? != 0,
        totp_last_step: row.try_get("totp_last_step")?,
        failed_signins: row.try_get("failed_signins")?,
        throttled_until: row.try_get("throttled_until")?,
        locked: row.try_get::<i64, _>("locked")? != 0,
    })
}

/// A person (the first row's columns, their TOTP seed left sealed) and
/// the `maintains` column of every row; `None` when the person's columns
/// are empty.
fn member_from(rows: &[DbRow]) -> Result<Option<(Person, Vec<String>)>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    if first.try_get::<Option<String>, _>("id")?.is_none() {
        return Ok(None);
    }
    let person = person_from(first, None)?;
    let mut maintains = Vec::new();
    for r in rows {
        if let Some(project) = r.try_get::<Option<String>, _>("maintains")? {
            maintains.push(project);
        }
    }
    Ok(Some((person, maintains)))
}

fn entry_from(r: &DbRow) -> Result<AccessEntry, StoreError> {
    Ok(AccessEntry {
        at: r.try_get("at")?,
        person: r.try_get("person")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        detail: r.try_get("detail")?,
    })
}

fn totp_label(id: &PersonId) -> String {
    format!("totp:{id}")
}

fn json_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("projects: {e}")))
}

fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

const PERSON_COLUMNS: &str = "id, name, email, org_role, password_hash, totp_secret, totp_enrolled, \
     totp_last_step, failed_signins, throttled_until, locked";

impl Store {
    /// Adds a person (not yet able to sign in: no password).
    pub async fn add_person(
        &self,
        id: &PersonId,
        name: &str,
        email: &str,
        role: OrgRole,
        totp_secret: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let keys = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let mut tx = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        super::keys::sync(&mut tx, keys).await?;
        let result = sqlx::query(
            "INSERT INTO people (id, name, email, org_role, totp_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(email)
        .bind(role.name())
        .bind(keys.seal_value(&totp_label(id), totp_secret)?)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::PersonExists(id.clone()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// One person.
    pub async fn person(&self, id: &str) -> Result<Option<Person>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| self.person_with_seed(r))
            .transpose()
    }

    /// A person with their TOTP seed opened (`NoKey` when it is sealed
    /// and the store has no master key).
    fn person_with_seed(&self, row: &DbRow) -> Result<Person, StoreError> {
        match self.master.as_deref() {
            Some(master) => person_from(row, Some(master)),
            None if row.try_get::<Option<String>, _>("totp_secret")?.is_some() => {
                Err(StoreError::NoKey)
            }
            None => person_from(row, None),
        }
    }

    /// A person with the projects they maintain, in one read.
    pub async fn member(&self, id: &str) -> Result<Option<(Person, Vec<String>)>, StoreError> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS}, m.project AS maintains FROM people
             LEFT JOIN project_maintainers m ON m.person = people.id
             WHERE people.id = $1 ORDER BY m.project"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        member_from(&rows)
    }

    /// The person an API token (given by its hash) belongs to, with the
    /// projects they maintain, in one read (a request's authentication is
    /// one hand-off to the database, not three): `None` when there is no
    /// such token, `Some(None)` when its person is gone.
    pub async fn api_token_member(
        &self,
        token_hash: &str,
    ) -> Result<Option<Option<(Person, Vec<String>)>>, StoreError> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS}, m.project AS maintains FROM api_tokens t
             LEFT JOIN people ON people.id = t.person
             LEFT JOIN project_maintainers m ON m.person = people.id
             WHERE t.token_hash = $1 ORDER BY m.project"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        member_from(&rows).map(Some)
    }

    /// Everyone, by handle.
    pub async fn people(&self) -> Result<Vec<Person>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| person_from(r, None))
            .collect()
    }

    /// Every person's id, in order (no secret is read or opened).
    pub async fn person_ids(&self) -> Result<Vec<PersonId>, StoreError> {
        sqlx::query_scalar::<_, String>("SELECT id FROM people ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|id| PersonId::new(id).map_err(|e| StoreError::Corrupt(e.0)))
            .collect()
    }

    /// Changes a person's organisation role.
    pub async fn set_role(&self, id: &PersonId, role: OrgRole) -> Result<(), StoreError> {
        sqlx::query("UPDATE people SET org_role = $1 WHERE id = $2")
            .bind(role.name())
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an invitation for `person` by its token's hash.
    pub async fn add_invitation(
        &self,
        token_hash: &str,
        person: &PersonId,
        created_by: &PersonId,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invitations (token_hash, person, created_by, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(person.as_str())
        .bind(created_by.as_str())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Unused, unexpired invitations: (person, who invited them, expiry).
    pub async fn pending_invitations(
        &self,
        now: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT person, created_by, expires_at FROM invitations \
             WHERE used_at IS NULL AND expires_at > $1 ORDER BY expires_at",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Withdraws `person`'s unused invitations (their links stop working);
    /// how many.
    pub async fn revoke_invitations(&self, person: &PersonId, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET expires_at = $2 WHERE person = $1 AND used_at IS NULL \
             AND expires_at > $2",
        )
        .bind(person.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The person an unused, unexpired invitation is for.
    pub async fn invitation(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Person>, StoreError> {
        let person: Option<String> = sqlx::query_scalar(
            "SELECT person FROM invitations \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        match person {
            Some(p) => self.person(&p).await,
            None => Ok(None),
        }
    }

    /// Uses an invitation: sets the password (and confirms TOTP when
    /// `totp_step` is given) in one transaction. `false` if the invitation
    /// was already used or has expired: nothing changes then.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        totp_step: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let person: Option<String> = sqlx::query_scalar(
            "UPDATE invitations SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING person",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(person) = person else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE people SET password_hash = $1, totp_enrolled = $2, totp_last_step = $3, \
             failed_signins = 0, throttled_until = 0, locked = 0 WHERE id = $4",
        )
        .bind(password_hash)
        .bind(i64::from(totp_step.is_some()))
        .bind(totp_step.unwrap_or(0))
        .bind(&person)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Accepts a TOTP time step once: `false` if it (or a later one) was
    /// already used. Atomic, so two requests racing with one code cannot
    /// both pass.
    pub async fn use_totp_step(&self, id: &PersonId, step: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE people SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Replaces `person`'s recovery codes with `codes` (kept as keyed
    /// hashes only).
    pub async fn set_recovery_codes(
        &self,
        person: &PersonId,
        codes: &[String],
    ) -> Result<(), StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE person = $1")
            .bind(person.as_str())
            .execute(&mut *tx)
            .await?;
        for code in codes {
            sqlx::query("INSERT INTO recovery_codes (person, code_hash) VALUES ($1, $2)")
                .bind(person.as_str())
                .bind(master.lookup(&format!("recovery:{}:{code}", person.as_str())))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses one of `person`'s recovery codes: `true` once per code.
    pub async fn use_recovery_code(
        &self,
        person: &PersonId,
        code: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE person = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(person.as_str())
        .bind(master.lookup(&format!("recovery:{}:{code}", person.as_str())))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many of `person`'s recovery codes are unused.
    pub async fn recovery_codes_left(&self, person: &PersonId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE person = $1 AND used_at IS NULL",
        )
        .bind(person.as_str())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Counts one sign-in attempt for a person (`Some`) or for a handle
    /// that names no one (`None`: `handle` is then kept as a keyed hash),
    /// before the password is checked, and decides it, in one statement:
    /// the count goes up and the throttle and lock follow from the new
    /// count, unless the account is locked or throttled now, in which case
    /// nothing is counted. Parallel attempts therefore count one by one,
    /// exactly as sequential ones, and unknown handles are slowed and
    /// locked exactly as known ones.
    pub async fn count_signin_attempt(
        &self,
        person: Option<&PersonId>,
        handle: &str,
        now: i64,
        policy: SigninPolicy,
    ) -> Result<SigninAttempt, StoreError> {
        // One statement for both tables, so known and unknown handles are
        // counted and decided alike.
        macro_rules! count {
            ($table:literal, $column:literal) => {
                // `failed_signins` in SET means the value before this statement.
                concat!(
                    "UPDATE ", $table, " SET
                        failed_signins = failed_signins + 1,
                        throttled_until = CASE WHEN failed_signins + 1 > $2
                            THEN $3 + $4 * (CAST(1 AS BIGINT) << CAST(
                                (CASE WHEN failed_signins - $2 > 20 THEN 20 ELSE failed_signins - $2 END)
                                AS INTEGER))
                            ELSE 0 END,
                        locked = CASE WHEN failed_signins + 1 >= $5 THEN 1 ELSE 0 END
                     WHERE ", $column, " = $1 AND locked = 0 AND throttled_until <= $3
                     RETURNING failed_signins, locked"
                )
            };
        }
        let (count_sql, state_sql, key) = match person {
            Some(p) => (
                count!("people", "id"),
                "SELECT throttled_until, locked FROM people WHERE id = $1",
                p.as_str().to_owned(),
            ),
            None => {
                let key = self
                    .master
                    .as_deref()
                    .ok_or(StoreError::NoKey)?
                    .lookup(&handle.to_lowercase());
                sqlx::query(
                    "INSERT INTO signin_unknown (handle_key) VALUES ($1) ON CONFLICT (handle_key) DO NOTHING",
                )
                .bind(&key)
                .execute(&self.pool)
                .await?;
                (
                    count!("signin_unknown", "handle_key"),
                    "SELECT throttled_until, locked FROM signin_unknown WHERE handle_key = $1",
                    key,
                )
            }
        };
        let counted: Option<(i64, i64)> = sqlx::query_as(count_sql)
            .bind(&key)
            .bind(i64::from(policy.free_failures))
            .bind(now)
            .bind(i64::from(policy.throttle_seconds))
            .bind(i64::from(policy.lock_after))
            .fetch_optional(&self.pool)
            .await?;
        if let Some((failures, locked)) = counted {
            return Ok(SigninAttempt::Counted {
                failures,
                locks: locked != 0,
            });
        }
        let (throttled_until, locked): (i64, i64) = sqlx::query_as(state_sql)
            .bind(&key)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or((0, 1));
        Ok(if locked != 0 {
            SigninAttempt::Locked
        } else {
            SigninAttempt::Throttled {
                seconds: (throttled_until - now).max(1),
            }
        })
    }

    /// Sets the sign-in state: failures so far, throttle and lock (an
    /// admin unlocking, a successful sign-in resetting).
    pub async fn set_signin_state(
        &self,
        id: &PersonId,
        failed_signins: i64,
        throttled_until: i64,
        locked: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE people SET failed_signins = $1, throttled_until = $2, locked = $3 WHERE id = $4",
        )
        .bind(failed_signins)
        .bind(throttled_until)
        .bind(i64::from(locked))
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Starts a session; the caller has already rotated (removed) any old one.
    pub async fn add_session(
        &self,
        token_hash: &str,
        person: &PersonId,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, person, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(person.as_str())
        .bind(csrf_token)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A live session with its person and the projects they maintain, in
    /// one read (a page's sign-in check is one hand-off, not two): `None`
    /// when there is no such live session; the person is `None` when gone.
    pub async fn session_member(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(Session, Option<(Person, Vec<String>)>)>, StoreError> {
        let sql = format!(
            "SELECT s.person AS session_person, s.csrf_token, s.expires_at,
                    {PERSON_COLUMNS}, m.project AS maintains
             FROM sessions s
             LEFT JOIN people ON people.id = s.person
             LEFT JOIN project_maintainers m ON m.person = people.id
             WHERE s.token_hash = $1 AND s.expires_at > $2 ORDER BY m.project"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let session = Session {
            person: PersonId::new(first.try_get::<String, _>("session_person")?)
                .map_err(|e| StoreError::Corrupt(e.0))?,
            csrf_token: first.try_get("csrf_token")?,
            expires_at: first.try_get("expires_at")?,
        };
        Ok(Some((session, member_from(&rows)?)))
    }

    /// Ends a session.
    pub async fn remove_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A project's release settings as saved in the browser (JSON), if any.
    pub async fn project_release(&self, project: &str) -> Result<Option<String>, StoreError> {
        self.project_setting("project_release", project).await
    }

    /// Every project's release settings saved in the browser: (project, JSON).
    pub async fn project_releases(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.project_settings_all("project_release").await
    }

    /// Keeps a project's release settings (JSON) as `by` saved them.
    pub async fn put_project_release(
        &self,
        project: &str,
        settings: &str,
        by: &PersonId,
        now: i64,
    ) -> Result<(), StoreError> {
        self.put_project_setting("project_release", project, settings, by, now)
            .await
    }

    /// A project's screening policy as saved in the browser (JSON), if any.
    pub async fn project_screening(&self, project: &str) -> Result<Option<String>, StoreError> {
        self.project_setting("project_screening", project).await
    }

    /// Every project's screening policy saved in the browser: (project, JSON).
    pub async fn project_screenings(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.project_settings_all("project_screening").await
    }

    /// Keeps a project's screening policy (JSON) as `by` saved it.
    pub async fn put_project_screening(
        &self,
        project: &str,
        settings: &str,
        by: &PersonId,
        now: i64,
    ) -> Result<(), StoreError> {
        self.put_project_setting("project_screening", project, settings, by, now)
            .await
    }

    /// One row of a per-project settings table (`project_release`,
    /// `project_screening`: a name from this file, never from input).
    async fn project_setting(
        &self,
        table: &'static str,
        project: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT settings FROM {table} WHERE project = $1"
        )))
        .bind(project)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn project_settings_all(
        &self,
        table: &'static str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT project, settings FROM {table} ORDER BY project"
        )))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn put_project_setting(
        &self,
        table: &'static str,
        project: &str,
        settings: &str,
        by: &PersonId,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (project, settings, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project) DO UPDATE SET \
             settings = excluded.settings, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by"
        )))
        .bind(project)
        .bind(settings)
        .bind(now)
        .bind(by.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a project of this name exists (one indexed read).
    pub async fn project_exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT) FROM projects WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Adds or replaces a project and its maintainers.
    pub async fn put_project(&self, project: &Project, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO projects (name, repositories, packages, series, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET \
             repositories = excluded.repositories, packages = excluded.packages, \
             series = excluded.series",
        )
        .bind(&project.name)
        .bind(to_json(&project.repositories))
        .bind(to_json(&project.packages))
        .bind(to_json(&project.series))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM project_maintainers WHERE project = $1")
            .bind(&project.name)
            .execute(&mut *tx)
            .await?;
        for m in &project.maintainers {
            sqlx::query("INSERT INTO project_maintainers (project, person) VALUES ($1, $2)")
                .bind(&project.name)
                .bind(m.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every project, by name, with maintainers.
    pub async fn projects(&self) -> Result<Vec<Project>, StoreError> {
        // One statement: each project with its maintainers as a JSON list.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, repositories, packages, series,
                    (SELECT {} FROM
                        (SELECT person FROM project_maintainers m
                         WHERE m.project = p.name ORDER BY person) AS ms) AS maintainers
             FROM projects p ORDER BY name",
            dialect::json_list("person")
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get("name")?;
            let maintainers = json_list(&row.try_get::<String, _>("maintainers")?)?
                .into_iter()
                .map(|p| PersonId::new(p).map_err(|e| StoreError::Corrupt(e.0)))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Project {
                repositories: json_list(&row.try_get::<String, _>("repositories")?)?,
                packages: json_list(&row.try_get::<String, _>("packages")?)?,
                series: json_list(&row.try_get::<String, _>("series")?)?,
                name,
                maintainers,
            });
        }
        Ok(out)
    }

    /// Appends to the access log.
    pub async fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_log (at, person, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entry.at)
        .bind(&entry.person)
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(&entry.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The access log for a subject (a case id or an account), oldest first.
    pub async fn access_log(
        &self,
        subject: &str,
        newest: i64,
    ) -> Result<Vec<AccessEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, person, action, subject, detail FROM access_log \
             WHERE subject = $1 ORDER BY at DESC LIMIT $2",
        )
        .bind(subject)
        .bind(newest)
        .fetch_all(&self.pool)
        .await?;
        let mut log: Vec<AccessEntry> = rows.iter().map(entry_from).collect::<Result<_, _>>()?;
        log.reverse();
        Ok(log)
    }

    /// The newest sign-in events (sign-ins, failures, refusals), newest first.
    pub async fn recent_account_events(&self, limit: i64) -> Result<Vec<AccessEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, person, action, subject, detail FROM access_log \
             WHERE subject LIKE 'account:%' ORDER BY at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from).collect()
    }

    /// The reporter-facing texts admins have written, by stage label.
    pub async fn status_texts(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT stage, body FROM status_texts ORDER BY stage")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("stage")?, r.try_get("body")?)))
            .collect()
    }

    /// Sets the reporter-facing text for a stage.
    pub async fn set_status_text(
        &self,
        stage: &str,
        body: &str,
        by: &PersonId,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO status_texts (stage, body, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stage) DO UPDATE SET body = excluded.body, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(stage)
        .bind(body)
        .bind(by.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store {
    /// A person's preferences (the defaults if they never set any).
    pub async fn prefs(&self, person: &PersonId) -> Result<Prefs, StoreError> {
        let row = sqlx::query("SELECT notify, openpgp_key FROM person_prefs WHERE person = $1")
            .bind(person.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Prefs {
                notify: r.try_get(0)?,
                openpgp_key: r.try_get(1)?,
            },
            None => Prefs::default(),
        })
    }

    /// Sets a person's preferences.
    pub async fn set_prefs(&self, person: &PersonId, prefs: &Prefs) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO person_prefs (person, notify, openpgp_key) VALUES ($1, $2, $3)
             ON CONFLICT (person) DO UPDATE SET notify = excluded.notify, openpgp_key = excluded.openpgp_key",
        )
        .bind(person.as_str())
        .bind(&prefs.notify)
        .bind(&prefs.openpgp_key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
