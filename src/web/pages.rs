//! The public pages: sign-up (`/register`, where the nexus's `DAReg` leads) and the account
//! page (`/account`), where a user changes their password or friendly name by giving their
//! current password. Every form is answered with the page again, the outcome on top.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;
use tracing::info;

use super::forms::Csrf;
use super::layout::{page, Notice};
use super::{unix_secs, Context, Remote};
use crate::config::Registration;
use crate::credentials::{password_matches, Credentials};
use crate::protocol::lists::{is_valid_friendly_name, MAX_FRIENDLY_NAME_CHARS};
use crate::protocol::Email;
use crate::store::{StoreError, User};

/// Shortest password the pages accept (the CLI leaves it to the operator).
const MIN_PASSWORD_CHARS: usize = 6;
/// Longest: MSN Messenger's own field took 16; Passport's, more.
const MAX_PASSWORD_CHARS: usize = 128;

pub fn router(ctx: Arc<Context>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/register") }))
        .route("/register", get(register_page).post(register))
        .route("/register.srf", get(|| async { Redirect::permanent("/register") }))
        .route("/account", get(account_page))
        .route("/account/password", axum::routing::post(change_password))
        .route("/account/name", axum::routing::post(change_name))
        .with_state(ctx)
}

/// A page with its cross-site cookie set if the browser had none.
fn respond(status: StatusCode, csrf: &Csrf, body: Markup) -> Response {
    let mut response = (status, body).into_response();
    if let Some((name, value)) = csrf.set_cookie() {
        response.headers_mut().insert(name, value);
    }
    response
}

/// Why a form was not carried out, and the status that says so.
struct Refusal(StatusCode, String);

impl Refusal {
    fn bad(text: impl Into<String>) -> Refusal {
        Refusal(StatusCode::BAD_REQUEST, text.into())
    }
}

/// The checks every submission passes first: the per-address limit, then the cross-site
/// token.
fn admit(ctx: &Context, peer: SocketAddr, headers: &HeaderMap, csrf: &str) -> Result<(), Refusal> {
    if !ctx.forms.take(ctx.client(peer, headers)) {
        let text = "Too many attempts from your address. Wait a few minutes and try again.";
        return Err(Refusal(StatusCode::TOO_MANY_REQUESTS, text.into()));
    }
    if !Csrf::matches(headers, csrf) {
        let text = "This form has expired or did not come from this site. Reload the page and try again.";
        return Err(Refusal(StatusCode::FORBIDDEN, text.into()));
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignUp {
    email: String,
    name: String,
    password: String,
    again: String,
    invite: String,
    csrf: String,
}

async fn register_page(State(ctx): State<Arc<Context>>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    respond(StatusCode::OK, &csrf, sign_up_page(&ctx, &csrf, None, &SignUp::default()))
}

async fn register(
    State(ctx): State<Arc<Context>>,
    ConnectInfo(Remote(peer)): ConnectInfo<Remote>,
    headers: HeaderMap,
    Form(form): Form<SignUp>,
) -> Response {
    let csrf = Csrf::of(&headers);
    match sign_up(&ctx, peer, &headers, &form).await {
        Ok(email) => {
            let done = format!("The account {email} is ready. Sign in with MSN Messenger as {email}.");
            respond(
                StatusCode::OK,
                &csrf,
                page("Account created", Some(Notice::Done(done)), signed_up(&email)),
            )
        }
        Err(Refusal(status, text)) => {
            respond(status, &csrf, sign_up_page(&ctx, &csrf, Some(Notice::Error(text)), &form))
        }
    }
}

async fn sign_up(
    ctx: &Context,
    peer: SocketAddr,
    headers: &HeaderMap,
    form: &SignUp,
) -> Result<Email, Refusal> {
    let mode = ctx.config.web.registration;
    if mode == Registration::Closed {
        return Err(Refusal(StatusCode::FORBIDDEN, "Sign-up is closed on this server.".into()));
    }
    admit(ctx, peer, headers, &form.csrf)?;
    let email: Email =
        form.email.trim().parse().map_err(|_| Refusal::bad("Enter a valid e-mail address."))?;
    let name = match form.name.trim() {
        "" => email.to_string(),
        name => name.to_owned(),
    };
    check_name(&name)?;
    check_new_password(&form.password, &form.again)?;
    let creds = hash(ctx, &form.password).await;
    let store = &ctx.accounts.store;
    let created = match mode {
        Registration::Invite => {
            let now = unix_secs(std::time::SystemTime::now());
            store.create_invited_user(form.invite.trim(), now, &email, &name, &creds).await
        }
        _ => store.create_user(&email, &name, &creds).await,
    };
    match created {
        Ok(user) => {
            info!(user = %user.email, peer = %ctx.client(peer, headers), "account created on the sign-up page");
            Ok(user.email)
        }
        Err(StoreError::Duplicate) => {
            Err(Refusal(StatusCode::CONFLICT, format!("{email} already has an account.")))
        }
        Err(StoreError::NotFound) => {
            Err(Refusal::bad("That invitation code is not valid (or was used already)."))
        }
        Err(e) => Err(internal(e)),
    }
}

fn check_name(name: &str) -> Result<(), Refusal> {
    if !is_valid_friendly_name(name) {
        let text = format!("The friendly name must be 1 to {MAX_FRIENDLY_NAME_CHARS} printable characters.");
        return Err(Refusal::bad(text));
    }
    Ok(())
}

fn check_new_password(password: &str, again: &str) -> Result<(), Refusal> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        let text = format!("The password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters.");
        return Err(Refusal::bad(text));
    }
    if password != again {
        return Err(Refusal::bad("The two passwords are not the same."));
    }
    Ok(())
}

