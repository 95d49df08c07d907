//! Runs the real `rampart` binary as a child process with a config in a temporary directory.
#![allow(dead_code)] // each test binary uses a subset

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
    let config = dir.join("rampart.toml");
    std::fs::write(&config, config_toml).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["serve", "--config"])
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
