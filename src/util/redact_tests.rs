use super::*;

/// A small deterministic generator (xorshift64*), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick(&mut self, items: &[char]) -> char {
        items[self.below(items.len())]
    }
    fn string(&mut self, alphabet: &[char], min: usize, max: usize) -> String {
        let len = min + self.below(max - min + 1);
        (0..len).map(|_| self.pick(alphabet)).collect()
    }
}

fn secret_alphabet() -> Vec<char> {
    let mut v: Vec<char> = ('!'..='~').collect();
    v.extend([' ', 'é', 'ß', '€', '😀']);
    v
}

fn text_alphabet() -> Vec<char> {
    let mut v: Vec<char> = (' '..='~').collect();
    v.extend(['\n', '\t', 'é']);
    v
}

fn b64(bytes: &[u8], url: bool) -> String {
    if url {
        base64::engine::general_purpose::URL_SAFE.encode(bytes)
    } else {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

/// Random secrets embedded in random server answers, in plain, base64 (at random offsets, in a
/// Basic header), URL-encoded and JSON-escaped forms: neither the secret nor the encoded form it
/// was sent in survives redaction.
#[test]
fn random_secrets_in_random_answers_never_survive() {
    let secrets_abc = secret_alphabet();
    let text_abc = text_alphabet();
    for seed in 1..=800u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let secret = rng.string(&secrets_abc, MIN_SECRET, 40);
        let mut r = Redactor::new();
        r.add(&rng.string(&secrets_abc, MIN_SECRET, 20)); // another secret, unrelated
        r.add(&secret);
        let before = rng.string(&text_abc, 0, 60);
        let after = rng.string(&text_abc, 0, 60);
        let form = rng.below(7);
        let encoded = match form {
            0 => secret.clone(),
            1 => {
                // base64 of the secret inside other bytes, at any alignment.
                let pre = rng.string(&text_abc, 0, 5);
                let post = rng.string(&text_abc, 0, 5);
                b64(format!("{pre}{secret}{post}").as_bytes(), rng.below(2) == 1)
            }
            2 => format!(
                "Basic {}",
                b64(
                    format!("{}:{secret}", rng.string(&text_abc, 0, 9)).as_bytes(),
                    false
                )
            ),
            3 => form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            4 => percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
            5 => serde_json::json!({ "input": { "password": secret } }).to_string(),
            _ => {
                let json = serde_json::to_string(&secret).expect("json");
                json[1..json.len() - 1].to_owned()
            }
        };
        let answer = format!("{before}{encoded}{after}");
        let shown = r.redact(&answer).into_owned();
        assert!(
            !shown.contains(&secret),
            "seed {seed} form {form}: secret {secret:?} survives in {shown:?}"
        );
        assert!(
            !shown.contains(&encoded),
            "seed {seed} form {form}: {encoded:?} survives in {shown:?}"
        );
        if form == 1 || form == 2 {
            // No 6-character run of the secret's base64 core is left either.
            for pad in 0..3 {
                let mut buf = vec![0u8; pad];
                buf.extend_from_slice(secret.as_bytes());
                let e = b64(&buf, false);
                let core = &e[(pad * 8).div_ceil(6)..((pad + secret.len()) * 8) / 6];
                assert!(
                    !shown.contains(core),
                    "seed {seed}: core {core} in {shown:?}"
                );
            }
        }
    }
}

#[test]
fn text_without_secrets_is_left_alone() {
    let mut r = Redactor::new();
    r.add("hunter2-long");
    r.add("test");
    let text = "this test is a test: nothing/to see at https://example.com/api";
    assert!(matches!(r.redact(text), Cow::Borrowed(_)));
}

#[test]
fn short_secrets_only_as_whole_fields() {
    let mut r = Redactor::new();
    r.add("test");
    assert_eq!(
        r.redact("a test of https://admin:test@host/api"),
        "a test of https://admin:***@host/api"
    );
    assert_eq!(
        r.redact("got username=admin&password=test&scope="),
        "got username=admin&password=***&scope="
    );
    assert_eq!(
        r.redact(r#"{"input":{"username":"admin","password":"test"}}"#),
        r#"{"input":{"username":"admin","password":"***"}}"#
    );
    assert_eq!(
        r.redact("header Authorization: Basic YWRtaW46dGVzdA== rejected"),
        "header Authorization: ***"
    );
    assert_eq!(
        r.redact(r#"{"Authorization":"Bearer abc.def"}"#),
        r#"{"Authorization":"***"}"#
    );
    assert_eq!(
        r.redact("bad credentials Basic YWRtaW46dGVzdA=="),
        "bad credentials Basic ***"
    );
    assert_eq!(
        r.redact("uses basic authentication and a Bearer scheme"),
        "uses basic authentication and a Bearer scheme"
    );
    assert_eq!(
        r.redact("aws_secret_access_key = test"),
        "aws_secret_access_key = ***"
    );
}

#[test]
fn secret_names() {
    assert!(is_secret_name("KAMIWAZA_PASSWORD"));
    assert!(is_secret_name("AWS_SECRET_ACCESS_KEY"));
    assert!(is_secret_name("AWS_SESSION_TOKEN"));
    assert!(!is_secret_name("KAMIWAZA_API_URL"));
    assert!(!is_secret_name("HOME"));
}
