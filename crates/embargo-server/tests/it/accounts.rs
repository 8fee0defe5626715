//! Accounts as people meet them: invitation, password, TOTP, sign-in,
//! throttling, lockout, session rotation and sign-out.

use crate::app::{PASSWORD, TestApp};

#[test]
fn the_first_admin_signs_up_from_the_printed_link_and_the_link_works_once() {
    let app = TestApp::start();
    let (mut admin, _) = app.signed_up(&app.admin_invitation.clone(), "admin");
    let inbox = admin.get("/");
    assert_eq!(inbox.status, 200);
    assert!(inbox.body.contains("<h1>Inbox</h1>"), "{}", inbox.body);
    // The link is spent.
    let path = app.admin_invitation.strip_prefix(&app.url).unwrap();
    assert_eq!(app.browser().get(path).status, 404);
}

#[test]
fn an_invitation_insists_on_a_good_password_and_on_totp_for_the_srt() {
    let app = TestApp::start();
    let url = app.invite("sam", "srt");
    let path = url.strip_prefix(&app.url).unwrap().to_owned();
    let mut b = app.browser();
    assert_eq!(b.get(&path).status, 200);
    let short = b.post(&path, &[("password", "short"), ("confirm", "short")]);
    assert_eq!(short.status, 422);
    assert!(
        short.body.contains("at least 12 characters"),
        "{}",
        short.body
    );
    let no_code = b.post(&path, &[("password", PASSWORD), ("confirm", PASSWORD)]);
    assert_eq!(no_code.status, 422);
    assert!(no_code.body.contains("second factor"), "{}", no_code.body);
    let wrong = b.post(
        &path,
        &[
            ("password", PASSWORD),
            ("confirm", PASSWORD),
            ("code", "000000"),
        ],
    );
    assert_eq!(wrong.status, 422);
    // What was typed stays: only the code needs typing again.
    assert!(
        wrong.body.matches(&format!("value=\"{PASSWORD}\"")).count() == 2,
        "{}",
        wrong.body
    );
    // Nothing was spent: the right code still works.
    let (_, _) = app.signed_up(&url, "sam");
}

/// An SRT member's invitation opened: the browser, the page's path, the page.
fn invitation_page<'a>(app: &'a TestApp, id: &str) -> (crate::app::Browser<'a>, String, String) {
    let url = app.invite(id, "srt");
    let path = url.strip_prefix(&app.url).unwrap().to_owned();
    let mut b = app.browser();
    let page = b.get(&path).body;
    (b, path, page)
}

/// Sends the invitation's form with the password and the current code.
fn finish_sign_up(
    app: &TestApp,
    b: &mut crate::app::Browser<'_>,
    path: &str,
    page: &str,
) -> crate::app::Response {
    let secret = crate::app::between(page, "id=\"totp-secret\" class=\"secret\">", "<").to_owned();
    b.post(
        path,
        &[
            ("password", PASSWORD),
            ("confirm", PASSWORD),
            ("code", &app.totp_code(&secret)),
        ],
    )
}

/// The key as a QR code drawn here (inline SVG, nothing fetched from
/// elsewhere), beside the key as text; after sign-up, signed in at once.
#[test]
fn sign_up_shows_the_key_as_a_qr_code_and_ends_signed_in() {
    let app = TestApp::start();
    let (mut b, path, page) = invitation_page(&app, "sam");
    let qr = crate::app::between(&page, "id=\"totp-qr\"", "</figure>");
    assert!(
        qr.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"")
            && qr.contains("<path fill=\"#000\" d=\"M"),
        "{qr}"
    );
    assert!(!qr.contains("<?xml") && !qr.contains("style="), "{qr}");
    let done = finish_sign_up(&app, &mut b, &path, &page);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You are signed in"), "{}", done.body);
    let inbox = b.get("/");
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    assert!(inbox.body.contains("Sign out"), "{}", inbox.body);
}

#[test]
fn a_totp_code_signs_in_once() {
    let app = TestApp::start();
    let (mut b, secret) = app.person("sam", "srt");
    app.advance(30);
    let code = app.totp_code(&secret);
    let mut other = app.browser();
    assert_eq!(other.sign_in("sam", PASSWORD, &code).status, 303);
    // The same code again, within its 30 seconds: refused.
    let mut third = app.browser();
    let again = third.sign_in("sam", PASSWORD, &code);
    assert_eq!(again.status, 401, "{}", again.body);
    // A password alone is not enough for the SRT.
    app.advance(30);
    assert_eq!(third.sign_in("sam", PASSWORD, "").status, 401);
    assert_eq!(b.get("/").status, 200);
}

