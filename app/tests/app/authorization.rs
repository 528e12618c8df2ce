//! The server refuses what a caller may not do, whatever the UI shows: every server function
//! checks the session, the engine checks the role, cross-site posts are refused, and pages
//! send visitors without a session to the login page.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use slipway_app::server::{AppState, router};
use slipway_engine::Engine;
use slipway_engine::auth::Role;
use tower::ServiceExt;

use super::common;
use super::common::form_post;

const PASSWORD: &str = "a password long enough";

struct Harness {
    app: Router,
    engine: Engine,
    _dir: tempfile::TempDir,
    _sims: slipway_sim::Sandbox,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (engine, sims) = common::fast_sandbox_engine(&dir).await;
    for (name, role) in [("ada", Role::Admin), ("casey", Role::Creator), ("otto", Role::Operator)] {
        engine.create_user_unchecked(name, &SecretString::from(PASSWORD), role).await.unwrap();
    }
    let options = LeptosOptions::builder().output_name("slipway").site_root("target/site").site_pkg_dir("pkg").build();
    let state = AppState { engine: engine.clone(), served_over_https: false };
    Harness { app: router(state, options), engine, _dir: dir, _sims: sims }
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// Signs in through the login server function and returns the session cookie.
async fn sign_in(app: &Router, username: &str) -> String {
    let (status, headers, body) =
        send(app, form_post("/api/login", &format!("username={username}&password={PASSWORD}"), None)).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let cookie = headers.get(header::SET_COOKIE).expect("a session cookie").to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

const CREATE_BODY: &str = "venture%5Bname%5D=acme-shop&venture%5Brepository%5D=acme%2Fshop&venture%5Bstaging%5D=on";

#[tokio::test]
async fn every_server_function_refuses_a_caller_without_a_session() {
    let h = harness().await;
    for (path, body) in [
        ("/api/list_ventures", ""),
        ("/api/get_venture", "id=anything"),
        ("/api/create_venture", CREATE_BODY),
        ("/api/apply_venture", "id=anything"),
        ("/api/destroy_venture", "id=anything&confirm=anything"),
    ] {
        let (status, _, answer) = send(&h.app, form_post(path, body, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {answer}");
        assert!(answer.contains("not signed in"), "{path}: {answer}");
        let (status, _, _) = send(&h.app, form_post(path, body, Some("slipway_session=forged"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with a forged cookie");
    }
    let (status, _, body) = send(&h.app, form_post("/api/current_user", "", None)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "null"));
    let admin = h.engine.login("ada", &SecretString::from(PASSWORD), "").await.unwrap().0;
    assert!(h.engine.list_ventures(&admin).await.unwrap().is_empty(), "nothing was written");
}

#[tokio::test]
async fn wrong_password_is_refused() {
    let h = harness().await;
    let (status, headers, body) =
        send(&h.app, form_post("/api/login", "username=ada&password=wrong-password-x", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("wrong username or password"));
    assert!(headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn an_operator_may_look_but_not_create() {
    let h = harness().await;
    let cookie = sign_in(&h.app, "otto").await;
    let (status, _, body) = send(&h.app, form_post("/api/create_venture", CREATE_BODY, Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("operator") && body.contains("create ventures"), "{body}");
    let (status, _, body) = send(&h.app, form_post("/api/list_ventures", "", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""ventures":[]"#), "{body}");
    // A page number past any count reads the last page, not an error (PostgreSQL refuses a
    // negative OFFSET, which a wrapped one would be).
    let huge = format!("page={}", usize::MAX);
    let (status, _, body) = send(&h.app, form_post("/api/list_ventures", &huge, Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""page":1,"pages":1"#), "{body}");
}

#[tokio::test]
async fn a_creator_creates_and_invalid_input_writes_nothing() {
    let h = harness().await;
    let cookie = sign_in(&h.app, "casey").await;
    let (status, _, body) = send(
        &h.app,
        form_post("/api/create_venture", "venture%5Bname%5D=Bad%20Name&venture%5Brepository%5D=nope", Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome: serde_json::Value = serde_json::from_str(&body).unwrap();
    let issues = &outcome["Invalid"]["issues"];
    assert_eq!(issues[0]["field"], "name");
    assert_eq!(issues[1]["field"], "repository");
    let (_, _, list) = send(&h.app, form_post("/api/list_ventures", "", Some(&cookie))).await;
    assert!(list.contains(r#""ventures":[],"matching":0"#), "an invalid venture is not stored: {list}");

    let (status, _, body) = send(&h.app, form_post("/api/create_venture", CREATE_BODY, Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = outcome["Created"]["id"].as_str().expect("created").to_string();
    let (status, _, body) = send(&h.app, form_post("/api/get_venture", &format!("id={id}"), Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("acme-shop") && body.contains("provisioning"), "{body}");

    // The same name again is refused on the name field.
    let (_, _, body) = send(&h.app, form_post("/api/create_venture", CREATE_BODY, Some(&cookie))).await;
    assert!(body.contains("already used"), "{body}");
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let h = harness().await;
    let cookie = sign_in(&h.app, "ada").await;
    let mut request = form_post("/api/create_venture", CREATE_BODY, Some(&cookie));
    request.headers_mut().insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let (status, _, _) = send(&h.app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut request = form_post("/api/create_venture", CREATE_BODY, Some(&cookie));
    request.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
    let (status, _, _) = send(&h.app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = h.engine.login("ada", &SecretString::from(PASSWORD), "").await.unwrap().0;
    assert!(h.engine.list_ventures(&admin).await.unwrap().is_empty());
    // This server is http: an https Origin, or another port, is another origin.
    for other in ["https://localhost", "http://localhost:8080", "http://localhost.evil.example"] {
        let mut request = form_post("/api/create_venture", CREATE_BODY, Some(&cookie));
        request.headers_mut().insert(header::ORIGIN, other.parse().unwrap());
        let (status, _, _) = send(&h.app, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{other}");
    }
    assert!(h.engine.list_ventures(&admin).await.unwrap().is_empty());
    // Same origin goes through.
    let mut request = form_post("/api/create_venture", CREATE_BODY, Some(&cookie));
    request.headers_mut().insert(header::ORIGIN, "http://localhost".parse().unwrap());
    let (status, _, body) = send(&h.app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn pages_and_the_live_log_require_a_session() {
    let h = harness().await;
    for path in ["/", "/ventures", "/ventures/some-id"] {
        let request = Request::get(path).header(header::HOST, "localhost").body(Body::empty()).unwrap();
        let (status, headers, _) = send(&h.app, request).await;
        assert!(status.is_redirection(), "{path}: {status}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/login");
    }
    let request = Request::get("/api/ventures/x/events").body(Body::empty()).unwrap();
    let (status, _, _) = send(&h.app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let request = Request::get("/login").body(Body::empty()).unwrap();
    let (status, headers, body) = send(&h.app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Sign in to Slipway"));
    assert!(headers.get("content-security-policy").is_some());
}

/// Reads an SSE body until every one of `until` has appeared (or fails after a few seconds).
async fn read_sse_until(body: Body, until: &[&str]) -> String {
    let mut body = body;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !until.iter().all(|needle| text.contains(needle)) {
        let Ok(frame) = tokio::time::timeout_at(deadline, body.frame()).await else {
            panic!("timed out reading the stream; so far: {text}")
        };
        let frame = frame.expect("stream ended").unwrap();
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
    }
    text
}

fn sse_ids(text: &str) -> Vec<i64> {
    text.lines().filter_map(|l| l.strip_prefix("id:")).map(|id| id.trim().parse().unwrap()).collect()
}

#[tokio::test]
async fn the_live_log_streams_events_and_resumes_after_last_event_id() {
    use secrecy::ExposeSecret;
    use slipway_engine::venture::NewVenture;
    let h = harness().await;
    let (casey, token) = h.engine.login("casey", &SecretString::from(PASSWORD), "").await.unwrap();
    let venture = h.engine.create_venture(&casey, &NewVenture::new("live", "acme/live")).await.unwrap();
    let cookie = format!("slipway_session={}", token.expose_secret());
    let open = |last_event_id: Option<i64>| {
        let mut request = Request::get(format!("/api/ventures/{}/events", venture.id)).header(header::COOKIE, &cookie);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        h.app.clone().oneshot(request.body(Body::empty()).unwrap())
    };

    const DONE: &[&str] = &["live is ready", "\"status\":\"ready\""];
    // Before the job runs: the queued line and the current state.
    let response = open(None).await.unwrap();
    assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), "text/event-stream");
    let live = tokio::spawn(read_sse_until(response.into_body(), DONE));
    assert!(h.engine.runner().run_once().await.unwrap());
    let text = live.await.unwrap();
    assert!(text.contains("event: state") && text.contains("\"status\":\"ready\""), "{text}");
    let ids = sse_ids(&text);
    assert!(ids.len() >= 4 && ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    // A reconnect with Last-Event-ID gets exactly the lines after it.
    let resume_from = ids[1];
    let response = open(Some(resume_from)).await.unwrap();
    let text = read_sse_until(response.into_body(), DONE).await;
    assert_eq!(sse_ids(&text), ids[2..].to_vec(), "{text}");
}

#[tokio::test]
async fn pages_allow_only_their_own_nonced_scripts_and_nothing_private_is_cached() {
    let h = harness().await;
    let cookie = sign_in(&h.app, "casey").await;
    let page = Request::get("/ventures").header(header::HOST, "localhost").header(header::COOKIE, &cookie);
    let (status, headers, body) = send(&h.app, page.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let policy = headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    // Every inline script Leptos wrote for this page carries this render's nonce.
    let scripts = body.matches("<script").count();
    assert!(scripts > 0, "{body}");
    assert_eq!(body.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{body}");
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    assert!(headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "not over https");
    // Another render, another nonce.
    let again = Request::get("/ventures").header(header::HOST, "localhost").header(header::COOKIE, &cookie);
    let (_, headers, _) = send(&h.app, again.body(Body::empty()).unwrap()).await;
    assert!(!headers.get("content-security-policy").unwrap().to_str().unwrap().contains(nonce));

    // An API answer: no script at all, not cached; the bundle's files may be.
    let (_, headers, _) = send(&h.app, Request::get("/api/v1/connections").body(Body::empty()).unwrap()).await;
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    assert!(headers.get("content-security-policy").unwrap().to_str().unwrap().starts_with("default-src 'none'"));
    let (_, headers, _) = send(&h.app, Request::get("/pkg/slipway.css").body(Body::empty()).unwrap()).await;
    assert!(headers.get(header::CACHE_CONTROL).is_none_or(|c| c != "no-store"));

    // Behind https (the public URL says so): HSTS on every answer.
    let options = LeptosOptions::builder().output_name("slipway").site_root("target/site").site_pkg_dir("pkg").build();
    let https = router(AppState { engine: h.engine.clone(), served_over_https: true }, options);
    let (_, headers, _) = send(&https, Request::get("/login").body(Body::empty()).unwrap()).await;
    assert_eq!(headers.get(header::STRICT_TRANSPORT_SECURITY).unwrap(), "max-age=31536000; includeSubDomains");
}

#[tokio::test]
async fn sign_ins_that_keep_failing_wait_with_retry_after() {
    let h = harness().await;
    for _ in 0..4 {
        let (status, _, _) =
            send(&h.app, form_post("/api/login", "username=casey&password=guess-guess-guess", None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let right = format!("username=casey&password={PASSWORD}");
    let (status, headers, body) = send(&h.app, form_post("/api/login", &right, None)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "1");
    assert!(body.contains("too many failed sign-ins"), "{body}");
    assert!(headers.get(header::SET_COOKIE).is_none());
}

/// The notice a form's answer sends the browser back to the Users page with.
fn notice(headers: &axum::http::HeaderMap) -> String {
    let location = headers.get(header::LOCATION).expect("a redirect").to_str().unwrap();
    assert!(location.starts_with("/users?") || location.starts_with("/connections?"), "{location}");
    let url = reqwest::Url::parse(&format!("http://localhost{location}")).unwrap();
    url.query_pairs().find(|(k, _)| k == "notice").map(|(_, v)| v.into_owned()).expect("a notice")
}

#[tokio::test]
async fn the_users_page_forms_act_for_admins_only_and_end_sessions() {
    let h = harness().await;
    let admin = sign_in(&h.app, "ada").await;
    let casey = sign_in(&h.app, "casey").await;
    let otto = sign_in(&h.app, "otto").await;
    let whoami = |cookie: String| {
        let app = h.app.clone();
        async move { send(&app, form_post("/api/current_user", "", Some(&cookie))).await.2 }
    };
    assert!(whoami(otto.clone()).await.contains("otto"));

    // A creator's post changes nothing: the notice names the rule.
    let (status, headers, _) = send(&h.app, form_post("/users/otto/disable", "", Some(&casey))).await;
    assert!(status.is_redirection());
    assert_eq!(notice(&headers), "your role (creator) may not disable users");
    assert!(whoami(otto.clone()).await.contains("otto"), "still signed in");

    // An admin disables otto: his session ends at once; enabled, he signs in again.
    let (_, headers, _) = send(&h.app, form_post("/users/otto/disable", "", Some(&admin))).await;
    assert!(notice(&headers).starts_with("otto is disabled"), "{}", notice(&headers));
    assert_eq!(whoami(otto).await, "null");
    let (status, _, _) =
        send(&h.app, form_post("/api/login", &format!("username=otto&password={PASSWORD}"), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    send(&h.app, form_post("/users/otto/enable", "", Some(&admin))).await;
    let otto = sign_in(&h.app, "otto").await;

    // A role, then a new password: the old sessions end, the new password signs in.
    send(&h.app, form_post("/users/otto/role", "role=creator", Some(&admin))).await;
    assert!(whoami(otto.clone()).await.contains("creator"));
    let (_, headers, _) = send(&h.app, form_post("/users/otto/password", "password=short", Some(&admin))).await;
    assert!(notice(&headers).starts_with("password: must be at least"), "{}", notice(&headers));
    send(&h.app, form_post("/users/otto/password", "password=another+long+password", Some(&admin))).await;
    assert_eq!(whoami(otto).await, "null");
    let (status, _, _) =
        send(&h.app, form_post("/api/login", "username=otto&password=another+long+password", None)).await;
    assert!(status.is_success());

    // The page itself: admins only.
    let page = |cookie: &str| Request::get("/users").header(header::HOST, "localhost").header(header::COOKIE, cookie);
    let (_, _, body) = send(&h.app, page(&admin).body(Body::empty()).unwrap()).await;
    assert!(body.contains("data-testid=\"user-otto\"") && body.contains("Users and API tokens"), "{body}");
    let (_, _, body) = send(&h.app, page(&casey).body(Body::empty()).unwrap()).await;
    assert!(body.contains("may not list users") && !body.contains("data-testid=\"user-otto\""), "{body}");
}

#[tokio::test]
async fn the_connections_page_reads_the_last_check_and_its_form_checks_once_per_user_interval() {
    let h = harness().await;
    let otto = sign_in(&h.app, "otto").await;
    let page = |cookie: String| {
        let app = h.app.clone();
        async move {
            let request = Request::get("/connections").header(header::COOKIE, cookie).body(Body::empty()).unwrap();
            send(&app, request).await
        }
    };
    let (status, _, html) = page(otto.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Not checked yet.") && html.contains("not checked yet"), "{html}");
    assert!(html.contains(r#"content="30; url=/connections""#), "the page reloads itself");

    let (status, headers, _) = send(&h.app, form_post("/connections/check", "", Some(&otto))).await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(notice(&headers), "Checked just now: every platform answers.");
    let (_, _, html) = page(otto.clone()).await;
    // The age counts from the check's start: a second or two on a busy machine.
    let fresh = (0..=5).any(|s| html.contains(&format!("Checked {s} s ago.")));
    assert!(fresh && html.contains("Vercel connected"), "{html}");

    let (_, headers, _) = send(&h.app, form_post("/connections/check", "", Some(&otto))).await;
    assert!(notice(&headers).contains("once every 30 s per user; try again in"), "{}", notice(&headers));
    // Without a session, nothing is checked.
    let (status, headers, _) = send(&h.app, form_post("/connections/check", "", None)).await;
    assert!(status.is_redirection());
    assert_eq!(headers[header::LOCATION], "/login");
}
