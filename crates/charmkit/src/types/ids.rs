//! Juju's names and ids, as every layer compares them: the application of a unit name, a
//! relation's id (`endpoint:N`), a secret's canonical id.

use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// The application of a unit name (`tempo/0` → `tempo`); `None` if it has no `/`.
pub fn app_of(unit: &str) -> Option<&str> {
    unit.rsplit_once('/').map(|(app, _)| app)
}

/// A relation's id as Juju writes it: the local endpoint name and a number, `charm-tracing:5`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct RelationId {
    /// The local endpoint, e.g. `charm-tracing`.
    pub endpoint: String,
    /// The model-wide relation number.
    pub id: u32,
}

impl RelationId {
    /// `endpoint:id`.
    pub fn new(endpoint: impl Into<String>, id: u32) -> Self {
        RelationId {
            endpoint: endpoint.into(),
            id,
        }
    }
}

impl fmt::Display for RelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.endpoint, self.id)
    }
}

impl FromStr for RelationId {
    type Err = ParseError;

    /// Parses `endpoint:id` (the form of `relation-ids` and `JUJU_RELATION_ID`).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError::new("relation id", s);
        let (endpoint, id) = s.rsplit_once(':').ok_or_else(err)?;
        if endpoint.is_empty() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        Ok(RelationId::new(endpoint, id.parse().map_err(|_| err())?))
    }
}

/// The canonical form of a secret id, so that ids from `secret-add` (`secret://<model>/<id>`
/// on Juju 3.6, `secret:<id>` on older 3.x), `secret-ids` and `secret-info-get` (a bare
/// `<id>`), `JUJU_SECRET_ID` and relation data all compare equal.
///
/// As ops' `Secret._canonicalize_id`: surrounding whitespace goes, and a bare id gets
/// `secret://<model-uuid>/` when the model is known, else `secret:`. Unlike ops, `secret:<id>`
/// also becomes `secret://<model-uuid>/<id>` when the model is known: Juju reads both as the
/// same secret of this model, and ops' rule leaves them unequal. An id of another model
/// (`secret://<other>/<id>`) is kept as it is.
pub fn canonical_secret_id(id: &str, model_uuid: Option<&str>) -> String {
    let id = id.trim();
    let model_uuid = model_uuid.filter(|u| !u.is_empty());
    match (id.strip_prefix("secret:"), model_uuid) {
        (Some(rest), _) if rest.starts_with("//") => id.to_string(),
        (Some(rest), Some(m)) => format!("secret://{m}/{rest}"),
        (Some(_), None) => id.to_string(),
        (None, Some(m)) => format!("secret://{m}/{id}"),
        (None, None) => format!("secret:{id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid() -> RelationId {
        RelationId::new("charm-tracing", 5)
    }

    #[test]
    fn relation_id_parses_and_displays() {
        let r: RelationId = "charm-tracing:5".parse().unwrap();
        assert_eq!(r, rid());
        assert_eq!(r.to_string(), "charm-tracing:5");
        for bad in ["", "5", ":5", "db:", "db:x", "db:-1", "db:99999999999"] {
            assert!(bad.parse::<RelationId>().is_err(), "{bad}");
        }
    }
}
