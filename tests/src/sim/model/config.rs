//! Site configuration: issue types, statuses, fields with contexts and options, workflows and
//! the schemes. Small and fixed in shape; names vary with nothing but the ids.

use serde_json::{json, Value};

use super::Site;

/// (id, name, subtask, hierarchy level)
pub const ISSUE_TYPES: &[(u64, &str, bool, i64)] = &[
    (10000, "Epic", false, 1),
    (10001, "Story", false, 0),
    (10002, "Task", false, 0),
    (10003, "Bug", false, 0),
    (10004, "Sub-task", true, -1),
];
/// (id, name, category key)
pub const STATUSES: &[(u64, &str, &str)] = &[
    (10000, "To Do", "new"),
    (10001, "In Progress", "indeterminate"),
    (10002, "In Review", "indeterminate"),
    (10003, "Done", "done"),
    (10004, "Won't Do ❌", "done"),
];
pub const PRIORITIES: &[(u64, &str, &str)] = &[
    (1, "Highest", "#d04437"),
    (2, "High", "#f15C75"),
    (3, "Medium", "#f79232"),
    (4, "Low", "#707070"),
    (5, "Lowest", "#999999"),
];
pub const RESOLUTIONS: &[(u64, &str)] = &[
    (10000, "Done"),
    (10001, "Won't Do"),
    (10002, "Duplicate"),
    (10003, "Cannot Reproduce"),
];
/// (id, name, inward, outward)
pub const LINK_TYPES: &[(u64, &str, &str, &str)] = &[
    (10000, "Blocks", "is blocked by", "blocks"),
    (10001, "Cloners", "is cloned by", "clones"),
    (10002, "Duplicate", "is duplicated by", "duplicates"),
    (10003, "Relates", "relates to", "relates to"),
];
/// Custom fields: (id number, name, type key, options in its one context).
pub const CUSTOM_FIELDS: &[(u64, &str, &str, u64)] = &[
    (10010, "Story Points", "float", 0),
    (10020, "Sprint", "gh-sprint", 0),
    (10030, "Severity", "select", 5),
    // More options than one page of the option endpoint (cap 100).
    (10031, "Country", "select", 230),
    (10032, "Notes (多言語)", "textarea", 0),
];
const SYSTEM_FIELDS: &[(&str, &str, &str)] = &[
    ("summary", "Summary", "string"),
    ("description", "Description", "string"),
    ("issuetype", "Issue Type", "issuetype"),
    ("project", "Project", "project"),
    ("status", "Status", "status"),
    ("priority", "Priority", "priority"),
    ("resolution", "Resolution", "resolution"),
    ("resolutiondate", "Resolved", "datetime"),
    ("assignee", "Assignee", "user"),
    ("reporter", "Reporter", "user"),
    ("creator", "Creator", "user"),
    ("created", "Created", "datetime"),
    ("updated", "Updated", "datetime"),
    ("duedate", "Due date", "date"),
    ("labels", "Labels", "array"),
    ("components", "Components", "array"),
    ("fixVersions", "Fix versions", "array"),
    ("attachment", "Attachment", "array"),
    ("comment", "Comment", "comments-page"),
    ("worklog", "Log Work", "array"),
    ("issuelinks", "Linked Issues", "array"),
    ("subtasks", "Sub-tasks", "array"),
    ("parent", "Parent", "issuelink"),
    ("watches", "Watchers", "watches"),
    ("votes", "Votes", "votes"),
    ("timetracking", "Time tracking", "timetracking"),
];

fn url(s: &Site, path: &str) -> String {
    format!("{}/rest/api/3/{path}", s.base_url)
}

pub fn status_category(key: &str) -> Value {
    let (id, name, color) = match key {
        "new" => (2, "To Do", "blue-gray"),
        "done" => (3, "Done", "green"),
        _ => (4, "In Progress", "yellow"),
    };
    json!({"id": id, "key": key, "name": name, "colorName": color})
}

pub fn fields() -> Vec<(String, &'static str, bool, &'static str)> {
    let mut v: Vec<_> = SYSTEM_FIELDS
        .iter()
        .map(|(id, n, t)| (id.to_string(), *n, false, *t))
        .collect();
    v.extend(
        CUSTOM_FIELDS
            .iter()
            .map(|(id, n, t, _)| (format!("customfield_{id}"), *n, true, *t)),
    );
    v
}

