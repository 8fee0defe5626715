//! The report form in headless Chromium.
//!
//! With JavaScript on, the browser encrypts the report, each attachment and
//! each attachment's name before sending, padded so lengths do not show:
//! what reached the server (the raw submission the SRT can download, the
//! request body byte for byte) holds no name, no field text and no byte of
//! a file, and OpenPGP.js, an implementation that is not embargo's, opens
//! every message in it. Copies with a changed byte are quarantined with the
//! reason. Nothing is sent before the script knows whether it can encrypt;
//! a browser that cannot says what goes in clear beside a pasted message.
//! With JavaScript off, the same form works and the server encrypts on
//! arrival. The receipt link shows the report, and a reply through it
//! reaches the SRT.

use std::time::Duration;

use fantoccini::{Client, Locator};

use crate::{
    app::{Browser, TestApp, between},
    browser::{Driver, browser, cdp, console, fill, submit, wait_for_text},
    gpg::Gpg,
    openpgpjs::OpenPgpJs,
};

const DESCRIPTION: &str = "The tokenizer reads past the buffer on a lone surrogate";
const STEPS: &str = "python -c 'import pkg; pkg.tokenize(chr(0xd800))'";
const TITLE: &str = "Out-of-bounds read in the tokenizer";
const FILE_TEXT: &str = "crash log: SIGSEGV at tokenizer.c:812";

async fn fill_form(c: &Client, files: &[&std::path::Path]) {
    fill(c, "r-title", TITLE).await;
    fill(c, "r-versions", "3.0 to 3.2").await;
    fill(c, "r-description", DESCRIPTION).await;
    fill(c, "r-steps", STEPS).await;
    fill(c, "r-impact", "Reads memory it should not.").await;
    fill(c, "r-name", "Lin Okafor").await;
    fill(c, "r-email", "lin@example.net").await;
    let paths: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    // One keystroke string with a path per line selects several files.
    c.find(Locator::Id("r-files"))
        .await
        .unwrap()
        .send_keys(&paths.join("\n"))
        .await
        .unwrap();
}

