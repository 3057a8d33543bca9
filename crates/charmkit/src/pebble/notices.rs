//! Notices: what happened in the container (custom notices, change updates, warnings).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::client::{with_query, Client};
use super::error::Error;
use super::godur;
use super::Result;

/// A notice's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeType {
    /// Recorded by a client (`pebble notify`, [`Client::notify`]); key `example.com/path`.
    Custom,
    /// A change changed status; key the change id.
    ChangeUpdate,
    /// A warning; key the message.
    Warning,
    /// A check failed (key the check's name).
    CheckFailed,
    /// A check recovered (key the check's name).
    CheckRecovered,
    /// A type this client does not know.
    #[serde(untagged)]
    Other(String),
}

impl NoticeType {
    /// The type as Pebble writes it.
    pub fn as_str(&self) -> &str {
        match self {
            NoticeType::Custom => "custom",
            NoticeType::ChangeUpdate => "change-update",
            NoticeType::Warning => "warning",
            NoticeType::CheckFailed => "check-failed",
            NoticeType::CheckRecovered => "check-recovered",
            NoticeType::Other(s) => s,
        }
    }
}

/// One notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Notice {
    /// Its id.
    pub id: String,
    /// The user it belongs to (`None`: public).
    pub user_id: Option<u32>,
    /// Its type.
    pub r#type: NoticeType,
    /// Its key.
    pub key: String,
    /// When it first happened (RFC 3339).
    pub first_occurred: String,
    /// When it last happened (RFC 3339).
    pub last_occurred: String,
    /// When it last repeated (RFC 3339): after `repeat-after` had passed.
    pub last_repeated: String,
    /// How many times it happened.
    pub occurrences: u64,
    /// The data of the last occurrence.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_data: BTreeMap<String, String>,
    /// How long before a new occurrence counts as a repeat (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_after: Option<String>,
    /// How long it is kept after its last occurrence (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_after: Option<String>,
}

impl Notice {
    /// A custom notice `key` (`example.com/thing`) with id `id`, as a workload's `pebble
    /// notify` records it: public to root (user id 0), occurred once now, no data, kept for
    /// Pebble's default week. For tests: `Container::with_notice`.
    pub fn custom(id: &str, key: &str) -> Notice {
        let now = super::wire::now();
        Notice {
            id: id.into(),
            user_id: Some(0),
            r#type: NoticeType::Custom,
            key: key.into(),
            first_occurred: now.clone(),
            last_occurred: now.clone(),
            last_repeated: now,
            occurrences: 1,
            last_data: BTreeMap::new(),
            repeat_after: None,
            expire_after: Some("168h0m0s".into()),
        }
    }

    /// With `key` = `value` in its last data.
    pub fn with_data(mut self, key: &str, value: &str) -> Notice {
        self.last_data.insert(key.into(), value.into());
        self
    }
}

/// Which notices [`Client::notices`] returns (all of them when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticesFilter {
    /// Only these types.
    pub types: Vec<NoticeType>,
    /// Only these keys.
    pub keys: Vec<String>,
    /// Only those repeated after this time (RFC 3339).
    pub after: Option<String>,
    /// Every user's notices, not only the caller's and public ones (admins only).
    pub all_users: bool,
}

#[derive(Deserialize)]
struct Added {
    id: String,
}

impl Client {
    /// The notices `filter` selects, oldest first.
    pub fn notices(&self, filter: &NoticesFilter) -> Result<Vec<Notice>> {
        let types: Vec<&str> = filter.types.iter().map(NoticeType::as_str).collect();
        let path = with_query(
            "/v1/notices",
            &[
                ("types", types.join(",")),
                ("keys", filter.keys.join(",")),
                ("after", filter.after.clone().unwrap_or_default()),
                (
                    "users",
                    if filter.all_users {
                        "all".into()
                    } else {
                        String::new()
                    },
                ),
            ],
        );
        self.get(&path)
    }

    /// One notice by id (an [`Error::Api`] of status 404 if there is none).
    pub fn notice(&self, id: &str) -> Result<Notice> {
        self.get(&format!("/v1/notices/{}", super::client::encode(id)))
    }

    /// Records a custom notice with `key` (`example.com/path` form) and `data`; an occurrence
    /// within `repeat_after` of the last repeat does not count as a repeat. Returns its id.
    pub fn notify(
        &self,
        key: &str,
        data: &BTreeMap<String, String>,
        repeat_after: Option<Duration>,
    ) -> Result<String> {
        let mut body = Map::new();
        body.insert("action".into(), json!("add"));
        body.insert("type".into(), json!("custom"));
        body.insert("key".into(), json!(key));
        if let Some(r) = repeat_after {
            body.insert("repeat-after".into(), json!(godur::format(r)));
        }
        if !data.is_empty() {
            body.insert("data".into(), json!(data));
        }
        let added: Added = self.post("/v1/notices", &Json::Object(body))?;
        if added.id.is_empty() {
            return Err(Error::protocol("POST /v1/notices", "no notice id"));
        }
        Ok(added.id)
    }
}
