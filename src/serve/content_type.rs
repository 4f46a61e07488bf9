//! The `Content-Type` of a served file, from its extension (case-insensitive). Catalogue JSON,
//! preview images, README, setup scripts and exported image archives are what a registry holds;
//! anything else is `application/octet-stream`.

use std::path::Path;

/// The media type sent for `path`.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "md" => "text/markdown; charset=utf-8",
        "sh" => "text/x-shellscript",
        "tar" => "application/x-tar",
        "gz" | "tgz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;
    use std::path::Path;

    #[test]
    fn by_extension() {
        let cases = [
            ("garden/v2/apps.json", "application/json"),
            ("images/logo.PNG", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.jpeg", "image/jpeg"),
            ("a.webp", "image/webp"),
            ("a.gif", "image/gif"),
            ("a.svg", "image/svg+xml"),
            ("README.md", "text/markdown; charset=utf-8"),
            ("package-setup.sh", "text/x-shellscript"),
            ("docker-images/x.tar", "application/x-tar"),
            ("dist/r.tar.gz", "application/gzip"),
            ("kamiwaza-registry.env.template", "application/octet-stream"),
            ("Makefile", "application/octet-stream"),
        ];
        for (path, expected) in cases {
            assert_eq!(content_type(Path::new(path)), expected, "{path}");
        }
    }
}
