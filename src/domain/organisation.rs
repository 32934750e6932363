//! The organisation tree: kinds of node and the materialised path that makes
//! "is this inside that subtree" a prefix test.

use std::fmt;
use std::str::FromStr;

use super::ids::OrganisationId;
use super::text_enum::text_enum;

text_enum!(
    /// What a node of the tree is. A `partner` is a shop or service provider;
    /// partner staff are bound to one.
    OrganisationKind {
        City => "city",
        District => "district",
        Street => "street",
        Community => "community",
        Grid => "grid",
        Partner => "partner",
    }
);

text_enum!(
    /// Whether a person may log in.
    UserStatus {
        Active => "active",
        Disabled => "disabled",
    }
);

/// `/root/.../node/`: the ids from the root down to a node, each followed by a
/// slash, so one node's subtree is exactly the paths its own path starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrgPath(String);

impl OrgPath {
    pub fn root(id: OrganisationId) -> Self {
        Self(format!("/{id}/"))
    }

    pub fn child(&self, id: OrganisationId) -> Self {
        Self(format!("{}{id}/", self.0))
    }

    /// True when `other` is this node or below it.
    pub fn contains(&self, other: &OrgPath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The ids from the root down to this node.
    pub fn ids(&self) -> impl Iterator<Item = OrganisationId> + '_ {
        self.0
            .split('/')
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
    }

    pub fn depth(&self) -> usize {
        self.ids().count()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This path with the prefix `from` replaced by `to` (a subtree moving).
    pub fn rebase(&self, from: &OrgPath, to: &OrgPath) -> Option<OrgPath> {
        self.0
            .strip_prefix(&from.0)
            .map(|rest| OrgPath(format!("{}{rest}", to.0)))
    }
}

impl FromStr for OrgPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let inner = s
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix('/'))
            .ok_or_else(|| format!("organisation path {s:?} must start and end with '/'"))?;
        if inner.is_empty() {
            return Err("an organisation path names at least one node".into());
        }
        for part in inner.split('/') {
            part.parse::<OrganisationId>()
                .map_err(|_| format!("organisation path {s:?} holds a bad id {part:?}"))?;
        }
        Ok(Self(s.to_string()))
    }
}

impl fmt::Display for OrgPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_is_a_prefix() {
        let city = OrgPath::root(OrganisationId::generate());
        let a = city.child(OrganisationId::generate());
        let b = city.child(OrganisationId::generate());
        let a1 = a.child(OrganisationId::generate());
        assert!(city.contains(&a1));
        assert!(a.contains(&a1));
        assert!(a.contains(&a));
        assert!(!a.contains(&b));
        assert!(!a1.contains(&a));
        assert_eq!(a1.depth(), 3);
        assert_eq!(a1.to_string().parse::<OrgPath>(), Ok(a1.clone()));
        let moved = a1.rebase(&a, &b.child(OrganisationId::generate()));
        assert!(moved.is_some_and(|m| b.contains(&m) && m.depth() == 4));
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in ["", "/", "//", "abc", "/not-a-uuid/"] {
            assert!(bad.parse::<OrgPath>().is_err(), "{bad}");
        }
    }
}
