//! Headless Chromium (Debian `chromium` and `chromium-driver`, installed by
//! scripts/test) driving the web UI through WebDriver: the whole sign-up and
//! triage walk, the CVSS calculator against the shared test vectors, and XSS
//! payloads that must execute nothing.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::app::{PASSWORD, TestApp};

/// A chromedriver on a free loopback port, stopped on drop.
pub(crate) struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    pub(crate) fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is missing: run ./scripts/test, which installs Debian's chromium-driver");
        // Dropping the driver kills and waits for the process.
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return driver;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("chromedriver did not start on port {port}");
    }
}

/// A fresh browser session (its own profile, so its own cookies).
pub(crate) async fn browser(driver: &Driver, javascript: bool) -> Client {
    let mut prefs = serde_json::Map::new();
    if !javascript {
        prefs.insert(
            "profile.managed_default_content_settings.javascript".into(),
            json!(2),
        );
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            "prefs": prefs,
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let caps = caps.as_object().unwrap().clone();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap()
}

/// The browser console's entries since the last call (Chromium's log endpoint).
pub(crate) async fn console(driver: &Driver, client: &Client) -> Vec<Value> {
    let id = client.session_id().await.unwrap().unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/session/{id}/se/log", driver.url))
        .json(&json!({ "type": "browser" }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    body["value"].as_array().cloned().unwrap_or_default()
}

/// Runs a Chrome DevTools Protocol command (chromedriver's
/// `goog/cdp/execute`), e.g. a script every new document runs first.
pub(crate) async fn cdp(driver: &Driver, client: &Client, cmd: &str, params: Value) -> Value {
    let id = client.session_id().await.unwrap().unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/session/{id}/goog/cdp/execute", driver.url))
        .json(&json!({ "cmd": cmd, "params": params }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{cmd}: {}", resp.status());
    resp.json().await.unwrap()
}

pub(crate) async fn fill(c: &Client, id: &str, text: &str) {
    let el = c.find(Locator::Id(id)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

pub(crate) async fn submit(c: &Client, form_selector: &str) {
    c.find(Locator::Css(&format!(
        "{form_selector} button[type=submit]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
}

/// The page's text once it contains `needle` (pages load after a click).
/// Waits up to 15 s: CI runs these beside the rest of the suite on 2 cores.
pub(crate) async fn wait_for_text(c: &Client, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..300 {
        if let Ok(body) = c.find(Locator::Css("body")).await
            && let Ok(text) = body.text().await
        {
            if text.contains(needle) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("`{needle}` never appeared; the page says:\n{last}");
}

/// Signs in through the form.
pub(crate) async fn sign_in(app: &TestApp, c: &Client, handle: &str, secret: &str) {
    c.goto(&format!("{}/login", app.url)).await.unwrap();
    fill(c, "handle", handle).await;
    fill(c, "password", PASSWORD).await;
    fill(c, "code", &app.totp_code(secret)).await;
    submit(c, "form[action='/login']").await;
    wait_for_text(c, "Sign out").await;
}

#[test]
fn invitation_to_triage_to_an_approved_colleague_in_chromium() {
    let app = TestApp::start();
    let driver = Driver::start();
    let t = app.admin_token.clone();
    let post = |path: &str, body: Value| {
        let (status, v) = app.api(&t, "POST", path, Some(body));
        assert!(status < 300, "{path}: {v}");
        v
    };
    let (_, fixer_secret) = app.person("fixer", "maintainer");
    let (_, colleague_secret) = app.person("colleague", "maintainer");
    post(
        "/api/v1/projects",
        json!({ "name": "numpy", "packages": ["PyPI:numpy"], "maintainers": ["fixer", "colleague"] }),
    );
    let case = post(
        "/api/v1/cases",
        json!({ "project": "numpy", "title": "Overflow in loadtxt", "body": "Steps:\n\n1. load `crafted.txt`" }),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invitation = app.invite("sam", "srt");
    let page = format!("{}/cases/{case}", app.url);

    app.rt.block_on(async {
        // Invitation → password → TOTP → sign in, as the SRT member sam.
        let sam = browser(&driver, true).await;
        sam.goto(&invitation).await.unwrap();
        let secret = sam
            .find(Locator::Id("totp-secret"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        fill(&sam, "password", PASSWORD).await;
        fill(&sam, "confirm", PASSWORD).await;
        fill(&sam, "code", &app.totp_code(&secret)).await;
        submit(&sam, "form").await;
        wait_for_text(&sam, "Your account is ready").await;
        app.advance(30);
        sign_in(&app, &sam, "sam", &secret).await;

        // The case is in the inbox with its clock.
        let inbox = wait_for_text(&sam, "Overflow in loadtxt").await;
        assert!(inbox.contains("left)"), "{inbox}");
        sam.find(Locator::LinkText(&case))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();

        // Acknowledge with the canned response.
        submit(&sam, "#acknowledge").await;
        wait_for_text(&sam, "Thank you for your report").await;

        // Triage with the calculator: choosing metrics writes the vector and
        // shows the server's score.
        sam.find(Locator::Id("rep-yes"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        fill(&sam, "tr-notes", "Reproduced on 1.26.3").await;
        fill(&sam, "tr-affected", "PyPI:numpy:1.20.0..1.26.4").await;
        for (metric, value) in [
            ("AV", "N"),
            ("AC", "L"),
            ("PR", "N"),
            ("UI", "R"),
            ("S", "U"),
            ("C", "H"),
            ("I", "H"),
            ("A", "H"),
        ] {
            sam.find(Locator::Id(&format!("calc-3.1-{metric}")))
                .await
                .unwrap()
                .select_by_value(value)
                .await
                .unwrap();
        }
        let vector = sam
            .find(Locator::Id("tr-cvss31"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(
            vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H")
        );
        let score = wait_for_score(&sam, "3.1").await;
        assert_eq!(score, "8.8");
        sam.find(Locator::Id("tr-tlp"))
            .await
            .unwrap()
            .select_by_value("TLP:AMBER+STRICT")
            .await
            .unwrap();
        submit(&sam, "#triage").await;
        let triaged = wait_for_text(&sam, "CVSS v3.1: CVSS:3.1").await;
        assert!(triaged.contains("8.8 (High)"), "{triaged}");

        // Every visible form control on the case page has a label.
        let unlabelled = sam
            .execute(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))\
                   .filter(e => !e.labels || e.labels.length === 0).map(e => e.id || e.name)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(unlabelled, json!([]), "controls without a label");

        // Assign sam as coordinator and the numpy maintainer as fixer.
        sam.find(Locator::Id("as-coord"))
            .await
            .unwrap()
            .select_by_value("sam")
            .await
            .unwrap();
        sam.find(Locator::Css("#assign input[value='fixer']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        submit(&sam, "#assign").await;
        wait_for_text(&sam, "fixer (fixer)").await;

        // The colleague does not see the case yet.
        let colleague = browser(&driver, true).await;
        app.advance(30);
        sign_in(&app, &colleague, "colleague", &colleague_secret).await;
        colleague.goto(&page).await.unwrap();
        wait_for_text(&colleague, "Not found").await;

        // The fixer asks for them; sam approves.
        let fixer = browser(&driver, true).await;
        sign_in(&app, &fixer, "fixer", &fixer_secret).await;
        fixer.goto(&page).await.unwrap();
        fill(&fixer, "ra-person", "colleague").await;
        fill(&fixer, "ra-reason", "Wrote the parser").await;
        submit(&fixer, "#request-addition").await;
        wait_for_text(&fixer, "waiting for the SRT").await;
        colleague.goto(&page).await.unwrap();
        wait_for_text(&colleague, "Not found").await;

        sam.goto(&page).await.unwrap();
        sam.find(Locator::Css("form[action$='approve_addition'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_text(&sam, "approved by sam").await;

        colleague.goto(&page).await.unwrap();
        let seen = wait_for_text(&colleague, "You see this case as").await;
        assert!(seen.contains("Overflow in loadtxt"), "{seen}");

        for c in [&sam, &fixer, &colleague] {
            // The colleague's expected 404s are network entries; script errors are not.
            let errors: Vec<Value> = console(&driver, c)
                .await
                .into_iter()
                .filter(|e| e["level"] == "SEVERE" && e["source"] != "network")
                .collect();
            assert!(errors.is_empty(), "console errors: {errors:?}");
        }
        for c in [sam, fixer, colleague] {
            c.close().await.unwrap();
        }
    });
}

async fn wait_for_score(c: &Client, version: &str) -> String {
    let selector = format!("[data-score-for='{version}']");
    for _ in 0..300 {
        let el = c.find(Locator::Css(&selector)).await.unwrap();
        if let Some(score) = el.attr("data-score").await.unwrap()
            && !score.is_empty()
        {
            return score;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no score appeared for CVSS {version}");
}

/// Base-only rows of a shared vector file: (vector, expected score).
fn shared_vectors(file: &str, take: usize) -> Vec<(String, String)> {
    let path = format!(
        "{}/../../../shared/data/cvss/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            // Only the base metrics, which the calculator offers.
            let metrics = if file == "cvss40.tsv" { 11 } else { 8 };
            let base_only = cols
                .first()
                .is_some_and(|v| v.split('/').count() == metrics + 1);
            base_only.then(|| (cols[0].to_owned(), cols[1].to_owned()))
        })
        .collect();
    // Spread the sample over the whole file.
    let step = (rows.len() / take).max(1);
    rows.into_iter().step_by(step).take(take).collect()
}

#[test]
fn the_calculator_scores_the_shared_test_vectors() {
    let app = TestApp::start();
    let driver = Driver::start();
    let (_, secret) = app.person("sam", "srt");
    let (status, case) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(json!({ "project": "numpy", "title": "t", "body": "b" })),
    );
    assert_eq!(status, 201);
    let id = case["id"].as_str().unwrap();
    app.api(
        &app.admin_token,
        "POST",
        &format!("/api/v1/cases/{id}/commands"),
        Some(json!({ "command": "acknowledge", "message": "ok" })),
    );
    let mut vectors = shared_vectors("cvss31.tsv", 12);
    vectors.extend(shared_vectors("cvss40.tsv", 12));
    assert!(vectors.len() >= 20, "{vectors:?}");
    app.rt.block_on(async {
        let c = browser(&driver, true).await;
        app.advance(30);
        sign_in(&app, &c, "sam", &secret).await;
        c.goto(&format!("{}/cases/{id}", app.url)).await.unwrap();
        let mut wrong = Vec::new();
        for (vector, expected) in &vectors {
            let version = if vector.starts_with("CVSS:4.0") { "4.0" } else { "3.1" };
            let field = if version == "4.0" { "tr-cvss40" } else { "tr-cvss31" };
            fill(&c, field, "").await;
            // Choose each metric in the calculator, as a person would.
            for part in vector.split('/').skip(1) {
                let (metric, value) = part.split_once(':').unwrap();
                c.find(Locator::Id(&format!("calc-{version}-{metric}")))
                    .await
                    .unwrap()
                    .select_by_value(value)
                    .await
                    .unwrap();
            }
            let got_vector = c.find(Locator::Id(field)).await.unwrap().prop("value").await.unwrap();
            let score = wait_for_score(&c, version).await;
            if got_vector.as_deref() != Some(vector.as_str()) || &score != expected {
                wrong.push(format!("{vector}: expected {expected}, calculator wrote {got_vector:?} and scored {score}"));
            }
            // Clear the score so the next vector waits for its own.
            c.execute(
                &format!("document.querySelector(\"[data-score-for='{version}']\").setAttribute('data-score', '')"),
                vec![],
            )
            .await
            .unwrap();
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        c.close().await.unwrap();
    });
}

/// Cross-site scripting payloads written for this project, by class. Each
/// tries to run `window.__xss = N`, open a dialog, or fetch from `beacon`.
fn payloads(beacon: &str) -> Vec<String> {
    let mut p: Vec<String> = Vec::new();
    let n = |p: &Vec<String>| p.len();
    // Script injection.
    for tpl in [
        "<script>window.__xss={n}</script>",
        "<SCRIPT>window.__xss={n}</SCRIPT>",
        "<script src=\"{b}/s{n}.js\"></script>",
        "<scr<script>ipt>window.__xss={n}</scr</script>ipt>",
        "</title><script>window.__xss={n}</script>",
        "</textarea><script>window.__xss={n}</script>",
        "<script>alert({n})</script>",
        "<script type=module>window.__xss={n}</script>",
        "<!--<script>--><script>window.__xss={n}</script>",
        "<noscript><p title=\"</noscript><script>window.__xss={n}</script>\">",
    ] {
        let s = tpl
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    // Event handlers.
    for tag in [
        "<img src=x onerror=\"window.__xss={n}\">",
        "<img src=x onerror=alert({n})>",
        "<body onload=\"window.__xss={n}\">",
        "<svg onload=\"window.__xss={n}\">",
        "<div onmouseover=\"window.__xss={n}\">hover</div>",
        "<input autofocus onfocus=\"window.__xss={n}\">",
        "<details open ontoggle=\"window.__xss={n}\">",
        "<video><source onerror=\"window.__xss={n}\"></video>",
        "<audio src=x onerror=\"window.__xss={n}\">",
        "<iframe onload=\"window.__xss={n}\"></iframe>",
        "<marquee onstart=\"window.__xss={n}\">",
        "<select autofocus onfocus=\"window.__xss={n}\">",
        "<textarea autofocus onfocus=\"window.__xss={n}\"></textarea>",
        "<keygen autofocus onfocus=\"window.__xss={n}\">",
        "<object data=x onerror=\"window.__xss={n}\">",
        "<body onpageshow=\"window.__xss={n}\">",
        "<x contenteditable onblur=\"window.__xss={n}\">x",
        "<a onclick=\"window.__xss={n}\" href=#>click</a>",
        "<form><button formaction=\"javascript:window.__xss={n}\">x</button></form>",
        "<img src=\"{b}/i{n}.png\">",
    ] {
        let s = tag
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    // javascript: and data: URLs, in HTML and in Markdown.
    for url in [
        "<a href=\"javascript:window.__xss={n}\">x</a>",
        "<a href=\"JaVaScRiPt:window.__xss={n}\">x</a>",
        "<a href=\"&#106;avascript:window.__xss={n}\">x</a>",
        "<a href=\"java\tscript:window.__xss={n}\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x{n}</a>",
        "<iframe src=\"javascript:window.__xss={n}\"></iframe>",
        "<iframe src=\"data:text/html,<script>parent.__xss={n}</script>\"></iframe>",
        "<embed src=\"javascript:window.__xss={n}\">",
        "<object data=\"javascript:window.__xss={n}\"></object>",
        "[click](javascript:window.__xss={n})",
        "[click](JAVASCRIPT:window.__xss={n})",
        "[click](data:text/html,<script>window.__xss={n}</script>)",
        "[click](vbscript:msgbox({n}))",
        "![img](javascript:window.__xss={n})",
        "![img]({b}/md{n}.png)",
        "<{b}/auto{n}>",
        "[ref{n}]: javascript:window.__xss={n}\n\n[x][ref{n}]",
        "<a href=\" javascript:window.__xss={n}\">x</a>",
        "<form action=\"javascript:window.__xss={n}\"><input type=submit></form>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss={n}\">",
    ] {
        let s = url
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    // SVG and MathML.
    for svg in [
        "<svg><script>window.__xss={n}</script></svg>",
        "<svg><a xlink:href=\"javascript:window.__xss={n}\"><text>x</text></a></svg>",
        "<svg><animate onbegin=\"window.__xss={n}\" attributeName=x dur=1s>",
        "<svg><set attributeName=onload to=\"window.__xss={n}\"/></svg>",
        "<svg><foreignObject><img src=x onerror=\"window.__xss={n}\"></foreignObject></svg>",
        "<svg><use href=\"data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='x' onerror='window.__xss={n}'/></svg>#x\"/></svg>",
        "<svg><image href=\"{b}/svg{n}.png\"/></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__xss={n}\">",
        "<math href=\"javascript:window.__xss={n}\">x</math>",
        "<math><maction actiontype=statusline xlink:href=\"javascript:window.__xss={n}\">x</maction></math>",
    ] {
        let s = svg
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    // CSS.
    for css in [
        "<style>body{background:url({b}/css{n}.png)}</style>",
        "<div style=\"background:url({b}/style{n}.png)\">x</div>",
        "<style>@import '{b}/import{n}.css';</style>",
        "<link rel=stylesheet href=\"{b}/link{n}.css\">",
        "<div style=\"width:expression(window.__xss={n})\">x</div>",
        "<style>*{behavior:url({b}/htc{n}.htc)}</style>",
        "<p style=\"x:\\65xpression(window.__xss={n})\">x</p>",
        "<style>@font-face{font-family:x;src:url({b}/font{n}.woff)}</style>",
        "<div style=\"--x:url({b}/var{n}.png);background:var(--x)\">x</div>",
        "<svg><style>svg{background:url({b}/svgcss{n}.png)}</style></svg>",
    ] {
        let s = css
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    // Attribute breaking (our templates put values in attributes too).
    for attr in [
        "\" onmouseover=\"window.__xss={n}\" x=\"",
        "' onmouseover='window.__xss={n}' x='",
        "\"><script>window.__xss={n}</script>",
        "'><script>window.__xss={n}</script>",
        "\" autofocus onfocus=\"window.__xss={n}",
        "\"><img src=x onerror=\"window.__xss={n}\">",
        "` onmouseover=window.__xss={n} `",
        "\" style=\"background:url({b}/attr{n}.png)",
        "\"/><svg onload=\"window.__xss={n}\">",
        "javascript:window.__xss={n}//\"",
    ] {
        let s = attr
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    // Encoded variants.
    for enc in [
        "&lt;script&gt;window.__xss={n}&lt;/script&gt;",
        "&#60;script&#62;window.__xss={n}&#60;/script&#62;",
        "%3Cscript%3Ewindow.__xss={n}%3C/script%3E",
        "\\u003cscript\\u003ewindow.__xss={n}\\u003c/script\\u003e",
        "\\x3cscript\\x3ewindow.__xss={n}\\x3c/script\\x3e",
        "<img src=x onerror=\"&#119;indow.__xss={n}\">",
        "<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:window.__xss={n}\">x</a>",
        "<img src=x onerror=\"eval(atob('d2luZG93Ll9feHNzPTE='))\" data-n={n}>",
        "＜script＞window.__xss={n}＜/script＞",
        "<img src=x onerror=\"window['__x'+'ss']={n}\">",
    ] {
        let s = enc
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    // Template-expression injection (minijinja, other engines, frameworks).
    for tpl in [
        "{{ 7*7 }}-{n}",
        "{% for x in range(3) %}loop{% endfor %}-{n}",
        "{{ config }}-{n}",
        "${7*7}-{n}",
        "#{7*7}-{n}",
        "<%= 7*7 %>-{n}",
        "{{constructor.constructor('window.__xss={n}')()}}",
        "{% raw %}{{ x }}{% endraw %}-{n}",
        "{{ self }}-{n}",
        "[[${7*7}]]-{n}",
    ] {
        let s = tpl.replace("{n}", &n(&p).to_string());
        p.push(s);
    }
    // Structure breaking and oddities.
    for odd in [
        "</main></body></html><script>window.__xss={n}</script>",
        "<base href=\"{b}/base{n}/\">",
        "<plaintext>{n}",
        "<xmp><script>window.__xss={n}</script></xmp>",
        "<template><script>window.__xss={n}</script></template>",
        "<isindex action=\"javascript:window.__xss={n}\" type=image>",
        "<img srcset=\"{b}/srcset{n}.png 1x\">",
        "<picture><source srcset=\"{b}/pic{n}.png\"></picture>",
        "<link rel=prefetch href=\"{b}/prefetch{n}\">",
        "<a ping=\"{b}/ping{n}\" href=\"https://example.org\">x</a>",
    ] {
        let s = odd
            .replace("{n}", &n(&p).to_string())
            .replace("{b}", beacon);
        p.push(s);
    }
    p
}

#[test]
fn a_hundred_xss_payloads_execute_nothing_in_chromium() {
    let app = TestApp::start();
    let driver = Driver::start();
    // The beacon: any connection to it means a payload loaded something.
    // Nothing accepts while the pages are open: a connection the browser
    // made waits in the listener's backlog (on loopback the handshake is
    // done when `connect` returns), and is counted at the end.
    let beacon = TcpListener::bind("127.0.0.1:0").unwrap();
    let beacon_url = format!("http://127.0.0.1:{}", beacon.local_addr().unwrap().port());
    beacon.set_nonblocking(true).unwrap();
    // What a page loaded, as the browser records it.
    let fetched_from_beacon = format!(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.startsWith({:?}))",
        beacon_url
    );
    let payloads = payloads(&beacon_url);
    assert!(payloads.len() >= 100, "{}", payloads.len());
    let t = app.admin_token.clone();
    let (_, secret) = app.person("sam", "srt");
    let mut cases = Vec::new();
    // Each payload lands in report fields, a reporter name, a thread message
    // and an internal note; every sixth also becomes a person's display name.
    for (i, payload) in payloads.iter().enumerate() {
        let (status, body) = app.api(
            &t,
            "POST",
            "/api/v1/cases",
            Some(json!({
                "project": "numpy",
                "title": payload,
                "body": format!("{payload}\n\n{payload}"),
                "reporter_name": payload,
                "reporter_email": format!("x{i}@example.org"),
            })),
        );
        assert_eq!(status, 201, "{payload}: {body}");
        let id = body["id"].as_str().unwrap().to_owned();
        for cmd in [
            json!({ "command": "acknowledge", "message": payload }),
            json!({ "command": "add_note", "text": payload }),
            json!({ "command": "request_info", "question": payload }),
        ] {
            let (status, body) = app.api(
                &t,
                "POST",
                &format!("/api/v1/cases/{id}/commands"),
                Some(cmd),
            );
            assert_eq!(status, 200, "{payload}: {body}");
        }
        if i % 6 == 0 {
            let (status, body) = app.api(
                &t,
                "POST",
                "/api/v1/people",
                Some(json!({ "id": format!("p{i}"), "name": payload.chars().take(200).collect::<String>(), "email": format!("p{i}@example.org"), "role": "maintainer" })),
            );
            assert!(status == 201 || status == 422, "{payload}: {body}");
        }
        cases.push(id);
    }
    let (_, admin_secret) = app.signed_up(&app.admin_invitation, "admin");
    app.rt.block_on(async {
        let c = browser(&driver, true).await;
        app.advance(30);
        sign_in(&app, &c, "sam", &secret).await;
        let mut pages: Vec<String> = vec![format!("{}/", app.url)];
        pages.extend(cases.iter().map(|id| format!("{}/cases/{id}", app.url)));
        for url in &pages {
            c.goto(url).await.unwrap();
            // A dialog left open would show here.
            assert!(
                c.get_alert_text().await.is_err(),
                "a dialog opened on {url}"
            );
            let flag = c
                .execute("return typeof window.__xss", vec![])
                .await
                .unwrap();
            assert_eq!(flag, json!("undefined"), "a payload ran on {url}");
            let fetched = c.execute(&fetched_from_beacon, vec![]).await.unwrap();
            assert_eq!(fetched, json!([]), "a payload loaded something on {url}");
        }
        // Names appear on the admin's people page.
        let admin = browser(&driver, true).await;
        app.advance(30);
        sign_in(&app, &admin, "admin", &admin_secret).await;
        admin
            .goto(&format!("{}/admin/people", app.url))
            .await
            .unwrap();
        assert!(admin.get_alert_text().await.is_err());
        let flag = admin
            .execute("return typeof window.__xss", vec![])
            .await
            .unwrap();
        assert_eq!(flag, json!("undefined"));
        // The payloads are shown as text.
        wait_for_text(&admin, "<svg onload=").await;
        let fetched = admin.execute(&fetched_from_beacon, vec![]).await.unwrap();
        assert_eq!(fetched, json!([]), "a payload loaded something");

        for b in [&c, &admin] {
            let errors: Vec<Value> = console(&driver, b)
                .await
                .into_iter()
                .filter(|e| e["level"] == "SEVERE")
                .collect();
            assert!(errors.is_empty(), "console errors: {errors:#?}");
        }
        c.close().await.unwrap();
        admin.close().await.unwrap();
    });
    let mut hits = 0;
    while beacon.accept().is_ok() {
        hits += 1;
    }
    assert_eq!(hits, 0, "a payload made the browser connect to the beacon");
}

#[test]
fn the_pages_work_with_javascript_off() {
    let app = TestApp::start();
    let driver = Driver::start();
    let (_, secret) = app.person("sam", "srt");
    let (_, case) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(json!({ "project": "numpy", "title": "No-JS case", "body": "b" })),
    );
    let id = case["id"].as_str().unwrap().to_owned();
    app.rt.block_on(async {
        let c = browser(&driver, false).await;
        app.advance(30);
        sign_in(&app, &c, "sam", &secret).await;
        c.goto(&format!("{}/cases/{id}", app.url)).await.unwrap();
        submit(&c, "#acknowledge").await;
        wait_for_text(&c, "Thank you for your report").await;
        // The calculator needs JavaScript and stays hidden; the vector field works.
        let calc = c.find(Locator::Css("fieldset.calculator")).await.unwrap();
        assert!(!calc.is_displayed().await.unwrap());
        c.find(Locator::Id("rep-partly"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        fill(&c, "tr-notes", "Partly").await;
        fill(
            &c,
            "tr-cvss31",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        )
        .await;
        submit(&c, "#triage").await;
        wait_for_text(&c, "9.8 (Critical)").await;
        c.close().await.unwrap();
    });
}