impl Site {
    pub fn issue_type_json(&self, t: usize) -> Value {
        let (id, name, subtask, level) = ISSUE_TYPES[t];
        json!({"self": url(self, &format!("issuetype/{id}")), "id": id.to_string(), "name": name,
            "description": format!("A {name}."), "subtask": subtask, "hierarchyLevel": level,
            "avatarId": 10300 + t as i64,
            "iconUrl": format!("{}/rest/api/3/universal_avatar/view/type/issuetype/avatar/{}?size=medium", self.base_url, 10300 + t)})
    }

    pub fn status_json(&self, s: usize) -> Value {
        let (id, name, cat) = STATUSES[s];
        json!({"self": url(self, &format!("status/{id}")), "id": id.to_string(), "name": name,
            "description": "", "iconUrl": format!("{}/images/icons/statuses/generic.png", self.base_url),
            "statusCategory": status_category(cat)})
    }

    /// The `JiraStatus` shape of statuses/search.
    pub fn status_search_json(&self, s: usize) -> Value {
        let (id, name, cat) = STATUSES[s];
        let cat = match cat {
            "new" => "TODO",
            "done" => "DONE",
            _ => "IN_PROGRESS",
        };
        json!({"id": id.to_string(), "name": name, "statusCategory": cat, "description": "",
            "scope": {"type": "GLOBAL"}})
    }

    pub fn priority_json(&self, p: usize) -> Value {
        let (id, name, color) = PRIORITIES[p];
        json!({"self": url(self, &format!("priority/{id}")), "id": id.to_string(), "name": name,
            "statusColor": color, "description": format!("{name} priority"), "isDefault": id == 3,
            "iconUrl": format!("{}/images/icons/priorities/{}.svg", self.base_url, name.to_lowercase())})
    }

    pub fn resolution_json(&self, r: usize) -> Value {
        let (id, name) = RESOLUTIONS[r];
        json!({"self": url(self, &format!("resolution/{id}")), "id": id.to_string(), "name": name,
            "description": format!("Resolved: {name}")})
    }

    pub fn link_type_json(&self, l: usize) -> Value {
        let (id, name, inward, outward) = LINK_TYPES[l];
        json!({"self": url(self, &format!("issueLinkType/{id}")), "id": id.to_string(), "name": name,
            "inward": inward, "outward": outward})
    }

    pub fn field_json(&self, f: &(String, &str, bool, &str)) -> Value {
        let (id, name, custom, kind) = f;
        let mut schema = json!({"type": kind});
        if *custom {
            schema = json!({"type": if *kind == "select" { "option" } else { kind }, "custom":
                format!("com.atlassian.jira.plugin.system.customfieldtypes:{kind}"),
                "customId": id.trim_start_matches("customfield_").parse::<i64>().unwrap_or(0)});
        } else {
            schema["system"] = json!(id);
        }
        json!({"id": id, "key": id, "name": name, "custom": custom, "orderable": true,
            "navigable": true, "searchable": true, "clauseNames": [name.to_lowercase()], "schema": schema})
    }

    /// One global context per custom field: id 10100 + field index.
    pub fn field_contexts(&self, field_id: &str) -> Option<Vec<Value>> {
        let c = CUSTOM_FIELDS
            .iter()
            .position(|f| format!("customfield_{}", f.0) == field_id)?;
        Some(vec![
            json!({"id": (10100 + c).to_string(), "name": format!("Default context for {}", CUSTOM_FIELDS[c].1),
            "description": "", "isGlobalContext": true, "isAnyIssueType": true}),
        ])
    }

    pub fn field_options(&self, field_id: &str, context_id: &str) -> Option<Vec<Value>> {
        let c = CUSTOM_FIELDS
            .iter()
            .position(|f| format!("customfield_{}", f.0) == field_id)?;
        if context_id != (10100 + c).to_string() {
            return None;
        }
        Some(
            (0..CUSTOM_FIELDS[c].3)
                .map(|o| self.option_json(c, o))
                .collect(),
        )
    }

    pub fn option_json(&self, c: usize, o: u64) -> Value {
        let value = match CUSTOM_FIELDS[c].1 {
            "Severity" => [
                "S1 critical",
                "S2 major",
                "S3 normal",
                "S4 minor",
                "S5 cosmetic",
            ][o as usize % 5]
                .to_string(),
            _ => format!(
                "Country {o:03} {}",
                ["🇩🇪", "日本", "مصر", "ישראל", "Ísland"][o as usize % 5]
            ),
        };
        json!({"id": (20000 + c as u64 * 1000 + o).to_string(), "value": value, "disabled": o % 37 == 36})
    }

    pub fn issue_type_schemes(&self) -> Vec<Value> {
        vec![
            json!({"id": "10000", "name": "Default Issue Type Scheme", "description": "All issue types", "isDefault": true}),
            json!({"id": "10001", "name": "Software scheme", "description": "", "defaultIssueTypeId": "10001"}),
        ]
    }

