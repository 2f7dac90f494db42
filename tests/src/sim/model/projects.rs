//! Projects (one archived, one hidden from the non-admin) with components, versions, roles,
//! properties and avatars; filters, dashboards, boards and sprints.

use serde_json::{json, Value};

use super::rng::{hash, Rng};
use super::text::{timestamp, EPOCH};
use super::{Site, ID0};

/// The project the non-admin demo user may not browse.
pub const RESTRICTED: u64 = 1;
/// Project role ids and names.
pub const ROLES: &[(u64, &str)] = &[
    (10000, "Users"),
    (10001, "Developers"),
    (10002, "Administrators"),
];

const NAMES: &[&str] = &[
    "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliett",
    "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo", "Sierra", "Tango",
    "Uniform", "Victor", "Whiskey", "Xray", "Yankee", "Zulu",
];

impl Site {
    pub fn project_key(&self, p: u64) -> String {
        let name = NAMES[(p % 26) as usize].to_uppercase();
        if p < 26 {
            name[..4].to_string()
        } else {
            format!("{}{}", &name[..3], p / 26 + 1)
        }
    }

    pub fn project_name(&self, p: u64) -> String {
        let suffix = ["", " 🚀", " 日本", " مشروع", " פרויקט"][(p % 5) as usize];
        format!("{} Project{suffix}", NAMES[(p % 26) as usize])
    }

    /// The last project is archived.
    pub fn project_archived(&self, p: u64) -> bool {
        p == self.dims.projects - 1
    }

