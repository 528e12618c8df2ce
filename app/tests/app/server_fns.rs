//! Server functions called with what no form of ours sends: a missing, wrongly typed or
//! unparsable argument is a 400 naming the field, an oversized body a 413, never Leptos' 500.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use slipway_app::server::arguments::ARGUMENTS;
use slipway_app::server::{AppState, router};
use slipway_engine::auth::Role;
use tower::ServiceExt;

use super::common;

#[test]
fn every_registered_server_function_has_its_arguments_checked() {
    let registered: BTreeSet<&str> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
    let checked: BTreeSet<&str> = ARGUMENTS.iter().map(|(path, _)| *path).collect();
    assert_eq!(registered, checked);
}

async fn post(app: &axum::Router, path: &str, body: Vec<u8>, cookie: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::post(path)
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn malformed_arguments_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _sims) = common::fast_sandbox_engine(&dir).await;
    let password = "a password long enough";
    engine.create_user_unchecked("casey", &SecretString::from(password), Role::Creator).await.unwrap();
    let options = LeptosOptions::builder().output_name("slipway").site_root("target/site").site_pkg_dir("pkg").build();
    let app = router(AppState { engine, served_over_https: false }, options);
    let (status, _) = post(&app, "/api/login", format!("username=casey&password={password}").into_bytes(), None).await;
    assert!(status.is_redirection() || status.is_success(), "{status}");
    let login = app
        .clone()
        .oneshot(
            Request::post("/api/login")
                .header(header::HOST, "localhost")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("username=casey&password={password}")))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = login.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let cookie = Some(cookie.as_str());

    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("/api/get_venture", b"".to_vec(), StatusCode::BAD_REQUEST, "id: is required"),
        ("/api/apply_venture", b"nope=1".to_vec(), StatusCode::BAD_REQUEST, "id: is required"),
        ("/api/destroy_venture", b"id=x".to_vec(), StatusCode::BAD_REQUEST, "confirm: is required"),
        ("/api/create_venture", b"venture=5".to_vec(), StatusCode::BAD_REQUEST, "venture: must hold fields of its own"),
        (
            "/api/create_venture",
            b"venture[name]=a".to_vec(),
            StatusCode::BAD_REQUEST,
            "venture.repository: is required",
        ),
        (
            "/api/create_venture",
            b"venture[name]=a&venture[repository]=a/b&venture[regoin]=x".to_vec(),
            StatusCode::BAD_REQUEST,
            "venture.regoin: is not a field",
        ),
        ("/api/preview_plan", b"".to_vec(), StatusCode::BAD_REQUEST, "venture: is required"),
        ("/api/login", b"username=casey".to_vec(), StatusCode::BAD_REQUEST, "password: is required"),
        ("/api/get_venture", b"id=\xff\xfe".to_vec(), StatusCode::BAD_REQUEST, "not valid UTF-8"),
        ("/api/get_venture", vec![b'a'; 3 * 1024 * 1024], StatusCode::PAYLOAD_TOO_LARGE, "larger than 64 KiB"),
    ];
    for (path, body, want, says) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, text) = post(&app, path, body, cookie).await;
        assert_eq!(status, want, "{path} {shown}: {text}");
        assert!(text.contains(says), "{path} {shown}: {text}");
    }
    // Functions without arguments take an empty body; well-formed calls still reach the engine.
    for path in ["/api/list_ventures", "/api/form_choices", "/api/current_user"] {
        let (status, text) = post(&app, path, Vec::new(), cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
    }
    let (status, text) = post(&app, "/api/get_venture", b"id=no-such-venture".to_vec(), cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
}
