//! Every JSON endpoint the simulator serves answers with a body that validates against the
//! response schema in Atlassian's OpenAPI documents (env `JIRA_OPENAPI_DIR`, default
//! `<workspace>/../shared/jira/openapi`; with `CI=true` a missing document fails the test).
//!
//! OpenAPI 3.0 schemas are not quite JSON Schema. What we adapt: `nullable: true` becomes
//! "or null"; validation uses draft 4 rules (3.0's base: boolean `exclusiveMinimum`, `$ref`
//! siblings ignored); `format` is not checked (3.0 formats such as `int64` are annotations).
//! Otherwise `additionalProperties: false` and `required` are enforced, except for the two
//! defects of the document listed in [`SPEC_DEFECTS`].

mod sim_common;

use std::path::PathBuf;

use bc_tests::sim::Size;
use serde_json::{json, Map, Value};
use sim_common::{start, Client};

/// Errors the document itself causes: (route template, part of the message).
/// - `PageBeanFieldConfigurationDetails` reuses the create-request bean (only name and
///   description), so the id every real answer carries is "unexpected".
/// - `DashboardGadgetPosition` names its properties after their descriptions
///   ("The column position of the gadget.") instead of `column`/`row`.
const SPEC_DEFECTS: &[(&str, &str)] = &[
    ("/rest/api/3/fieldconfiguration", "('id'"),
    (
        "/rest/api/3/dashboard/{dashboardId}/gadget",
        "position of the gadget",
    ),
    (
        "/rest/api/3/dashboard/{dashboardId}/gadget",
        "('column', 'row' were unexpected)",
    ),
];

fn openapi_dir() -> PathBuf {
    match std::env::var_os("JIRA_OPENAPI_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/jira/openapi"),
    }
}

