//! The operator's interface to the running server, on loopback unless configured:
//!
//! - `/api/..`: JSON for `msnd admin` and scripts, with `Authorization: Bearer <token>`;
//! - `/`: the admin page, for a browser that has logged in with the same token (a cookie
//!   session, its forms guarded by a per-session token);
//! - `/metrics` (token required) and `/healthz` (not: it says only whether the database
//!   answers).

mod page;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::{unix_secs, Context};
use crate::accounts::Ended;
use crate::credentials::{constant_time_eq, random_token, Credentials};
use crate::metrics::Gauges;
use crate::presence::Event;
use crate::protocol::Email;
use crate::store::StoreError;
pub use page::Sessions;

/// Longest notice accepted: one line, as clients show it.
const MAX_NOTICE_CHARS: usize = 400;
/// Longest maintenance warning, in minutes (one day).
const MAX_MAINTENANCE_MINUTES: u32 = 24 * 60;

pub fn router(ctx: Arc<Context>) -> Router {
    let api = Router::new()
        .route("/sessions", get(api_sessions))
        .route("/stats", get(api_stats))
        .route("/accounts/{email}/{action}", post(api_account))
        .route("/accounts/{email}/password", post(api_password))
        .route("/broadcast", post(api_broadcast))
        .route("/maintenance", post(api_maintenance))
        .route("/invites", post(api_invite))
        .route_layer(axum::middleware::from_fn_with_state(ctx.clone(), require_token));
    let scraped = Router::new()
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(ctx.clone(), require_token));
    Router::new()
        .nest("/api", api)
        .merge(scraped)
        .route("/healthz", get(healthz))
        .route("/", get(page::admin_page))
        .route("/login", post(page::login))
        .route("/logout", post(page::logout))
        .route("/do/{action}", post(page::action))
        .with_state(ctx)
}

/// An API error: a status and a message, as JSON.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound => ApiError(StatusCode::NOT_FOUND, "no such account".into()),
            StoreError::Duplicate => ApiError(StatusCode::CONFLICT, error.to_string()),
            e => {
                warn!(error = %e, "admin: database error");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        }
    }
}

/// A JSON body; one that is missing, not JSON or lacks a field gets `400` with an
/// `{"error"}`, like every other refusal of the API.
struct Body<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Body<T>, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(body)) => Ok(Body(body)),
            Err(rejection) => Err(bad(rejection.body_text())),
        }
    }
}

fn bad(text: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, text.into())
}

/// Lets through only requests that carry the admin token, before anything else is read.
async fn require_token(
    State(ctx): State<Arc<Context>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let given = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    match given.and_then(|v| v.strip_prefix("Bearer ")) {
        Some(token) if constant_time_eq(token.trim().as_bytes(), ctx.token.as_bytes()) => {
            next.run(request).await
        }
        _ => ApiError(StatusCode::UNAUTHORIZED, "the admin token is missing or wrong".into()).into_response(),
    }
}

fn parse_email(text: &str) -> Result<Email, ApiError> {
    text.parse().map_err(|_| bad(format!("{text:?} is not an e-mail address")))
}

/// One online session, as the operator sees it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Session {
    pub email: String,
    pub version: String,
    pub client: Option<String>,
    pub address: String,
    /// Logged in at, in Unix seconds.
    pub since: u64,
    pub status: Option<String>,
    pub chats: usize,
}

fn sessions(ctx: &Context) -> Vec<Session> {
    let (per_user, _) = ctx.accounts.chats.census();
    let mut sessions: Vec<Session> = ctx
        .accounts
        .presence
        .sessions()
        .into_iter()
        .map(|s| Session {
            email: s.about.email.to_string(),
            version: s.about.dialect.name(),
            client: s.about.client.clone(),
            address: s.about.address.to_string(),
            since: unix_secs(s.about.since),
            status: s.status.map(|status| status.to_string()),
            chats: per_user.get(&s.id).copied().unwrap_or(0),
        })
        .collect();
    sessions.sort_by(|a, b| a.email.cmp(&b.email));
    sessions
}

async fn api_sessions(State(ctx): State<Arc<Context>>) -> Result<Json<Vec<Session>>, ApiError> {
    Ok(Json(sessions(&ctx)))
}

/// The figures of the admin page's stats view.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stats {
    pub accounts: i64,
    pub online: usize,
    pub chats: usize,
    pub participants: usize,
    pub uptime_secs: u64,
    pub closing: bool,
}

async fn stats(ctx: &Context) -> Result<Stats, ApiError> {
    let accounts = ctx.accounts.store.count_users().await?;
    let (_, participants) = ctx.accounts.chats.census();
    Ok(Stats {
        accounts,
        online: ctx.accounts.presence.len(),
        chats: ctx.accounts.chats.len(),
        participants,
        uptime_secs: ctx.started.elapsed().map_or(0, |d| d.as_secs()),
        closing: ctx.closing.is_closing(),
    })
}

async fn api_stats(State(ctx): State<Arc<Context>>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(stats(&ctx).await?))
}

/// What an account operation did.
#[derive(Debug, Serialize, Deserialize)]
pub struct Done {
    pub email: String,
    pub ended: Ended,
}

/// kick, disable, enable, delete.
async fn account_action(ctx: &Context, email: &Email, action: &str) -> Result<Ended, ApiError> {
    let accounts = &ctx.accounts;
    let ended = match action {
        "kick" => accounts.kick(email).await?,
        "disable" => accounts.set_disabled(email, true).await?,
        "enable" => accounts.set_disabled(email, false).await?,
        "delete" => accounts.delete(email).await?,
        other => return Err(ApiError(StatusCode::NOT_FOUND, format!("no action {other:?}"))),
    };
    info!(user = %email, action, "admin: account changed");
    Ok(ended)
}

