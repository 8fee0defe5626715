//! `TestApp`: a real server in this process on a loopback port, with a
//! manual clock, and `Browser`: an HTTP client that keeps cookies the way a
//! browser does for `__Host-` cookies and never follows redirects.

use std::collections::BTreeMap;

use embargo_server::{Clock, ServeOptions};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

pub(crate) struct TestApp {
    pub rt: tokio::runtime::Runtime,
    server: Option<tokio::task::JoinHandle<Result<(), embargo_server::ServerError>>>,
    pub clock: Clock,
    /// `http://localhost:PORT` (browsers treat localhost as secure, so
    /// `Secure` cookies work over plain HTTP there).
    pub url: String,
    pub admin_token: String,
    pub admin_invitation: String,
    /// Runs what is due at the manual clock's time to the end.
    pump: embargo_server::Pump,
    dir: tempfile::TempDir,
    /// The PostgreSQL database of this run's server, or `None` on SQLite.
    database: Option<String>,
}

/// With `EMBARGO_TEST_BACKEND=postgres`, a new database for one test's
/// server on the cluster `EMBARGO_TEST_POSTGRES` names (the throwaway one
/// `scripts/test` starts); otherwise `None`: SQLite in the data directory.
pub(crate) fn test_database(rt: &tokio::runtime::Runtime) -> Option<String> {
    if std::env::var("EMBARGO_TEST_BACKEND").as_deref() != Ok("postgres") {
        return None;
    }
    let admin = std::env::var("EMBARGO_TEST_POSTGRES").expect(
        "EMBARGO_TEST_BACKEND=postgres needs EMBARGO_TEST_POSTGRES (scripts/test sets both)",
    );
    let mut name = [0u8; 10];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut name);
    let name = format!("s_{}", hex::encode(name));
    Some(
        rt.block_on(embargo_store::testing::postgres_database(&admin, &name))
            .unwrap(),
    )
}

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The projects every test server starts with (the tests' reports name
/// them; a report for a project embargo does not know is refused).
pub(crate) const TEST_PROJECTS: [&str; 3] = ["numpy", "scipy", "p"];

impl TestApp {
    pub(crate) fn start() -> TestApp {
        Self::start_with("")
    }

    /// Starts with `config` as the data directory's embargo.toml.
    pub(crate) fn start_with(config: &str) -> TestApp {
        embargo_server::install_tls_provider();
        // EMBARGO_TEST_LOG=warn (or any filter) shows the servers' logs.
        if let Ok(filter) = std::env::var("EMBARGO_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let dir = tempfile::tempdir().unwrap();
        if !config.is_empty() {
            std::fs::create_dir(dir.path().join("data")).unwrap();
            std::fs::write(dir.path().join("data").join("embargo.toml"), config).unwrap();
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let clock = Clock::manual("2026-03-02T09:00:00Z".parse().unwrap());
        let database = test_database(&rt);
        let options = ServeOptions {
            data_dir: dir.path().join("data"),
            bind: Some("127.0.0.1:0".parse().unwrap()),
            database: database.clone(),
        };
        let bound = rt
            .block_on(embargo_server::bind(options, clock.clone()))
            .unwrap();
        let port = bound.addr().port();
        let first = bound.first_start.as_ref().unwrap();
        let (admin_token, admin_invitation) =
            (first.admin_token.clone(), first.admin_invitation.clone());
        let pump = bound.pump();
        let server = rt.spawn(bound.run(std::future::pending()));
        let app = TestApp {
            rt,
            pump,
            server: Some(server),
            clock,
            url: format!("http://localhost:{port}"),
            admin_token,
            admin_invitation,
            dir,
            database,
        };
        // Reports name a project the organisation has: the tests' own.
        for name in TEST_PROJECTS {
            let (status, body) = app.api(
                &app.admin_token,
                "POST",
                "/api/v1/projects",
                Some(serde_json::json!({ "name": name })),
            );
            assert_eq!(status, 201, "{body}");
        }
        app
    }

    /// The database file and its write-ahead log, as raw bytes.
    /// Kills the server mid-flight (its task is dropped wherever it was) and
    /// starts it again on the same data directory and port.
    pub(crate) fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = self.rt.block_on(server);
        }
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        let options = ServeOptions {
            data_dir: self.dir.path().join("data"),
            bind: Some(format!("127.0.0.1:{port}").parse().unwrap()),
            database: self.database.clone(),
        };
        let mut bound = None;
        for _ in 0..100 {
            match self
                .rt
                .block_on(embargo_server::bind(options.clone(), self.clock.clone()))
            {
                Ok(b) => {
                    bound = Some(b);
                    break;
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
        let bound = bound.expect("the server starts again on its port");
        assert!(
            bound.first_start.is_none(),
            "a restart is not a first start"
        );
        self.pump = bound.pump();
        self.server = Some(self.rt.spawn(bound.run(std::future::pending())));
    }

    /// Kills the first server mid-flight, as kill -9 would: its task and
    /// every loop it runs are dropped wherever they were (a job half sent
    /// stays claimed under its lease). Its pump is not to be used after.
    pub(crate) fn kill(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = self.rt.block_on(server);
        }
    }

    /// Starts a second server of the same deployment (the same data
    /// directory and database, the same clock) on its own port, as a load
    /// balancer would have beside the first; its `http://localhost:PORT`.
    pub(crate) fn second_server(&self) -> String {
        self.second_server_and_pump().0
    }

    /// As `second_server`, with the second server's pump (what is due now
    /// on that server, done before it returns).
    pub(crate) fn second_server_and_pump(&self) -> (String, embargo_server::Pump) {
        let options = ServeOptions {
            data_dir: self.dir.path().join("data"),
            bind: Some("127.0.0.1:0".parse().unwrap()),
            database: self.database.clone(),
        };
        let bound = self
            .rt
            .block_on(embargo_server::bind(options, self.clock.clone()))
            .unwrap();
        assert!(bound.first_start.is_none(), "the deployment exists");
        let url = format!("http://localhost:{}", bound.addr().port());
        let pump = bound.pump();
        // It serves until the test's runtime ends.
        drop(self.rt.spawn(bound.run(std::future::pending())));
        (url, pump)
    }

    pub(crate) fn db_bytes(&self) -> Vec<u8> {
        if let Some(url) = &self.database {
            return self
                .rt
                .block_on(embargo_store::testing::postgres_at_rest(url))
                .unwrap();
        }
        let db = self.dir.path().join("data").join("embargo.db");
        let mut bytes = std::fs::read(&db).unwrap();
        bytes.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
        bytes
    }

    /// Whether this server keeps its cases in PostgreSQL.
    pub(crate) fn on_postgres(&self) -> bool {
        self.database.is_some()
    }

    /// The server's data directory.
    pub(crate) fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Does everything due now (timers, jobs, the jobs those enqueue) and
    /// returns when nothing is: after it, what has not happened is not due.
    pub(crate) fn pump(&self) -> embargo_server::Pumped {
        self.rt.block_on(self.pump.run()).unwrap()
    }

    /// `pump` from inside the test's runtime (the browser tests' async
    /// walks).
    pub(crate) async fn pump_async(&self) -> embargo_server::Pumped {
        self.pump.run().await.unwrap()
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.clock.advance(SignedDuration::from_secs(secs));
    }

    pub(crate) fn browser(&self) -> Browser<'_> {
        self.browser_at(&self.url)
    }

    /// A browser whose connections come from `ip` (any 127.0.0.0/8
    /// address: all of it is loopback), as a visitor from elsewhere.
    pub(crate) fn browser_from(&self, ip: std::net::IpAddr) -> Browser<'_> {
        Browser {
            app: self,
            base: self.url.clone(),
            cookies: BTreeMap::new(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(ip)
                .build()
                .unwrap(),
        }
    }

    /// A browser that talks to the server at `base` (a second server of
    /// the same deployment, say).
    pub(crate) fn browser_at(&self, base: &str) -> Browser<'_> {
        Browser {
            app: self,
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Calls the JSON API with a bearer token.
    pub(crate) fn api(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.api_at(&self.url, token, method, path, body)
    }

    /// Calls the JSON API of the server at `base` (a second server).
    pub(crate) fn api_at(
        &self,
        base: &str,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.rt.block_on(async {
            let client = reqwest::Client::new();
            let url = format!("{base}{path}");
            let mut req = match method {
                "POST" => client.post(url),
                "PUT" => client.put(url),
                _ => client.get(url),
            };
            req = req.bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    /// Invites a person through the API; returns the invitation URL.
    /// POSTs raw bytes with a bearer token.
    pub(crate) fn api_raw(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        self.api_raw_at(&self.url, token, path, content_type, body)
    }

    /// POSTs raw bytes to the server at `base` (a second server).
    pub(crate) fn api_raw_at(
        &self,
        base: &str,
        token: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        self.rt.block_on(async {
            let resp = reqwest::Client::new()
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    /// The team's public intake key, as reporters fetch it.
    pub(crate) fn intake_key(&self) -> String {
        self.rt.block_on(async {
            reqwest::get(format!("{}/pgp-key.txt", self.url))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    }

    pub(crate) fn invite(&self, id: &str, role: &str) -> String {
        let (status, body) = self.api(
            &self.admin_token,
            "POST",
            "/api/v1/people",
            Some(serde_json::json!({
                "id": id, "name": format!("{id} person"), "email": format!("{id}@example.org"), "role": role,
            })),
        );
        assert_eq!(status, 201, "{body}");
        let url = body["invitation_url"].as_str().unwrap().to_owned();
        assert!(url.starts_with(&self.url), "links name localhost: {url}");
        url
    }

    /// The code an authenticator app shows now for `secret`.
    pub(crate) fn totp_code(&self, secret: &str) -> String {
        let totp = totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
            .with_account_name("test")
            .build()
            .unwrap();
        totp.generate(u64::try_from(self.now().as_second()).unwrap())
            .to_string()
    }

    /// Invites, accepts (with TOTP when `with_totp`) and signs in: a browser
    /// with a session, and the person's TOTP seed.
    pub(crate) fn person(&self, id: &str, role: &str) -> (Browser<'_>, String) {
        let url = self.invite(id, role);
        self.signed_up(&url, id)
    }

    /// A signed-up person's API token.
    pub(crate) fn token_of(&self, id: &str, role: &str) -> String {
        let (mut browser, _) = self.person(id, role);
        let page = browser.post("/account/tokens", &[]);
        assert_eq!(page.status, 200, "{}", page.body);
        format!("emb_{}", between(&page.body, "shown only now: emb_", "<"))
    }

    pub(crate) fn signed_up(&self, invitation_url: &str, id: &str) -> (Browser<'_>, String) {
        let mut b = self.browser();
        let path = invitation_url.strip_prefix(&self.url).unwrap().to_owned();
        let page = b.get(&path);
        assert_eq!(page.status, 200, "{}", page.body);
        let secret = between(&page.body, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();
        let code = self.totp_code(&secret);
        let done = b.post(
            &path,
            &[
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("code", &code),
            ],
        );
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("Your account is ready"), "{}", done.body);
        // The code just used cannot sign in again: wait for the next one.
        self.advance(30);
        let signed = b.sign_in(id, PASSWORD, &self.totp_code(&secret));
        assert_eq!(signed.status, 303, "{}", signed.body);
        (b, secret)
    }
}

/// The text between two markers.
pub(crate) fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` not in {text}"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

pub(crate) struct Response {
    pub status: u16,
    /// The body as text (lossy where it is not UTF-8).
    pub body: String,
    /// The body's bytes as received.
    pub bytes: Vec<u8>,
    pub headers: reqwest::header::HeaderMap,
}

impl Response {
    pub(crate) fn location(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }
}

enum Body {
    Form(Vec<(String, String)>),
    Multipart(Vec<(String, String)>, Vec<(String, Vec<u8>)>),
}

pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    /// The server it talks to (`app.url`, or a second server's).
    base: String,
    pub cookies: BTreeMap<String, String>,
    client: reqwest::Client,
}

impl Browser<'_> {
    fn send(&mut self, method: &str, path: &str, form: Option<Vec<(String, String)>>) -> Response {
        self.send_body(method, path, form.map(Body::Form))
    }

    fn send_body(&mut self, method: &str, path: &str, form: Option<Body>) -> Response {
        let url = format!("{}{path}", self.base);
        let cookie_header = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let (status, body, headers) = self.app.rt.block_on(async {
            let mut req = if method == "POST" {
                self.client.post(&url)
            } else {
                self.client.get(&url)
            };
            if !cookie_header.is_empty() {
                req = req.header(reqwest::header::COOKIE, cookie_header);
            }
            match form {
                Some(Body::Form(f)) => req = req.form(&f),
                Some(Body::Multipart(fields, files)) => {
                    let mut m = reqwest::multipart::Form::new();
                    for (k, v) in fields {
                        m = m.text(k, v);
                    }
                    for (name, bytes) in files {
                        m = m.part(
                            "attachment",
                            reqwest::multipart::Part::bytes(bytes).file_name(name),
                        );
                    }
                    req = req.multipart(m);
                }
                None => {}
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            (status, resp.bytes().await.unwrap().to_vec(), headers)
        });
        for set in headers.get_all(reqwest::header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attrs) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if name.starts_with("__Host-") {
                // What a browser checks for the prefix.
                assert!(
                    attrs.contains("Secure")
                        && attrs.contains("Path=/")
                        && !attrs.contains("Domain")
                );
            }
            assert!(
                attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict"),
                "{set}"
            );
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Response {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body,
            headers,
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, None)
    }

    /// Posts a form the way the page would: with the CSRF token the last
    /// page carried (the session's, or the pre-session cookie's).
    pub(crate) fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = self.csrf();
        let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf)];
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.send("POST", path, Some(form))
    }

    /// Posts the public report form (multipart, with files) with the
    /// pre-session token its page set.
    pub(crate) fn post_report(
        &mut self,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> Response {
        let all = self.with_pre_token("/report", fields);
        let files = files
            .iter()
            .map(|(n, b)| ((*n).to_owned(), b.to_vec()))
            .collect();
        self.send_body("POST", "/report", Some(Body::Multipart(all, files)))
    }

    /// Posts an anonymous form (sign-in, invitation) with the pre-session
    /// token, as those pages carry it even for a signed-in browser.
    pub(crate) fn post_anonymous(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let form = self.with_pre_token("/login", fields);
        self.send("POST", path, Some(form))
    }

    /// `fields` after the pre-session CSRF token, fetching `page` first if
    /// the browser has no pre-session cookie yet.
    fn with_pre_token(&mut self, page: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
        if !self.cookies.contains_key("__Host-embargo-csrf") {
            self.get(page);
        }
        let csrf = self.cookies["__Host-embargo-csrf"].clone();
        std::iter::once(("csrf".to_owned(), csrf))
            .chain(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            )
            .collect()
    }

    /// Posts a form without any CSRF token.
    pub(crate) fn post_without_csrf(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let form = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.send("POST", path, Some(form))
    }

    /// The CSRF token as a page would embed it.
    pub(crate) fn csrf(&mut self) -> String {
        if self.cookies.contains_key("__Host-embargo-session") {
            let page = self.get("/");
            if page.status == 200 {
                return between(&page.body, "name=\"csrf\" value=\"", "\"").to_owned();
            }
        }
        self.cookies
            .get("__Host-embargo-csrf")
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn sign_in(&mut self, handle: &str, password: &str, code: &str) -> Response {
        if !self.cookies.contains_key("__Host-embargo-csrf") {
            self.get("/login");
        }
        let csrf = self
            .cookies
            .get("__Host-embargo-csrf")
            .cloned()
            .unwrap_or_default();
        self.send(
            "POST",
            "/login",
            Some(vec![
                ("csrf".into(), csrf),
                ("handle".into(), handle.into()),
                ("password".into(), password.into()),
                ("code".into(), code.into()),
            ]),
        )
    }
}
