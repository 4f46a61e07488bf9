//! `kamiwaza_version` constraints as exact sets of SemVer versions, and how two of them relate.
//!
//! A constraint is a comma-separated list of parts (`>=0.9.0,<1.0.0`), each an operator
//! (`>=`, `>`, `<=`, `<`, `==`, `!=`, `~=`) and a version; it matches the versions every part
//! matches. The reference estimates how two constraints relate by testing a grid of sample
//! versions (so `>=3.0.0` and `>=4.0.0` come out "the same", spec §9.4); here each constraint
//! is turned into a union of half-open intervals `[lo, hi)` over the SemVer order (pre-releases
//! included, build metadata ignored) and the relation is computed exactly.
//!
//! Every bound is put in closed-open form with the successor function of the SemVer order
//! (`succ(1.2.3) = 1.2.4-0`, `succ(1.2.3-rc) = 1.2.3-rc.0`), so a version set has exactly one
//! normal form and equality of sets is equality of forms, even where two versions are
//! neighbours with nothing between them.
//!
//! The operators mean what they mean to the Python side that reads the catalogue (PEP 440):
//! `<1.0.0` excludes the pre-releases of 1.0.0 (`<V` for a release V is `< V-0`), `~=1.2.3` is
//! `>=1.2.3, <1.3.0-0`.

use semver::{BuildMetadata, Prerelease, Version};
use std::cmp::Ordering;

/// How constraint `a` relates to constraint `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The same versions.
    Same,
    /// `a` holds every version of `b` and more.
    Superset,
    /// `b` holds every version of `a` and more.
    Subset,
    /// No version in common.
    Disjoint,
    /// Some versions in common, each with some of its own.
    Partial,
}

/// A set of versions: sorted, disjoint, non-adjacent half-open intervals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSet(Vec<Interval>);

/// `[lo, hi)`; `None` is unbounded on that side.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Interval {
    lo: Option<Version>,
    hi: Option<Version>,
}

impl Interval {
    fn is_empty(&self) -> bool {
        matches!((&self.lo, &self.hi), (Some(lo), Some(hi)) if lo >= hi)
    }

    fn intersect(&self, other: &Interval) -> Interval {
        let lo = match (&self.lo, &other.lo) {
            (Some(a), Some(b)) => Some(a.max(b).clone()),
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        let hi = match (&self.hi, &other.hi) {
            (Some(a), Some(b)) => Some(a.min(b).clone()),
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        Interval { lo, hi }
    }
}

/// Order of lower bounds (`None` = -inf first).
fn cmp_lo(a: &Option<Version>, b: &Option<Version>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => a.cmp(b),
    }
}

/// `hi` reaches `lo` (so the intervals touch or overlap); `None` as `hi` is +inf.
fn reaches(hi: &Option<Version>, lo: &Option<Version>) -> bool {
    match (hi, lo) {
        (None, _) | (_, None) => true,
        (Some(hi), Some(lo)) => hi >= lo,
    }
}

impl VersionSet {
    fn all() -> VersionSet {
        VersionSet(vec![Interval { lo: None, hi: None }])
    }

    fn from_intervals(mut items: Vec<Interval>) -> VersionSet {
        items.retain(|i| !i.is_empty());
        items.sort_by(|a, b| cmp_lo(&a.lo, &b.lo));
        let mut out: Vec<Interval> = Vec::with_capacity(items.len());
        for item in items {
            match out.last_mut() {
                Some(last) if reaches(&last.hi, &item.lo) => {
                    let wider = match (&last.hi, &item.hi) {
                        (None, _) | (_, None) => None,
                        (Some(a), Some(b)) => Some(a.max(b).clone()),
                    };
                    last.hi = wider;
                }
                _ => out.push(item),
            }
        }
        VersionSet(out)
    }

