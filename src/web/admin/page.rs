//! The admin page: a browser logs in with the admin token and gets a cookie session (12
//! hours); every form carries the session's own token, so another site cannot post them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use tracing::{info, warn};

use super::{
    account_action, bad, broadcast, maintenance, new_invite, parse_email, sessions, set_password, stats,
    ApiError, Maintenance, Stats, MAX_MAINTENANCE_MINUTES, MAX_NOTICE_CHARS,
};
use crate::credentials::{constant_time_eq, random_token};
use crate::web::forms::cookie;
use crate::web::layout::{page, Notice};
use crate::web::{unix_secs, Context, Remote};

const SESSION_COOKIE: &str = "msnd_admin";
/// How long an admin page log-in lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Logged-in admin pages: session id to its form token and expiry.
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<String, (String, Instant)>>);

impl Sessions {
    fn open(&self) -> (String, String) {
        let (id, csrf) = (random_token(), random_token());
        let mut sessions = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, (_, until)| *until > now);
        sessions.insert(id.clone(), (csrf.clone(), now + SESSION_TTL));
        (id, csrf)
    }

    /// The form token of a current session.
    fn csrf(&self, id: &str) -> Option<String> {
        let sessions = self.0.lock().unwrap_or_else(|p| p.into_inner());
        sessions.get(id).filter(|(_, until)| *until > Instant::now()).map(|(csrf, _)| csrf.clone())
    }

    fn close(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

/// The form token of the browser's admin session, if it has one.
fn page_session(ctx: &Context, headers: &HeaderMap) -> Option<(String, String)> {
    let id = cookie(headers, SESSION_COOKIE)?;
    ctx.admin_sessions.csrf(id).map(|csrf| (id.to_owned(), csrf))
}

pub(super) async fn admin_page(State(ctx): State<Arc<Context>>, headers: HeaderMap) -> Response {
    match page_session(&ctx, &headers) {
        Some((_, csrf)) => page_with(&ctx, &csrf, StatusCode::OK, None).await,
        None => login_page(None).into_response(),
    }
}

/// The admin page, with the outcome of what was just done on top (rendered in the answer
/// to the form, never carried in a URL: a link cannot put words on the page, and a new
/// invitation code stays out of the browser's history).
async fn page_with(ctx: &Context, csrf: &str, status: StatusCode, notice: Option<Notice>) -> Response {
    match stats(ctx).await {
        Ok(stats) => (status, dashboard(ctx, csrf, &stats, notice)).into_response(),
        Err(ApiError(status, text)) => (status, login_page(Some(Notice::Error(text)))).into_response(),
    }
}

fn login_page(notice: Option<Notice>) -> Markup {
    page(
        "msnd admin",
        notice,
        html! {
            form method="post" action="/login" {
                label for="token" { "Admin token (the file admin-token in the data directory)" }
                input id="token" name="token" type="password" required autocomplete="current-password";
                button type="submit" { "Log in" }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TokenForm {
    token: String,
}

pub(super) async fn login(
    State(ctx): State<Arc<Context>>,
    ConnectInfo(Remote(peer)): ConnectInfo<Remote>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let client = ctx.client(peer, &headers);
    if !ctx.admin_logins.take(client) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            login_page(Some(Notice::Error("Too many attempts: wait a few minutes.".into()))),
        )
            .into_response();
    }
    if !constant_time_eq(form.token.trim().as_bytes(), ctx.token.as_bytes()) {
        warn!(peer = %client, "admin page: wrong token");
        return (
            StatusCode::FORBIDDEN,
            login_page(Some(Notice::Error("That is not the admin token.".into()))),
        )
            .into_response();
    }
    let (id, _) = ctx.admin_sessions.open();
    info!(peer = %client, "admin page: logged in");
    let cookie = format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict");
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(SET_COOKIE, HeaderValue::from_str(&cookie).expect("hex cookie"));
    response
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ActionForm {
    csrf: String,
    email: String,
    text: String,
    minutes: String,
    password: String,
}

pub(super) async fn logout(
    State(ctx): State<Arc<Context>>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Some((id, csrf)) = page_session(&ctx, &headers) {
        if constant_time_eq(csrf.as_bytes(), form.csrf.as_bytes()) {
            ctx.admin_sessions.close(&id);
        }
    }
    Redirect::to("/").into_response()
}

/// A form of the admin page: carried out, then back to the page with the outcome.
pub(super) async fn action(
    State(ctx): State<Arc<Context>>,
    headers: HeaderMap,
    Path(action): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Some((_, csrf)) = page_session(&ctx, &headers) else {
        return (StatusCode::FORBIDDEN, login_page(Some(Notice::Error("Log in first.".into()))))
            .into_response();
    };
    if !constant_time_eq(csrf.as_bytes(), form.csrf.as_bytes()) {
        return (StatusCode::FORBIDDEN, "this form did not come from the admin page\n").into_response();
    }
    match carry_out(&ctx, &action, &form).await {
        Ok(done) => page_with(&ctx, &csrf, StatusCode::OK, Some(Notice::Done(done))).await,
        Err(ApiError(status, error)) => page_with(&ctx, &csrf, status, Some(Notice::Error(error))).await,
    }
}

async fn carry_out(ctx: &Context, action: &str, form: &ActionForm) -> Result<String, ApiError> {
    match action {
        "broadcast" => broadcast(ctx, &form.text).map(|n| format!("Notice sent to {n} online sessions.")),
        "maintenance" => {
            let minutes = form.minutes.trim().parse().map_err(|_| bad("minutes must be a whole number"))?;
            let reached = maintenance(ctx, &Maintenance { minutes, secs: None })?;
            Ok(format!(
                "Maintenance begun: {reached} sessions warned; the server stops in {minutes} minutes."
            ))
        }
        "invite" => {
            let invite = new_invite(&ctx.accounts.store, ctx.config.web.invite_days).await?;
            Ok(format!("New invitation code: {} (valid {} days)", invite.code, ctx.config.web.invite_days))
        }
        account => {
            let email = parse_email(form.email.trim())?;
            let ended = match account {
                "password" => set_password(ctx, &email, form.password.clone()).await?,
                action => account_action(ctx, &email, action).await?,
            };
            let live = if ended.notification { "its session ended" } else { "it was not online" };
            Ok(format!("{account}: {email} ({live}; {} chat connections closed).", ended.chats))
        }
    }
}

fn dashboard(ctx: &Context, csrf: &str, stats: &Stats, notice: Option<Notice>) -> Markup {
    let online = sessions(ctx);
    let hidden = html! { input type="hidden" name="csrf" value=(csrf); };
    let now = unix_secs(SystemTime::now());
    page(
        "msnd admin",
        notice,
        html! {
            @if stats.closing { p.error { "Maintenance shutdown under way: new logins are refused." } }
            h2 { "Now" }
            dl.stats {
                dt { "Accounts" } dd { (stats.accounts) }
                dt { "Online" } dd { (stats.online) }
                dt { "Chats" } dd { (stats.chats) " (" (stats.participants) " participants)" }
                dt { "Up for" } dd { (duration(stats.uptime_secs)) }
                dt { "Sign-up" } dd { (format!("{:?}", ctx.config.web.registration).to_lowercase()) " at " a href={ (ctx.web_url) "/register" } { (ctx.web_url) "/register" } }
            }
            h2 { "Online sessions" }
            div.scroll {
                table {
                    thead { tr { th { "Handle" } th { "Version" } th { "Client" } th { "Address" } th { "Online for" } th { "Status" } th { "Chats" } th { "" } } }
                    tbody {
                        @for s in &online {
                            tr {
                                td { (s.email) }
                                td { (s.version) }
                                td { (s.client.as_deref().unwrap_or("")) }
                                td { (s.address) }
                                td { (duration(now.saturating_sub(s.since))) }
                                td { (s.status.as_deref().unwrap_or("-")) }
                                td { (s.chats) }
                                td {
                                    @for (action, label, class) in [("kick", "Kick", ""), ("disable", "Disable", "danger")] {
                                        form.inline method="post" action={ "/do/" (action) } {
                                            (hidden)
                                            input type="hidden" name="email" value=(s.email);
                                            button class=(class) type="submit" { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if online.is_empty() { p { "Nobody is online." } }
            form method="post" action="/do/broadcast" {
                h2 { "Notice to everyone online" }
                (hidden)
                label for="text" { "Text (one line)" }
                input id="text" name="text" type="text" required maxlength=(MAX_NOTICE_CHARS);
                button type="submit" { "Send" }
            }
            form method="post" action="/do/kick" {
                h2 { "An account" }
                (hidden)
                label for="email" { "Handle" }
                input id="email" name="email" type="email" required;
                @for (action, label) in [("kick", "Kick"), ("disable", "Disable"), ("enable", "Enable"), ("delete", "Delete")] {
                    button type="submit" formaction={ "/do/" (action) } class=(if action == "delete" { "danger" } else { "" }) { (label) } " "
                }
            }
            form method="post" action="/do/password" {
                h2 { "A new password" }
                (hidden)
                label for="pw-email" { "Handle" }
                input id="pw-email" name="email" type="email" required;
                label for="pw" { "New password (the account's sessions end)" }
                input id="pw" name="password" type="password" required autocomplete="new-password";
                button type="submit" { "Set password" }
            }
            form method="post" action="/do/invite" {
                h2 { "Invitations" }
                (hidden)
                p { "A code lets one person sign up while sign-up is by invitation." }
                button type="submit" { "New invitation code" }
            }
            form method="post" action="/do/maintenance" {
                h2 { "Maintenance shutdown" }
                (hidden)
                p { "Everyone online is told the server goes down in this many minutes; logins are refused from now on; then the server stops." }
                label for="minutes" { "Minutes" }
                input id="minutes" name="minutes" type="number" min="0" max=(MAX_MAINTENANCE_MINUTES) value="5" required;
                button.danger type="submit" { "Begin" }
            }
            form method="post" action="/logout" { (hidden) button type="submit" { "Log out" } }
        },
    )
}

/// `3 h 20 min`, `5 min`, `40 s`.
fn duration(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
