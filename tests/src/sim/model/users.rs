//! Users (active, inactive, deleted, apps) and groups with members.

use serde_json::{json, Value};

use super::rng::{hash, Rng};
use super::Site;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Active,
    Inactive,
    /// Deleted accounts keep their id; Jira shows them as "Former user".
    Deleted,
    App,
}

#[derive(Debug, Clone)]
pub struct UserRec {
    pub account_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub kind: Kind,
    pub time_zone: String,
}

pub const GROUPS: &[&str] = &[
    "jira-administrators",
    "jira-software-users",
    "site-admins",
    "developers",
    "qa-team",
    "support",
    "designers ✏️",
    "contractors",
    "empty-group",
];

const FIRST: &[&str] = &[
    "Alex", "Bea", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lea",
    "Mateo", "Noa", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Ute", "Vera", "李", "محمد",
    "יעל", "Zoë",
];
const LAST: &[&str] = &[
    "Novak", "García", "Okafor", "Schmidt", "Tanaka", "Haddad", "Levi", "Kowalski", "Silva",
    "Ivanova", "Nguyen", "O'Brien", "伟", "علي", "כהן", "Müller",
];
const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "Australia/Sydney",
];

impl Site {
    /// The demo accounts plus the generated users.
    pub fn user_count(&self) -> u64 {
        self.people.len() as u64 + self.dims.users
    }

    pub fn user(&self, u: u64) -> UserRec {
        if let Some(p) = self.people.get(u as usize) {
            return UserRec {
                account_id: p.account_id.clone(),
                display_name: p.display_name.clone(),
                email: Some(p.email.clone()),
                kind: Kind::Active,
                time_zone: p.time_zone.clone(),
            };
        }
        let g = u - self.people.len() as u64;
        let kind = match g {
            g if g % 10 == 9 => Kind::Deleted,
            g if g % 10 == 7 => Kind::Inactive,
            g if g % 25 == 3 => Kind::App,
            _ => Kind::Active,
        };
        let mut r = Rng::derive(self.seed, "user", g);
        let (first, last) = (r.pick(FIRST), r.pick(LAST));
        let account_id = format!("5b10ac8d{:012x}{:04x}", hash(self.seed, "acct", g) >> 16, g);
        let display_name = match kind {
            Kind::Deleted => "Former user".to_string(),
            Kind::App => format!("{first} Bot {g}"),
            _ => format!("{first} {last} {g}"),
        };
        let email = match kind {
            Kind::Deleted | Kind::App => None,
            // Profile privacy hides some addresses.
            _ if r.chance(0.2) => None,
            _ => Some(format!("user{g}@example.com")),
        };
        UserRec {
            account_id,
            display_name,
            email,
            kind,
            time_zone: r.pick(ZONES).to_string(),
        }
    }

    pub fn user_index_of(&self, account_id: &str) -> Option<u64> {
        if let Some(i) = self.people.iter().position(|p| p.account_id == account_id) {
            return Some(i as u64);
        }
        let g = u64::from_str_radix(account_id.get(20..)?, 16).ok()?;
        let u = g + self.people.len() as u64;
        (u < self.user_count() && self.user(u).account_id == account_id).then_some(u)
    }

    pub fn avatar_urls(&self, account_id: &str) -> Value {
        let url = |s: u32| format!("{}/avatar/user/{account_id}.png?s={s}", self.media_url);
        json!({"16x16": url(16), "24x24": url(24), "32x32": url(32), "48x48": url(48)})
    }

    /// The `User` shape of users/search.
    pub fn user_json(&self, u: u64) -> Value {
        let rec = self.user(u);
        let mut v = json!({
            "self": format!("{}/rest/api/3/user?accountId={}", self.base_url, rec.account_id),
            "accountId": rec.account_id,
            "accountType": if rec.kind == Kind::App { "app" } else { "atlassian" },
            "avatarUrls": self.avatar_urls(&rec.account_id),
            "displayName": rec.display_name,
            "active": rec.kind == Kind::Active,
            "locale": "en_US",
        });
        if rec.kind != Kind::Deleted {
            v["timeZone"] = json!(rec.time_zone);
        }
        if let Some(e) = rec.email {
            v["emailAddress"] = json!(e);
        }
        v
    }

    /// The short `UserDetails` shape embedded in issues, comments and members.
    pub fn user_ref(&self, u: u64) -> Value {
        let mut v = self.user_json(u);
        if let Some(o) = v.as_object_mut() {
            o.remove("locale");
        }
        v
    }

    /// The older `UserBean` shape (dashboard owners).
    pub fn user_bean(&self, u: u64) -> Value {
        let v = self.user_json(u);
        json!({"self": v["self"], "accountId": v["accountId"], "active": v["active"],
            "avatarUrls": v["avatarUrls"], "displayName": v["displayName"]})
    }

    /// An active, Jira-using person (assignees, authors): a demo account or a generated one.
    pub fn pick_person(&self, r: &mut Rng) -> u64 {
        loop {
            let u = r.below(self.user_count());
            if (u as usize) < self.people.len() {
                if self.people[u as usize].jira_access {
                    return u;
                }
                continue;
            }
            // Inactive and deleted people still authored history: keep some of them.
            match self.user(u).kind {
                Kind::App => continue,
                Kind::Active => return u,
                _ if r.chance(0.5) => return u,
                _ => continue,
            }
        }
    }

    pub fn group_id(&self, g: usize) -> String {
        let h = hash(self.seed, "group", g as u64);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            h >> 32,
            h & 0xffff,
            g,
            (h >> 20) & 0xfff,
            h >> 16
        )
    }

    pub fn group_index(&self, group_id: &str) -> Option<usize> {
        (0..GROUPS.len()).find(|&g| self.group_id(g) == group_id)
    }

    /// Members of group `g`, inactive ones included, in user order.
    pub fn group_members(&self, g: usize) -> Vec<u64> {
        (0..self.user_count())
            .filter(|&u| {
                let demo = (u as usize) < self.people.len();
                match GROUPS[g] {
                    "jira-administrators" | "site-admins" => demo && self.people[u as usize].admin,
                    "jira-software-users" => {
                        if demo {
                            self.people[u as usize].jira_access
                        } else {
                            !matches!(self.user(u).kind, Kind::Deleted | Kind::App)
                        }
                    }
                    "empty-group" => false,
                    _ => {
                        (demo && g == 3 && u == 1)
                            || (!demo && hash(self.seed, "member", (g as u64) << 32 | u) % 4 == 0)
                    }
                }
            })
            .collect()
    }

    pub fn group_json(&self, g: usize) -> Value {
        json!({"groupId": self.group_id(g), "name": GROUPS[g]})
    }
}
