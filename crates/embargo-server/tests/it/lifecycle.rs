//! One case from the report form to its close, in headless Chromium, with
//! no API call and no CLI for any step a person takes: the test sets up
//! the people and the project (as an admin would once), drives time with
//! the manual clock, runs due jobs with the pump, and plays the fixer's
//! `git push` — everything else is clicks and typing in the browser.
//!
//! It counts clicks and choices (a click on a button, link, radio or
//! checkbox; a choice in a select), not typing, and page loads, and prints
//! them. Last run: 36 clicks and choices, 54 page loads, 32 pages audited.
//! The bar is 40
//! clicks.
//!
//! Every page it reaches is checked with axe-core (npm, installed by
//! scripts/test): no serious or critical violation. At 390 px wide the
//! inbox, the case page, the report form and the status page have no
//! horizontal overflow.

use std::sync::atomic::{AtomicUsize, Ordering};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::{
    app::{TestApp, between},
    browser::{Driver, browser, console, fill, sign_in, wait_for_text},
    browser_report::receipt,
    release::{git, ok, upstream},
};

/// What the walk did, counted.
#[derive(Default)]
struct Tally {
    clicks: AtomicUsize,
    loads: AtomicUsize,
    audited: AtomicUsize,
    axe: String,
}

impl Tally {
    fn click(&self) {
        self.clicks.fetch_add(1, Ordering::Relaxed);
    }
    fn load(&self) {
        self.loads.fetch_add(1, Ordering::Relaxed);
    }
}

/// axe-core's script, from where scripts/test installs it.
fn axe_source() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("target/npm/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run ./scripts/test, which installs axe-core from npm",
            path.display()
        )
    })
}