    pub fn project_index(&self, id_or_key: &str) -> Option<u64> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            return id.checked_sub(ID0).filter(|&p| p < self.dims.projects);
        }
        (0..self.dims.projects).find(|&p| self.project_key(p).eq_ignore_ascii_case(id_or_key))
    }

    pub fn project_avatar_urls(&self, p: u64) -> Value {
        let u = |s: &str| {
            format!(
                "{}/rest/api/3/universal_avatar/view/type/project/avatar/{}?size={s}",
                self.base_url,
                10500 + p
            )
        };
        json!({"16x16": u("xsmall"), "24x24": u("small"), "32x32": u("medium"), "48x48": u("large")})
    }

    /// The short project shape embedded in issues.
    pub fn project_ref(&self, p: u64) -> Value {
        json!({"self": format!("{}/rest/api/3/project/{}", self.base_url, ID0 + p), "id": (ID0 + p).to_string(),
            "key": self.project_key(p), "name": self.project_name(p), "projectTypeKey": "software",
            "simplified": false, "avatarUrls": self.project_avatar_urls(p)})
    }

    pub fn project_json(&self, p: u64, expand: &str) -> Value {
        let mut v = self.project_ref(p);
        v["style"] = json!("classic");
        v["isPrivate"] = json!(false);
        v["properties"] = json!({});
        v["archived"] = json!(self.project_archived(p));
        if self.project_archived(p) {
            v["archivedDate"] = json!(timestamp(EPOCH + 300 * 86_400));
        }
        v["expand"] = json!("description,lead,issueTypes,url,projectKeys,permissions,insight");
        for e in expand.split(',').map(str::trim) {
            match e {
                "description" => {
                    v["description"] =
                        json!(format!("Everything about {} — 说明", self.project_name(p)))
                }
                "lead" => v["lead"] = self.user_ref(p % 2),
                "issueTypes" => {
                    v["issueTypes"] = (0..super::config::ISSUE_TYPES.len())
                        .map(|t| self.issue_type_json(t))
                        .collect()
                }
                "url" => {
                    v["url"] = json!(format!(
                        "https://example.com/projects/{}",
                        self.project_key(p)
                    ))
                }
                // `projectKeys` is accepted but not returned: the Project schema does not allow it.
                "insight" => {
                    v["insight"] = json!({"totalIssueCount": self.project_issues(p).len(), "lastIssueUpdateTime": timestamp(EPOCH + 400 * 86_400)})
                }
                _ => {}
            }
        }
        v
    }

    pub fn component_count(&self, p: u64) -> u64 {
        2 + hash(self.seed, "components", p) % 6
    }

    pub fn components(&self, p: u64) -> Vec<Value> {
        (0..self.component_count(p)).map(|c| {
            let id = ID0 + p * 10 + c;
            json!({"self": format!("{}/rest/api/3/component/{id}", self.base_url), "id": id.to_string(),
                "name": format!("{} component {c}", self.project_key(p)), "description": "",
                "project": self.project_key(p), "projectId": ID0 + p, "assigneeType": "PROJECT_DEFAULT",
                "realAssigneeType": "PROJECT_DEFAULT", "isAssigneeTypeValid": false, "issueCount": 0})
        }).collect()
    }

    /// Project 0 has more versions than a default page.
    pub fn version_count(&self, p: u64) -> u64 {
        if p == 0 {
            60
        } else {
            1 + hash(self.seed, "versions", p) % 10
        }
    }

    pub fn versions(&self, p: u64) -> Vec<Value> {
        let n = self.version_count(p);
        (0..n).map(|v| {
            let id = ID0 + p * 100 + v;
            json!({"self": format!("{}/rest/api/3/version/{id}", self.base_url), "id": id.to_string(),
                "name": format!("v{}.{}", v / 10 + 1, v % 10), "description": "", "archived": v + 5 < n && v % 4 == 0,
                "released": v + 2 < n, "releaseDate": timestamp(EPOCH + v as i64 * 14 * 86_400)[..10].to_string(),
                "projectId": ID0 + p})
        }).collect()
    }

    pub fn role_json(&self, p: u64, r: usize) -> Value {
        let (id, name) = ROLES[r];
        let mut rng = Rng::derive(self.seed, "role", p * 8 + r as u64);
        let mut actors = vec![];
        for k in 0..rng.range(1, 3) {
            let u = if r == 2 && k == 0 {
                0
            } else {
                self.pick_person(&mut rng)
            };
            let rec = self.user(u);
            actors.push(
                json!({"id": 20000 + p * 100 + r as u64 * 10 + k, "displayName": rec.display_name,
                "type": "atlassian-user-role-actor", "actorUser": {"accountId": rec.account_id}}),
            );
        }
        let g = if r == 2 { 0 } else { 3 + r };
        actors.push(json!({"id": 20000 + p * 100 + r as u64 * 10 + 9, "displayName": super::users::GROUPS[g],
            "name": super::users::GROUPS[g], "type": "atlassian-group-role-actor",
            "actorGroup": {"name": super::users::GROUPS[g], "displayName": super::users::GROUPS[g], "groupId": self.group_id(g)}}));
        json!({"self": format!("{}/rest/api/3/project/{}/role/{id}", self.base_url, ID0 + p), "name": name,
            "id": id, "description": format!("{name} of the project"), "actors": actors,
            "scope": {"type": "PROJECT", "project": {"id": (ID0 + p).to_string()}}})
    }

    pub fn project_properties(&self, p: u64) -> Vec<(String, Value)> {
        (0..1 + hash(self.seed, "pprops", p) % 3).map(|k| {
            let key = ["sim.settings", "backup.marker", "ünïcode.schlüssel"][k as usize].to_string();
            (key, json!({"project": self.project_key(p), "n": k, "nested": {"list": [1, 2, 3], "text": "値"}}))
        }).collect()
    }

    pub fn project_avatars(&self, p: u64) -> Value {
        let av = |id: u64, system: bool| {
            let u = |s: &str| {
                format!(
                    "{}/rest/api/3/universal_avatar/view/type/project/avatar/{id}?size={s}",
                    self.base_url
                )
            };
            let mut a = json!({"id": id.to_string(), "isSystemAvatar": system, "isSelected": !system,
                "isDeletable": !system, "urls": {"16x16": u("xsmall"), "24x24": u("small"), "32x32": u("medium"), "48x48": u("large")}});
            if !system {
                a["owner"] = json!((ID0 + p).to_string());
            }
            a
        };
        json!({"system": [av(10400, true), av(10401, true)], "custom": [av(10500 + p, false)]})
    }

    pub fn filter_count(&self) -> u64 {
        2 * self.dims.projects + 1
    }

    /// Owner user index and whether the non-admin demo user can see filter `f`.
    fn shared_thing(&self, f: u64) -> (u64, Value, bool) {
        let p = f % self.dims.projects;
        match f % 5 {
            0 => (0, json!([]), false),
            1 | 3 => (0, json!([{"id": 30000 + f, "type": "global"}]), true),
            2 => (
                0,
                json!([{"id": 30000 + f, "type": "project", "project": self.project_ref(p)}]),
                self.may_browse(p, false),
            ),
            _ => (1, json!([]), true),
        }
    }

    pub fn filter_visible(&self, f: u64, admin: bool) -> bool {
        admin || self.shared_thing(f).2
    }

    pub fn filter_json(&self, f: u64) -> Value {
        let (owner, share, _) = self.shared_thing(f);
        let p = f % self.dims.projects;
        let id = ID0 + f;
        json!({"self": format!("{}/rest/api/3/filter/{id}", self.base_url), "id": id.to_string(),
            "name": format!("Filter {f}: {} open work", self.project_key(p)), "description": "",
            "owner": self.user_ref(owner), "jql": format!("project = {} ORDER BY id", self.project_key(p)),
            "favourite": f % 2 == 0, "favouritedCount": f % 4, "sharePermissions": share, "editPermissions": [],
            "subscriptions": [], "viewUrl": format!("{}/issues/?filter={id}", self.base_url),
            "searchUrl": format!("{}/rest/api/3/search/jql?jql=filter%3D{id}", self.base_url)})
    }

    pub fn dashboard_count(&self) -> u64 {
        self.dims.projects + 1
    }

    pub fn dashboard_visible(&self, d: u64, admin: bool) -> bool {
        // Dashboards have no admin override: only the caller's own or shared ones.
        let (owner, _, shared) = self.shared_thing(d);
        if admin {
            owner == 0 || shared
        } else {
            shared
        }
    }

    pub fn dashboard_json(&self, d: u64) -> Value {
        let (owner, share, _) = self.shared_thing(d);
        let id = ID0 + d;
        json!({"self": format!("{}/rest/api/3/dashboard/{id}", self.base_url), "id": id.to_string(),
            "name": format!("Dashboard {d} 📊"), "description": "", "owner": self.user_bean(owner),
            "isFavourite": d % 2 == 0, "popularity": d % 3, "sharePermissions": share, "editPermissions": [],
            "view": format!("{}/jira/dashboards/{id}", self.base_url), "isWritable": owner == 0})
    }

    pub fn gadgets(&self, d: u64) -> Vec<Value> {
        const MODULES: [&str; 4] = [
            "com.atlassian.jira.gadgets:filter-results-gadget",
            "com.atlassian.jira.gadgets:pie-chart-gadget",
            "com.atlassian.jira.gadgets:assigned-to-me-gadget",
            "com.atlassian.jira.gadgets:activity-stream-gadget",
        ];
        const COLORS: [&str; 4] = ["blue", "red", "yellow", "green"];
        (0..2 + hash(self.seed, "gadgets", d) % 3)
            .map(|g| {
                json!({
            "id": ID0 + d * 10 + g, "moduleKey": MODULES[g as usize],
            "color": COLORS[g as usize], "title": format!("Gadget {g}"),
            "position": {"row": g / 2, "column": g % 2}})
            })
            .collect()
    }

    /// One board per project; even ones are scrum.
    pub fn board_count(&self) -> u64 {
        self.dims.projects
    }

    pub fn board_json(&self, b: u64) -> Value {
        json!({"id": b + 1, "self": format!("{}/rest/agile/1.0/board/{}", self.base_url, b + 1),
            "name": format!("{} board", self.project_key(b)), "type": if b % 2 == 0 { "scrum" } else { "kanban" },
            "location": {"projectId": ID0 + b, "projectKey": self.project_key(b), "projectName": self.project_name(b),
                "projectTypeKey": "software", "displayName": self.project_name(b), "name": self.project_name(b)}})
    }

    pub fn board_configuration(&self, b: u64) -> Value {
        let col = |name: &str, st: &[usize]| {
            json!({"name": name, "statuses": st.iter().map(|&s| json!({
            "id": super::config::STATUSES[s].0.to_string(), "self": format!("{}/rest/api/3/status/{}", self.base_url, super::config::STATUSES[s].0)})).collect::<Vec<_>>()})
        };
        json!({"id": b + 1, "name": format!("{} board", self.project_key(b)),
            "type": if b % 2 == 0 { "scrum" } else { "kanban" },
            "self": format!("{}/rest/agile/1.0/board/{}/configuration", self.base_url, b + 1),
            "location": {"type": "project", "projectKeyOrId": (ID0 + b).to_string()},
            "filter": {"id": (ID0 + b).to_string(), "self": format!("{}/rest/api/3/filter/{}", self.base_url, ID0 + b)},
            "columnConfig": {"constraintType": "issueCount", "columns": [col("To Do", &[0]), col("In Progress", &[1, 2]), col("Done", &[3, 4])]},
            "estimation": {"type": "field", "field": {"fieldId": "customfield_10010", "displayName": "Story Points"}},
            "ranking": {"rankCustomFieldId": 10019}})
    }

    /// Board 0 has more sprints than the agile cap of 50; kanban boards none.
    pub fn sprint_count(&self, b: u64) -> u64 {
        match b {
            0 => 57,
            b if b % 2 == 1 => 0,
            b => 1 + hash(self.seed, "sprints", b) % 6,
        }
    }

    pub fn sprint_json(&self, b: u64, s: u64) -> Value {
        let n = self.sprint_count(b);
        let id = (b + 1) * 1000 + s + 1;
        let start = EPOCH + s as i64 * 14 * 86_400;
        let state = if s + 2 < n {
            "closed"
        } else if s + 2 == n {
            "active"
        } else {
            "future"
        };
        let mut v = json!({"id": id, "self": format!("{}/rest/agile/1.0/sprint/{id}", self.base_url), "state": state,
            "name": format!("{} Sprint {}", self.project_key(b), s + 1), "originBoardId": b + 1,
            "goal": if s % 3 == 0 { "Ship it 🚢" } else { "" }});
        if state != "future" {
            v["startDate"] = json!(timestamp(start).replace("+0000", "Z"));
            v["endDate"] = json!(timestamp(start + 14 * 86_400).replace("+0000", "Z"));
        }
        if state == "closed" {
            v["completeDate"] = json!(timestamp(start + 14 * 86_400).replace("+0000", "Z"));
        }
        v
    }
}
