//! A real headless Chromium for the admin page's tests, driven over WebDriver (`fantoccini`)
//! through Debian's `chromium` and `chromium-driver` (`scripts/test` installs them). Each
//! [`Browser`] is its own `chromedriver` on a free port with its own profile directory, so
//! tests run in parallel; it is killed, with the Chromium it started, when dropped.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::{ADMIN_PASSWORD, TestServer};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium.
    pub async fn start() -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: the admin page's browser tests need Debian's chromium and \
                 chromium-driver (scripts/test installs them)"
            );
        }
        let port = free_port();
        let profile = tempfile::tempdir().expect("a profile directory");
        // Its own process group, so that dropping it ends Chromium's processes too.
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(address).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let user_data_dir = format!("--user-data-dir={}", profile.path().display());
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,900",
                    user_data_dir,
                ]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://{address}"))
            .await
            .expect("a WebDriver session in Chromium");
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Ends the WebDriver session (Chromium quits); the driver goes on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens `path` of `server`.
    pub async fn open(&self, server: &TestServer, path: &str) {
        self.client
            .goto(&server.url(path))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// Signs in on the sign-in form as `user` with `password` (wherever the browser is, it
    /// opens the form first) and waits for the next page.
    pub async fn sign_in_as(&self, server: &TestServer, user: &str, password: &str) {
        self.open(server, "/admin/signin").await;
        self.fill("#user", user).await;
        self.fill("#password", password).await;
        self.click("form.signin button[type=submit]").await;
        self.client
            .wait()
            .for_element(Locator::Css("main h1"))
            .await
            .expect("a page after signing in");
    }

    /// Signs in as `admin`.
    pub async fn sign_in(&self, server: &TestServer) {
        self.sign_in_as(server, "admin", ADMIN_PASSWORD).await;
    }

    /// Types `text` into the field `css` (emptied first).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear the field");
        field.send_keys(text).await.expect("type into the field");
    }

    /// Clicks the element `css`. A part of the page that refreshes itself may replace the
    /// element between finding and clicking it: it is found again, a few times. When the
    /// element is a link or a form's button, the click loads another page: this waits until
    /// it has (the page held before is marked, and the mark must be gone), so what the test
    /// reads next is the new page, never the old one.
    pub async fn click(&self, css: &str) {
        let navigates = self
            .run(&format!(
                "const e = document.querySelector({css:?}); window.__hookwireOld = true; \
                 return !!e && (e.tagName === 'A' || (!!e.form && e.type !== 'checkbox' \
                 && e.type !== 'radio' && e.type !== 'button'));"
            ))
            .await
            .as_bool()
            .unwrap_or(false);
        let mut tries = 0;
        loop {
            match self.find(css).await.click().await {
                Ok(_) => break,
                Err(e) if tries < 10 && is_stale(&e) => tries += 1,
                Err(e) => panic!("click {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !navigates {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__hookwireOld !== true && document.readyState === 'complete';",
                    Vec::new(),
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if loaded {
                return;
            }
            assert!(Instant::now() < deadline, "clicking {css} loaded no page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The element `css`, waited for (a few seconds at most).
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} on the page: {e}"))
    }

    /// The visible text of the element `css` (found again when a refresh replaced it).
    pub async fn text(&self, css: &str) -> String {
        let mut tries = 0;
        loop {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(e) if tries < 10 && is_stale(&e) => tries += 1,
                Err(e) => panic!("the text of {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of `css` once `done` holds for it, waiting (without reloading: the page
    /// refreshes itself) up to 30 s; panics with the last text seen.
    pub async fn wait_text(&self, css: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if done(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never got there; it says {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Runs `script` (a function body; `return` answers) in the page.
    pub async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("run {script}: {e}"))
    }

    /// Every URL the page loaded (the document, then each resource) that is not `server`'s.
    pub async fn foreign_resources(&self, server: &TestServer) -> Vec<String> {
        let loaded = self
            .run(
                "return [location.href].concat(performance.getEntriesByType('resource')\
                 .map(e => e.name));",
            )
            .await;
        let origin = format!("{}/", server.base);
        let loaded: Vec<String> = loaded
            .as_array()
            .expect("a list of URLs")
            .iter()
            .map(|u| u.as_str().unwrap_or_default().to_string())
            .collect();
        assert!(loaded.len() > 1, "the page loaded no resource: {loaded:?}");
        loaded
            .into_iter()
            .filter(|u| !u.starts_with(&origin))
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the Chromium processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether a WebDriver error says the element is no longer in the page (a part of the page
/// that refreshes itself replaced it).
fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    e.is_stale_element_reference()
}