#[test]
fn failed_sign_ins_are_slowed_then_locked_until_an_admin_unlocks() {
    let app = TestApp::start();
    let (mut admin, admin_secret) = app.signed_up(&app.admin_invitation.clone(), "admin");
    let (_, secret) = app.person("mia", "maintainer");
    let mut b = app.browser();
    for _ in 0..5 {
        assert_eq!(b.sign_in("mia", "wrong password!", "").status, 401);
    }
    // Slowed: even the right password waits now, and is not checked.
    let slowed = b.sign_in("mia", PASSWORD, "");
    assert_eq!(slowed.status, 429, "{}", slowed.body);
    assert_eq!(slowed.headers["retry-after"], "30");
    // Each further failure doubles the wait ...
    let mut wait = 30;
    for _ in 5..9 {
        app.advance(wait + 1);
        assert_eq!(b.sign_in("mia", "wrong password!", "").status, 401);
        wait *= 2;
        let slowed = b.sign_in("mia", PASSWORD, "");
        assert_eq!(slowed.status, 429);
        assert_eq!(slowed.headers["retry-after"], wait.to_string().as_str());
    }
    // ... and the tenth locks the account.
    app.advance(wait + 1);
    assert_eq!(b.sign_in("mia", "wrong password!", "").status, 403);
    app.advance(86_400);
    let locked = b.sign_in("mia", PASSWORD, "");
    assert_eq!(locked.status, 403);
    assert!(locked.body.contains("locked"), "{}", locked.body);
    // An admin unlocks (signing in afresh: a day has passed); the right
    // password works again.
    assert_eq!(admin.get("/").location(), Some("/login"), "sessions expire");
    assert_eq!(
        admin
            .sign_in("admin", PASSWORD, &app.totp_code(&admin_secret))
            .status,
        303
    );
    let people = admin.get("/admin/people");
    assert!(people.body.contains("locked"), "{}", people.body);
    // The admin sees what happened, newest first.
    let activity = crate::app::between(&people.body, "Recent sign-in activity", "Invite someone");
    assert!(
        activity.contains("<td>mia</td><td>sign in refused</td><td>locked</td>"),
        "{activity}"
    );
    assert!(
        activity.contains("<td>mia</td><td>sign in failed</td><td>failure 10</td>"),
        "{activity}"
    );
    assert!(
        activity.contains("<td>mia</td><td>sign in refused</td><td>throttled</td>"),
        "{activity}"
    );
    assert_eq!(admin.post("/admin/people/mia/unlock", &[]).status, 303);
    assert_eq!(
        b.sign_in("mia", PASSWORD, &app.totp_code(&secret)).status,
        303
    );
}

#[test]
fn signing_in_rotates_the_session_and_signing_out_ends_it() {
    let app = TestApp::start();
    let (mut b, secret) = app.person("mia", "maintainer");
    let first = b.cookies["__Host-embargo-session"].clone();
    app.advance(30);
    assert_eq!(
        b.sign_in("mia", PASSWORD, &app.totp_code(&secret)).status,
        303
    );
    let second = b.cookies["__Host-embargo-session"].clone();
    assert_ne!(first, second);
    // Session tokens are stored only as hashes.
    let db = app.db_bytes();
    for token in [&first, &second] {
        assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));
    }
    // The old token no longer works.
    let mut stale = app.browser();
    stale.cookies.insert("__Host-embargo-session".into(), first);
    assert_eq!(stale.get("/").location(), Some("/login"));
    assert_eq!(b.post("/logout", &[]).status, 303);
    assert!(!b.cookies.contains_key("__Host-embargo-session"));
    let mut after = app.browser();
    after
        .cookies
        .insert("__Host-embargo-session".into(), second);
    assert_eq!(after.get("/").location(), Some("/login"));
}

#[test]
fn unknown_handles_and_wrong_passwords_get_the_same_answer() {
    let app = TestApp::start();
    let (_, _) = app.person("mia", "maintainer");
    let mut b = app.browser();
    let unknown = b.sign_in("nobody", PASSWORD, "");
    let wrong = b.sign_in("mia", "wrong password!", "");
    assert_eq!(unknown.status, wrong.status);
    let msg = |body: &str| crate::app::between(body, "role=\"alert\">", "<").to_owned();
    assert_eq!(msg(&unknown.body), msg(&wrong.body));
}

