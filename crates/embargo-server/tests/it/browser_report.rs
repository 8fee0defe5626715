//! The report form in headless Chromium: with JavaScript on, the browser
//! encrypts the report and its attachment before sending, and what reached
//! the server (the raw submission the SRT can download) holds none of the
//! plaintext; with JavaScript off, the same form works and the server
//! encrypts on arrival. The receipt link shows the report, and a reply
//! through it reaches the SRT.

use std::time::Duration;

use fantoccini::{Client, Locator};

use crate::{
    app::{TestApp, between},
    browser::{Driver, browser, console, fill, submit, wait_for_text},
};

const DESCRIPTION: &str = "The tokenizer reads past the buffer on a lone surrogate";
const STEPS: &str = "python -c 'import pkg; pkg.tokenize(chr(0xd800))'";
const TITLE: &str = "Out-of-bounds read in the tokenizer";
const FILE_TEXT: &str = "crash log: SIGSEGV at tokenizer.c:812";

async fn fill_form(c: &Client, file: &std::path::Path) {
    fill(c, "r-title", TITLE).await;
    fill(c, "r-versions", "3.0 to 3.2").await;
    fill(c, "r-description", DESCRIPTION).await;
    fill(c, "r-steps", STEPS).await;
    fill(c, "r-impact", "Reads memory it should not.").await;
    fill(c, "r-name", "Lin").await;
    fill(c, "r-email", "lin@example.net").await;
    c.find(Locator::Id("r-files"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
}

/// Reads the receipt page: the case id and the status link.
async fn receipt(c: &Client) -> (String, String) {
    wait_for_text(c, "Report received").await;
    let case = c
        .find(Locator::Id("case-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = c
        .find(Locator::Id("status-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    (case, link)
}

#[test]
fn the_browser_encrypts_the_report_and_the_server_never_sees_the_plaintext() {
    let app = TestApp::start();
    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.log");
    std::fs::write(&file, FILE_TEXT).unwrap();

    let (case, link) = app.rt.block_on(async {
        let c = browser(&driver, true).await;
        c.goto(&format!("{}/report", app.url)).await.unwrap();
        // The script announces that this browser can encrypt.
        let mut ready = false;
        for _ in 0..200 {
            if c.find(Locator::Css("#report-form[data-encrypts='yes']"))
                .await
                .is_ok()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "the browser did not offer to encrypt");
        let note = c
            .find(Locator::Id("encryption-note"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(note.contains("encrypted in this browser"), "{note}");
        fill_form(&c, &file).await;
        submit(&c, "#report-form").await;
        let (case, link) = receipt(&c).await;
        let page = wait_for_text(&c, "encrypted before it left").await;
        assert!(page.contains(&case));
        let errors: Vec<_> = console(&driver, &c)
            .await
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect();
        assert!(errors.is_empty(), "console errors: {errors:?}");

        // The receipt link shows the report; a reply through it is sent.
        c.goto(&link).await.unwrap();
        let status = wait_for_text(&c, DESCRIPTION).await;
        assert!(status.contains(&case));
        assert!(status.contains("crash.log"));
        fill(&c, "reply-text", "I can also reproduce it on 3.3 beta.").await;
        submit(&c, "#reply").await;
        wait_for_text(&c, "I can also reproduce it on 3.3 beta.").await;
        c.close().await.unwrap();
        (case, link)
    });
    assert!(link.contains("/report/status/rpt_"));

    // The SRT's view: decrypted for them, with the file and the reply.
    let (mut srt, _) = app.person("sam", "srt");
    let page = srt.get(&format!("/cases/{case}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(TITLE), "{}", page.body);
    assert!(page.body.contains(DESCRIPTION));
    assert!(page.body.contains("OpenPGP-encrypted end to end"));
    assert!(page.body.contains("I can also reproduce it on 3.3 beta."));
    let attachment =
        between(&page.body, "<ul id=\"attachments\"><li><a href=\"", "\"").replace("&#x2f;", "/");
    let got = srt.get(&attachment);
    assert_eq!(got.body, FILE_TEXT);
    assert!(
        page.body.contains(">crash.log<"),
        "the .pgp suffix is dropped once opened"
    );

    // What reached the server: an OpenPGP message, and none of the text.
    let raw_link =
        between(&page.body, "<ul id=\"inbound\"><li><a href=\"", "\"").replace("&#x2f;", "/");
    let raw = srt.get(&raw_link).body;
    assert!(raw.contains("-----BEGIN PGP MESSAGE-----"), "{raw}");
    assert!(raw.contains("name=\"encrypted_by\""));
    for secret in [
        DESCRIPTION,
        STEPS,
        TITLE,
        FILE_TEXT,
        "lin@example.net",
        "Reads memory",
    ] {
        assert!(
            !raw.contains(secret),
            "`{secret}` reached the server in clear"
        );
    }
}

#[test]
fn the_form_works_with_javascript_off_and_the_server_encrypts_on_arrival() {
    let app = TestApp::start();
    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.log");
    std::fs::write(&file, FILE_TEXT).unwrap();
    let case = app.rt.block_on(async {
        let c = browser(&driver, false).await;
        c.goto(&format!("{}/report", app.url)).await.unwrap();
        let note = c
            .find(Locator::Id("encryption-note"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(note.contains("encrypted on arrival"), "{note}");
        fill_form(&c, &file).await;
        submit(&c, "#report-form").await;
        let (case, link) = receipt(&c).await;
        c.goto(&link).await.unwrap();
        wait_for_text(&c, DESCRIPTION).await;
        c.close().await.unwrap();
        case
    });
    let (mut srt, _) = app.person("sam", "srt");
    let page = srt.get(&format!("/cases/{case}"));
    assert!(page.body.contains(DESCRIPTION));
    assert!(!page.body.contains("OpenPGP-encrypted end to end"));
    // At rest, nothing of it is in the database file in clear.
    let db = app.db_bytes();
    for secret in [DESCRIPTION, TITLE, FILE_TEXT] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "`{secret}` in clear"
        );
    }
}

/// The reporter's status page renders the report and every message as
/// the case page does (the same safe Markdown): no tag shows as text, and
/// Markdown becomes elements.
#[test]
fn the_status_page_renders_markdown_not_raw_html() {
    let app = TestApp::start();
    let driver = Driver::start();
    let t = &app.admin_token;
    let (status, body) = app.api(
        t,
        "POST",
        "/api/v1/cases",
        Some(serde_json::json!({
            "project": "numpy", "title": "Overflow",
            "body": "## Steps\n\n1. run `np.loadtxt(f)`\n2. see it **crash**",
        })),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let link = body["status_url"].as_str().unwrap().to_owned();
    let (status, body) = app.api(
        t,
        "POST",
        &format!("/api/v1/cases/{id}/commands"),
        Some(serde_json::json!({ "command": "acknowledge", "message": "Thanks, **reproduced** on `1.26`." })),
    );
    assert_eq!(status, 200, "{body}");
    let path = link.trim_start_matches(&app.url).to_owned();
    app.rt.block_on(async {
        let c = browser(&driver, true).await;
        c.goto(&format!("{}{path}", app.url)).await.unwrap();
        let text = wait_for_text(&c, "reproduced").await;
        for tag in ["<p>", "</p>", "<h2>", "<strong>", "<ol>", "<code>"] {
            assert!(!text.contains(tag), "`{tag}` shown as text:\n{text}");
        }
        let strong = c
            .find(Locator::Css("#thread .text strong"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(strong, "reproduced");
        let heading = c
            .find(Locator::Css(".report-body h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(heading, "Steps");
        let code = c
            .find(Locator::Css(".report-body ol li code"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(code, "np.loadtxt(f)");
        c.close().await.unwrap();
    });
}
