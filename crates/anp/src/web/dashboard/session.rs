//! Who may act from a browser. Reading needs nothing; acting needs a session: the login form
//! posts `ANP_TOKEN` (compared in constant time), the server keeps a random session id and a
//! random CSRF token for it in memory and sets the id in an `HttpOnly; SameSite=Strict` cookie
//! scoped to `--base-path` (never the token itself). Every action form carries the session's
//! CSRF token in a hidden field; an action without a live session cookie or without its CSRF
//! token (compared in constant time) is refused with 403 before anything changes. Sessions
//! end at logout, after [`SESSION_TTL`], or when `anp serve` restarts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use rand::Rng;

use super::{error_page, render, see_other, Frame};
use crate::web::auth::same;
use crate::web::Shared;

/// The session cookie's name.
const COOKIE: &str = "anp_session";

/// How long a session lasts after login.
pub(in crate::web) const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The most sessions kept at once (the oldest goes first).
const MAX_SESSIONS: usize = 1000;

/// One signed-in browser.
#[derive(Debug, Clone)]
struct Session {
    /// The CSRF token its forms carry.
    csrf: String,
    /// When it was created.
    created: Instant,
}

/// The live sessions by id, in memory (a restart signs everyone out).
#[derive(Debug, Default)]
pub(in crate::web) struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

/// A signed-in request: its session's short id (for the audit log) and CSRF token.
#[derive(Debug, Clone)]
pub(super) struct SignedIn {
    /// The first 8 characters of the session id.
    pub(super) short: String,
    /// The session's CSRF token.
    pub(super) csrf: String,
}

impl SignedIn {
    /// Who the audit log records: `dashboard session 3fa2c1d0`.
    pub(super) fn who(&self) -> String {
        format!("dashboard session {}", self.short)
    }
}

/// 32 random bytes from the OS-seeded CSPRNG, hex.
fn random_hex() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    /// A new session; returns its id.
    fn create(&self) -> String {
        let id = random_hex();
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            id.clone(),
            Session {
                csrf: random_hex(),
                created: Instant::now(),
            },
        );
        id
    }

    /// The live session a request's cookie names, if any.
    fn find(&self, headers: &HeaderMap) -> Option<SignedIn> {
        let id = cookie(headers)?;
        let map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.get(&id)?;
        (s.created.elapsed() < SESSION_TTL).then(|| SignedIn {
            short: id.chars().take(8).collect(),
            csrf: s.csrf.clone(),
        })
    }

    /// Ends the session a request's cookie names.
    fn remove(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers) {
            self.by_id
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }
}

/// The session id in the request's `Cookie` header.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The frame of a page for this request: signed in or not, at the app's base path.
pub(super) fn frame(app: &Shared, headers: &HeaderMap, title: &str, tab: &'static str) -> Frame {
    let signed = app.sessions.find(headers);
    Frame {
        base: app.base_path.clone(),
        title: title.to_owned(),
        tab,
        who: signed.as_ref().map(|s| s.short.clone()),
        csrf: signed.map(|s| s.csrf),
        notice: None,
        actions_enabled: app.token.is_some(),
    }
}

/// Checks an action request: a live session and the form's `csrf` field equal to its token.
/// `Err` is the 403 page to answer (nothing has changed).
pub(super) fn check(
    app: &Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<SignedIn, Box<Response>> {
    let f = frame(app, headers, "refused", "");
    let Some(s) = app.sessions.find(headers) else {
        return Err(Box::new(error_page(
            f,
            StatusCode::FORBIDDEN,
            "refused: no dashboard session: sign in with ANP_TOKEN first (nothing was changed)",
        )));
    };
    let given = form.get("csrf").map(String::as_str).unwrap_or("");
    if !same(given.as_bytes(), s.csrf.as_bytes()) {
        return Err(Box::new(error_page(
            f,
            StatusCode::FORBIDDEN,
            "refused: missing or wrong CSRF token: expected the form's hidden csrf field; \
             reload the page and try again (nothing was changed)",
        )));
    }
    Ok(s)
}

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    /// The frame.
    f: Frame,
    /// Why the previous attempt failed, if it did.
    error: Option<String>,
}

/// `GET /login`.
pub(super) async fn login_page(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let f = frame(&app, &headers, "Sign in", "login");
    render(StatusCode::OK, &LoginPage { f, error: None })
}

/// `POST /login` with `token`: a session and its cookie, then the overview.
pub(super) async fn login(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let f = frame(&app, &headers, "Sign in", "login");
    let given = form.get("token").map(String::as_str).unwrap_or("");
    let error = match &app.token {
        None => Some("actions are disabled: start anp serve with ANP_TOKEN set".to_owned()),
        Some(t) if same(given.as_bytes(), t.as_bytes()) => None,
        Some(_) => Some("wrong token: expected the ANP_TOKEN anp serve was started with".into()),
    };
    if let Some(error) = error {
        let status = if app.token.is_none() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        return render(
            status,
            &LoginPage {
                f,
                error: Some(error),
            },
        );
    }
    let id = app.sessions.create();
    let path = super::home(&app.base_path);
    let mut r = see_other(&super::home(&app.base_path));
    let value = format!(
        "{COOKIE}={id}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /logout` (with the CSRF token): ends the session, clears the cookie.
pub(super) async fn logout(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = check(&app, &headers, &form) {
        return *refused;
    }
    app.sessions.remove(&headers);
    let path = super::home(&app.base_path);
    let mut r = see_other(&super::home(&app.base_path));
    let value = format!("{COOKIE}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