#[test]
fn one_address_trying_many_handles_is_slowed_too() {
    let app = TestApp::start();
    let (_, secret) = app.person("mia", "maintainer");
    let mut b = app.browser();
    // 30 attempts per address per 10 minutes, whatever the handles; signing
    // mia up was the first.
    for i in 1..30 {
        assert_eq!(
            b.sign_in(&format!("user{i}"), "guess guess guess", "")
                .status,
            401
        );
    }
    let blocked = b.sign_in("mia", PASSWORD, &app.totp_code(&secret));
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert_eq!(blocked.headers["retry-after"], "600");
    app.advance(600);
    assert_eq!(
        b.sign_in("mia", PASSWORD, &app.totp_code(&secret)).status,
        303
    );
}

/// The per-address count is the deployment's, not one server's: sign-ins
/// from one address spread over two servers on one database reach the
/// limit together, and both refuse.
#[test]
fn one_address_is_counted_across_two_servers() {
    let app = TestApp::start_with("[accounts]\nattempts_per_address = 10\n");
    let second = app.second_server();
    let mut one = app.browser();
    let mut two = app.browser_at(&second);
    for i in 0..10 {
        let b = if i % 2 == 0 { &mut one } else { &mut two };
        assert_eq!(
            b.sign_in(&format!("user{i}"), "guess guess guess", "")
                .status,
            401,
            "attempt {i} is within the limit"
        );
    }
    for b in [&mut one, &mut two] {
        let blocked = b.sign_in("anyone", "guess guess guess", "");
        assert_eq!(blocked.status, 429, "{}", blocked.body);
    }
}

/// Statuses of `n` wrong sign-ins for `handle`, all at once (each from its
/// own browser, one thread each) or one after another, sorted; and what
/// the right password gets afterwards.
fn wrong_sign_ins(app: &TestApp, handle: &str, n: usize, parallel: bool) -> (Vec<u16>, u16) {
    let mut statuses: Vec<u16> = if parallel {
        let mut browsers: Vec<_> = (0..n)
            .map(|_| {
                let mut b = app.browser();
                b.get("/login"); // the pre-session cookie, before the race
                b
            })
            .collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = browsers
                .iter_mut()
                .map(|b| s.spawn(move || b.sign_in(handle, "wrong password!", "").status))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    } else {
        let mut b = app.browser();
        (0..n)
            .map(|_| b.sign_in(handle, "wrong password!", "").status)
            .collect()
    };
    statuses.sort_unstable();
    let after = app.browser().sign_in(handle, PASSWORD, "").status;
    (statuses, after)
}

#[test]
fn parallel_wrong_sign_ins_count_exactly_as_sequential_ones() {
    // Nine free failures, the tenth locks: 25 attempts end locked.
    let config = "[accounts]\nfree_failures = 9\nlock_after = 10\nattempts_per_address = 1000\n";
    let one_by_one = TestApp::start_with(config);
    one_by_one.person("mia", "maintainer");
    let at_once = TestApp::start_with(config);
    at_once.person("mia", "maintainer");
    let sequential = wrong_sign_ins(&one_by_one, "mia", 25, false);
    let mut want = vec![401; 9];
    want.extend([403; 16]);
    assert_eq!(sequential, (want, 403), "one after another");
    assert_eq!(
        wrong_sign_ins(&at_once, "mia", 25, true),
        sequential,
        "all at once"
    );
    // With the default policy the fifth failure slows the account down:
    // at once as one by one, the rest wait and are not counted.
    let config = "[accounts]\nattempts_per_address = 1000\n";
    let one_by_one = TestApp::start_with(config);
    one_by_one.person("mia", "maintainer");
    let at_once = TestApp::start_with(config);
    at_once.person("mia", "maintainer");
    let sequential = wrong_sign_ins(&one_by_one, "mia", 25, false);
    let mut want = vec![401; 5];
    want.extend([429; 20]);
    assert_eq!(sequential, (want, 429));
    assert_eq!(wrong_sign_ins(&at_once, "mia", 25, true), sequential);
}

#[test]
fn unknown_handles_are_slowed_and_locked_like_known_ones() {
    let app = TestApp::start_with("[accounts]\nattempts_per_address = 1000\n");
    app.person("mia", "maintainer");
    let mut known = app.browser();
    let mut unknown = app.browser();
    let msg = |body: &str| crate::app::between(body, "role=\"alert\">", "<").to_owned();
    let mut both = |password: &str| {
        let k = known.sign_in("mia", password, "");
        let u = unknown.sign_in("nobody", password, "");
        assert_eq!(k.status, u.status, "{}\n{}", k.body, u.body);
        assert_eq!(k.headers.get("retry-after"), u.headers.get("retry-after"));
        assert_eq!(msg(&k.body), msg(&u.body));
        k.status
    };
    let mut seen = Vec::new();
    let mut wait = 30;
    for round in 0..12 {
        seen.push(both("wrong password!"));
        if round >= 4 {
            // Slowed (or locked) now: the same for both, and not counted.
            seen.push(both("wrong password!"));
            app.advance(wait + 1);
            wait *= 2;
        }
    }
    // Both went through the whole ladder: rejected, slowed, locked.
    assert_eq!(&seen[..5], &[401; 5]);
    assert!(seen.contains(&429), "{seen:?}");
    assert_eq!(seen.last(), Some(&403), "{seen:?}");
}

