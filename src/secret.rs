//! `Secret`: a password or token that must never be shown. `Debug` and `Display` print `***`;
//! the value comes out only through `expose`, at the one place that sends it. Kamiwaza
//! credentials and registry credentials both use it.

/// A value that must never be shown: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value is registered with the run's redactor (`util::redact`), so it is masked in
    /// everything kz prints, whatever a server echoes back.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::util::redact::register(&value);
        Secret(value)
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_shown() {
        let s = super::Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }
}
