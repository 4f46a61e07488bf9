//! Defect 1: credentials echoed by a server are never printed.

use super::echo::{Answer, EchoServer, Request};
use super::{assert_no_secret, kz_env};
use std::collections::BTreeMap;

/// FastAPI's 422: the validation error repeats the form it received.
fn fastapi_422(req: &Request) -> Answer {
    let form: BTreeMap<String, String> = form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect();
    let body = serde_json::json!({
        "detail": [{
            "type": "missing", "loc": ["body", "otp"], "msg": "Field required",
            "input": form,
            "headers": req.headers,
        }]
    });
    Answer::json(422, body.to_string())
}

#[test]
fn a_kamiwaza_login_422_echoing_the_form_prints_no_password() {
    let server = EchoServer::start(fastapi_422);
    let home = tempfile::tempdir().expect("home");
    for password in ["pw\"&Zq/9+é secret-1", "test"] {
        let url = format!("{}/api", server.url());
        let run = kz_env(
            home.path(),
            home.path(),
            &[
                ("KAMIWAZA_API_URL", &url),
                ("KAMIWAZA_USERNAME", "admin"),
                ("KAMIWAZA_PASSWORD", password),
            ],
            &["kamiwaza", "list"],
        );
        assert_ne!(run.code, 0, "{run:?}");
        // The server's answer is shown (the user needs it), with the password masked.
        run.stderr_has("422").stderr_has("Field required");
        assert!(run.stderr.contains("***"), "{}", run.stderr);
        if password.len() >= 6 {
            assert_no_secret(&run, password);
        } else {
            assert!(
                !run.stderr.contains("\"password\":\"test\""),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn an_api_url_with_userinfo_is_refused_without_repeating_the_password() {
    let home = tempfile::tempdir().expect("home");
    for (url, password) in [
        (
            "https://admin:Sup3r-s3cret-pw@kamiwaza.example/api",
            "Sup3r-s3cret-pw",
        ),
        ("https://admin:test@kamiwaza.example/api", "admin:test"),
    ] {
        let run = kz_env(
            home.path(),
            home.path(),
            &[
                ("KAMIWAZA_API_URL", url),
                ("KAMIWAZA_USERNAME", "admin"),
                ("KAMIWAZA_PASSWORD", "other-password-1"),
            ],
            &["kamiwaza", "list"],
        );
        run.code(2)
            .stderr_has("credentials do not belong in the URL");
        assert_no_secret(&run, password);
        assert_no_secret(&run, "other-password-1");
    }
}

/// A registry (or proxy) that asks for Basic credentials, then repeats them in its error body.
fn echoing_registry(req: &Request) -> Answer {
    match req.headers.get("authorization") {
        None => Answer {
            status: 401,
            headers: vec![
                ("WWW-Authenticate".into(), "Basic realm=\"echo\"".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                .into(),
        },
        // A 5xx: kz retries it, then shows the registry's message (403 and 404 are reported
        // as refused credentials or a missing manifest without the body).
        Some(auth) => Answer::json(
            500,
            serde_json::json!({"errors": [{
                "code": "DENIED",
                "message": format!("proxy refused Authorization: {auth}"),
                "detail": {"authorization": auth, "raw": auth.trim_start_matches("Basic ")},
            }]})
            .to_string(),
        ),
    }
}

#[test]
fn a_registry_echoing_authorization_prints_no_credentials() {
    use base64::Engine as _;
    let server = EchoServer::start(echoing_registry);
    let password = "reg-Pa55/word+42";
    let ws = super::super::harness::Ws::new();
    ws.write(
        "kz.yaml",
        format!("images:\n  namespace: {}/kz-echo\n", server.host()),
    )
    .write(
        "tools/tool-hello/kamiwaza.json",
        "{\n  \"name\": \"tool-hello\",\n  \"version\": \"0.1.0\",\n  \"description\": \"hello\"\n}\n",
    )
    .write("tools/tool-hello/Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n")
    .write("tools/tool-hello/hello.txt", "hello\n");
    let cfg = tempfile::tempdir().expect("docker config");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("kzuser:{password}"));
    std::fs::write(
        cfg.path().join("config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}",
            server.host()
        ),
    )
    .expect("config.json");
    let home = tempfile::tempdir().expect("home");
    let cfg_path = cfg.path().display().to_string();
    for args in [
        &["plan", "--images-only", "--platforms", "linux/amd64"][..],
        &[
            "publish",
            "--dry-run",
            "--images-only",
            "--platforms",
            "linux/amd64",
        ][..],
    ] {
        let run = kz_env(
            &ws.path("."),
            home.path(),
            &[("DOCKER_CONFIG", &cfg_path)],
            args,
        );
        assert_ne!(run.code, 0, "{args:?}: {run:?}");
        assert_no_secret(&run, password);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(&auth), "{args:?}: {all}");
        // The registry's answer itself is shown, masked.
        assert!(
            all.contains("proxy refused Authorization: ***"),
            "{args:?}: {all}"
        );
    }
}

/// Random secrets in random encodings inside a server's answer never reach stdout or stderr of
/// the real binary (the unit property test covers thousands of cases; this drives kz itself).
#[test]
fn random_secrets_echoed_by_kamiwaza_never_reach_the_output() {
    use base64::Engine as _;
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let home = tempfile::tempdir().expect("home");
    let alphabet: Vec<char> = ('!'..='~').chain(['é', ' ']).collect();
    for round in 0..12 {
        let len = 6 + (next() % 24) as usize;
        let secret: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let form = round % 4;
        let s = secret.clone();
        let server = EchoServer::start(move |_req| {
            let shown = match form {
                0 => s.clone(),
                1 => base64::engine::general_purpose::STANDARD.encode(format!("u:{s}")),
                2 => form_urlencoded::byte_serialize(s.as_bytes()).collect(),
                _ => {
                    let j = serde_json::to_string(&s).expect("json");
                    j[1..j.len() - 1].to_owned()
                }
            };
            Answer {
                status: 500,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: format!("upstream said <{shown}> and nothing else"),
            }
        });
        let url = format!("{}/api", server.url());
        let run = kz_env(
            home.path(),
            home.path(),
            &[
                ("KAMIWAZA_API_URL", &url),
                ("KAMIWAZA_USERNAME", "admin"),
                ("KAMIWAZA_PASSWORD", &secret),
            ],
            &["kamiwaza", "list"],
        );
        assert_ne!(run.code, 0, "{run:?}");
        assert_no_secret(&run, &secret);
        assert_no_secret(&run, &format!("u:{secret}"));
    }
}