    pub fn screens(&self) -> Vec<Value> {
        [
            "Default Screen",
            "Resolve Issue Screen",
            "Workflow Screen",
            "Bug Screen",
            "Story Screen",
            "Épica pantalla",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": 10000 + i, "name": n, "description": ""}))
        .collect()
    }

    pub fn screen_schemes(&self) -> Vec<Value> {
        (0..3)
            .map(|i| {
                json!({"id": 10000 + i, "name": format!("Screen scheme {i}"), "description": "",
                "screens": {"default": 10000 + i, "view": 10003, "edit": 10000}})
            })
            .collect()
    }

    pub fn workflows(&self) -> Vec<Value> {
        ["Software Simplified Workflow", "Bug Workflow 🐞"]
            .iter()
            .enumerate()
            .map(|(w, name)| {
                let statuses: Vec<Value> = STATUSES.iter().take(4 + w).map(|(id, _, _)| json!({
                    "statusReference": id.to_string(), "properties": {}, "deprecated": false,
                    "layout": {"x": 0.0, "y": 0.0}})).collect();
                let transitions: Vec<Value> = STATUSES.iter().take(4 + w).enumerate().map(|(t, (id, n, _))| json!({
                    "id": (t * 10 + 11).to_string(), "name": format!("To {n}"), "description": "",
                    "toStatusReference": id.to_string(), "type": if t == 0 { "INITIAL" } else { "GLOBAL" },
                    "links": [], "properties": {}, "actions": [], "validators": [], "triggers": []})).collect();
                json!({"id": format!("b9ff2384-d3b6-4d4e-9509-3ee19f60{:04x}", w), "name": name,
                    "description": "", "scope": {"type": "GLOBAL"}, "statuses": statuses,
                    "transitions": transitions, "isEditable": true,
                    "version": {"id": format!("f010ac1b-3dd3-4a4c-9de2-7f6a4d1d{:04x}", w), "versionNumber": 1}})
            })
            .collect()
    }

    pub fn workflow_schemes(&self) -> Vec<Value> {
        (0..2)
            .map(|i| {
                json!({"id": 10000 + i, "name": format!("Workflow scheme {i}"), "description": "",
                "defaultWorkflow": "Software Simplified Workflow",
                "issueTypeMappings": {"10003": "Bug Workflow 🐞"},
                "self": url(self, &format!("workflowscheme/{}", 10000 + i))})
            })
            .collect()
    }

    pub fn permission_schemes(&self) -> Vec<Value> {
        (0..2)
            .map(|i| json!({"id": 10000 + i, "name": format!("Permission scheme {i}"), "description": "",
                "self": url(self, &format!("permissionscheme/{}", 10000 + i)),
                "permissions": [
                    {"id": 10100 + i * 10, "permission": "BROWSE_PROJECTS", "holder": {"type": "applicationRole", "parameter": "", "value": ""}},
                    {"id": 10101 + i * 10, "permission": "ADMINISTER_PROJECTS", "holder": {"type": "projectRole", "parameter": "10002", "value": "10002"}}
                ]}))
            .collect()
    }

    pub fn notification_schemes(&self) -> Vec<Value> {
        (0..2)
            .map(|i| json!({"id": 10000 + i, "name": format!("Notification scheme {i}"), "description": "",
                "self": url(self, &format!("notificationscheme/{}", 10000 + i)), "expand": "notificationSchemeEvents,user,group,projectRole,field,all",
                "notificationSchemeEvents": [{"event": {"id": 1, "name": "Issue created", "description": ""},
                    "notifications": [{"id": 1, "notificationType": "CurrentAssignee"}]}]}))
            .collect()
    }

    pub fn security_schemes(&self) -> Vec<Value> {
        vec![
            json!({"id": 10000, "name": "Confidential", "description": "Hide sensitive issues",
            "self": url(self, "issuesecurityschemes/10000"), "defaultSecurityLevelId": 10100,
            "levels": [{"id": "10100", "name": "Staff", "description": "", "self": url(self, "securitylevel/10100")},
                       {"id": "10101", "name": "Management", "description": "", "self": url(self, "securitylevel/10101")}]}),
        ]
    }

    pub fn field_configurations(&self) -> Vec<Value> {
        vec![
            json!({"id": 10000, "name": "Default Field Configuration", "description": "The default", "isDefault": true}),
            json!({"id": 10001, "name": "Bug field configuration", "description": ""}),
        ]
    }

    pub fn field_configuration_schemes(&self) -> Vec<Value> {
        vec![json!({"id": "10000", "name": "Bug scheme", "description": ""})]
    }
}