/// axe-core on the page: no serious or critical violation.
async fn audit(c: &Client, t: &Tally, page: &str) {
    c.execute(&format!("{}\nreturn true;", t.axe), vec![])
        .await
        .unwrap();
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(\
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                .map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(found, json!([]), "axe-core on {page}");
    t.audited.fetch_add(1, Ordering::Relaxed);
}

/// Signs in through the form, in a fresh TOTP window (the sign-up used
/// the current one's code): one click, one page load.
async fn enter(app: &TestApp, c: &Client, t: &Tally, handle: &str, secret: &str) {
    app.advance(30);
    sign_in(app, c, handle, secret).await;
    t.click();
    t.load();
}

async fn goto(c: &Client, t: &Tally, url: &str) {
    c.goto(url).await.unwrap();
    t.load();
}

/// Clicks a form's submit button, waits for the answer's text and audits
/// the page it lands on.
async fn send(c: &Client, t: &Tally, form: &str, expect: &str) -> String {
    c.find(Locator::Css(&format!("{form} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    t.click();
    t.load();
    let text = wait_for_text(c, expect).await;
    audit(c, t, form).await;
    text
}

async fn click(c: &Client, t: &Tally, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    t.click();
}

async fn choose(c: &Client, t: &Tally, id: &str, value: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
    t.click();
}

/// The text of the element `css` selects.
async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the form field `css` selects.
async fn value_of(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
}

/// Whether the page is wider than the window (horizontal scrolling).
async fn overflows(c: &Client) -> Value {
    c.execute(
        "const d = document.documentElement;\
         return d.scrollWidth > d.clientWidth + 1 ? [d.scrollWidth, d.clientWidth,\
           Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > d.clientWidth + 1)\
             .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)] : null;",
        vec![],
    )
    .await
    .unwrap()
}

#[test]
fn one_case_from_report_to_close_in_the_browser_alone() {
    let up = upstream();
    let app = TestApp::start_with(&format!(
        "[release.projects.numpy]\nupstream = \"{}\"\ntest_command = \"sh check.sh\"\n",
        up.path().display()
    ));
    let driver = Driver::start();
    let (_, sam_secret) = app.person("sam", "srt");
    let (_, rev_secret) = app.person("rhea", "srt");
    let (_, fay_secret) = app.person("fay", "maintainer");
    let t = Tally {
        axe: axe_source(),
        ..Tally::default()
    };
    let t = &t;

    app.rt.block_on(async {
        // 1. The reporter files the report with JavaScript on (encrypted
        // in the browser).
        let lin = browser(&driver, true).await;
        goto(&lin, t, &format!("{}/report", app.url)).await;
        audit(&lin, t, "the report form").await;
        choose(&lin, t, "r-project", "numpy").await;
        fill(&lin, "r-title", "Heap overflow in numpy.loadtxt").await;
        fill(&lin, "r-versions", "1.20 to 1.26.3").await;
        fill(&lin, "r-description", "A long line overflows the buffer.").await;
        fill(&lin, "r-steps", "numpy.loadtxt(open('long.txt'))").await;
        fill(&lin, "r-name", "Lin Okafor").await;
        fill(&lin, "r-email", "lin@example.net").await;
        send(&lin, t, "#report-form", "Report received").await;
        let (case, status) = receipt(&lin).await;
        let case_url = format!("{}/cases/{case}", app.url);

        // 2. The SRT acknowledges, and asks for more.
        let sam = browser(&driver, true).await;
        enter(&app, &sam, t, "sam", &sam_secret).await;
        audit(&sam, t, "the inbox").await;
        click(&sam, t, &format!("a[href='/cases/{case}']")).await;
        t.load();
        wait_for_text(&sam, "Heap overflow in numpy.loadtxt").await;
        audit(&sam, t, "the new case").await;
        // On a phone, the case page with its forms (triage and its
        // calculator among them) fits the width.
        sam.set_window_size(390, 844).await.unwrap();
        sam.refresh().await.unwrap();
        t.load();
        wait_for_text(&sam, "Heap overflow in numpy.loadtxt").await;
        assert_eq!(overflows(&sam).await, Value::Null, "the new case at 390 px");
        sam.set_window_size(1280, 900).await.unwrap();
        let next = text_of(&sam, "#next").await;
        assert!(next.contains("Acknowledge the report"), "{next}");
        send(&sam, t, "#acknowledge", "Acknowledged: the reporter has the answer").await;
        fill(
            &sam,
            "ri-question",
            "Which **version** of the parser? <script>alert(1)</script>",
        )
        .await;
        send(&sam, t, "#request-info", "Question sent to the reporter").await;

        // The reporter reads the question as Markdown (no literal tags)
        // and answers on the status page.
        goto(&lin, t, &status).await;
        let thread = lin
            .find(Locator::Id("thread"))
            .await
            .unwrap()
            .html(true)
            .await
            .unwrap();
        assert!(thread.contains("<strong>version</strong>"), "{thread}");
        assert!(
            !thread.contains("**") && !thread.contains("<script"),
            "{thread}"
        );
        audit(&lin, t, "the status page").await;
        fill(&lin, "reply-text", "The C parser, numpy 1.26.3.").await;
        send(&lin, t, "#reply", "The C parser, numpy 1.26.3.").await;

        // 3. Triage (the vector typed), accept and hand to the fixer.
        goto(&sam, t, &case_url).await;
        wait_for_text(&sam, "The C parser, numpy 1.26.3.").await;
        click(&sam, t, "#rep-yes").await;
        fill(&sam, "tr-notes", "Reproduced on 1.26.3").await;
        fill(&sam, "tr-affected", "PyPI:numpy:1.20.0..1.26.4").await;
        fill(
            &sam,
            "tr-cvss31",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
        )
        .await;
        choose(&sam, t, "tr-tlp", "TLP:AMBER").await;
        send(&sam, t, "#triage", "Triage recorded.").await;
        click(&sam, t, "#assign input[value='fay']").await;
        send(&sam, t, "#assign", "The fixing team is assigned").await;

        // 4. The timeline: the policy's proposal, agreed by the reporter
        // on their status page.
        send(&sam, t, "#propose-timeline", "Disclosure moment proposed.").await;
        goto(&lin, t, &status).await;
        let asked = wait_for_text(&lin, "The team proposes to disclose at").await;
        assert!(asked.contains("UTC"), "{asked}");
        send(&lin, t, "#accept-date", "your answer about the date is recorded").await;
        goto(&sam, t, &case_url).await;
        let agreed = wait_for_text(&sam, "Disclosure agreed").await;
        assert!(agreed.contains("Disclosure moment agreed"), "{agreed}");

        // 5. The fixer opens the built-in fork, takes a credential, pushes
        // the fix; CI runs on the push.
        let fay = browser(&driver, true).await;
        enter(&app, &fay, t, "fay", &fay_secret).await;
        goto(&fay, t, &case_url).await;
        send(&fay, t, "#open-fork", "Private fork asked for").await;
        app.pump_async().await;
        goto(&fay, t, &case_url).await;
        wait_for_text(&fay, "numpy.git").await;
        send(&fay, t, "#fork-credential", "shown only now").await;
        let shown = fay
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .html(true)
            .await
            .unwrap();
        let password = between(
            &shown,
            "shown only now (keep it in your git credential helper): ",
            "<",
        )
        .trim()
        .to_owned();
        let work = tempfile::tempdir().unwrap();
        let url = format!("{}/git/{case}/numpy.git", app.url)
            .replacen("http://", &format!("http://fay:{password}@"), 1);
        ok(work.path(), &["clone", "-q", &url, "fork"]);
        let fork = work.path().join("fork");
        std::fs::write(fork.join("src.txt"), "fixed\n").unwrap();
        ok(&fork, &["commit", "-q", "-am", "Fix the overflow"]);
        ok(&fork, &["push", "-q", "origin", "main"]);
        let (_, head) = git(&fork, &["rev-parse", "HEAD"]);
        goto(&fay, t, &case_url).await;
        // The push hook runs the test command; reloads show its result.
        let mut ci = String::new();
        for _ in 0..100 {
            ci = text_of(&fay, "body").await;
            if ci.contains(&head.trim()[..12]) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            fay.refresh().await.unwrap();
            t.load();
        }
        assert!(ci.contains(&head.trim()[..12]), "CI never ran: {ci}");
        assert!(ci.contains("passed"), "{ci}");
        send(&fay, t, "#mark-fix-ready", "Fix marked ready").await;

        // 6. The advisory, written by the coordinator from triage's draft
        // (with a live preview), reviewed and approved by a second person.
        goto(&sam, t, &case_url).await;
        let summary = value_of(&sam, "#adv-summary").await;
        assert_eq!(summary.as_deref(), Some("Heap overflow in numpy.loadtxt"));
        let credits = value_of(&sam, "#adv-credits").await;
        assert_eq!(credits.as_deref(), Some("FINDER: Lin Okafor @reporter"));
        fill(
            &sam,
            "adv-details",
            "`numpy.loadtxt` writes past its buffer on **long lines**.",
        )
        .await;
        let preview = wait_for_text(&sam, "writes past its buffer on long lines").await;
        assert!(!preview.contains("**long lines**") || preview.contains("long lines"));
        let rendered = sam
            .find(Locator::Id("adv-details-preview"))
            .await
            .unwrap()
            .html(true)
            .await
            .unwrap();
        assert!(rendered.contains("<strong>long lines</strong>"), "{rendered}");
        fill(&sam, "adv-mitigation", "Do not load untrusted text files.").await;
        fill(
            &sam,
            "adv-references",
            "FIX https://github.com/numpy/numpy/commit/abc123",
        )
        .await;
        send(&sam, t, "#revise-advisory", "Advisory revision saved").await;
        let page = send(&sam, t, "#submit-advisory", "waiting for a reviewer").await;
        assert!(
            page.contains("the author cannot approve their own revision")
                && !page.contains("Review the advisory"),
            "the author is told, and not offered the review as a next step: {page}"
        );
        assert!(
            sam.find(Locator::Id("approve-advisory")).await.is_err(),
            "the author is not offered the approval"
        );
        // Every export previews before publication.
        for f in ["osv", "cve", "csaf", "markdown", "page"] {
            goto(&sam, t, &format!("{case_url}/preview/{f}")).await;
            let body = wait_for_text(&sam, "Preview of the advisory").await;
            if f == "cve" {
                // A CVE record needs its id: the preview says so.
                assert!(body.contains("cannot be made yet") && body.contains("no CVE id"), "{body}");
            } else {
                assert!(body.contains("Heap overflow in numpy.loadtxt"), "{f}: {body}");
            }
            audit(&sam, t, &format!("the {f} preview")).await;
        }
        let rhea = browser(&driver, true).await;
        enter(&app, &rhea, t, "rhea", &rev_secret).await;
        goto(&rhea, t, &case_url).await;
        click(&rhea, t, "#revisions summary").await;
        let revisions = wait_for_text(&rhea, "Revision 1, sam").await;
        assert!(revisions.contains("Review the advisory"), "a reviewer's next step");
        assert!(revisions.contains("+ Do not load untrusted text files."), "{revisions}");
        send(&rhea, t, "#approve-advisory", "Advisory approved").await;

        // 7. The CVE, entered.
        goto(&sam, t, &case_url).await;
        fill(&sam, "cve-id", "CVE-2026-31337").await;
        let page = send(&sam, t, "#assign-cve", "CVE recorded").await;
        assert!(page.contains("Assigned: CVE-2026-31337"), "{page}");

        // 8. The reporter accepts the credit under another name and
        // confirms the fix.
        goto(&lin, t, &status).await;
        let asks = wait_for_text(&lin, "Does the fix work?").await;
        assert!(asks.contains("Lin Okafor"), "{asks}");
        click(&lin, t, "#credit-accept").await;
        fill(&lin, "credit-name", "Lin O. (Example Labs)").await;
        send(&lin, t, "#answer-credit", "You accepted this credit").await;
        click(&lin, t, "#retest-yes").await;
        fill(&lin, "retest-note", "Fixed for me on the fork's main.").await;
        send(&lin, t, "#answer-retest", "You answered on").await;

        // 9. Release day: the patch release ticked, the announcement
        // approved (the page says nothing can send it here: no SMTP).
        goto(&sam, t, &case_url).await;
        let page = wait_for_text(&sam, "Reporter's retest").await;
        assert!(page.contains("the fix works for them"), "{page}");
        assert!(
            page.contains("Lin Okafor (FINDER), who is the case's reporter: accepted, to be named “Lin O. (Example Labs)”"),
            "{page}"
        );
        choose(&sam, t, "rs-step", "patch_release").await;
        fill(&sam, "rs-package", "numpy").await;
        fill(&sam, "rs-version", "1.26.4").await;
        send(&sam, t, "#release-step", "Checklist step ticked").await;
        let page = wait_for_text(&sam, "No SMTP server is configured").await;
        assert!(page.contains("lifts the embargo early"), "{page}");
        send(&sam, t, "#approve-announcement", "Announcement approved").await;

        // 10. Publication at the agreed moment, by itself.
        let moment: jiff::Timestamp = {
            let text = text_of(&sam, "#publish .notice").await;
            let at = between(&text, "moment is ", ", in").to_owned();
            jiff::civil::DateTime::strptime("%d %b %Y, %H:%M UTC", &at)
                .unwrap()
                .in_tz("UTC")
                .unwrap()
                .timestamp()
        };
        app.advance(moment.as_second() - app.now().as_second());
        app.pump_async().await;
        // A week on, the session has expired: sam signs in again.
        enter(&app, &sam, t, "sam", &sam_secret).await;
        goto(&sam, t, &case_url).await;
        let page = wait_for_text(&sam, "Published").await;
        assert!(page.contains("published"), "{page}");
        // The public page and the feeds carry it, with the accepted credit.
        goto(&lin, t, &format!("{}/advisories/{case}", app.url)).await;
        let public = wait_for_text(&lin, "CVE-2026-31337").await;
        assert!(public.contains("Lin O. (Example Labs)"), "{public}");
        audit(&lin, t, "the public advisory").await;
        goto(&lin, t, &format!("{}/advisories.atom", app.url)).await;
        let atom = lin.source().await.unwrap();
        assert!(atom.contains(&case), "{atom}");

        // 11. The announcement went out by hand; the retrospective; close.
        goto(&sam, t, &case_url).await;
        choose(&sam, t, "rs-step", "send_announcement").await;
        send(&sam, t, "#release-step", "Checklist step ticked").await;
        send(&sam, t, "#write-retrospective", "Retrospective kept").await;
        fill(&sam, "cl-note", "Fixed in numpy 1.26.4; retrospective kept.").await;
        let closed = send(&sam, t, "#close", "Case closed").await;
        assert!(closed.contains("Closed"), "{closed}");
        // The timeline reads as words.
        let timeline = text_of(&sam, "ol.timeline").await;
        for words in [
            "Report received",
            "Triage recorded",
            "Advisory approved",
            "Reporter retested the fix",
            "Published",
        ] {
            assert!(timeline.contains(words), "{words}: {timeline}");
        }
        assert!(!timeline.contains("fact_recorded"), "{timeline}");

        // Phones: at 390 px nothing scrolls sideways.
        for c in [&sam, &lin] {
            c.set_window_size(390, 844).await.unwrap();
        }
        for (c, url) in [
            (&sam, format!("{}/", app.url)),
            (&sam, case_url.clone()),
            (&lin, format!("{}/report", app.url)),
            (&lin, status.clone()),
        ] {
            goto(c, t, &url).await;
            wait_for_text(c, "").await;
            assert_eq!(overflows(c).await, Value::Null, "overflow at 390 px on {url}");
        }

        for c in [&sam, &rhea, &fay, &lin] {
            let errors: Vec<Value> = console(&driver, c)
                .await
                .into_iter()
                .filter(|e| e["level"] == "SEVERE" && e["source"] != "network")
                .collect();
            assert!(errors.is_empty(), "console errors: {errors:?}");
        }
        let clicks = t.clicks.load(Ordering::Relaxed);
        #[expect(clippy::print_stdout, reason = "the counts the test's comment records")]
        {
            println!(
            "the whole lifecycle in the browser: {clicks} clicks and choices, {} page loads, {} pages checked with axe-core",
            t.loads.load(Ordering::Relaxed),
            t.audited.load(Ordering::Relaxed),
        );
        }
        assert!(clicks <= 40, "{clicks} clicks");
        for c in [sam, rhea, fay, lin] {
            c.close().await.unwrap();
        }
    });
}
