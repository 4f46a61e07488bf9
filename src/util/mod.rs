//! Shared mechanisms every command goes through, one of each: `redact` (the one redactor of
//! credentials in everything kz prints), `open` (the one file-opening policy: regular files only,
//! inside the workspace, size-bounded), `secret_files` (the one policy of which files may be packed
//! or served), `text` (control characters escaped in human-readable output) and `tempfiles`
//! (kz's temp-file names carrying their owner, swept once the owner is gone, and removed on
//! signals).

pub mod open;
pub mod redact;
pub mod secret_files;

pub mod tempfiles;
pub mod text;
