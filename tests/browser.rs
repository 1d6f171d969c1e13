//! A real browser: Debian's Chromium, headless, driven through ChromeDriver (WebDriver, by
//! fantoccini). It signs up on the sign-up page, an MSNP client logs in with that account,
//! and the admin page lists the session and kicks it.
//!
//! Without `/usr/bin/chromedriver` the test says so and passes, unless
//! `MSND_REQUIRE_BROWSER=1` (CI sets it, and installs Chromium). With
//! `MSND_SCREENSHOTS=docs` it saves the README's screenshots of each page there.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::admin::token;
use common::{online, TestServer};
use fantoccini::{Client, ClientBuilder, Locator};
use msnd::config::Registration;
use msnd::protocol::Dialect;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// ChromeDriver on a loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// `None` (with a note) when ChromeDriver is not installed and not required.
    async fn start() -> Option<Driver> {
        if !Path::new(CHROMEDRIVER).exists() {
            let required = std::env::var("MSND_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(!required, "MSND_REQUIRE_BROWSER=1 but {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver");
            eprintln!("note: {CHROMEDRIVER} not found, the browser test did not run (apt-get install chromium chromium-driver)");
            return None;
        }
        let port = common::process::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, port, _profile: tempfile::tempdir().unwrap() };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not listen on port {port}");
    }

    /// A headless Chromium session, with the flags a closed network needs.
    async fn browser(&self) -> Client {
        let profile = format!("--user-data-dir={}", self._profile.path().display());
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=820,1000",
            profile.as_str(),
        ];
        let options = serde_json::json!({ "binary": CHROMIUM, "args": args });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

/// Saves a screenshot of the page as `name` where `MSND_SCREENSHOTS` says.
async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    if let Ok(dir) = std::env::var("MSND_SCREENSHOTS") {
        let path = PathBuf::from(dir).join(name);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

async fn fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

async fn page_says(browser: &Client, text: &str) {
    // A click returns before the page it leads to has loaded: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let source = browser.source().await.unwrap();
        if source.contains(text) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the page does not say {text:?}:\n{source}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// At a phone's width the page needs no sideways scrolling, and its form still works.
async fn fits_a_phone(browser: &Client, url: &str) {
    let (width, height) = browser.get_window_size().await.unwrap();
    browser.set_window_size(390, 844).await.unwrap();
    browser.goto(url).await.unwrap();
    let sizes = browser
        .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
        .await
        .unwrap();
    let (scroll, inner) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
    assert!(scroll <= inner, "{url} is {scroll} px wide in a {inner} px window");
    screenshot(browser, "signup-phone.png").await;
    browser.set_window_size(width as u32, height as u32).await.unwrap();
}

#[tokio::test]
async fn a_browser_signs_up_and_the_admin_page_kicks_the_session() {
    let Some(driver) = Driver::start().await else { return };
    let server = TestServer::start_with(|c| {
        c.challenges.enabled = false;
        c.web.registration = Registration::Open;
    })
    .await;
    let web = format!("http://{}", server.addrs.web.unwrap());
    let admin = format!("http://{}", server.addrs.admin);
    let browser = driver.browser().await;

    browser.goto(&format!("{web}/register")).await.unwrap();
    fill(&browser, "#email", "carol@example.com").await;
    fill(&browser, "#name", "Carol").await;
    fill(&browser, "#password", "carol-password").await;
    fill(&browser, "#again", "carol-password").await;
    screenshot(&browser, "signup.png").await;
    browser.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    page_says(&browser, "The account carol@example.com is ready").await;

    let mut carol = online(&server, "carol@example.com", "carol-password", Dialect::MSNP7).await;

    browser.goto(&format!("{web}/account")).await.unwrap();
    screenshot(&browser, "account.png").await;
    fits_a_phone(&browser, &format!("{web}/register")).await;

    browser.goto(&format!("{admin}/")).await.unwrap();
    fill(&browser, "#token", &token(&server)).await;
    browser.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    page_says(&browser, "<td>carol@example.com</td>").await;
    page_says(&browser, "<td>MSNP7</td>").await;
    screenshot(&browser, "admin.png").await;

    let kick = "form[action='/do/kick'] input[value='carol@example.com'] ~ button";
    browser.find(Locator::Css(kick)).await.expect("a Kick button in Carol's row").click().await.unwrap();
    carol.transcript("S: OUT\nS: (closed)").await;
    page_says(&browser, "kick: carol@example.com (its session ended").await;
    browser.goto(&format!("{admin}/")).await.unwrap();
    page_says(&browser, "Nobody is online.").await;
    browser.close().await.unwrap();
}
