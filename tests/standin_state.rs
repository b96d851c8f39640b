//! State survives a restart: a second stand-in instance (own port and state file, same keys) is
//! started, rotated, stopped and started again. The shared stand-in is never touched.

mod standin_support;

use reqwest::Method;
use serde_json::{Value, json};
use standin_support::{Env, unique, wait_for};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shared stand-in's config with its own port and state file.
fn private_config(dir: &Path, port: u16) -> PathBuf {
    let env = Env::get();
    let shared = PathBuf::from(env.var("BERTH_ENV_DIR")).join("standin/config.toml");
    let text = std::fs::read_to_string(&shared)
        .unwrap_or_else(|e| panic!("reading {}: {e}", shared.display()));
    let state = dir.join("state.json");
    let text: String = text
        .lines()
        // The shared stand-in holds the IMDS port; this one needs none.
        .filter(|l| !l.starts_with("imds_listen ="))
        .map(|l| {
            if l.starts_with("listen =") {
                format!("listen = \"127.0.0.1:{port}\"")
            } else if l.starts_with("login_server =") {
                format!("login_server = \"127.0.0.1:{port}\"")
            } else if l.starts_with("state_file =") {
                format!("state_file = \"{}\"", state.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    file
}

async fn start(config: &Path, port: u16) -> Instance {
    let env = Env::get();
    let bin = PathBuf::from(env.var("BERTH_ENV_DIR")).join("bin/azure-standin");
    let child = Command::new(&bin)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let inst = Instance {
        child,
        base: format!("https://127.0.0.1:{port}"),
    };
    let http = env.http();
    let url = format!("{}/oauth2/token", inst.base);
    wait_for(
        "the private stand-in to answer",
        Duration::from_secs(20),
        || {
            let http = http.clone();
            let url = url.clone();
            async move {
                http.get(&url)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        },
    )
    .await;
    inst
}

async fn basic_token(base: &str, user: &str, pass: &str) -> u16 {
    let env = Env::get();
    env.http()
        .get(format!("{base}/oauth2/token"))
        .query(&[("scope", "repository:web:pull")])
        .basic_auth(user, Some(pass))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn arm_call(base: &str, token: &str, suffix: &str, body: Value) -> Value {
    let env = Env::get();
    let r = env
        .http()
        .request(
            if suffix.starts_with("/tokens/") {
                Method::PUT
            } else {
                Method::POST
            },
            format!("{base}{}{suffix}?api-version=2023-07-01", env.registry_id()),
        )
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{suffix}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn rotated_passwords_and_tokens_survive_a_restart() {
    let env = Env::get();
    let dir = std::env::temp_dir().join(unique("standin-state"));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = private_config(&dir, port);
    let inst = start(&config, port).await;

    let r = env
        .http()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            inst.base,
            env.var("BERTH_TENANT_ID")
        ))
        .form(&[
            ("client_id", env.var("BERTH_SP_CLIENT_ID")),
            ("client_secret", env.var("BERTH_SP_CLIENT_SECRET")),
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    let arm: Value = r.json().await.unwrap();
    let arm = arm["access_token"].as_str().unwrap().to_string();

    let before = arm_call(&inst.base, &arm, "/listCredentials", json!({})).await;
    let old2 = before["passwords"][1]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let after = arm_call(
        &inst.base,
        &arm,
        "/regenerateCredential",
        json!({"name": "password2"}),
    )
    .await;
    let new2 = after["passwords"][1]["value"].as_str().unwrap().to_string();
    let name = "persisted-token";
    arm_call(
        &inst.base,
        &arm,
        &format!("/tokens/{name}"),
        json!({"properties": {"scopeMapId": format!("{}/scopeMaps/_repositories_pull", env.registry_id())}}),
    )
    .await;
    let generated = arm_call(
        &inst.base,
        &arm,
        "/generateCredentials",
        json!({"tokenId": format!("{}/tokens/{name}", env.registry_id()), "name": "password1"}),
    )
    .await;
    let token_pw = generated["passwords"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let user = env.var("BERTH_ACR_ADMIN_USER");
    assert_eq!(basic_token(&inst.base, user, &new2).await, 200);
    assert_eq!(basic_token(&inst.base, user, &old2).await, 401);

    drop(inst);
    let inst = start(&config, port).await;
    assert_eq!(
        basic_token(&inst.base, user, &new2).await,
        200,
        "regenerated password2 kept"
    );
    assert_eq!(
        basic_token(&inst.base, user, &old2).await,
        401,
        "old password2 still refused"
    );
    assert_eq!(
        basic_token(&inst.base, name, &token_pw).await,
        200,
        "token and its password kept"
    );
    drop(inst);
    let _ = std::fs::remove_dir_all(&dir);
}