/// Reads the receipt page: the case id and the status link.
pub(crate) async fn receipt(c: &Client) -> (String, String) {
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

/// The attachment limit of these tests' servers: small, so a file at the
/// limit is cheap to encrypt.
const LIMIT: usize = 65_536;
const POC_NAME: &str = "loadtxt-rce-poc.py";
const POC: &str = "import numpy\nnumpy.loadtxt(open('exploit.txt'))  # runs __reduce__\n";

fn limited_app() -> TestApp {
    TestApp::start_with(&format!("[intake]\nmax_attachment_bytes = {LIMIT}\n"))
}

/// Bytes that look like nothing in particular (xorshift), so that no run
/// of them turns up in a request by chance.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits a request body as the browser sent it into its parts.
fn parts(raw: &[u8]) -> Vec<Part> {
    let first = find(raw, b"\r\n").unwrap();
    let delimiter = [b"\r\n".as_slice(), &raw[..first]].concat();
    let mut rest = &raw[first + 2..];
    let mut out = Vec::new();
    loop {
        let end = find(rest, &delimiter).expect("a closing delimiter");
        let part = &rest[..end];
        let split = find(part, b"\r\n\r\n").unwrap();
        let headers = String::from_utf8(part[..split].to_vec()).unwrap();
        let param = |key: &str| {
            let at = headers.find(&format!("; {key}=\""))? + key.len() + 4;
            let len = headers[at..].find('"')?;
            Some(headers[at..at + len].to_owned())
        };
        out.push(Part {
            name: param("name").unwrap(),
            file_name: param("filename"),
            content_type: headers
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .map(str::to_owned),
            body: part[split + 4..].to_vec(),
        });
        rest = &rest[end + delimiter.len()..];
        if rest.starts_with(b"--") {
            return out;
        }
        rest = &rest[2..];
    }
}

/// Whether any 16-byte run of `secret` appears in `raw`.
fn any_run_of(secret: &[u8], raw: &[u8]) -> bool {
    let seen: std::collections::HashSet<&[u8]> = raw.windows(16).collect();
    secret.windows(16).any(|w| seen.contains(w))
}

async fn wait_mode(c: &Client, mode: &str) {
    for _ in 0..300 {
        if c.find(Locator::Css(&format!(
            "#report-form[data-encrypts='{mode}']"
        )))
        .await
        .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the form never reached mode `{mode}`");
}

async fn text_of(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

async fn send_enabled(c: &Client) -> bool {
    c.find(Locator::Css("#report-form button[type=submit]"))
        .await
        .unwrap()
        .is_enabled()
        .await
        .unwrap()
}

/// Opens the "paste a report you encrypted yourself" box and pastes.
async fn paste_armored(c: &Client, armored: &str) {
    c.find(Locator::Css("#armored-box summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Typing 1 kB of armor key by key is slow; set it as a paste would.
    c.execute(
        "document.getElementById('r-armored').value = arguments[0];",
        vec![serde_json::json!(armored)],
    )
    .await
    .unwrap();
}

/// What reached the server for `case`: the raw submission the SRT can
/// download, byte for byte the request body the browser sent.
fn raw_of(srt: &mut Browser<'_>, case: &str) -> Vec<u8> {
    let page = srt.get(&format!("/cases/{case}"));
    let link =
        between(&page.body, "<ul id=\"inbound\"><li><a href=\"", "\"").replace("&#x2f;", "/");
    srt.get(&link).bytes
}

fn intake_secret(app: &TestApp) -> String {
    std::fs::read_to_string(app.data_dir().join("intake-key.asc")).unwrap()
}

#[test]
fn the_browser_sends_no_name_no_text_and_no_byte_in_clear_and_openpgp_js_opens_what_it_sent() {
    let Some(js) = OpenPgpJs::find() else { return };
    let app = limited_app();
    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let poc = dir.path().join(POC_NAME);
    std::fs::write(&poc, POC).unwrap();
    // A reporter's own `.pgp` file, exactly at the advertised limit.
    let notes_bytes = noise(LIMIT, 7);
    let notes = dir.path().join("notes.pgp");
    std::fs::write(&notes, &notes_bytes).unwrap();

    let (case, link) = app.rt.block_on(async {
        let c = browser(&driver, true).await;
        c.goto(&format!("{}/report", app.url)).await.unwrap();
        wait_mode(&c, "yes").await;
        assert!(send_enabled(&c).await);
        let note = text_of(&c, "encryption-note").await;
        assert!(
            note.contains("with their names, are encrypted in this browser"),
            "{note}"
        );
        let note = c
            .find(Locator::Id("armored-note"))
            .await
            .unwrap()
            .prop("textContent")
            .await
            .unwrap()
            .unwrap();
        assert!(note.contains("encrypted in this browser as well"), "{note}");
        fill_form(&c, &[&poc, &notes]).await;
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

        // The receipt link shows the report and the files by name; a reply
        // through it is sent.
        c.goto(&link).await.unwrap();
        let status = wait_for_text(&c, DESCRIPTION).await;
        assert!(status.contains(&case));
        assert!(
            status.contains(POC_NAME) && status.contains("notes.pgp"),
            "{status}"
        );
        fill(&c, "reply-text", "I can also reproduce it on 3.3 beta.").await;
        submit(&c, "#reply").await;
        wait_for_text(&c, "I can also reproduce it on 3.3 beta.").await;
        c.close().await.unwrap();
        (case, link)
    });
    assert!(link.contains("/report/status/rpt_"));

    // The SRT's view: decrypted for them, each file under its own name
    // (a reporter's `notes.pgp` keeps its suffix) with its own bytes.
    let (mut srt, _) = app.person("sam", "srt");
    let page = srt.get(&format!("/cases/{case}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(TITLE), "{}", page.body);
    assert!(page.body.contains(DESCRIPTION));
    assert!(page.body.contains("OpenPGP-encrypted end to end"));
    assert!(page.body.contains("I can also reproduce it on 3.3 beta."));
    assert!(
        page.body.contains(&format!(">{POC_NAME}<")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(">notes.pgp<"),
        "one .pgp suffix is the reporter's own"
    );
    let list = between(&page.body, "<ul id=\"attachments\">", "</ul>").to_owned();
    let links: Vec<String> = list
        .split("<a href=\"")
        .skip(1)
        .map(|l| l.split('"').next().unwrap().replace("&#x2f;", "/"))
        .collect();
    assert_eq!(links.len(), 2, "{list}");
    let got: Vec<Vec<u8>> = links.iter().map(|l| srt.get(l).bytes).collect();
    assert!(got.contains(&POC.as_bytes().to_vec()));
    assert!(
        got.contains(&notes_bytes),
        "the file at the limit arrived whole"
    );

    // Exactly what the browser sent: the token, the mode, one sealed
    // message and two files under a neutral name.
    let raw = raw_of(&mut srt, &case);
    let sent = parts(&raw);
    let names: Vec<&str> = sent.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["csrf", "encrypted_by", "sealed", "attachment", "attachment"]
    );
    for file in &sent[3..] {
        assert_eq!(file.file_name.as_deref(), Some("attachment.pgp"));
        assert_eq!(
            file.content_type.as_deref(),
            Some("application/octet-stream")
        );
    }
    let text = String::from_utf8_lossy(&raw);
    for secret in [
        DESCRIPTION,
        STEPS,
        TITLE,
        "3.0 to 3.2",
        "Reads memory",
        "Lin Okafor",
        "lin@example.net",
        POC_NAME,
        "loadtxt",
        "notes",
        "x-python",
        POC,
    ] {
        assert!(
            !text.contains(secret),
            "`{secret}` reached the server in clear"
        );
    }
    assert!(
        !any_run_of(&notes_bytes, &raw),
        "a run of the file's bytes was sent"
    );

    // An implementation that is not embargo's opens every message.
    let secret_key = intake_secret(&app);
    let opened = js.decrypt(&secret_key, &[&sent[2].body, &sent[3].body, &sent[4].body]);
    let opened: Vec<Vec<u8>> = opened.into_iter().map(Result::unwrap).collect();
    let manifest: serde_json::Value = serde_json::from_slice(&opened[0]).unwrap();
    assert_eq!(manifest["fields"]["title"], TITLE);
    assert_eq!(manifest["fields"]["description"], DESCRIPTION);
    assert_eq!(manifest["fields"]["email"], "lin@example.net");
    assert_eq!(manifest["files"][0]["name"], POC_NAME);
    assert_eq!(manifest["files"][1]["name"], "notes.pgp");
    assert_eq!(opened[1], POC.as_bytes());
    assert_eq!(opened[2], notes_bytes);
    // Padded: the sealed message is longer than its plaintext by more
    // than the packets cost.
    assert!(sent[2].body.len() * 3 / 4 > 4096, "{}", sent[2].body.len());

    // Copies with one changed byte, posted as the browser would: each is
    // kept in quarantine and the answer says what happened in words.
    let mut reporter = app.browser();
    let sealed = String::from_utf8(sent[2].body.clone()).unwrap();
    let repost = |reporter: &mut Browser<'_>, sealed: &str, second: &[u8]| {
        reporter.post_report(
            &[("encrypted_by", "browser"), ("sealed", sealed)],
            &[
                ("attachment.pgp", &sent[3].body),
                ("attachment.pgp", second),
            ],
        )
    };
    let mut changed = sealed.clone().into_bytes();
    let at = changed.len() / 2;
    changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
    let got = repost(
        &mut reporter,
        std::str::from_utf8(&changed).unwrap(),
        &sent[4].body,
    );
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(
        got.body.contains("failed its integrity check"),
        "{}",
        got.body
    );
    assert!(got.body.contains("quarantine #"), "{}", got.body);
    let mut file = sent[4].body.clone();
    let at = file.len() / 2;
    file[at] ^= 0x20;
    let got = repost(&mut reporter, &sealed, &file);
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(got.body.contains("attachment 2 of 2"), "{}", got.body);
    assert!(
        got.body.contains("failed its integrity check"),
        "{}",
        got.body
    );
    assert!(got.body.contains("quarantine #"), "{}", got.body);
    // The same post untouched is filed: the refusals were the changes.
    let got = repost(&mut reporter, &sealed, &sent[4].body);
    assert_eq!(got.status, 201, "{}", got.body);
    let q = srt.get("/quarantine");
    assert_eq!(
        q.body
            .matches("changed or damaged after it was encrypted")
            .count(),
        2,
        "{}",
        q.body
    );
    assert!(q.body.contains("attachment 2 of 2"));
    assert!(!q.body.contains("notes.pgp"), "a reason names no file");
}

/// Padding hides lengths: two reports of different lengths within one
/// bucket, each with a file of a different size within one bucket, are
/// requests of the same size; a report in a larger bucket is not. A file
/// over the limit the form states is refused before anything is sent.
#[test]
fn reports_of_different_lengths_in_one_bucket_are_requests_of_one_size() {
    let app = limited_app();
    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("a.bin");
    std::fs::write(&small, noise(900, 1)).unwrap();
    let larger = dir.path().join("b.bin");
    std::fs::write(&larger, noise(2_500, 2)).unwrap();
    let over = dir.path().join("c.bin");
    std::fs::write(&over, noise(LIMIT + 1, 3)).unwrap();
    let cases = app.rt.block_on(async {
        let c = browser(&driver, true).await;
        c.goto(&format!("{}/report", app.url)).await.unwrap();
        wait_mode(&c, "yes").await;
        fill(&c, "r-title", "Over the limit").await;
        fill(&c, "r-description", "x").await;
        fill(&c, "r-steps", "y").await;
        c.find(Locator::Id("r-files"))
            .await
            .unwrap()
            .send_keys(over.to_str().unwrap())
            .await
            .unwrap();
        submit(&c, "#report-form").await;
        let text = wait_for_text(&c, "each attachment may be").await;
        assert!(text.contains("c.bin"), "{text}");
        assert!(!text.contains("Report received"));

        let mut cases = Vec::new();
        for (description, file) in [(200, &small), (2_000, &larger), (9_000, &small)] {
            c.goto(&format!("{}/report", app.url)).await.unwrap();
            wait_mode(&c, "yes").await;
            fill(&c, "r-title", "Integer overflow in the reader").await;
            // Set, not typed: 9,000 keystrokes would take a while.
            c.execute(
                "document.getElementById('r-description').value = 'd'.repeat(arguments[0]);",
                vec![serde_json::json!(description)],
            )
            .await
            .unwrap();
            fill(&c, "r-steps", "Run the reader on the attached file.").await;
            c.find(Locator::Id("r-files"))
                .await
                .unwrap()
                .send_keys(file.to_str().unwrap())
                .await
                .unwrap();
            submit(&c, "#report-form").await;
            cases.push(receipt(&c).await.0);
        }
        c.close().await.unwrap();
        cases
    });
    let (mut srt, _) = app.person("sam", "srt");
    let raws: Vec<Vec<u8>> = cases.iter().map(|case| raw_of(&mut srt, case)).collect();
    let sizes: Vec<usize> = raws.iter().map(Vec::len).collect();
    assert_eq!(sizes[0], sizes[1], "one bucket, one size: {sizes:?}");
    assert!(
        sizes[2] > sizes[0],
        "a longer report is a larger bucket: {sizes:?}"
    );
    let (a, b) = (parts(&raws[0]), parts(&raws[1]));
    assert_eq!(a[2].body.len(), b[2].body.len());
    assert_eq!(a[3].body.len(), b[3].body.len(), "the files too");
    // And each report is there in full.
    let page = srt.get(&format!("/cases/{}", cases[2]));
    assert!(page.body.contains(&"d".repeat(9_000)));
}

/// Until the script knows whether this browser can encrypt, the form
/// sends nothing and says so; a browser that cannot (here WebCrypto's
/// X25519 is made to fail) sends the form as it is, and when an encrypted
/// message is pasted beside other fields it names what goes in clear
/// before anything is sent.
#[test]
fn nothing_is_sent_before_the_check_and_a_browser_that_cannot_encrypt_names_what_goes_in_clear() {
    let app = TestApp::start();
    let driver = Driver::start();
    let (armored, dir) = own_message(&app);
    let file = dir.path().join("crash.log");
    let c = app.rt.block_on(async {
        let c = browser(&driver, true).await;
        // The feature check waits for the test to decide it.
        cdp(
            &driver,
            &c,
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": HOLD_THE_CHECK }),
        )
        .await;
        c.goto(&format!("{}/report", app.url)).await.unwrap();
        wait_mode(&c, "checking").await;
        assert!(!send_enabled(&c).await, "no send while checking");
        assert!(
            text_of(&c, "encryption-note")
                .await
                .contains("Checking whether")
        );
        c.execute(
            "document.getElementById('report-form').requestSubmit();",
            vec![],
        )
        .await
        .unwrap();
        wait_for_text(
            &c,
            "Still checking whether this browser can encrypt; nothing was sent.",
        )
        .await;

        c.execute("window.embargoTestDecide(false);", vec![])
            .await
            .unwrap();
        wait_mode(&c, "no").await;
        assert!(send_enabled(&c).await);
        let note = text_of(&c, "encryption-note").await;
        assert!(
            note.contains("cannot encrypt") && note.contains("encrypted on arrival"),
            "{note}"
        );

        fill(&c, "r-title", TITLE).await;
        paste_armored(&c, &armored).await;
        c.find(Locator::Id("r-files"))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
        submit(&c, "#report-form").await;
        let text = wait_for_text(&c, "not encrypted by you").await;
        assert!(
            text.contains("Summary") && text.contains("1 attachment"),
            "{text}"
        );
        assert!(text.contains("Project"), "the project is named too: {text}");
        c
    });
    // Nothing was sent: the answer is on the form's page, and no case exists.
    let (_, list) = app.api(&app.admin_token, "GET", "/api/v1/cases", None);
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    let case = app.rt.block_on(async {
        // The second press sends it, as the page said.
        submit(&c, "#report-form").await;
        let (case, _) = receipt(&c).await;
        c.close().await.unwrap();
        case
    });
    let (_, events) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case}/events"),
        None,
    );
    let report = &events[0]["data"]["report"];
    assert_eq!(report["title"], TITLE);
    assert!(
        report["body"].as_str().unwrap().starts_with(OWN_TEXT),
        "{report}"
    );
}

/// With a browser that encrypts, a pasted message goes as it is and every
/// other field and file goes sealed beside it.
#[test]
fn a_pasted_message_goes_with_every_other_field_encrypted() {
    let app = TestApp::start();
    let driver = Driver::start();
    let (armored, dir) = own_message(&app);
    let file = dir.path().join("crash.log");
    let case = app.rt.block_on(async {
        let c = browser(&driver, true).await;
        c.goto(&format!("{}/report", app.url)).await.unwrap();
        wait_mode(&c, "yes").await;
        fill(&c, "r-title", TITLE).await;
        fill(&c, "r-impact", "Reads memory it should not.").await;
        paste_armored(&c, &armored).await;
        c.find(Locator::Id("r-files"))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
        submit(&c, "#report-form").await;
        let (case, _) = receipt(&c).await;
        c.close().await.unwrap();
        case
    });
    let (mut srt, _) = app.person("sam", "srt");
    let raw = raw_of(&mut srt, &case);
    let sent = parts(&raw);
    let names: Vec<&str> = sent.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["csrf", "encrypted_by", "sealed", "armored", "attachment"]
    );
    // As pasted (a form sends its line breaks as CRLF).
    assert_eq!(
        String::from_utf8_lossy(&sent[3].body)
            .replace("\r\n", "\n")
            .trim(),
        armored.trim()
    );
    let text = String::from_utf8_lossy(&raw);
    for secret in [TITLE, "Reads memory", "crash.log", FILE_TEXT, OWN_TEXT] {
        assert!(
            !text.contains(secret),
            "`{secret}` reached the server in clear"
        );
    }
    let page = srt.get(&format!("/cases/{case}"));
    assert!(page.body.contains(OWN_TEXT), "{}", page.body);
    assert!(page.body.contains("Reads memory it should not."));
    assert!(page.body.contains(">crash.log<"));
}

/// A report the reporter encrypted with GnuPG to the intake key, and a
/// folder holding `crash.log` to attach beside it.
fn own_message(app: &TestApp) -> (String, tempfile::TempDir) {
    let gpg = Gpg::new();
    gpg.reporter(&app.intake_key(), "ada@example.net");
    let fpr = gpg.fingerprint_of(&app.intake_key());
    let armored = gpg.encrypt(&fpr, None, OWN_TEXT.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crash.log"), FILE_TEXT).unwrap();
    (armored, dir)
}

/// What the pasted-message tests' reporter encrypted with GnuPG.
const OWN_TEXT: &str = "Signed integer overflow in the PNG chunk reader; PoC on request.";

/// Run before the page's own scripts: the first X25519 key generation (the
/// form's feature check) waits until the test calls
/// `embargoTestDecide(true | false)`.
const HOLD_THE_CHECK: &str = r"
(() => {
  const subtle = window.crypto.subtle;
  const real = subtle.generateKey.bind(subtle);
  let decide;
  const decided = new Promise((resolve) => { decide = resolve; });
  window.embargoTestDecide = (ok) => decide(ok);
  let held = false;
  subtle.generateKey = (algorithm, ...rest) => {
    if (!held && algorithm && algorithm.name === 'X25519') {
      held = true;
      return decided.then((ok) => ok
        ? real(algorithm, ...rest)
        : Promise.reject(new DOMException('X25519 is not supported', 'NotSupportedError')));
    }
    return real(algorithm, ...rest);
  };
})();
";
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
        // Before anything is sent, the page says what goes in clear beside
        // a message the reporter encrypted themselves.
        let clear = c
            .find(Locator::Id("armored-note"))
            .await
            .unwrap()
            .prop("textContent")
            .await
            .unwrap()
            .unwrap();
        assert!(
            clear.contains("every other field you fill in and every attachment travels over HTTPS"),
            "{clear}"
        );
        fill_form(&c, &[&file]).await;
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
