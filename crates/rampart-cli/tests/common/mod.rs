//! Runs the real `rampart` binary as a child process with a config in a temporary directory.
#![allow(dead_code)] // each test binary uses a subset

pub mod cdp;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "cli-test-token";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Rampart {
    pub child: Child,
    pub base: String,
    pub config: PathBuf,
}

/// Writes `config_toml` (which must set `listen` to `port`) and starts `rampart serve`.
pub fn spawn(dir: &std::path::Path, port: u16, config_toml: &str) -> Rampart {
    spawn_command(dir, port, config_toml, &["serve"])
}

/// Like [`spawn`], with another command line (`["proxy", "--upstream", …]`); `--config` is added.
pub fn spawn_command(
    dir: &std::path::Path,
    port: u16,
    config_toml: &str,
    args: &[&str],
) -> Rampart {
    let config = dir.join("rampart.toml");
    std::fs::write(&config, config_toml).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .arg("--config")
        .arg(&config)
        .current_dir(dir)
        .env("RAMPART_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut r = Rampart {
        child,
        base: format!("http://127.0.0.1:{port}"),
        config,
    };
    r.wait_healthy();
    r
}

impl Rampart {
    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rampart exited early: {status}");
            }
            if std::net::TcpStream::connect(self.base.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rampart did not start listening");
    }

    pub async fn api(&self, path: &str) -> serde_json::Value {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// SIGKILL: no destructor, no drain, no flush.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Rampart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prints the monitoring headers for `site` with the real CLI: `(name, value)` pairs.
pub fn csp_header(config: &std::path::Path, site: &str) -> Vec<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["csp", "header", "--site", site, "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Headless Debian Chromium on `url`, with `*.test` mapped to loopback and the background
/// networking that this closed machine would refuse turned off. Killed on drop.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn open(url: &str, extra: &[&str]) -> Browser {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("Chromium is required for this test; scripts/test installs Debian's chromium");
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--host-resolver-rules=MAP *.test 127.0.0.1",
            ])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Browser {
            child,
            _profile: profile,
        }
    }
}

impl Browser {
    /// The profile directory (Chromium writes its DevTools address there).
    pub fn profile(&self) -> &std::path::Path {
        self._profile.path()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
