//! Lists a page at a time: the inbox and `GET /api/v1/cases` page through
//! every case the reader sees, in the queue's order, none twice, with the
//! filters applied in the store; a reader who sees fewer cases pages
//! through exactly those.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::app::{TestApp, between};

/// One API page: the case ids and the `rel="next"` path, if any.
fn api_page(app: &TestApp, token: &str, path: &str) -> (u16, Vec<String>, Option<String>) {
    app.rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", app.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let next = resp
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned())
            .map(|v| {
                assert!(v.ends_with(">; rel=\"next\""), "{v}");
                v.trim_start_matches('<')
                    .trim_end_matches(">; rel=\"next\"")
                    .to_owned()
            });
        let body: Value = resp.json().await.unwrap();
        let ids = body
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        (status, ids, next)
    })
}

fn all_api_pages(app: &TestApp, token: &str, first: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut path = Some(first.to_owned());
    let mut pages = 0;
    while let Some(p) = path {
        let (status, page, next) = api_page(app, token, &p);
        assert_eq!(status, 200, "{p}");
        ids.extend(page);
        pages += 1;
        path = next;
    }
    (ids, pages)
}

#[test]
fn the_inbox_and_the_api_page_through_every_visible_case_once() {
    let app = TestApp::start();
    let admin = app.admin_token.clone();
    let mut made = Vec::new();
    for n in 0..120 {
        let project = if n % 3 == 0 { "scipy" } else { "numpy" };
        let (status, case) = app.api(
            &admin,
            "POST",
            "/api/v1/cases",
            Some(json!({"project": project, "title": format!("Report {n}"), "body": "steps"})),
        );
        assert_eq!(status, 201, "{case}");
        made.push((case["id"].as_str().unwrap().to_owned(), project));
        app.advance(60);
    }
    // Three of them triaged GREEN: the whole organisation sees those.
    let green: Vec<String> = made.iter().take(3).map(|(id, _)| id.clone()).collect();
    for id in &green {
        for step in [
            json!({"command": "acknowledge", "message": "Thanks"}),
            json!({"command": "triage", "reproduced": "yes", "notes": "seen", "tlp": "GREEN"}),
        ] {
            let (status, got) = app.api(
                &admin,
                "POST",
                &format!("/api/v1/cases/{id}/commands"),
                Some(step),
            );
            assert_eq!(status, 200, "{got}");
        }
    }

    // The API: pages of 50 with a Link to the next, every case once; the
    // unanswered first, oldest deadline first, then the answered.
    let (ids, pages) = all_api_pages(&app, &admin, "/api/v1/cases?limit=50");
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 120);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        120,
        "no case twice"
    );
    let unanswered: Vec<&String> = made.iter().skip(3).map(|(id, _)| id).collect();
    assert_eq!(ids[..117].iter().collect::<Vec<_>>(), unanswered);
    assert_eq!(
        ids[117..].iter().collect::<BTreeSet<_>>(),
        green.iter().collect()
    );
    // A filter carries over to the next page.
    let (scipy, pages) = all_api_pages(&app, &admin, "/api/v1/cases?limit=15&project=scipy");
    assert_eq!(pages, 3);
    let expected: BTreeSet<&String> = made
        .iter()
        .filter(|(_, p)| *p == "scipy")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(scipy.iter().collect::<BTreeSet<_>>(), expected);
    // A cursor this server did not give is refused in words.
    let (status, got) = app.api(&admin, "GET", "/api/v1/cases?after=nonsense", None);
    assert_eq!(status, 422, "{got}");
    assert!(got["message"].as_str().unwrap().contains("cursor"), "{got}");
    let (status, _) = app.api(&admin, "GET", "/api/v1/cases?limit=501", None);
    assert_eq!(status, 422);

    // A maintainer outside the SRT sees the GREEN cases only.
    let token = app.token_of("mo", "maintainer");
    let (ids, _) = all_api_pages(&app, &token, "/api/v1/cases?limit=2");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>(), green.iter().collect());

    // The inbox: 50 rows a page, a "Next page" link, every case once.
    let (mut sam, _) = app.person("sam", "srt");
    let mut seen = Vec::new();
    let mut path = "/".to_owned();
    loop {
        let page = sam.get(&path);
        assert_eq!(page.status, 200, "{}", page.body);
        let rows = page.body.matches("<td><a href=\"/cases/").count();
        assert!(rows <= 50, "{rows} rows on one page");
        for (id, _) in &made {
            if page.body.contains(&format!("<a href=\"/cases/{id}\">")) {
                seen.push(id.clone());
            }
        }
        if !page.body.contains("id=\"next-page\"") {
            break;
        }
        path = between(&page.body, "id=\"next-page\" href=\"", "\"") // As a browser reads the attribute.
            .replace("&amp;", "&")
            .replace("&#x2f;", "/");
    }
    assert_eq!(seen.len(), 120);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 120);
    // Filtered by project in the browser's form.
    let page = sam.get("/?project=scipy");
    for (id, project) in &made {
        let shown = page.body.contains(&format!("<a href=\"/cases/{id}\">"));
        if *project == "numpy" {
            assert!(!shown, "{id} is numpy's");
        }
    }
}

