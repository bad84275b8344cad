//! Roles: who the app runs as, which classifications each role may see, whether it may
//! see data about individuals unaggregated, and the k of k-anonymity. Defined in the
//! scene (`roles: (...)`), with a default set when the scene says nothing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::twin::access::AccessError;
use crate::twin::access::privacy::{DEFAULT_CELL_M, HexGrid};
use crate::twin::gis::layer::Classification;

/// Smallest number of records a cell of aggregated personal data must hold to be shown to
/// a role without clearance (the k of k-anonymity), when the scene does not set it.
pub const DEFAULT_K_ANONYMITY: usize = 5;

/// Smallest hex cell size for aggregated personal data, metres: smaller cells come near
/// pointing at single buildings.
pub const MIN_CELL_M: f64 = 50.0;
/// Largest hex cell size for aggregated personal data, metres.
pub const MAX_CELL_M: f64 = 10_000.0;

/// The role the app runs as when neither the command line nor the scene names one: the
/// least privileged, so that forgetting `--role` never shows what should be withheld.
pub const DEFAULT_ROLE: &str = "public";

/// The roles of a scene, the default role and k (RON: the scene's `roles` field).
///
/// ```ron
/// roles: (
///     k_anonymity: 5,
///     cell_m: 250.0,
///     default_role: "public",
///     roles: [
///         (name: "public", sees: [public]),
///         (name: "staff", sees: [public, internal], individual_data: true),
///     ],
/// ),
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessSpec {
    /// The roles; names are unique.
    pub roles: Vec<RoleSpec>,
    /// Cells of aggregated personal data with fewer records are suppressed (≥ 2).
    pub k_anonymity: usize,
    /// Size of the hex cells personal data is aggregated to for roles without clearance,
    /// metres between opposite edges.
    pub cell_m: f64,
    /// The role used when `--role` is not given.
    pub default_role: String,
}

/// One role as written in the scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Role name, as given to `--role`.
    pub name: String,
    /// The classifications the role may see.
    pub sees: Vec<Classification>,
    /// Whether the role may see data about individuals (service requests, complaints)
    /// record by record; without it such data is shown only aggregated, k-anonymous.
    #[serde(default)]
    pub individual_data: bool,
}

impl Default for AccessSpec {
    /// The default set: `public` sees public data; `staff` also internal data and
    /// individual records; `planner` everything, records included; `mayor` everything
    /// classified, but individual records only aggregated (a briefing needs no addresses).
    fn default() -> Self {
        use Classification::*;
        let role = |name: &str, sees: &[Classification], individual_data: bool| RoleSpec {
            name: name.to_string(),
            sees: sees.to_vec(),
            individual_data,
        };
        AccessSpec {
            roles: vec![
                role("public", &[Public], false),
                role("staff", &[Public, Internal], true),
                role("planner", &[Public, Internal, Restricted], true),
                role("mayor", &[Public, Internal, Restricted], false),
            ],
            k_anonymity: DEFAULT_K_ANONYMITY,
            cell_m: DEFAULT_CELL_M,
            default_role: DEFAULT_ROLE.to_string(),
        }
    }
}

impl AccessSpec {
    /// Checks names unique, the default role defined, k ≥ 2, a cell size from
    /// [`MIN_CELL_M`] to [`MAX_CELL_M`]. The error is a message and a
    /// piece of scene text to locate it by.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let mut names = BTreeSet::new();
        for r in &self.roles {
            if r.name.trim().is_empty() {
                return Err(("a role has an empty name".into(), "roles".into()));
            }
            if !names.insert(r.name.as_str()) {
                return Err((
                    format!("role '{}' is defined twice", r.name),
                    format!("\"{}\"", r.name),
                ));
            }
        }
        if self.k_anonymity < 2 {
            return Err((
                format!("roles.k_anonymity must be at least 2, is {}", self.k_anonymity),
                "k_anonymity".into(),
            ));
        }
        if !(MIN_CELL_M..=MAX_CELL_M).contains(&self.cell_m) {
            return Err((
                format!(
                    "roles.cell_m must be from {MIN_CELL_M} to {MAX_CELL_M} m, is {}",
                    self.cell_m
                ),
                "cell_m".into(),
            ));
        }
        if !names.contains(self.default_role.as_str()) {
            return Err((
                format!("roles.default_role '{}' is not a defined role", self.default_role),
                "default_role".into(),
            ));
        }
        Ok(())
    }

    /// The hex grid personal data is aggregated to for roles without clearance.
    pub fn grid(&self) -> HexGrid {
        HexGrid { size_m: self.cell_m }
    }

    /// Names of the roles, in scene order.
    pub fn names(&self) -> Vec<&str> {
        self.roles.iter().map(|r| r.name.as_str()).collect()
    }

    /// The role named `name`, or the default role when `None`.
    pub fn role(&self, name: Option<&str>) -> Result<Role, AccessError> {
        let name = name.unwrap_or(&self.default_role);
        let spec = self
            .roles
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| AccessError::UnknownRole {
                role: name.to_string(),
                known: self.names().join(", "),
            })?;
        Ok(Role {
            name: spec.name.clone(),
            sees: spec.sees.iter().copied().collect(),
            individual_data: spec.individual_data,
            k_anonymity: self.k_anonymity,
        })
    }
}