    fn intersect(&self, other: &VersionSet) -> VersionSet {
        let mut items = Vec::new();
        for a in &self.0 {
            for b in &other.0 {
                items.push(a.intersect(b));
            }
        }
        VersionSet::from_intervals(items)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Does the set hold `v`?
    pub fn contains(&self, v: &Version) -> bool {
        let v = plain(v.clone());
        self.0.iter().any(|i| {
            i.lo.as_ref().is_none_or(|lo| &v >= lo) && i.hi.as_ref().is_none_or(|hi| &v < hi)
        })
    }

    /// How `self` relates to `other`.
    pub fn relation(&self, other: &VersionSet) -> Relation {
        let both = self.intersect(other);
        match (both.is_empty(), &both == self, &both == other) {
            (true, _, _) => Relation::Disjoint,
            (false, true, true) => Relation::Same,
            (false, false, true) => Relation::Superset,
            (false, true, false) => Relation::Subset,
            (false, false, false) => Relation::Partial,
        }
    }
}

/// The version without build metadata (SemVer precedence ignores it).
fn plain(mut v: Version) -> Version {
    v.build = BuildMetadata::EMPTY;
    v
}

/// The smallest version above `v`: `1.2.4-0` above `1.2.3`, `1.2.3-rc.0` above `1.2.3-rc`.
fn succ(v: &Version) -> Result<Version, String> {
    let mut next = v.clone();
    if v.pre.is_empty() {
        next.patch = v
            .patch
            .checked_add(1)
            .ok_or_else(|| format!("`{v}` has no successor"))?;
        next.pre = Prerelease::new("0").map_err(|e| e.to_string())?;
    } else {
        next.pre = Prerelease::new(&format!("{}.0", v.pre)).map_err(|e| e.to_string())?;
    }
    Ok(next)
}

/// The lowest version of `v`'s release line: `1.3.0-0` for `1.3.0`.
fn lowest_pre(v: &Version) -> Result<Version, String> {
    let mut low = v.clone();
    low.pre = Prerelease::new("0").map_err(|e| e.to_string())?;
    Ok(low)
}

/// Parse a constraint such as `>=0.9.0, <1.0.0` into its version set.
pub fn parse(text: &str) -> Result<VersionSet, String> {
    if text.trim().is_empty() {
        return Err("the constraint is empty".to_owned());
    }
    let mut set = VersionSet::all();
    for part in text.split(',') {
        set = set.intersect(&parse_part(part.trim())?);
    }
    Ok(set)
}

fn parse_part(part: &str) -> Result<VersionSet, String> {
    const OPS: [&str; 7] = [">=", "<=", "==", "~=", "!=", ">", "<"];
    let op = OPS
        .iter()
        .find(|op| part.starts_with(**op))
        .ok_or_else(|| format!("`{part}` does not start with >=, >, <=, <, ==, != or ~="))?;
    let text = part[op.len()..].trim();
    let v = Version::parse(text)
        .map(plain)
        .map_err(|e| format!("`{text}` in `{part}` is not a MAJOR.MINOR.PATCH version: {e}"))?;
    let iv = |lo: Option<Version>, hi: Option<Version>| Interval { lo, hi };
    let set = match *op {
        ">=" => vec![iv(Some(v), None)],
        ">" => vec![iv(Some(succ(&v)?), None)],
        "<=" => vec![iv(None, Some(succ(&v)?))],
        // PEP 440: `<V` does not admit V's own pre-releases unless V is one.
        "<" if v.pre.is_empty() => vec![iv(None, Some(lowest_pre(&v)?))],
        "<" => vec![iv(None, Some(v))],
        "==" => vec![iv(Some(v.clone()), Some(succ(&v)?))],
        "!=" => vec![iv(None, Some(v.clone())), iv(Some(succ(&v)?), None)],
        // `~=X.Y.Z` is `>=X.Y.Z, ==X.Y.*`.
        _ => {
            let minor = v
                .minor
                .checked_add(1)
                .ok_or_else(|| format!("`{part}` has no upper bound"))?;
            let hi = Version {
                major: v.major,
                minor,
                patch: 0,
                pre: Prerelease::new("0").map_err(|e| e.to_string())?,
                build: BuildMetadata::EMPTY,
            };
            vec![iv(Some(v), Some(hi))]
        }
    };
    Ok(VersionSet::from_intervals(set))
}

/// A published or local `version`, read leniently where the reference was lenient
/// (`v1.2.3`, `1.2` = `1.2.0`); build metadata ignored.
pub fn parse_version(text: &str) -> Option<Version> {
    let t = text.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    if let Ok(v) = Version::parse(t) {
        return Some(plain(v));
    }
    // `1.2` or `1` (PEP 440 pads with zeros)
    let (core, rest) = match t.find(['-', '+']) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let padded = format!("{}{}{rest}", core, ".0".repeat(3 - parts.len()));
    Version::parse(&padded).ok().map(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: &str, b: &str) -> Relation {
        parse(a).expect("a").relation(&parse(b).expect("b"))
    }

    #[test]
    fn relations_of_the_reference_cases_exactly() {
        use Relation::*;
        // spec §9.4 / corpus registry-merge/merge-cases.txt, with the sampling mistakes fixed
        let cases = [
            (">=0.8.0", ">=0.8.0", Same),
            (">=0.8.0", ">=0.9.0", Superset),
            (">=0.9.0", ">=0.8.0", Subset),
            (">=0.8.0,<0.9.0", ">=0.9.0,<1.0.0", Disjoint),
            (">=0.8.0,<1.0.0", ">=0.9.0,<1.0.0", Superset),
            (">=0.8.0,<0.9.5", ">=0.9.0,<1.0.0", Partial),
            (">=3.0.0", ">=4.0.0", Superset), // reference: same (no sample above 2.x)
            (">=2.5.0", ">=2.9.0", Superset),
            (">=0.9.0", "==0.9.0", Superset),
            (">=0.9.0", ">=0.9.0,<99.0.0", Superset), // reference: same
            ("~=0.9.0", ">=0.9.0,<0.10.0", Same),
            (">=0.9.0-dev", ">=0.9.0", Superset), // reference: same
        ];
        for (a, b, want) in cases {
            assert_eq!(rel(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn neighbours_and_exclusions_are_exact() {
        use Relation::*;
        // nothing lies between 1.0.0 and 1.0.1-0
        assert!(parse(">1.0.0,<1.0.1-0").expect("parse").is_empty());
        assert_eq!(rel(">1.0.0", ">=1.0.1-0"), Same);
        assert_eq!(rel("<=1.0.0", "<1.0.1-0"), Same);
        assert_eq!(rel(">=1.0.0,<=1.0.0", "==1.0.0"), Same);
        assert_eq!(rel("!=1.0.0", "==1.0.0"), Disjoint);
        assert_eq!(rel("!=1.0.0", ">=0.5.0"), Partial);
        assert_eq!(rel(">=0.5.0,!=0.7.0", ">=0.5.0"), Subset);
        assert_eq!(rel(">=0.5.0, <0.7.0", ">=0.7.0"), Disjoint);
        // `<1.0.0` excludes 1.0.0's pre-releases; `<1.0.0-rc` is below the pre-release
        let below = parse("<1.0.0").expect("parse");
        assert!(!below.contains(&Version::parse("1.0.0-rc.1").expect("v")));
        assert!(below.contains(&Version::parse("0.99.0").expect("v")));
        assert!(parse("<1.0.0-rc")
            .expect("parse")
            .contains(&Version::parse("1.0.0-beta").expect("v")));
        // build metadata is ignored
        assert!(parse("==1.0.0")
            .expect("parse")
            .contains(&Version::parse("1.0.0+b.7").expect("v")));
        // pieces that touch are one interval again
        assert_eq!(rel("<0.5.0-0,>=0.2.0", ">=0.2.0,<0.5.0"), Same);
        assert_eq!(
            parse(">=1.0.0,<2.0.0").expect("a"),
            VersionSet::from_intervals(vec![
                Interval {
                    lo: Some(Version::new(1, 5, 0)),
                    hi: Some(Version::parse("2.0.0-0").expect("v")),
                },
                Interval {
                    lo: Some(Version::new(1, 0, 0)),
                    hi: Some(Version::new(1, 5, 0)),
                },
            ])
        );
    }

    #[test]
    fn bad_constraints_are_errors() {
        for bad in ["", "^1.0.0", "0.8.0", ">=0.8", ">=x", ">=1.0.0,"] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse(">= 0.8.0").is_ok());
    }

    #[test]
    fn versions_are_read_leniently() {
        let v = |t: &str| parse_version(t).map(|v| v.to_string());
        assert_eq!(v("1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("v1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("1.2").as_deref(), Some("1.2.0"));
        assert_eq!(v("1.2.3+b.1").as_deref(), Some("1.2.3"));
        assert_eq!(v("1.2-rc.1").as_deref(), Some("1.2.0-rc.1"));
        assert_eq!(v("latest"), None);
        assert_eq!(v("1..2"), None);
    }
}