/// Search on the inbox and the API: by case id, by title words (all of
/// them), by package and by a package's name, closed cases included;
/// among the cases the reader may see only; with no title in clear in the
/// database.
#[test]
fn search_finds_a_case_by_id_title_words_or_package_among_those_one_sees() {
    let app = TestApp::start();
    let admin = app.admin_token.clone();
    let new = |title: &str, tlp: &str, affected: &str| -> String {
        let (status, case) = app.api(
            &admin,
            "POST",
            "/api/v1/cases",
            Some(json!({"project": "numpy", "title": title, "body": "steps"})),
        );
        assert_eq!(status, 201, "{case}");
        let id = case["id"].as_str().unwrap().to_owned();
        for command in [
            json!({"command": "acknowledge", "message": "Thanks"}),
            json!({"command": "triage", "reproduced": "yes", "notes": "yes", "tlp": tlp,
                   "affected": [affected]}),
        ] {
            let (status, body) = app.api(
                &admin,
                "POST",
                &format!("/api/v1/cases/{id}/commands"),
                Some(command),
            );
            assert_eq!(status, 200, "{body}");
        }
        id
    };
    let loadtxt = new(
        "Heap overflow in loadtxt with quasarword",
        "TLP:GREEN",
        "PyPI:numpy:1.20.0..1.26.4",
    );
    let tokenizer = new(
        "Overflow in the tokenizer",
        "TLP:GREEN",
        "PyPI:scipy:1.0.0..1.11.2",
    );
    let secret = new(
        "Sandbox escape via quasarword pickles",
        "TLP:RED",
        "PyPI:numpy:1.0.0..1.26.4",
    );
    // A rejected case is found too (unlike the duplicate hints, search
    // covers every case).
    let (status, body) = app.api(
        &admin,
        "POST",
        &format!("/api/v1/cases/{tokenizer}/commands"),
        Some(json!({"command": "reject", "reason": "not-a-vulnerability", "explanation": "expected"})),
    );
    assert_eq!(status, 200, "{body}");

    let api = |token: &str, q: &str| -> Vec<String> {
        let (status, ids, next) = api_page(
            &app,
            token,
            &format!(
                "/api/v1/cases?q={}",
                q.replace(' ', "+").replace(':', "%3A")
            ),
        );
        assert_eq!(status, 200);
        assert!(next.is_none(), "a search is one page");
        let mut ids = ids;
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        api(&admin, "overflow"),
        sorted(vec![loadtxt.clone(), tokenizer.clone()])
    );
    assert_eq!(
        api(&admin, "overflow LOADTXT"),
        vec![loadtxt.clone()],
        "every word"
    );
    assert_eq!(
        api(&admin, "PyPI:numpy"),
        sorted(vec![loadtxt.clone(), secret.clone()])
    );
    assert_eq!(
        api(&admin, "scipy"),
        vec![tokenizer.clone()],
        "a package's name"
    );
    assert_eq!(
        api(&admin, &secret.to_lowercase()),
        vec![secret.clone()],
        "by id"
    );
    assert_eq!(
        api(&admin, "quasarword"),
        sorted(vec![loadtxt.clone(), secret.clone()])
    );
    assert!(api(&admin, "nothing-like-this").is_empty());

    // A member sees the GREEN cases, not the RED one: its words and its
    // id find nothing for them.
    let member = app.token_of("mo", "maintainer");
    assert_eq!(api(&member, "quasarword"), vec![loadtxt.clone()]);
    assert!(api(&member, &secret).is_empty());

    // The inbox's search box.
    let (mut srt, _) = app.person("sue", "srt");
    let page = srt.get("/?q=quasarword").body;
    assert!(page.contains("2 cases found for “quasarword”"), "{page}");
    assert!(page.contains(&loadtxt) && page.contains(&secret), "{page}");
    assert!(!page.contains(&format!("/cases/{tokenizer}")), "{page}");
    let page = srt.get(&format!("/?q={tokenizer}")).body;
    assert!(page.contains("1 case found"), "{page}");

    // Titles are not in the database in clear: the index holds hashes.
    let db = String::from_utf8_lossy(&app.db_bytes()).to_lowercase();
    assert!(!db.contains("quasarword"), "a title word in clear at rest");
}