/// Argon2id takes tens of milliseconds: off the async threads.
async fn hash(ctx: &Context, password: &str) -> Credentials {
    let password = password.to_owned();
    let _turn = ctx.hashing.acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || Credentials::new(&password)).await.expect("hashing does not panic")
}

fn internal(error: StoreError) -> Refusal {
    tracing::error!(%error, "web page: database error");
    Refusal(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server. Try again later.".into())
}

fn sign_up_page(ctx: &Context, csrf: &Csrf, notice: Option<Notice>, form: &SignUp) -> Markup {
    let mode = ctx.config.web.registration;
    let body = match mode {
        Registration::Closed => html! {
            p { "Sign-up is closed on this server: ask its operator for an account." }
        },
        _ => html! {
            p { "Your e-mail address is your sign-in name in MSN Messenger. It is never sent mail." }
            form method="post" action="/register" {
                input type="hidden" name="csrf" value=(csrf.token);
                label for="email" { "E-mail address" }
                input id="email" name="email" type="email" required value=(form.email) autocomplete="username";
                label for="name" { "Friendly name (shown to your contacts)" }
                input id="name" name="name" type="text" maxlength=(MAX_FRIENDLY_NAME_CHARS) value=(form.name);
                label for="password" { "Password (at least " (MIN_PASSWORD_CHARS) " characters)" }
                input id="password" name="password" type="password" required autocomplete="new-password";
                label for="again" { "Password again" }
                input id="again" name="again" type="password" required autocomplete="new-password";
                @if mode == Registration::Invite {
                    label for="invite" { "Invitation code" }
                    input id="invite" name="invite" type="text" required value=(form.invite) autocomplete="off";
                }
                button type="submit" { "Create account" }
            }
            p { a href="/account" { "Change the password or name of an account" } }
        },
    };
    page("Sign up", notice, body)
}

fn signed_up(email: &Email) -> Markup {
    html! {
        p { "Point MSN Messenger at this server and sign in as " strong { (email) } " with the password you chose." }
        p { a href="/account" { "Your account" } }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Change {
    email: String,
    current: String,
    password: String,
    again: String,
    name: String,
    csrf: String,
}

async fn account_page(State(_ctx): State<Arc<Context>>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    respond(StatusCode::OK, &csrf, account(&csrf, None, &Change::default()))
}

async fn change_password(
    State(ctx): State<Arc<Context>>,
    ConnectInfo(Remote(peer)): ConnectInfo<Remote>,
    headers: HeaderMap,
    Form(form): Form<Change>,
) -> Response {
    let outcome = async {
        let email = authenticate(&ctx, peer, &headers, &form).await?.email;
        check_new_password(&form.password, &form.again)?;
        let creds = hash(&ctx, &form.password).await;
        ctx.accounts.set_password(&email, &creds).await.map_err(internal)?;
        info!(user = %email, peer = %ctx.client(peer, &headers), "password changed on the account page");
        Ok(format!("The password of {email} is changed. Sign in again with the new one."))
    };
    answer(&headers, outcome.await, &form)
}

async fn change_name(
    State(ctx): State<Arc<Context>>,
    ConnectInfo(Remote(peer)): ConnectInfo<Remote>,
    headers: HeaderMap,
    Form(form): Form<Change>,
) -> Response {
    let outcome = async {
        let user = authenticate(&ctx, peer, &headers, &form).await?;
        let (email, name) = (user.email, form.name.trim());
        check_name(name)?;
        let store = &ctx.accounts.store;
        store.set_friendly_name(user.id, name).await.map_err(internal)?;
        info!(user = %email, "friendly name changed on the account page");
        Ok(format!("{email} is now called {name:?}; contacts see it from your next sign-in."))
    };
    answer(&headers, outcome.await, &form)
}

/// The account page again, with the outcome of a change on top.
fn answer(headers: &HeaderMap, outcome: Result<String, Refusal>, form: &Change) -> Response {
    let csrf = Csrf::of(headers);
    let kept = Change { email: form.email.clone(), ..Change::default() };
    match outcome {
        Ok(done) => respond(StatusCode::OK, &csrf, account(&csrf, Some(Notice::Done(done)), &kept)),
        Err(Refusal(status, text)) => {
            respond(status, &csrf, account(&csrf, Some(Notice::Error(text)), &kept))
        }
    }
}

/// The account a change is for, if its current password is right. A wrong password and an
/// unknown or disabled account get the same answer, after the same Argon2 check (an
/// unknown one against a stand-in hash), so that neither the answer nor its time tells
/// whether the account exists.
async fn authenticate(
    ctx: &Context,
    peer: SocketAddr,
    headers: &HeaderMap,
    form: &Change,
) -> Result<User, Refusal> {
    admit(ctx, peer, headers, &form.csrf)?;
    let wrong =
        || Refusal(StatusCode::FORBIDDEN, "The e-mail address or the current password is wrong.".into());
    let email: Email = form.email.trim().parse().map_err(|_| wrong())?;
    let user = ctx.accounts.store.user(&email).await.map_err(internal)?.filter(|u| !u.disabled);
    let (current, stand_in) = (form.current.clone(), ctx.stand_in_hash.clone());
    let _turn = ctx.hashing.acquire().await.expect("the semaphore is never closed");
    let checked = tokio::task::spawn_blocking(move || match user {
        Some(u) => {
            password_matches(&current, &u.md5_salt, &u.md5_digest, u.passport_hash.as_deref()).then_some(u)
        }
        None => {
            let _same_cost = password_matches(&current, "", "", Some(&stand_in));
            None
        }
    })
    .await
    .ok()
    .flatten();
    checked.ok_or_else(|| {
        info!(user = %email, peer = %ctx.client(peer, headers), "account page: wrong password");
        wrong()
    })
}

fn account(csrf: &Csrf, notice: Option<Notice>, form: &Change) -> Markup {
    let credentials = html! {
        input type="hidden" name="csrf" value=(csrf.token);
        label { "E-mail address" input name="email" type="email" required value=(form.email) autocomplete="username"; }
        label { "Current password" input name="current" type="password" required autocomplete="current-password"; }
    };
    let body = html! {
        form method="post" action="/account/password" {
            h2 { "Change your password" }
            (credentials)
            label { "New password" input name="password" type="password" required autocomplete="new-password"; }
            label { "New password again" input name="again" type="password" required autocomplete="new-password"; }
            button type="submit" { "Change password" }
        }
        form method="post" action="/account/name" {
            h2 { "Change your friendly name" }
            (credentials)
            label { "New friendly name" input name="name" type="text" required maxlength=(MAX_FRIENDLY_NAME_CHARS); }
            button type="submit" { "Change name" }
        }
        p { a href="/register" { "Create an account" } }
    };
    page("Your account", notice, body)
}