/// The role the app runs as, resolved from the scene's [`AccessSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// Role name.
    pub name: String,
    /// Classifications it may see.
    pub sees: BTreeSet<Classification>,
    /// Whether it may see individual records unaggregated.
    pub individual_data: bool,
    /// k of k-anonymity for aggregated personal data.
    pub k_anonymity: usize,
}

impl Role {
    /// A role that sees everything, records included (for tools and tests that work on
    /// the whole scene).
    pub fn unrestricted() -> Role {
        Role {
            name: "unrestricted".into(),
            sees: [
                Classification::Public,
                Classification::Internal,
                Classification::Restricted,
            ]
            .into_iter()
            .collect(),
            individual_data: true,
            k_anonymity: DEFAULT_K_ANONYMITY,
        }
    }

    /// Whether the role may see data of classification `c`.
    pub fn may_see(&self, c: Classification) -> bool {
        self.sees.contains(&c)
    }

    /// Whether data about individuals must be aggregated (k-anonymous) for this role.
    pub fn needs_aggregation(&self) -> bool {
        !self.individual_data
    }
}

/// Lowercase name of a classification, as in scene files.
pub fn classification_name(c: Classification) -> &'static str {
    match c {
        Classification::Public => "public",
        Classification::Internal => "internal",
        Classification::Restricted => "restricted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_roles_nest() {
        let spec = AccessSpec::default();
        spec.validate().unwrap();
        let public = spec.role(Some("public")).unwrap();
        let staff = spec.role(Some("staff")).unwrap();
        let planner = spec.role(Some("planner")).unwrap();
        let mayor = spec.role(Some("mayor")).unwrap();
        assert!(public.sees.is_subset(&staff.sees) && public.sees.len() < staff.sees.len());
        assert!(staff.sees.is_subset(&planner.sees) && staff.sees.len() < planner.sees.len());
        assert_eq!(planner.sees, mayor.sees);
        assert!(public.needs_aggregation() && mayor.needs_aggregation());
        assert!(!staff.needs_aggregation() && !planner.needs_aggregation());
        assert!(!public.may_see(Classification::Internal));
        assert!(staff.may_see(Classification::Internal) && !staff.may_see(Classification::Restricted));
        assert_eq!(spec.role(None).unwrap().name, DEFAULT_ROLE);
        assert_eq!(public.k_anonymity, DEFAULT_K_ANONYMITY);
    }

    #[test]
    fn unknown_role_names_the_known_ones() {
        let e = AccessSpec::default()
            .role(Some("janitor"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("janitor") && e.contains("public, staff, planner, mayor"),
            "{e}"
        );
    }

    #[test]
    fn bad_specs_are_refused() {
        let s = AccessSpec {
            k_anonymity: 1,
            ..AccessSpec::default()
        };
        assert!(s.validate().unwrap_err().0.contains("k_anonymity"));
        let s = AccessSpec {
            default_role: "nobody".into(),
            ..AccessSpec::default()
        };
        assert!(s.validate().unwrap_err().0.contains("nobody"));
        for bad in [0.0, 10.0, f64::NAN, f64::INFINITY] {
            let s = AccessSpec {
                cell_m: bad,
                ..AccessSpec::default()
            };
            assert!(s.validate().unwrap_err().0.contains("cell_m"), "{bad}");
        }
        let mut s = AccessSpec::default();
        s.roles.push(s.roles[0].clone());
        assert!(s.validate().unwrap_err().0.contains("twice"));
    }

    #[test]
    fn parses_from_ron() {
        let s: AccessSpec = ron::from_str(
            r#"(k_anonymity: 7, default_role: "wall", cell_m: 400.0,
                roles: [(name: "wall", sees: [public]), (name: "ops", sees: [public, internal], individual_data: true)])"#,
        )
        .unwrap();
        s.validate().unwrap();
        let ops = s.role(Some("ops")).unwrap();
        assert_eq!(ops.k_anonymity, 7);
        assert!(ops.individual_data);
        assert_eq!(s.role(None).unwrap().name, "wall");
        assert_eq!(s.grid().size_m, 400.0);
        assert_eq!(AccessSpec::default().grid().size_m, DEFAULT_CELL_M);
    }
}
