//! HTTP routing: the production paths, `/obj/<uri>`, the admin API, and fault injection around
//! every production call.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::faults::{FaultKind, FaultSpec};
use super::model::{Reply, Shared};

/// Marker carried by the unwind that drops a connection (never reaches the panic hook:
/// `resume_unwind` skips it).
struct DropConnection;

pub fn router(shared: Arc<Shared>) -> Router {
    let admin = Router::new()
        .route(
            "/calls",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.calls()) }),
        )
        .route(
            "/counts",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.counts()) }),
        )
        .route(
            "/products",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.products()) }),
        )
        .route(
            "/resources",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.resources()) }),
        )
        .route(
            "/callbacks",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.callbacks_sent()) }),
        )
        .route(
            "/audits/finish",
            post(|State(s): State<Arc<Shared>>| async move {
                Json(json!({"decided": s.decide_audits(true)}))
            }),
        )
        .route("/products/{id}/edit", post(edit_product))
        .route(
            "/faults",
            post(set_faults).get(|State(s): State<Arc<Shared>>| async move { Json(s.faults()) }),
        )
        .route(
            "/tokens/expire",
            post(|State(s): State<Arc<Shared>>| async move {
                Json(json!({"expired": s.expire_tokens()}))
            }),
        )
        .route("/reset", post(reset))
        .merge(super::roles::admin_routes());
    Router::new()
        .route("/api/apps/v2/token", post(token))
        .route("/product/api/{name}", post(product_api))
        .route("/obj/{*uri}", get(object))
        .merge(super::roles::api_routes())
        .nest("/__emulator", admin)
        .fallback(fallback)
        // Rich text may be 100 000 characters per block; leave room for several.
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(shared)
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    with_faults(s, "token".into(), move |s| s.token(&headers, &body)).await
}

async fn product_api(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = name.clone();
    with_faults(s, endpoint, move |s| s.call(&name, &headers, &body)).await
}

/// Applies the endpoint's faults around `perform` and logs the call.
pub(super) async fn with_faults(
    s: Arc<Shared>,
    endpoint: String,
    perform: impl FnOnce(&Arc<Shared>) -> Reply,
) -> Response {
    let (latency_ms, fault, retry_after) = s.decide_fault(&endpoint);
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    match fault {
        None => {
            let reply = perform(&s);
            s.log_call(&endpoint, Some(&reply), Some(reply.http), None);
            reply_response(reply)
        }
        Some(FaultKind::Error) => {
            let reply = Shared::error_reply(
                200,
                super::facts::ERR_SYSTEM,
                "system error (emulator fault)",
            );
            s.log_call(&endpoint, Some(&reply), Some(200), fault);
            reply_response(reply)
        }
        Some(FaultKind::TooManyRequests) => {
            s.log_call(&endpoint, None, Some(429), fault);
            let mut resp = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"err_no": super::facts::ERR_SYSTEM, "err_msg": "too many requests"})),
            )
                .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            resp
        }
        Some(FaultKind::GatewayTimeout) => {
            s.log_call(&endpoint, None, Some(504), fault);
            gateway_timeout()
        }
        Some(FaultKind::Performed504) => {
            let reply = perform(&s);
            s.log_call(&endpoint, Some(&reply), Some(504), fault);
            gateway_timeout()
        }
        Some(FaultKind::Drop) => {
            s.log_call(&endpoint, None, None, fault);
            // Unwinding out of the handler ends hyper's connection task, which closes the
            // socket before any byte of an answer is written.
            std::panic::resume_unwind(Box::new(DropConnection))
        }
    }
}

fn gateway_timeout() -> Response {
    (StatusCode::GATEWAY_TIMEOUT, "upstream request timeout").into_response()
}

fn reply_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.http).unwrap_or(StatusCode::OK);
    (status, Json(reply.body)).into_response()
}

/// `GET /obj/<uri>`: redirect to where the resource was pulled from, so the `*_url`s returned by
/// `query` can be fetched again.
async fn object(State(s): State<Arc<Shared>>, Path(uri): Path<String>) -> Response {
    match s.resource_url(&uri) {
        Some(url) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        None => (StatusCode::NOT_FOUND, "no such object").into_response(),
    }
}

async fn edit_product(
    State(s): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Json(patch): Json<Value>,
) -> Response {
    match s.edit_on_shelf(id, &patch) {
        Ok(p) => Json(p).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

/// Body: `{"<endpoint>": FaultSpec, ...}`; each named endpoint's spec is replaced (an empty
/// object clears it).
async fn set_faults(
    State(s): State<Arc<Shared>>,
    Json(specs): Json<std::collections::HashMap<String, FaultSpec>>,
) -> Response {
    for (endpoint, spec) in specs {
        s.set_fault(&endpoint, spec);
    }
    Json(s.faults()).into_response()
}

async fn reset(State(s): State<Arc<Shared>>) -> Response {
    match s.reset() {
        Ok(()) => Json(json!({"reset": true})).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": format!("{e:#}")})),
        )
            .into_response(),
    }
}

async fn fallback(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    if uri.path().starts_with("/product/api/") {
        let reply = Shared::error_reply(
            404,
            super::facts::ERR_NO_SUCH_API,
            &format!("no such api: {}", uri.path()),
        );
        s.log_call(uri.path(), Some(&reply), Some(404), None);
        reply_response(reply)
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}
