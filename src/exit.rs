//! The one list of exit codes kz returns (documented in README.md, "Exit codes").

/// Every exit status kz can end with. The numeric values are a public contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done and nothing checked failed.
    Success = 0,
    /// The thing checked failed: validation findings, stale files under `--check`.
    Failure = 1,
    /// Usage or input trouble: bad arguments, unreadable or malformed files, no workspace.
    Usage = 2,
    /// Something outside kz failed: the file system refused a write, a tool is missing.
    Environment = 3,
    /// Interrupted by the user (Ctrl-C).
    Interrupted = 130,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}
