//! The guide's environment rules as pure text checks: the variables the platform injects
//! (reserved) and the template placeholders it substitutes (`{app_port}` and three more).

/// "Reserved Environment Variables" of the guide: injected by the Extensions subsystem.
pub(crate) const RESERVED: [&str; 5] = [
    "KAMIWAZA_API_URL",
    "OPENAI_BASE_URL",
    "KAMIWAZA_APP_PORT",
    "KAMIWAZA_MODEL_PORT",
    "KAMIWAZA_DEPLOYMENT_ID",
];

/// "Template Variables in env_defaults": the only placeholders substituted at deployment.
pub(crate) const PLACEHOLDERS: [&str; 4] = ["app_port", "model_port", "deployment_id", "app_name"];

/// Whether `value` hands the injected value of `name` through: `${NAME}`, `$NAME`, or `${NAME`
/// with a default or a required-check (`:-x`, `-x`, `:?x`, `?x`). `:+x` replaces it: not one.
pub(crate) fn passes_through(name: &str, value: &str) -> bool {
    let v = value.trim();
    if v.strip_prefix('$') == Some(name) {
        return true;
    }
    let Some(rest) = v.strip_prefix("${").and_then(|r| r.strip_prefix(name)) else {
        return false;
    };
    rest == "}"
        || (rest.ends_with('}') && [":-", "-", ":?", "?"].iter().any(|op| rest.starts_with(op)))
}

/// The `{identifier}`s of `value` the platform does not substitute, in order: braces not
/// preceded by `$` (compose's `${VAR}`) and not doubled (`{{ name }}` templates).
pub(crate) fn unknown_placeholders(value: &str) -> Vec<String> {
    let b = value.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'{' || (i > 0 && matches!(b[i - 1], b'$' | b'{')) {
            i += 1;
            continue;
        }
        let Some(len) = value[i + 1..].find('}') else {
            break;
        };
        let end = i + 1 + len;
        let inner = &value[i + 1..end];
        if is_identifier(inner) && !PLACEHOLDERS.contains(&inner) {
            found.push(inner.to_owned());
        }
        i = end + 1;
    }
    found
}

/// A placeholder's name as a user would type one: a letter or `_`, then letters, digits, `_`,
/// `-` or `.` (so the typo `{app-port}` counts).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The closest known placeholder to a typo (same letters once `-`/`.` become `_` and case is
/// folded), for the hint.
pub(crate) fn suggestion(unknown: &str) -> Option<&'static str> {
    let folded = unknown.to_ascii_lowercase().replace(['-', '.'], "_");
    PLACEHOLDERS.iter().copied().find(|p| *p == folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_through_forms() {
        let n = "KAMIWAZA_API_URL";
        for ok in [
            "${KAMIWAZA_API_URL}",
            "${KAMIWAZA_API_URL:-}",
            "${KAMIWAZA_API_URL:-https://host.docker.internal/api}",
            "${KAMIWAZA_API_URL-x}",
            "${KAMIWAZA_API_URL:?set it}",
            "$KAMIWAZA_API_URL",
        ] {
            assert!(passes_through(n, ok), "{ok}");
        }
        for bad in [
            "https://host.docker.internal/api",
            "${OTHER_URL}",
            "${KAMIWAZA_API_URL:+x}",
            "${KAMIWAZA_API_URLS}",
            "$KAMIWAZA_API_URLS",
            "",
            "${KAMIWAZA_API_URL}/v1",
        ] {
            assert!(!passes_through(n, bad), "{bad}");
        }
    }

    #[test]
    fn placeholders() {
        let cases: &[(&str, &[&str])] = &[
            ("https://localhost:{app_port}/cb/{deployment_id}", &[]),
            ("{app_name}_worker", &[]),
            ("http://localhost:{model_port}/v1", &[]),
            ("https://localhost:{app-port}", &["app-port"]),
            ("http://host.docker.internal:{lb_port}/v1", &["lb_port"]),
            ("{kamiwaza_origin}", &["kamiwaza_origin"]),
            ("${APP_PORT}", &[]),
            ("${NAME:-{{name}}}", &[]),
            ("{{ name }}", &[]),
            ("{{name}}", &[]),
            ("{\"a\": 1}", &[]),
            ("${X:-{app_port}}", &[]),
            ("${X:-{bad}}", &["bad"]),
            ("{0} {}", &[]),
            ("unclosed {app_port", &[]),
        ];
        for (value, want) in cases {
            assert_eq!(&unknown_placeholders(value), want, "{value}");
        }
        assert_eq!(suggestion("app-port"), Some("app_port"));
        assert_eq!(suggestion("APP_PORT"), Some("app_port"));
        assert_eq!(suggestion("lb_port"), None);
    }
}
