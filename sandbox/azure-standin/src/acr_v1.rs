use crate::App;
use crate::http::Resp;
use hyper::Request;
use hyper::body::Incoming;
pub async fn handle(_app: &App, _req: Request<Incoming>, _rest: &str) -> Resp { todo!() }
