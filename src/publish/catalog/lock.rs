//! The publish lock: one object, `garden/<dir>/registry.lock`, that only one publisher can
//! create (`If-None-Match: *`, an atomic conditional write on S3, R2 and moto alike). It names
//! its holder and carries an expiry, so a publisher killed with the lock held blocks the next
//! one only until then: an expired lock is taken over with `If-Match: <its etag>`, which only
//! one of several waiting publishers can win. The holder renews it (again `If-Match`, on its own
//! tag) before it writes the catalogue, and deletes it with `If-Match` at the end, so it never
//! removes a lock someone else took over. Nothing else ever deletes it (the upload writes only
//! the keys it names).
//!
//! Expiry is judged by the waiting machine's clock against the time written in the lock; keep
//! the TTL well above any clock skew (the default is 10 minutes; a publish renews it).

use super::s3::{Condition, Store, Written};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who publishes: written into the lock. A lock written by the reference (`owner`, `hostname`,
/// `acquired_at`, `pid`, no expiry) reads too; it expires a TTL after it was written.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Holder {
    /// Unique per run.
    pub id: String,
    /// CI job (`CI_JOB_ID`, `GITHUB_RUN_ID`) or `manual`.
    pub owner: String,
    #[serde(alias = "hostname")]
    pub host: String,
    pub pid: u32,
    /// RFC 3339, UTC.
    pub acquired_at: String,
    pub expires_at: String,
    pub tool: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} (pid {}, {}) since {}",
            self.owner,
            self.host,
            self.pid,
            if self.tool.is_empty() {
                "another tool"
            } else {
                &self.tool
            },
            self.acquired_at
        )?;
        if !self.expires_at.is_empty() {
            write!(f, ", until {}", self.expires_at)?;
        }
        Ok(())
    }
}

/// What the lock loop reports while it works.
#[derive(Clone, Debug)]
pub enum LockEvent {
    /// Someone else holds it; waiting up to the timeout.
    Waiting(String),
    /// An expired lock was taken over.
    BrokeStale(String),
}

/// A held lock.
#[derive(Debug)]
pub struct Lock {
    key: String,
    etag: String,
    holder: Holder,
    ttl: Duration,
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn stamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn body(holder: &Holder) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(holder).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

fn signed(d: Duration) -> jiff::SignedDuration {
    jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX)
}

/// Take the lock at `key`, waiting up to `timeout` for a live holder to let go.
pub async fn acquire(
    store: &Store,
    key: &str,
    mut holder: Holder,
    ttl: Duration,
    timeout: Duration,
    on_event: &(dyn Fn(LockEvent) + Send + Sync),
) -> Result<Lock> {
    let started = std::time::Instant::now();
    let mut told = false;
    loop {
        let t = now();
        holder.acquired_at = stamp(t);
        holder.expires_at = stamp(t.saturating_add(signed(ttl)).unwrap_or(t));
        if let Written::Done(etag) = store
            .put(key, body(&holder), "application/json", &Condition::Absent)
            .await?
        {
            return Ok(Lock {
                key: key.to_owned(),
                etag,
                holder,
                ttl,
            });
        }
        let Some(current) = store.get(key).await? else {
            continue; // released in between: try again at once
        };
        let theirs: Option<Holder> = serde_json::from_slice(&current.bytes).ok();
        let theirs = theirs.filter(|h| !h.owner.is_empty() || !h.host.is_empty());
        let expires = theirs
            .as_ref()
            .and_then(|h| h.expires_at.parse::<jiff::Timestamp>().ok())
            .or_else(|| {
                // unreadable lock: it expires a TTL after it was written
                current
                    .last_modified
                    .and_then(|s| jiff::Timestamp::from_second(s).ok())
                    .and_then(|t| t.checked_add(signed(ttl)).ok())
            });
        let described = theirs.as_ref().map_or_else(
            || {
                format!(
                    "an unreadable lock written by another tool ({} bytes)",
                    current.bytes.len()
                )
            },
            ToString::to_string,
        );
        if expires.is_some_and(|e| e <= now()) {
            let t = now();
            holder.acquired_at = stamp(t);
            holder.expires_at = stamp(t.saturating_add(signed(ttl)).unwrap_or(t));
            if let Written::Done(etag) = store
                .put(
                    key,
                    body(&holder),
                    "application/json",
                    &Condition::Matches(current.etag.clone()),
                )
                .await?
            {
                on_event(LockEvent::BrokeStale(described));
                return Ok(Lock {
                    key: key.to_owned(),
                    etag,
                    holder,
                    ttl,
                });
            }
            continue; // another waiter took it over first
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(Error::LockHeld {
                key: key.to_owned(),
                holder: described,
            });
        }
        if !told {
            on_event(LockEvent::Waiting(described));
            told = true;
        }
        let pause = Duration::from_millis(500).min(timeout - waited);
        tokio::time::sleep(pause).await;
    }
}

impl Lock {
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Push the expiry a TTL ahead; fails when the lock is no longer ours.
    pub async fn renew(&mut self, store: &Store) -> Result<()> {
        let t = now();
        let mut holder = self.holder.clone();
        holder.expires_at = stamp(t.saturating_add(signed(self.ttl)).unwrap_or(t));
        match store
            .put(
                &self.key,
                body(&holder),
                "application/json",
                &Condition::Matches(self.etag.clone()),
            )
            .await?
        {
            Written::Done(etag) => {
                self.etag = etag;
                self.holder = holder;
                Ok(())
            }
            _ => Err(Error::LockLost {
                key: self.key.clone(),
            }),
        }
    }

    /// Delete the lock if it is still ours. `Ok(false)`: it was not (taken over after expiry).
    pub async fn release(self, store: &Store) -> Result<bool> {
        match store.delete(&self.key, Some(&self.etag)).await? {
            Written::Done(_) => Ok(true),
            Written::Refused => Ok(false),
            Written::Unsupported => {
                // no conditional deletes here: check it is ours, then delete
                match store.get(&self.key).await? {
                    Some(obj) if obj.etag == self.etag => {
                        store.delete(&self.key, None).await?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
        }
    }
}