/// Rewrites OpenAPI 3.0 `nullable` into JSON Schema.
fn adapt(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for x in o.values_mut() {
                adapt(x);
            }
            if o.remove("nullable") == Some(Value::Bool(true)) {
                match o.get_mut("type") {
                    Some(t @ Value::String(_)) => *t = json!([t.clone(), "null"]),
                    _ => {
                        let inner = Value::Object(std::mem::take(o));
                        o.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(adapt),
        _ => {}
    }
}

struct Spec {
    components: Value,
    paths: Value,
}

impl Spec {
    fn load(file: &str) -> Option<Spec> {
        let text = std::fs::read_to_string(openapi_dir().join(file)).ok()?;
        let mut doc: Value = serde_json::from_str(&text).expect("OpenAPI document is JSON");
        adapt(&mut doc);
        Some(Spec {
            components: doc["components"].take(),
            paths: doc["paths"].take(),
        })
    }

    /// The JSON response schema for `status` of `method path`.
    fn schema(&self, method: &str, path: &str, status: u16) -> Option<Value> {
        let op = &self.paths[path][method];
        assert!(
            op.is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
        op["responses"][status.to_string()]["content"]
            .as_object()?
            .values()
            .next()?
            .get("schema")
            .cloned()
    }

    fn errors(&self, schema: Value, instance: &Value) -> Vec<String> {
        let mut root = Map::new();
        root.insert("$ref".into(), json!("#/x-target"));
        root.insert("x-target".into(), schema);
        root.insert("components".into(), self.components.clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(false)
            .build(&Value::Object(root))
            .expect("the schema compiles");
        validator
            .iter_errors(instance)
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}

#[tokio::test]
async fn every_served_endpoint_matches_the_openapi_schema() {
    let (Some(platform), Some(software)) = (
        Spec::load("jira-platform-v3.json"),
        Spec::load("jira-software.json"),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "OpenAPI documents missing in {:?}",
            openapi_dir()
        );
        eprintln!("skipping: no OpenAPI documents in {:?}", openapi_dir());
        return;
    };
    let s = start(3, Size::Tiny).await;
    let c = Client::admin(&s);
    let g = s.site.group_id(3);
    let att = s.site.attachments("10000").unwrap()[1].id;
    let gets: Vec<(&str, String)> = vec![
        ("/rest/api/3/serverInfo", "/rest/api/3/serverInfo".into()),
        ("/rest/api/3/myself", "/rest/api/3/myself?expand=groups,applicationRoles".into()),
        ("/rest/api/3/mypermissions", "/rest/api/3/mypermissions?permissions=ADMINISTER,BROWSE_PROJECTS".into()),
        ("/rest/api/3/users/search", "/rest/api/3/users/search?maxResults=100".into()),
        ("/rest/api/3/group/bulk", "/rest/api/3/group/bulk".into()),
        ("/rest/api/3/group/member", format!("/rest/api/3/group/member?groupId={g}&includeInactiveUsers=true")),
        ("/rest/api/3/project/search", "/rest/api/3/project/search?status=live&status=archived&expand=description,lead,issueTypes,url,projectKeys,insight".into()),
        ("/rest/api/3/project/{projectIdOrKey}/component", "/rest/api/3/project/10000/component".into()),
        ("/rest/api/3/project/{projectIdOrKey}/version", "/rest/api/3/project/10000/version".into()),
        ("/rest/api/3/project/{projectIdOrKey}/role", "/rest/api/3/project/10000/role".into()),
        ("/rest/api/3/project/{projectIdOrKey}/role/{id}", "/rest/api/3/project/10000/role/10002".into()),
        ("/rest/api/3/project/{projectIdOrKey}/properties", "/rest/api/3/project/10000/properties".into()),
        ("/rest/api/3/project/{projectIdOrKey}/properties/{propertyKey}", "/rest/api/3/project/10000/properties/sim.settings".into()),
        ("/rest/api/3/project/{projectIdOrKey}/avatars", "/rest/api/3/project/10000/avatars".into()),
        ("/rest/api/3/issuetype", "/rest/api/3/issuetype".into()),
        ("/rest/api/3/issuetypescheme", "/rest/api/3/issuetypescheme".into()),
        ("/rest/api/3/screens", "/rest/api/3/screens".into()),
        ("/rest/api/3/screenscheme", "/rest/api/3/screenscheme".into()),
        ("/rest/api/3/field", "/rest/api/3/field".into()),
        ("/rest/api/3/field/{fieldId}/context", "/rest/api/3/field/customfield_10031/context".into()),
        ("/rest/api/3/field/{fieldId}/context/{contextId}/option", "/rest/api/3/field/customfield_10031/context/10103/option".into()),
        ("/rest/api/3/statuses/search", "/rest/api/3/statuses/search".into()),
        ("/rest/api/3/workflows/search", "/rest/api/3/workflows/search".into()),
        ("/rest/api/3/workflowscheme", "/rest/api/3/workflowscheme".into()),
        ("/rest/api/3/permissionscheme", "/rest/api/3/permissionscheme".into()),
        ("/rest/api/3/notificationscheme", "/rest/api/3/notificationscheme".into()),
        ("/rest/api/3/issuesecurityschemes", "/rest/api/3/issuesecurityschemes".into()),
        ("/rest/api/3/fieldconfiguration", "/rest/api/3/fieldconfiguration".into()),
        ("/rest/api/3/fieldconfigurationscheme", "/rest/api/3/fieldconfigurationscheme".into()),
        ("/rest/api/3/priority/search", "/rest/api/3/priority/search".into()),
        ("/rest/api/3/resolution/search", "/rest/api/3/resolution/search".into()),
        ("/rest/api/3/issueLinkType", "/rest/api/3/issueLinkType".into()),
        ("/rest/api/3/filter/search", "/rest/api/3/filter/search".into()),
        ("/rest/api/3/dashboard/search", "/rest/api/3/dashboard/search".into()),
        ("/rest/api/3/dashboard/{dashboardId}/gadget", "/rest/api/3/dashboard/10001/gadget".into()),
        ("/rest/api/3/search/jql", "/rest/api/3/search/jql?jql=project%20%3D%20ALPH&fields=*all".into()),
        ("/rest/api/3/issue/{issueIdOrKey}/comment", "/rest/api/3/issue/10001/comment".into()),
        ("/rest/api/3/issue/{issueIdOrKey}/worklog", "/rest/api/3/issue/10001/worklog".into()),
        ("/rest/api/3/issue/{issueIdOrKey}/changelog", "/rest/api/3/issue/10001/changelog".into()),
        ("/rest/api/3/issue/{issueIdOrKey}/watchers", "/rest/api/3/issue/10001/watchers".into()),
        ("/rest/api/3/issue/{issueIdOrKey}/votes", "/rest/api/3/issue/10001/votes".into()),
        ("/rest/api/3/attachment/{id}", format!("/rest/api/3/attachment/{att}")),
        ("/rest/agile/1.0/board", "/rest/agile/1.0/board".into()),
        ("/rest/agile/1.0/board/{boardId}/configuration", "/rest/agile/1.0/board/1/configuration".into()),
        ("/rest/agile/1.0/board/{boardId}/sprint", "/rest/agile/1.0/board/1/sprint".into()),
    ];
    let mut failures = vec![];
    let mut unschematized = vec![];
    let mut check =
        |spec: &Spec, method: &str, template: &str, status: u16, body: &Value| match spec
            .schema(method, template, status)
        {
            Some(schema) => {
                for e in spec.errors(schema, body) {
                    if SPEC_DEFECTS
                        .iter()
                        .any(|(t, m)| t == &template && e.contains(m))
                    {
                        continue;
                    }
                    failures.push(format!("{method} {template}: {e}"));
                }
            }
            None => unschematized.push(format!("{method} {template}")),
        };
    for (template, path) in &gets {
        let body = c.get(path, 200).await;
        let spec = if template.starts_with("/rest/agile") {
            &software
        } else {
            &platform
        };
        check(spec, "get", template, 200, &body);
    }
    // Issues with the most going on: heavy ones, sub-tasks, links, attachments.
    let some: Vec<String> = (10_000..10_050).map(|i| i.to_string()).collect();
    let issue_ids: Vec<&String> = some
        .iter()
        .filter(|id| {
            let f = &s.site.issue_json(id).unwrap()["fields"];
            !f["remotelink"].is_null()
                || !f["issuelinks"].as_array().unwrap().is_empty()
                || f.get("parent").is_some()
        })
        .collect();
    for id in issue_ids.iter().take(5) {
        let rl = c
            .get(&format!("/rest/api/3/issue/{id}/remotelink"), 200)
            .await;
        check(
            &platform,
            "get",
            "/rest/api/3/issue/{issueIdOrKey}/remotelink",
            200,
            &rl,
        );
        let props = c
            .get(&format!("/rest/api/3/issue/{id}/properties"), 200)
            .await;
        check(
            &platform,
            "get",
            "/rest/api/3/issue/{issueIdOrKey}/properties",
            200,
            &props,
        );
        if let Some(k) = props["keys"][0]["key"].as_str() {
            let p = c
                .get(&format!("/rest/api/3/issue/{id}/properties/{k}"), 200)
                .await;
            check(
                &platform,
                "get",
                "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}",
                200,
                &p,
            );
        }
    }
    // One issue at a time (what per-issue backup scripts do): the same bean bulkfetch returns.
    for id in ["10000", "10001"]
        .into_iter()
        .chain(issue_ids.iter().take(3).map(|s| s.as_str()))
    {
        let one = c.get(&format!("/rest/api/3/issue/{id}"), 200).await;
        check(
            &platform,
            "get",
            "/rest/api/3/issue/{issueIdOrKey}",
            200,
            &one,
        );
        let bulk = c
            .post(
                "/rest/api/3/issue/bulkfetch",
                &json!({"issueIdsOrKeys": [id], "fields": ["*all"]}),
                200,
            )
            .await;
        assert_eq!(
            one, bulk["issues"][0],
            "GET /issue/{id} differs from bulkfetch"
        );
    }
    let one = c
        .get("/rest/api/3/issue/10001?fields=summary,status", 200)
        .await;
    check(
        &platform,
        "get",
        "/rest/api/3/issue/{issueIdOrKey}",
        200,
        &one,
    );
    assert_eq!(one["fields"].as_object().unwrap().len(), 2);
    let body = json!({"issueIdsOrKeys": some.iter().take(100).collect::<Vec<_>>(), "fields": ["*all"], "expand": ["changelog"]});
    let r = c.post("/rest/api/3/issue/bulkfetch", &body, 200).await;
    check(&platform, "post", "/rest/api/3/issue/bulkfetch", 200, &r);
    let r = c
        .post(
            "/rest/api/3/issue/bulkfetch",
            &json!({"issueIdsOrKeys": ["10000", "99999"]}),
            200,
        )
        .await;
    check(&platform, "post", "/rest/api/3/issue/bulkfetch", 200, &r);
    let r = c
        .post(
            "/rest/api/3/search/jql",
            &json!({"jql": "project = ALPH", "maxResults": 5}),
            200,
        )
        .await;
    check(&platform, "post", "/rest/api/3/search/jql", 200, &r);
    let r = c
        .post(
            "/rest/api/3/changelog/bulkfetch",
            &json!({"issueIdsOrKeys": some, "maxResults": 50}),
            200,
        )
        .await;
    check(
        &platform,
        "post",
        "/rest/api/3/changelog/bulkfetch",
        200,
        &r,
    );
    // Error bodies.
    let e = c
        .post("/rest/api/3/search/jql", &json!({"jql": ""}), 400)
        .await;
    check(&platform, "post", "/rest/api/3/search/jql", 400, &e);
    let e = Client::user(&s).get("/rest/api/3/screens", 403).await;
    check(&platform, "get", "/rest/api/3/screens", 403, &e);
    // The document gives no schema for the 404: Jira sends its ErrorCollection.
    let missing = c.get("/rest/api/3/issue/99999", 404).await;
    let hidden_id = 10_000 + s.site.project_first_issue(1);
    let hidden = Client::user(&s)
        .get(&format!("/rest/api/3/issue/{hidden_id}"), 404)
        .await;
    assert_eq!(hidden, missing, "hidden and missing look the same");
    for e in platform.errors(
        json!({"$ref": "#/components/schemas/ErrorCollection"}),
        &missing,
    ) {
        failures.push(format!("get /rest/api/3/issue/{{issueIdOrKey}} 404: {e}"));
    }
    assert_eq!(
        missing["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
    eprintln!(
        "validated {} answers; no JSON schema in the documents for: {unschematized:?}",
        gets.len() + 19
    );
    assert!(
        failures.is_empty(),
        "{} schema violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
