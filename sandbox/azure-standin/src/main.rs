//! azure-standin: a test-only stand-in for Entra ID's token endpoint, ACR's `/oauth2/*` and
//! `/acr/v1/*` APIs in front of a real registry's `/v2/`, and the ARM calls berth makes.
//! See README.md for the configuration, endpoints and test controls.

mod acr_v1;
mod aks;
mod arm;
mod auth;
mod config;
mod control;
mod http;
mod import;
mod jwt;
mod proxy;
mod roles;
mod state;
mod upstream;

use crate::http::{Resp, registry_error};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub struct App {
    pub cfg: config::Config,
    pub signer: jwt::Signer,
    pub state: Mutex<state::State>,
    /// Raw pass-through client for `/v2/` (keeps every header and streams bodies).
    pub upstream: Client<HttpConnector, Incoming>,
    /// Client for the stand-in's own registry calls (listing, import), trusting the test CA.
    pub http: reqwest::Client,
    pub control: control::Control,
    /// Immutable facts about manifests, by digest.
    pub manifests: Mutex<HashMap<String, upstream::ManifestInfo>>,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let config_path = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(p)) => p,
        _ => {
            eprintln!("usage: azure-standin --config FILE.toml");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(run(&config_path)) {
        eprintln!("azure-standin: {e}");
        std::process::exit(1);
    }
}

async fn run(config_path: &str) -> Result<(), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cfg = config::Config::load(config_path)?;
    let signer = jwt::Signer::load(
        &cfg.token_key.display().to_string(),
        &cfg.token_cert.display().to_string(),
    )?;
    let state = state::State::load(&cfg)?;
    state.save(&cfg.state_file);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.tls_cert)
        .map_err(|e| format!("tls_cert {}: {e}", cfg.tls_cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_cert {}: {e}", cfg.tls_cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&cfg.tls_key)
        .map_err(|e| format!("tls_key {}: {e}", cfg.tls_key.display()))?;
    let mut tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key: {e}"))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let ca = std::fs::read(&cfg.ca_file)
        .map_err(|e| format!("ca_file {}: {e}", cfg.ca_file.display()))?;
    let ca_certs = reqwest::Certificate::from_pem_bundle(&ca)
        .map_err(|e| format!("ca_file {}: {e}", cfg.ca_file.display()))?;
    let http = reqwest::Client::builder()
        .tls_certs_only(ca_certs)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| format!("listen on {}: {e}", cfg.listen))?;
    eprintln!(
        "azure-standin: listening on https://{} (login server {}, upstream {})",
        cfg.listen, cfg.login_server, cfg.upstream
    );
    let app = Arc::new(App {
        cfg,
        signer,
        state: Mutex::new(state),
        upstream: Client::builder(TokioExecutor::new()).build_http(),
        http,
        control: control::Control::default(),
        manifests: Mutex::new(HashMap::new()),
    });
    if let Some(addr) = app.cfg.imds_listen.clone() {
        let imds = TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("imds_listen on {addr}: {e}"))?;
        eprintln!("azure-standin: IMDS on http://{addr}");
        tokio::spawn(serve_imds(app.clone(), imds));
    }
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("azure-standin: accept: {e}");
                continue;
            }
        };
        // As production servers do (Go's net/http, nginx's tcp_nodelay): with Nagle on, the
        // first answer on a TLS 1.3 connection waited ~40 ms behind the session tickets
        // written just before it, for the client's delayed ACK of them.
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = service_fn(move |mut req: Request<Incoming>| {
                let app = app.clone();
                req.extensions_mut().insert(aks::Peer(peer.ip()));
                async move { Ok::<_, std::convert::Infallible>(app.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

/// The IMDS stand-in: plain http, `/metadata/identity/oauth2/token` only.
async fn serve_imds(app: Arc<App>, listener: TcpListener) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                async move {
                    let start = Instant::now();
                    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
                    let resp = aks::imds(&app, &req);
                    let status = resp.status().as_u16();
                    app.control.record(&method, &path, &path, status);
                    let q = http::redact_query(req.uri().query().unwrap_or(""));
                    eprintln!(
                        "{} IMDS {method} {path}?{q} -> {status} ({} ms)",
                        jiff::Timestamp::now().strftime("%H:%M:%S%.3f"),
                        start.elapsed().as_millis()
                    );
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

impl App {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Resp {
        let start = Instant::now();
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| path.clone());
        let is_control = path.starts_with("/_standin/");
        let mut resp = None;
        let fault = if is_control {
            None
        } else {
            self.control.take_fault(&target)
        };
        if let Some(f) = &fault {
            if let Some(ms) = f.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if let (Some(s), None) = (f.status, &f.body) {
                resp = Some(control::fault_response(f, s));
            }
        }
        let mut resp = match resp {
            Some(r) => r,
            None => self.route(req, &path).await,
        };
        if let Some(f) = &fault {
            resp = control::alter(f, resp);
        }
        let status = resp.status().as_u16();
        if !is_control {
            self.control.record(&method, &target, &path, status);
        }
        let q = http::redact_query(target.split_once('?').map_or("", |(_, q)| q));
        eprintln!(
            "{} {method} {path}{}{q} -> {status} ({} ms)",
            jiff::Timestamp::now().strftime("%H:%M:%S%.3f"),
            if q.is_empty() { "" } else { "?" },
            start.elapsed().as_millis()
        );
        resp
    }

    async fn route(self: &Arc<Self>, req: Request<Incoming>, path: &str) -> Resp {
        if let Some(rest) = path.strip_prefix("/_standin/") {
            return control::handle(self, req, rest).await;
        }
        if path == "/v2" || path.starts_with("/v2/") {
            return proxy::proxy(self, req).await;
        }
        match path {
            "/oauth2/token" => return auth::token(self, req).await,
            "/oauth2/exchange" => return auth::exchange(self, req).await,
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/acr/v1/") {
            return acr_v1::handle(self, req, rest).await;
        }
        if path.starts_with("/subscriptions/") {
            return arm::handle(self, req).await;
        }
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segs.as_slice() {
            [tenant, "oauth2", "v2.0", "token"] => {
                let tenant = tenant.to_string();
                auth::entra_token(self, &tenant, req).await
            }
            [tenant, "v2.0", ".well-known", "openid-configuration"] => {
                let base = format!("https://{}", self.cfg.login_server);
                auth::openid_configuration(self, &base, tenant)
            }
            _ => registry_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint"),
        }
    }
}
