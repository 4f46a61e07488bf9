//! A pipeline of named steps run in order, each timed, stopping at the first that fails; the
//! steps after it are reported as not run. `kz ci-pipeline` builds its list of steps (build →
//! test → sync-compose → validate → build-registry → package) from the commands' own functions
//! and renders the report; this module only runs and records.

use crate::error::Error;
use std::time::{Duration, Instant};

/// How a step ended, as the step itself says.
#[derive(Debug)]
pub enum Outcome {
    /// Done; `detail` is a short note for the summary (may be empty).
    Passed { detail: String },
    /// The step ran and reported failure (its own output says more); `reason` for the summary,
    /// `code` the exit code it ended with.
    Failed { reason: String, code: u8 },
}

/// One step: a name for the summary and the work.
pub struct Step<'a> {
    pub name: &'static str,
    pub run: Box<dyn FnOnce() -> Result<Outcome, Error> + 'a>,
}

impl<'a> Step<'a> {
    pub fn new(name: &'static str, run: impl FnOnce() -> Result<Outcome, Error> + 'a) -> Self {
        Step {
            name,
            run: Box::new(run),
        }
    }
}

/// What became of a step.
#[derive(Debug)]
pub enum Status {
    Passed {
        detail: String,
    },
    /// The step reported failure.
    Failed {
        reason: String,
        code: u8,
    },
    /// The step could not do its work: an error (rendered with its hint by the caller).
    Error(Error),
    /// An earlier step failed.
    NotRun,
}

/// One line of the summary.
#[derive(Debug)]
pub struct StepReport {
    pub name: &'static str,
    pub status: Status,
    /// How long it ran (zero when not run).
    pub elapsed: Duration,
}

/// Every step's report, in order.
#[derive(Debug)]
pub struct Report {
    pub steps: Vec<StepReport>,
    pub elapsed: Duration,
}

impl Report {
    /// The step that stopped the pipeline, if one did.
    pub fn failed(&self) -> Option<&StepReport> {
        self.steps
            .iter()
            .find(|s| matches!(s.status, Status::Failed { .. } | Status::Error(_)))
    }
}

/// Run `steps` in order; `started` is told each step's name (and its position, 1-based, and the
/// count) before it runs. Stops at the first step that fails or errs.
pub fn run(steps: Vec<Step<'_>>, mut started: impl FnMut(&str, usize, usize)) -> Report {
    let total = steps.len();
    let clock = Instant::now();
    let mut reports = Vec::with_capacity(total);
    let mut stopped = false;
    for (i, step) in steps.into_iter().enumerate() {
        if stopped {
            reports.push(StepReport {
                name: step.name,
                status: Status::NotRun,
                elapsed: Duration::ZERO,
            });
            continue;
        }
        started(step.name, i + 1, total);
        let t = Instant::now();
        let status = match (step.run)() {
            Ok(Outcome::Passed { detail }) => Status::Passed { detail },
            Ok(Outcome::Failed { reason, code }) => Status::Failed { reason, code },
            Err(e) => Status::Error(e),
        };
        stopped = !matches!(status, Status::Passed { .. });
        reports.push(StepReport {
            name: step.name,
            status,
            elapsed: t.elapsed(),
        });
    }
    Report {
        steps: reports,
        elapsed: clock.elapsed(),
    }
}

/// `0.4s`, `12.3s`, `2m05s`: a duration for the summary.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn stops_at_the_first_failure_and_marks_the_rest_not_run() {
        let ran = RefCell::new(Vec::new());
        let step = |name: &'static str, outcome: fn() -> Result<Outcome, Error>| {
            let ran = &ran;
            Step::new(name, move || {
                ran.borrow_mut().push(name);
                outcome()
            })
        };
        let mut announced = Vec::new();
        let report = run(
            vec![
                step("a", || {
                    Ok(Outcome::Passed {
                        detail: String::new(),
                    })
                }),
                step("b", || {
                    Ok(Outcome::Failed {
                        reason: "broke".into(),
                        code: 1,
                    })
                }),
                step("c", || unreachable!("never runs")),
            ],
            |name, i, n| announced.push(format!("{i}/{n} {name}")),
        );
        assert_eq!(*ran.borrow(), ["a", "b"]);
        assert_eq!(announced, ["1/3 a", "2/3 b"]);
        assert!(matches!(report.steps[2].status, Status::NotRun));
        assert_eq!(report.failed().map(|s| s.name), Some("b"));
    }

    #[test]
    fn an_error_stops_it_too() {
        let report = run(
            vec![
                Step::new("x", || Err(Error::NoWorkspace { start: "/".into() })),
                Step::new("y", || unreachable!("never runs")),
            ],
            |_, _, _| {},
        );
        assert!(matches!(report.steps[0].status, Status::Error(_)));
        assert!(matches!(report.steps[1].status, Status::NotRun));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(420)), "0.4s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
    }
}
