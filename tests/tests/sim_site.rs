//! The synthetic Jira site: determinism, the ground truth, every paging style with small
//! pages and caps, embedded truncation, and what the non-admin may see.

mod sim_common;

use std::time::Instant;

use bc_tests::sim::{Site, Size};
use serde_json::{json, Value};
use sim_common::{ids, normalized, start, walk_page_bean, Client};

#[test]
fn large_site_is_built_lazily_and_counted_arithmetically() {
    let t = Instant::now();
    let site = Site::new(7, Size::Large);
    assert!(
        t.elapsed().as_millis() < 50,
        "building the model must not generate issues"
    );
    assert_eq!(site.generated_issue_count(), 100_000);
    assert_eq!(site.project_ids().len(), 50);
    assert_eq!(site.dims.attachments, 10_000);
    // Any issue is available on demand, without generating the others.
    let last = site.issue_json("109999").unwrap();
    assert_eq!(last["id"], "109999");
    assert!(site.issue_json("110000").is_none());
    assert!(t.elapsed().as_secs() < 2);
}

#[test]
fn sizes_have_the_documented_shape() {
    let tiny = Site::new(1, Size::Tiny).counts();
    assert_eq!(
        (tiny["projects"], tiny["issues"], tiny["attachments"]),
        (2, 50, 10)
    );
    let medium = Site::new(1, Size::Medium);
    let bytes: u64 = (0..medium.dims.attachments)
        .map(|j| medium.attachment_meta(j).size)
        .sum();
    assert!(
        (900 << 20..1300 << 20).contains(&bytes),
        "medium ≈ 1 GB of attachments, got {bytes}"
    );
    let c = Site::new(3, Size::Small).counts();
    assert_eq!(
        (c["projects"], c["issues"], c["attachments"]),
        (5, 1_000, 100)
    );
    let watched = c["issuesWithWatchers"] as f64 / 1000.0;
    let voted = c["issuesWithVotes"] as f64 / 1000.0;
    let props = Site::new(3, Size::Small);
    let with_props = (0..1000)
        .filter(|&i| {
            !props
                .properties(&(10_000 + i).to_string())
                .unwrap()
                .is_empty()
        })
        .count();
    assert!((0.5..0.7).contains(&watched), "~60% watched: {watched}");
    assert!((0.1..0.2).contains(&voted), "~15% voted: {voted}");
    assert!(
        (150..250).contains(&with_props),
        "~20% have properties: {with_props}"
    );
    // Deleted users look like Jira's.
    let users: Vec<Value> = (0..props.user_count())
        .map(|u| props.user_json(u))
        .collect();
    let former = users
        .iter()
        .find(|u| u["displayName"] == "Former user")
        .unwrap();
    assert_eq!(
        (former["accountType"].as_str(), former["active"].as_bool()),
        (Some("atlassian"), Some(false))
    );
    // Awkward attachment names: the same name twice on one issue, unicode, long names.
    let a0 = props.attachments("10000").unwrap();
    let names: Vec<&str> = a0.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "report.pdf").count(), 2);
    assert!(a0.iter().any(|a| a.size == 0));
}

#[tokio::test]
async fn same_seed_same_answers_other_seed_other_answers() {
    let (a, b, c) = (
        start(11, Size::Tiny).await,
        start(11, Size::Tiny).await,
        start(12, Size::Tiny).await,
    );
    let mut seen = vec![];
    for s in [&a, &b, &c] {
        let cl = Client::admin(s);
        let body =
            json!({"issueIdsOrKeys": ["10000", "10001", "10002", "10030"], "fields": ["*all"]});
        let issues = cl.post("/rest/api/3/issue/bulkfetch", &body, 200).await;
        let users = cl.get("/rest/api/3/users/search?maxResults=100", 200).await;
        seen.push(normalized(s, &json!([issues, users])));
    }
    assert_eq!(seen[0], seen[1]);
    assert_ne!(seen[0], seen[2]);
}

#[tokio::test]
async fn bulkfetch_matches_the_ground_truth_and_reports_missing_ids() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let body = json!({"issueIdsOrKeys": ["10003", "ALPH-1", "10002", "99999"], "fields": ["*all"]});
    let r = c.post("/rest/api/3/issue/bulkfetch", &body, 200).await;
    let got: Vec<&str> = r["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["10000", "10002", "10003"], "ascending id order");
    assert_eq!(r["issueErrors"][0]["id"], "99999");
    assert_eq!(r["issues"][1], s.site.issue_json("10002").unwrap());
    let too_many: Vec<String> = (10_000..10_101).map(|i| i.to_string()).collect();
    let e = c
        .post(
            "/rest/api/3/issue/bulkfetch",
            &json!({"issueIdsOrKeys": too_many}),
            400,
        )
        .await;
    assert!(e["errorMessages"][0].is_string());
}

