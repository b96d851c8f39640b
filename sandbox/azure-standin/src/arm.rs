use crate::App;
use crate::http::Resp;
use hyper::Request;
use hyper::body::Incoming;
use std::sync::Arc;
pub async fn handle(_app: &Arc<App>, _req: Request<Incoming>) -> Resp { todo!() }
