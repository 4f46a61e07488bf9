//! The rule table: every rule id kz can report, its severity and a one-line summary.
//! `kz validate --list-rules` prints it; docs/rules.md mirrors it.

use super::Severity;

#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

const fn rule(id: &'static str, severity: Severity, summary: &'static str) -> Rule {
    Rule { id, severity, summary }
}

use Severity::{Error as E, Warning as W};

/// Every rule. Ids are stable: never renumber or reuse one.
pub static RULES: &[Rule] = &[
    rule("workspace/symlink", E, "an extension folder is a symbolic link"),
];

/// Severity of a rule id; an unknown id is a programming error, reported as an error.
pub fn severity_of(id: &str) -> Severity {
    RULES.iter().find(|r| r.id == id).map_or(Severity::Error, |r| r.severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            assert!(r.id.split_once('/').is_some(), "rule id {} needs a group/", r.id);
        }
    }
}
