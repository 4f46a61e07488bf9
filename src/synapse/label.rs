//! The `io.synapse.app.manifest` label: written as the standard base64 (padded, one line) of the
//! manifest file's exact bytes, as publish.sh's `base64 -w0` does; read as base64 first, then as
//! plain YAML/JSON text (the documented fallback for one-line manifests). Plain manifests always
//! hold `:` or `{`, which base64 never does, so the two cannot be confused.

use base64::Engine as _;

/// The label value for manifest bytes.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// How a label value was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Base64,
    Plain,
}

/// The manifest bytes a label value holds. Base64 when the value is strict standard base64
/// (length a multiple of 4, padded) decoding to UTF-8 text; otherwise the value itself, as
/// plain YAML or JSON. Whether the bytes are a manifest is for the caller to check.
pub fn decode(value: &str) -> (Vec<u8>, Encoding) {
    let trimmed = value.trim();
    let looks_b64 = !trimmed.is_empty()
        && trimmed.len() % 4 == 0
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    if looks_b64 {
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(trimmed) {
            if std::str::from_utf8(&bytes).is_ok() {
                return (bytes, Encoding::Base64);
            }
        }
    }
    (value.as_bytes().to_vec(), Encoding::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fallback() {
        let text = b"# c\napiVersion: synapse.datamaker.io/v1\nkind: SynapseApp\n";
        let label = encode(text);
        assert!(!label.contains('\n'));
        assert_eq!(decode(&label), (text.to_vec(), Encoding::Base64));
        let plain = "{apiVersion: synapse.datamaker.io/v1, kind: SynapseApp}";
        assert_eq!(decode(plain), (plain.as_bytes().to_vec(), Encoding::Plain));
        // Not UTF-8 once decoded: read as plain text (which then fails to be a manifest).
        assert_eq!(decode("/w==").1, Encoding::Plain);
        assert_eq!(decode("").1, Encoding::Plain);
    }
}