#[tokio::test]
async fn embedded_collections_are_truncated_with_signals() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let r = c
        .post(
            "/rest/api/3/issue/bulkfetch",
            &json!({"issueIdsOrKeys": ["10001"], "fields": ["*all"]}),
            200,
        )
        .await;
    let f = &r["issues"][0]["fields"];
    let total = s.site.comments("10001").unwrap().len() as u64;
    assert!(total > 100);
    assert_eq!(f["comment"]["total"], total);
    assert_eq!(f["comment"]["maxResults"], 20);
    assert_eq!(f["comment"]["comments"].as_array().unwrap().len(), 20);
    assert_eq!(f["worklog"]["total"], 25);
    assert_eq!(f["worklog"]["maxResults"], 20);
    assert_eq!(f["worklog"]["worklogs"].as_array().unwrap().len(), 20);
    assert!(f["watches"]["watchCount"].is_u64() && f["votes"]["votes"].is_u64());
    assert!(f["issuelinks"].is_array() && f["attachment"].is_array() && f["subtasks"].is_array());
    assert_eq!(s.site.changelog("10001").unwrap().len(), 120);
}

#[tokio::test]
async fn page_beans_walk_to_exactly_the_ground_truth_and_apply_caps() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let versions = walk_page_bean(&c, "/rest/api/3/project/10000/version?", 7, true).await;
    assert_eq!(ids(&versions), ids(&s.site.versions(0)));
    let comps = walk_page_bean(&c, "/rest/api/3/project/ALPH/component?", 2, true).await;
    assert_eq!(ids(&comps), ids(&s.site.components(0)));
    let projects = walk_page_bean(
        &c,
        "/rest/api/3/project/search?status=live&status=archived&expand=lead",
        1,
        true,
    )
    .await;
    assert_eq!(projects.len(), 2);
    assert_eq!(projects[1]["archived"], true);
    let live = c.get("/rest/api/3/project/search", 200).await;
    assert_eq!(live["total"], 1, "archived projects only on request");
    let opts = walk_page_bean(
        &c,
        "/rest/api/3/field/customfield_10031/context/10103/option?",
        40,
        true,
    )
    .await;
    assert_eq!(opts.len(), 230);
    let capped = c
        .get(
            "/rest/api/3/field/customfield_10031/context/10103/option?maxResults=1000",
            200,
        )
        .await;
    assert_eq!(
        (
            capped["maxResults"].as_u64(),
            capped["values"].as_array().unwrap().len()
        ),
        (Some(100), 100)
    );
    let g = s.site.group_id(1);
    let members = walk_page_bean(
        &c,
        &format!("/rest/api/3/group/member?groupId={g}&includeInactiveUsers=true"),
        3,
        true,
    )
    .await;
    assert_eq!(members.len(), s.site.group_members(1).len());
    let capped = c
        .get(
            &format!("/rest/api/3/group/member?groupId={g}&maxResults=500"),
            200,
        )
        .await;
    assert_eq!(capped["maxResults"], 50);
    let groups = walk_page_bean(&c, "/rest/api/3/group/bulk?", 4, true).await;
    assert_eq!(groups.len(), 9);
    // Sprints: no total, and the agile cap of 50.
    let sprints = walk_page_bean(&c, "/rest/agile/1.0/board/1/sprint?", 50, false).await;
    assert_eq!(sprints.len(), 57);
    let capped = c
        .get("/rest/agile/1.0/board/1/sprint?maxResults=100", 200)
        .await;
    assert_eq!(capped["values"].as_array().unwrap().len(), 50);
    for (path, cap) in [
        ("/rest/api/3/project/search?", 100),
        ("/rest/api/3/screens?", 100),
        ("/rest/api/3/screenscheme?", 25),
        ("/rest/api/3/statuses/search?", 200),
        ("/rest/agile/1.0/board?", 50),
        ("/rest/api/3/project/10000/version?", 50),
    ] {
        let p = c.get(&format!("{path}maxResults=100000"), 200).await;
        assert_eq!(p["maxResults"], cap, "{path}");
    }
    let changes = walk_page_bean(&c, "/rest/api/3/issue/10001/changelog?", 33, true).await;
    assert_eq!(ids(&changes), ids(&s.site.changelog("10001").unwrap()));
    let capped = c
        .get("/rest/api/3/issue/10001/changelog?maxResults=1000", 200)
        .await;
    assert_eq!(capped["values"].as_array().unwrap().len(), 100);
    for path in [
        "/rest/api/3/screens?",
        "/rest/api/3/statuses/search?",
        "/rest/api/3/workflows/search?",
        "/rest/api/3/priority/search?",
        "/rest/api/3/resolution/search?",
        "/rest/api/3/filter/search?",
        "/rest/api/3/dashboard/search?",
        "/rest/agile/1.0/board?",
        "/rest/api/3/workflowscheme?",
    ] {
        let all = walk_page_bean(&c, path, 2, true).await;
        let mut unique = ids(&all);
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{path}: no duplicates");
    }
}