/// Each person lists their API tokens and revokes one (it stops at once,
/// the others keep working; no one else can revoke it); an admin lists
/// the invitations not yet used and withdraws one (its link stops).
#[test]
fn tokens_and_invitations_are_listed_and_revocable() {
    let app = TestApp::start();
    let (mut sam, _) = app.person("sam", "srt");
    let token = |b: &mut crate::app::Browser<'_>| {
        let page = b.post("/account/tokens", &[]);
        format!(
            "emb_{}",
            crate::app::between(&page.body, "shown only now: emb_", "<")
        )
    };
    let first = token(&mut sam);
    let second = token(&mut sam);
    let works = |t: &str| app.api(t, "GET", "/api/v1/cases", None).0;
    assert_eq!((works(&first), works(&second)), (200, 200));
    let page = sam.get("/account").body;
    let listed = page.matches("action=\"/account/tokens/").count();
    assert_eq!(listed, 2, "{page}");
    // The first token's id is the start of its hash.
    let id: String = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(first.as_bytes()))[..12].to_owned()
    };
    assert!(
        page.contains(&format!("/account/tokens/{id}/revoke")),
        "{page}"
    );
    let (mut olga, _) = app.person("olga", "maintainer");
    assert_eq!(
        olga.post(&format!("/account/tokens/{id}/revoke"), &[])
            .status,
        404
    );
    assert_eq!(works(&first), 200, "another person cannot revoke it");
    let done = sam.post(&format!("/account/tokens/{id}/revoke"), &[]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!((works(&first), works(&second)), (401, 200));
    assert_eq!(
        sam.get("/account")
            .body
            .matches("action=\"/account/tokens/")
            .count(),
        1
    );

    // Invitations not yet used, withdrawn by an admin.
    let (mut ada, _) = app.person("ada", "admin");
    let link = app.invite("newcomer", "maintainer");
    let people = ada.get("/admin/people").body;
    let pending = crate::app::between(&people, "id=\"invitations\"", "</ul>");
    assert!(pending.contains("newcomer, invited by"), "{pending}");
    let path = link.strip_prefix(&app.url).unwrap().to_owned();
    assert_eq!(app.browser().get(&path).status, 200);
    let done = ada.post("/admin/people/newcomer/invitation/revoke", &[]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.browser().get(&path).status, 404, "the link stopped");
    assert!(
        !ada.get("/admin/people")
            .body
            .contains("newcomer, invited by")
    );
    assert_eq!(
        sam.post("/admin/people/newcomer/invitation/revoke", &[])
            .status,
        404,
        "not for the SRT"
    );
}

/// Recovery codes, shown once at sign-up: each signs in once in place of
/// the authenticator's code; new ones replace the old.
#[test]
fn recovery_codes_sign_in_once_each_and_new_ones_replace_the_old() {
    let app = TestApp::start();
    let (mut b, path, page) = invitation_page(&app, "sam");
    let done = finish_sign_up(&app, &mut b, &path, &page);
    assert_eq!(done.status, 200, "{}", done.body);
    let list = crate::app::between(&done.body, "id=\"recovery-codes\"", "</section>");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{list}");
    assert!(codes.iter().all(|c| c.len() == 14), "{codes:?}");

    let sign_in = |code: &str| app.browser().sign_in("sam", PASSWORD, code).status;
    assert_eq!(sign_in(&codes[0]), 303, "a recovery code signs in");
    assert_eq!(sign_in(&codes[0]), 401, "once");
    assert_eq!(
        sign_in("zzzz-zzzz-zzzz"),
        401,
        "not any code that looks like one"
    );
    let mut sam = app.browser();
    assert_eq!(sam.sign_in("sam", PASSWORD, &codes[1]).status, 303);
    assert!(sam.get("/account").body.contains("8 unused"));
    let fresh = sam.post("/account/recovery-codes", &[]);
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let new_code = crate::app::between(&fresh.body, "<li><code>", "<").to_owned();
    assert_eq!(sign_in(&codes[2]), 401, "the old codes stopped");
    assert_eq!(sign_in(&new_code), 303);
}