async fn api_account(
    State(ctx): State<Arc<Context>>,
    Path((email, action)): Path<(String, String)>,
) -> Result<Json<Done>, ApiError> {
    let email = parse_email(&email)?;
    let ended = account_action(&ctx, &email, &action).await?;
    Ok(Json(Done { email: email.to_string(), ended }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewPassword {
    pub password: String,
}

async fn api_password(
    State(ctx): State<Arc<Context>>,
    Path(email): Path<String>,
    Body(body): Body<NewPassword>,
) -> Result<Json<Done>, ApiError> {
    let email = parse_email(&email)?;
    let ended = set_password(&ctx, &email, body.password).await?;
    Ok(Json(Done { email: email.to_string(), ended }))
}

/// Gives an account a new password, ending its live sessions.
async fn set_password(ctx: &Context, email: &Email, password: String) -> Result<Ended, ApiError> {
    if password.is_empty() {
        return Err(bad("the password must not be empty"));
    }
    let creds = tokio::task::spawn_blocking(move || Credentials::new(&password))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let ended = ctx.accounts.set_password(email, &creds).await?;
    info!(user = %email, "admin: password changed");
    Ok(ended)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Broadcast {
    pub text: String,
}

/// How many online sessions were told.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reached {
    pub reached: usize,
}

fn broadcast(ctx: &Context, text: &str) -> Result<usize, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTICE_CHARS || text.chars().any(char::is_control) {
        return Err(bad(format!("a notice is one line of 1 to {MAX_NOTICE_CHARS} characters")));
    }
    let id = ctx.notices.fetch_add(1, Ordering::Relaxed);
    let reached = ctx.accounts.presence.broadcast(&Event::Notice { id, text: text.into() });
    info!(reached, text, "admin: notice sent to everyone online");
    Ok(reached)
}

async fn api_broadcast(
    State(ctx): State<Arc<Context>>,
    Body(body): Body<Broadcast>,
) -> Result<Json<Reached>, ApiError> {
    Ok(Json(Reached { reached: broadcast(&ctx, &body.text)? }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Maintenance {
    /// The warning clients show: "going down for maintenance in N minutes".
    pub minutes: u32,
    /// When to stop, in seconds from now; `None`: after `minutes`.
    #[serde(default)]
    pub secs: Option<u64>,
}

/// Begins a maintenance shutdown: logins are refused from now on, everyone online is
/// warned, and the server stops (`OUT SSD` to all) when the time is up.
fn maintenance(ctx: &Context, request: &Maintenance) -> Result<usize, ApiError> {
    if request.minutes > MAX_MAINTENANCE_MINUTES {
        return Err(bad(format!("at most {MAX_MAINTENANCE_MINUTES} minutes")));
    }
    if !ctx.closing.begin() {
        return Err(ApiError(StatusCode::CONFLICT, "a maintenance shutdown is already under way".into()));
    }
    let after = Duration::from_secs(request.secs.unwrap_or(u64::from(request.minutes) * 60));
    let reached = ctx.accounts.presence.broadcast(&Event::Maintenance { minutes: request.minutes });
    warn!(
        minutes = request.minutes,
        stops_in_secs = after.as_secs(),
        reached,
        "maintenance shutdown begun: new logins are refused"
    );
    let stop = ctx.stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(after) => {
                info!("maintenance: stopping now");
                stop.cancel();
            }
            () = stop.cancelled() => {}
        }
    });
    Ok(reached)
}

async fn api_maintenance(
    State(ctx): State<Arc<Context>>,
    Body(body): Body<Maintenance>,
) -> Result<Json<Reached>, ApiError> {
    Ok(Json(Reached { reached: maintenance(&ctx, &body)? }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Invite {
    pub code: String,
    /// Valid until, in Unix seconds.
    pub expires: u64,
}

/// A new invitation code for the sign-up page.
pub async fn new_invite(store: &crate::store::Store, days: u64) -> Result<Invite, StoreError> {
    let now = unix_secs(SystemTime::now());
    let invite = Invite { code: random_token(), expires: now + days * 86_400 };
    store.create_invite(&invite.code, now, invite.expires).await?;
    Ok(invite)
}

async fn api_invite(State(ctx): State<Arc<Context>>) -> Result<Json<Invite>, ApiError> {
    Ok(Json(new_invite(&ctx.accounts.store, ctx.config.web.invite_days).await?))
}

/// The gauges of what is online now, from the registries.
fn gauges(ctx: &Context) -> Gauges {
    let mut per_version: HashMap<String, i64> = HashMap::new();
    for s in ctx.accounts.presence.sessions() {
        *per_version.entry(s.about.dialect.name()).or_insert(0) += 1;
    }
    let (_, participants) = ctx.accounts.chats.census();
    Gauges {
        sessions: per_version.into_iter().collect(),
        chats: ctx.accounts.chats.len() as i64,
        participants: participants as i64,
    }
}

async fn metrics(State(ctx): State<Arc<Context>>) -> Response {
    let text = ctx.metrics.render(gauges(&ctx));
    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(CONTENT_TYPE, HeaderValue::from_static(kind))], text).into_response()
}

/// `200 ok` while the database answers, `503` when it does not.
async fn healthz(State(ctx): State<Arc<Context>>) -> Response {
    let store = &ctx.accounts.store;
    match ctx.metrics.timed("health", store.healthy()).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        // The detail is for the log: whoever may ask /healthz need not learn paths.
        Err(e) => {
            warn!(error = %e, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}