#[tokio::test]
async fn legacy_offset_and_bare_arrays_walk_to_the_ground_truth() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let mut comments = vec![];
    loop {
        let p = c
            .get(
                &format!(
                    "/rest/api/3/issue/10001/comment?startAt={}&maxResults=40",
                    comments.len()
                ),
                200,
            )
            .await;
        assert!(p.get("isLast").is_none(), "style B has no isLast");
        let page = p["comments"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        comments.extend(page);
    }
    assert_eq!(comments, s.site.comments("10001").unwrap());
    let capped = c
        .get("/rest/api/3/issue/10001/comment?maxResults=1000", 200)
        .await;
    assert_eq!(capped["maxResults"], 100);
    let w = c
        .get(
            "/rest/api/3/issue/10001/worklog?startAt=5&maxResults=10",
            200,
        )
        .await;
    assert_eq!(
        w["worklogs"].as_array().unwrap()[..],
        s.site.worklogs("10001").unwrap()[5..15]
    );
    let mut users = vec![];
    loop {
        let p = c
            .get(
                &format!(
                    "/rest/api/3/users/search?startAt={}&maxResults=4",
                    users.len()
                ),
                200,
            )
            .await;
        let page = p.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        users.extend(page);
    }
    assert_eq!(users.len() as u64, s.site.user_count());
    // users/search is capped at 1000 (a Large site has 1003 users).
    let large = start(5, Size::Large).await;
    let page = Client::admin(&large)
        .get("/rest/api/3/users/search?maxResults=5000", 200)
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1000);
    for id in s.site.issue_ids().take(20) {
        let rl = c
            .get(&format!("/rest/api/3/issue/{id}/remotelink"), 200)
            .await;
        assert_eq!(rl, json!(s.site.remote_links(&id).unwrap()));
        let w = c
            .get(&format!("/rest/api/3/issue/{id}/watchers"), 200)
            .await;
        let accts: Vec<&str> = w["watchers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["accountId"].as_str().unwrap())
            .collect();
        assert_eq!(accts, s.site.watchers(&id).unwrap());
        let v = c.get(&format!("/rest/api/3/issue/{id}/votes"), 200).await;
        assert_eq!(v["votes"], s.site.votes(&id).unwrap().len());
        let keys = c
            .get(&format!("/rest/api/3/issue/{id}/properties"), 200)
            .await;
        for (k, val) in s.site.properties(&id).unwrap() {
            assert!(keys["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["key"] == k.as_str()));
            let p = c
                .get(&format!("/rest/api/3/issue/{id}/properties/{k}"), 200)
                .await;
            assert_eq!(p["value"], val);
        }
    }
}

#[tokio::test]
async fn token_paging_walks_search_and_changelog_bulkfetch() {
    let s = start(9, Size::Small).await;
    let c = Client::admin(&s);
    let mut seen = vec![];
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"jql": "project = ALPH ORDER BY id ASC", "maxResults": 37});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let r = c.post("/rest/api/3/search/jql", &body, 200).await;
        assert!(r.get("total").is_none());
        seen.extend(
            r["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        match r["nextPageToken"].as_str() {
            Some(t) => token = Some(t.into()),
            None => {
                assert_eq!(r["isLast"], true);
                break;
            }
        }
    }
    let truth: Vec<String> = s
        .site
        .issue_ids()
        .filter(|id| s.site.issue_json(id).unwrap()["fields"]["project"]["key"] == "ALPH")
        .collect();
    assert_eq!(seen, truth);
    // Caps: 5000 for ids only, 100 with fields.
    let r = c
        .post(
            "/rest/api/3/search/jql",
            &json!({"jql": "project = 10000", "maxResults": 9000, "fields": ["id"]}),
            200,
        )
        .await;
    assert_eq!(r["issues"].as_array().unwrap().len(), 200);
    let r = c
        .post(
            "/rest/api/3/search/jql",
            &json!({"jql": "project = 10000", "maxResults": 9000, "fields": ["summary"]}),
            200,
        )
        .await;
    assert_eq!(r["issues"].as_array().unwrap().len(), 100);
    for bad in [
        "",
        "assignee = currentUser()",
        "project = NOPE",
        "project = ALPH ORDER BY updated DESC",
    ] {
        let e = c
            .post("/rest/api/3/search/jql", &json!({"jql": bad}), 400)
            .await;
        assert!(e["errorMessages"][0].is_string(), "{bad}");
    }
    // Bulk changelog over the first 40 issues, 37 histories a page.
    let wanted: Vec<String> = (10_000..10_040).map(|i| i.to_string()).collect();
    let mut got: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"issueIdsOrKeys": wanted, "maxResults": 37});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let r = c.post("/rest/api/3/changelog/bulkfetch", &body, 200).await;
        let mut n = 0;
        for l in r["issueChangeLogs"].as_array().unwrap() {
            let h = l["changeHistories"].as_array().unwrap();
            n += h.len();
            got.entry(l["issueId"].as_str().unwrap().into())
                .or_default()
                .extend(h.iter().cloned());
        }
        assert!(n <= 37);
        match r["nextPageToken"].as_str() {
            Some(t) => token = Some(t.into()),
            None => break,
        }
    }
    for id in &wanted {
        assert_eq!(
            got.remove(id).unwrap_or_default(),
            s.site.changelog(id).unwrap(),
            "{id}"
        );
    }
}

