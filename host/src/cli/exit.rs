//! The exit-code contract. A scheduler decides on it whether to run a step
//! again (Argo's `retryStrategy` reads `lastRetry.exitCode`), so each code
//! says what trying again would do:
//!
//! - 0: done, every entity written.
//! - 2: finished, some entities failed for reasons a retry will not change
//!   (bad data, a refusal, a plugin fault): do not retry.
//! - 75 (`EX_TEMPFAIL`): a cause that may pass: the database, the sink or
//!   the state store was unreachable or busy after weir's own retries,
//!   whether that stopped the run or only failed some entities. Retry with
//!   a backoff; the sinks upsert, so a retry neither duplicates nor loses.
//! - 1: fatal: the workflow file, a refused login, a plugin that will not
//!   load. Retrying will not help.

use weir::argo::submit::SubmitError;
use weir::plan::IngestError;
use weir::report::RunReport;

pub use weir::report::{EXIT_DONE as DONE, EXIT_FATAL as FATAL, EXIT_MAY_PASS as MAY_PASS};

/// The status of a run that finished, from its report.
pub fn of_report(report: &RunReport) -> u8 {
    report.exit_code()
}

/// The status of a command that could not go on.
pub fn of_error(err: &anyhow::Error) -> u8 {
    let may_pass = err.chain().any(|cause| {
        cause.downcast_ref::<IngestError>().is_some_and(IngestError::may_pass)
            || cause.downcast_ref::<SubmitError>().is_some_and(SubmitError::may_pass)
    });
    if may_pass { MAY_PASS } else { FATAL }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir::report::{EXIT_FAILURES as FAILURES, FailureRecord};

    fn failure(error: &str, may_pass: bool) -> FailureRecord {
        FailureRecord {
            entity: "svc.db.s.t".into(),
            kind: "table".into(),
            error: error.into(),
            reason: "r".into(),
            may_pass,
            shard: None,
        }
    }

    #[test]
    fn a_failure_that_may_pass_outranks_one_that_will_not() {
        let mut report = RunReport::default();
        assert_eq!(of_report(&report), DONE);
        report.failures.push(failure("invalid", false));
        assert_eq!(of_report(&report), FAILURES);
        report.failures.push(failure("sink", true));
        assert_eq!(of_report(&report), MAY_PASS);
    }

    #[test]
    fn an_error_may_pass_through_its_context() {
        let refused = IngestError::NoPlugin { source_type: "x".into(), builtin: "postgres".into() };
        assert_eq!(of_error(&anyhow::Error::new(refused).context("ingest w.yaml")), FATAL);
        let gone = IngestError::Discover { kind: "table", reason: "connection reset".into(), may_pass: true };
        assert_eq!(of_error(&anyhow::Error::new(gone).context("ingest w.yaml")), MAY_PASS);
        assert_eq!(of_error(&anyhow::anyhow!("bad flag")), FATAL);
    }
}
