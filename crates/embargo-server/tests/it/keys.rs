//! Replacing the OpenPGP intake key in the browser: security.txt's key,
//! `/pgp-key.txt` and the report form give the new key at once; mail
//! GnuPG encrypted to the old key still opens for `[keys]
//! retired_intake_days`, then the old key is deleted and such mail is kept
//! in quarantine with the reason; the team is told by mail (Dovecot).

use serde_json::Value;

use crate::{app::TestApp, gpg::Gpg, mail::deliver, mail::pgp_mime, mailserver::MailServer};

fn served_fingerprint(app: &TestApp) -> String {
    app.rt.block_on(async {
        reqwest::get(format!("{}/pgp-key.txt", app.url))
            .await
            .unwrap()
            .headers()["x-key-fingerprint"]
            .to_str()
            .unwrap()
            .to_owned()
    })
}

#[test]
fn the_intake_key_is_replaced_and_the_old_one_decrypts_only_for_a_while() {
    let mail = MailServer::start();
    let app = TestApp::start_with(&format!(
        "{}\n[keys]\nretired_intake_days = 7\n",
        mail.smtp_config()
    ));
    app.person("sam", "srt"); // sam@example.org is told
    let old_key = app.intake_key();
    let old = served_fingerprint(&app);
    let reporter = Gpg::new();
    reporter.reporter(&old_key, "ada@example.net");
    assert_eq!(reporter.fingerprint_of(&old_key), old);
    // Encrypted before the replacement, delivered after it.
    let in_flight = reporter.encrypt(&old, None, b"Use-after-free in the array iterator");

    let (mut admin, _) = app.signed_up(&app.admin_invitation.clone(), "admin");
    let page = admin.get("/admin/policy");
    assert!(page.body.contains(&old), "the policy page names the key");
    assert!(page.body.contains("Replace the intake key"));
    let done = admin.post("/admin/intake-key/rotate", &[]);
    assert_eq!(done.status, 303, "{}", done.body);
    let page = admin.get(done.location().unwrap());
    assert!(
        page.body.contains("The intake key was replaced"),
        "{}",
        page.body
    );
    let new = served_fingerprint(&app);
    assert_ne!(new, old);
    assert!(page.body.contains(&new));
    let retired_part = &page.body[page.body.find("Retired keys").unwrap()..];
    assert!(retired_part.contains(&old) && retired_part.contains("decrypts until"));
    let form = admin.get("/report");
    assert!(form.body.contains(&new) && !form.body.contains(&old));
    let (status, wire) = app.api(&app.admin_token, "GET", "/api/v1/admin/intake-key", None);
    assert_eq!(status, 200);
    assert_eq!(wire["fingerprint"], new);
    assert_eq!(wire["retired"][0]["fingerprint"], old);
    // Only an admin replaces it.
    let sam = app.token_of("sam2", "srt");
    let (status, _) = app.api(&sam, "POST", "/api/v1/admin/intake-key/rotate", None);
    assert_eq!(status, 404, "admin routes do not exist for others");
    assert_eq!(served_fingerprint(&app), new);

    // Mail encrypted to the old key still opens; to the new one too.
    let got = deliver(
        &app,
        pgp_mime("Ada <ada@example.net>", "k1@example.net", &in_flight),
    );
    assert_eq!(got["outcome"], "case", "{got}");
    let new_key = app.intake_key();
    reporter.run(&["--import"], new_key.as_bytes());
    let fresh = reporter.encrypt(&new, None, b"Integer overflow in the tokenizer");
    let got = deliver(
        &app,
        pgp_mime("Ada <ada@example.net>", "k2@example.net", &fresh),
    );
    assert_eq!(got["outcome"], "case", "{got}");

    // The team hears of it.
    let told = mail.message_to("sam@example.org", "intake key was replaced");
    assert!(told.contains(&new) && told.contains(&old), "{told}");

    // Its time over, the old key is deleted, and mail to it is kept in
    // quarantine with the reason.
    app.advance(8 * 86_400);
    app.pump();
    let retired_dir = app.data_dir().join("retired-intake-keys");
    assert_eq!(std::fs::read_dir(&retired_dir).unwrap().count(), 0);
    let (_, wire) = app.api(&app.admin_token, "GET", "/api/v1/admin/intake-key", None);
    assert_eq!(wire["retired"], Value::Array(vec![]));
    let late = reporter.encrypt(&old, None, b"Another report to the old key");
    let got = deliver(
        &app,
        pgp_mime("Ada <ada@example.net>", "k3@example.net", &late),
    );
    assert_eq!(got["outcome"], "quarantined", "{got}");
    assert!(
        got["reason"]
            .as_str()
            .unwrap()
            .contains("not encrypted to this team's intake key"),
        "{got}"
    );
}