#[tokio::test]
async fn the_non_admin_sees_less() {
    let s = start(5, Size::Small).await;
    let (a, u) = (Client::admin(&s), Client::user(&s));
    for path in [
        "/rest/api/3/screens",
        "/rest/api/3/workflows/search",
        "/rest/api/3/permissionscheme",
        "/rest/api/3/issuesecurityschemes",
        "/rest/api/3/statuses/search",
        "/rest/api/3/fieldconfiguration",
    ] {
        let e = u.get(path, 403).await;
        assert!(e["errorMessages"][0].is_string(), "{path}");
    }
    assert_eq!(
        u.get("/rest/api/3/notificationscheme", 200).await["total"],
        0
    );
    u.get("/rest/api/3/project/10000/role", 404).await;
    a.get("/rest/api/3/project/10000/role", 200).await;
    let projects = u
        .get(
            "/rest/api/3/project/search?status=live&status=archived",
            200,
        )
        .await;
    assert!(!projects["values"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "10001"));
    u.post(
        "/rest/api/3/search/jql",
        &json!({"jql": "project = 10001"}),
        400,
    )
    .await;
    let hidden = s.site.project_first_issue(1) + 10_000;
    let r = u
        .post(
            "/rest/api/3/issue/bulkfetch",
            &json!({"issueIdsOrKeys": [hidden.to_string(), "10000"]}),
            200,
        )
        .await;
    assert_eq!(r["issues"].as_array().unwrap().len(), 1);
    assert_eq!(r["issueErrors"][0]["id"], hidden.to_string());
    u.get(&format!("/rest/api/3/issue/{hidden}/comment"), 404)
        .await;
    let uf = u.get("/rest/api/3/filter/search?maxResults=100", 200).await["total"]
        .as_u64()
        .unwrap();
    let af = a.get("/rest/api/3/filter/search?maxResults=100", 200).await["total"]
        .as_u64()
        .unwrap();
    assert!(uf < af);
    assert!(!u
        .get("/rest/api/3/users/search", 200)
        .await
        .as_array()
        .unwrap()
        .is_empty());
    // The existing connection behaviour is unchanged.
    let p = u
        .get("/rest/api/3/mypermissions?permissions=ADMINISTER", 200)
        .await;
    assert_eq!(p["permissions"]["ADMINISTER"]["havePermission"], false);
}
