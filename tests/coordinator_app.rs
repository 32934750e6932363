//! The coordinator's app at `/app/`, driven in headless Chromium: log in, find
//! a volunteer by name, record service online, then record while the server
//! is gone and see the record sync exactly once when it is back.
//!
//! Needs `chromium` and `chromium-driver` (Debian). Without chromedriver the
//! test fails when `CI` is set and is skipped, saying so, otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use common::*;
use timebank::domain::Role;

/// A chromedriver on a free port, stopped with the test.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// None when chromedriver is not installed.
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session, driven step by step from the (blocking) test.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
}

impl Browser {
    fn open(driver: &Driver) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut options = json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-dev-shm-usage", "--window-size=412,915",
        ]});
        // Debian's /usr/bin/chromium is a wrapper script; the binary itself starts faster.
        if std::path::Path::new("/usr/lib/chromium/chromium").exists() {
            options["binary"] = json!("/usr/lib/chromium/chromium");
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = rt
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&driver.url),
            )
            .expect("a Chromium session");
        Self {
            rt,
            client: Some(client),
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("open session")
    }

    fn goto(&self, url: &str) {
        self.rt.block_on(self.client().goto(url)).expect("goto");
    }

    fn js(&self, script: &str) -> Value {
        self.rt
            .block_on(self.client().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Waits up to five seconds for a JavaScript expression to be true.
    fn wait(&self, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let script = format!("return !!({expression});");
        while self.js(&script) != json!(true) {
            if Instant::now() > deadline {
                let page = self.js("return document.body.innerText;");
                panic!(
                    "waited in vain for {expression}; the page says:\n{}",
                    page.as_str().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn click(&self, css: &str) {
        self.rt
            .block_on(async { self.client().find(Locator::Css(css)).await?.click().await })
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    fn type_into(&self, css: &str, text: &str) {
        self.rt
            .block_on(async {
                let field = self.client().find(Locator::Css(css)).await?;
                field.clear().await?;
                field.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    fn text(&self, css: &str) -> String {
        self.rt
            .block_on(async { self.client().find(Locator::Css(css)).await?.text().await })
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(client.close());
        }
    }
}

/// The records of the queue kept on the phone.
fn kept_queue(browser: &Browser) -> Vec<Value> {
    let raw = browser.js("return localStorage.getItem('timebank.app.queue');");
    serde_json::from_str(raw.as_str().unwrap_or("[]")).expect("queue JSON")
}

/// Sets the start of the next record to `minutes_ago` before now (local time,
/// as a datetime-local field holds it).
fn start_minutes_ago(browser: &Browser, minutes_ago: i64) {
    browser.js(&format!(
        "const d = new Date(Date.now() - {minutes_ago} * 60000); d.setSeconds(0, 0);
         document.getElementById('started-at').value =
           new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);"
    ));
}

fn records_of(bank: &Bank, volunteer: &str) -> Vec<Value> {
    all_pages(
        &bank.api,
        &format!("/v1/service-records?volunteer_id={volunteer}"),
    )
}

on_both_backends! {
records_made_offline_sync_exactly_once(backend) {
    let Some(driver) = Driver::start() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is not installed (apt-get install chromium chromium-driver); CI needs it"
        );
        eprintln!(
            "SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let mut bank = Bank::new(backend);
    let community = bank.organisation("Riverside", "community", &bank.organisation_id);
    let username = format!("coord-{}", fresh_key());
    let created = bank.api.post(
        "/v1/users",
        &json!({"username": username, "password": PASSWORD,
                "roles": [{"role": Role::Coordinator.as_str(), "organisation_id": community}]}),
        None,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let volunteer = bank.api.post(
        "/v1/volunteers",
        &json!({"name": "Wang Fangfang", "phone": format!("+86 138{:08}", rand_digits()),
                "organisation_id": community, "card_number": "RV0001"}),
        None,
    );
    assert_eq!(volunteer.status, 201, "{}", volunteer.body);
    let volunteer_id = volunteer.id();
    let wallet = volunteer.body["account_id"].as_str().unwrap().to_string();
    let activity = bank.api.post(
        "/v1/activities",
        &json!({"organisation_id": community, "name": "Riverside clean-up", "category": "greening"}),
        None,
    );
    assert_eq!(activity.status, 201, "{}", activity.body);

    let browser = Browser::open(&driver);
    // The page and its headers.
    let page = bank.api.anonymous().get("/app/");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    bank.api
        .anonymous()
        .get("/app/nothing.js")
        .assert_problem(404, "not_found");

    // Log in through the page.
    browser.goto(&format!("{}/app", bank.server.base));
    browser.wait("location.pathname === '/app/'");
    browser.type_into("#username", &username);
    browser.type_into("#password", PASSWORD);
    browser.click("#login-submit");
    browser.wait("!document.getElementById('work').hidden");
    browser.wait("document.querySelectorAll('#activity option').length === 1");

    // Find the volunteer by part of the name, in another case.
    browser.type_into("#find-query", "fANGf");
    browser.click("#find-submit");
    let pick = format!(".pick[data-id='{volunteer_id}']");
    browser.wait(&format!("document.querySelector(\"{pick}\")"));
    assert_eq!(
        browser.js("return document.querySelectorAll('.pick').length;"),
        json!(1)
    );

    // One record online: credited at once.
    browser.click(&pick);
    start_minutes_ago(&browser, 300);
    browser.type_into("#minutes", "60");
    browser.click("#record-submit");
    browser.wait("document.querySelectorAll('#records li[data-state=credited]').length === 1");
    let online_points = bank.posted(&wallet);
    assert_ne!(online_points, "0.00");
    assert_eq!(records_of(&bank, &volunteer_id).len(), 1);

    // The service worker keeps the shell for offline use.
    browser.wait("navigator.serviceWorker && navigator.serviceWorker.controller");

    // The server goes away; a record made now waits on the phone.
    bank.server.kill9();
    browser.click(&pick);
    start_minutes_ago(&browser, 120);
    browser.click("#record-submit");
    browser.wait("document.querySelectorAll('#records li[data-state=queued]').length === 1");
    browser.wait("/waiting/.test(document.getElementById('queue-count').textContent)");
    let queued: Vec<Value> = kept_queue(&browser)
        .into_iter()
        .filter(|r| r["state"] == "queued")
        .collect();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let client_id = queued[0]["client_id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&client_id).is_ok(), "{client_id}");

    // Still offline, the page opens again from the service worker with its queue.
    browser.goto(&format!("{}/app/", bank.server.base));
    browser.wait("!document.getElementById('work').hidden");
    browser.wait(&format!(
        "document.querySelector(\"#records li[data-client-id='{client_id}'][data-state=queued]\")"
    ));

    // Back at the same address: Sync sends it, and it is credited once.
    bank.restart_at_same_address();
    browser.click("#sync");
    let synced = format!("#records li[data-client-id='{client_id}'][data-state=credited]");
    browser.wait(&format!("document.querySelector(\"{synced}\")"));
    assert!(
        browser.text(&synced).contains("credited"),
        "{}",
        browser.text(&synced)
    );
    let after_sync = bank.posted(&wallet);
    let records = records_of(&bank, &volunteer_id);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        records
            .iter()
            .filter(|r| r["client_id"] == client_id.as_str())
            .count(),
        1
    );

    // Another sync sends nothing more; and when the answer was lost (the
    // record still queued on the phone), sending it again credits no one twice.
    browser.click("#sync");
    browser.js(&format!(
        "const q = JSON.parse(localStorage.getItem('timebank.app.queue'));
         for (const r of q) if (r.client_id === '{client_id}') {{ r.state = 'queued'; r.outcome = 'waiting'; }}
         localStorage.setItem('timebank.app.queue', JSON.stringify(q));"
    ));
    browser.goto(&format!("{}/app/", bank.server.base));
    browser.wait(&format!("document.querySelector(\"{synced}\")"));
    assert_eq!(bank.posted(&wallet), after_sync);
    assert_eq!(records_of(&bank, &volunteer_id).len(), 2);
    bank.assert_verified();

    // Long service waits for approval: the page's coordinator approves what
    // a colleague recorded, and cannot approve their own.
    let (_, colleague) = bank.person(Role::Coordinator, &community);
    let own_token = bank.login(&username, PASSWORD)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let long = |token: &str, days: i64| {
        let start = chrono::Utc::now() - chrono::Duration::days(days);
        let r = bank.api.with_token(token).post(
            "/v1/service-records",
            &json!({"volunteer_id": volunteer_id, "activity_id": activity.id(),
                    "started_at": start.to_rfc3339(), "minutes": 540}),
            Some(&fresh_key()),
        );
        assert_eq!(r.body["status"], "pending_approval", "{}", r.body);
        r.id()
    };
    let theirs = long(&colleague, 3);
    let mine = long(&own_token, 4);
    browser.click("#pending-refresh");
    let item = |id: &str| format!("#pending li[data-id='{id}']");
    browser.wait(&format!("document.querySelector(\"{}\")", item(&theirs)));
    browser.wait(&format!("document.querySelector(\"{}\")", item(&mine)));
    browser.click(&format!("{} button", item(&mine)));
    browser.wait(&format!(
        "/another coordinator/.test(document.querySelector(\"{} .outcome\").textContent)",
        item(&mine)
    ));
    browser.click(&format!("{} button", item(&theirs)));
    browser.wait(&format!(
        "document.querySelector(\"{} .outcome\").textContent === 'Approved'",
        item(&theirs)
    ));
    let before: rust_decimal::Decimal = after_sync.parse().unwrap();
    let now: rust_decimal::Decimal = bank.posted(&wallet).parse().unwrap();
    assert_eq!(
        now - before,
        rust_decimal::Decimal::new(9000, 2),
        "nine hours at 10 an hour"
    );
    let status =
        |id: &str| bank.api.get(&format!("/v1/service-records/{id}")).body["status"].clone();
    assert_eq!(status(&theirs), "credited");
    assert_eq!(status(&mine), "pending_approval");
    bank.assert_verified();
}
}
