//! `GET /openapi.json` — the OpenAPI 3.1 document of this server, generated from the
//! route and type definitions (`utoipa` + `utoipa-axum`: every route is registered
//! through an `OpenApiRouter`, so the router and the document cannot drift). No auth, no
//! tenant, no rate limit, like `/health`. A committed copy, `server-mock/openapi.json`,
//! is checked against the generated one by the test suite.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, Ref, ResponseBuilder, SecurityRequirement,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Path of the document.
pub const PATH: &str = "/openapi.json";

/// Adds the document-level parts to the merged paths: info, the two security schemes
/// (`bearer`: admin, scoped and partner keys; `cookie`: the `op_session` session), the
/// default security (either), and `/openapi.json` itself.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info = InfoBuilder::new()
        .title("OpenPartner partner-program API (openpartner-mock)")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The wire contract of API.md as served by the reference server. Operations \
             and fields marked `x-extension: true` are [EXT] extensions (API.md §5); a \
             server started with --no-extensions lacks them. In multi-tenant mode every \
             tenant route is also served under /t/{slug} and /api/t/{slug}.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "Admin, scoped or partner API key (`op_…`), or the bootstrap admin key",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "op_session",
            "Admin or partner session (`ops_…`) from POST /auth/magic/verify",
        ))),
    );
    components.schemas.insert(
        "Error".to_owned(),
        <crate::error::ErrorBody as utoipa::PartialSchema>::schema(),
    );
    doc.security = Some(vec![
        SecurityRequirement::new("bearer", Vec::<String>::new()),
        SecurityRequirement::new("cookie", Vec::<String>::new()),
    ]);
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
            ("options", item.options.as_mut()),
        ] {
            if let Some(op) = op {
                add_common_responses(path, method, op);
            }
        }
    }
    doc
}

/// True when the operation needs no credential (`security: [{}]`).
fn is_open(op: &Operation) -> bool {
    op.security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| r == &SecurityRequirement::default()))
}

/// The answers every operation of a kind can give whatever its handler does, added where
/// the handler's own annotation does not name them: the limiter's 429 (all but `/health`
/// and `/openapi.json`), the guards' 401/403, the extractors' 400 `invalid_body` /
/// `invalid_query` and 413, the \[EXT\] idempotency answers of a POST (400
/// `invalid_idempotency_key`, 409 `idempotency_key_in_flight` /
/// `idempotency_replay_unavailable`, 422 `idempotency_key_reused`), and 500.
fn add_common_responses(path: &str, method: &str, op: &mut Operation) {
    let meta = path == "/health" || path == PATH;
    let open = is_open(op);
    let has_body = op.request_body.is_some();
    let has_query = op.parameters.as_ref().is_some_and(|ps| !ps.is_empty());
    let mut add = |code: &str, what: &str| {
        op.responses
            .responses
            .entry(code.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(what)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Error")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    };
    if meta {
        return;
    }
    add(
        "429",
        "rate_limited (Retry-After and RateLimit headers say when to come back)",
    );
    if !open {
        add("401", "unauthorized: no valid credential");
        add("403", "forbidden / forbidden_scope / ip_not_allowed");
    }
    if has_body || method == "post" || method == "put" || method == "patch" {
        add(
            "400",
            "invalid_body (detail.fieldErrors names every bad field)",
        );
        add("413", "payload_too_large: bodies are limited to 1 MiB");
    } else if has_query {
        add("400", "invalid_query");
    }
    if method == "post" && !open {
        add(
            "409",
            "[EXT] idempotency_key_in_flight / idempotency_replay_unavailable",
        );
        add("422", "[EXT] idempotency_key_reused");
    }
    add("500", "internal_error (never carries internals)");
}

/// The document as served: pretty-printed JSON with a final newline (the committed
/// `server-mock/openapi.json` is exactly this text).
pub fn to_json(doc: &OpenApi) -> String {
    let mut s = doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

/// The route of this module (its body is filled in by [`serve`]).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The finished document, handed to [`openapi_json`] as a request extension.
#[derive(Clone)]
pub struct Document(pub Arc<str>);

/// A layer that hands `doc` to the `/openapi.json` handler.
pub fn serve(doc: &OpenApi) -> axum::Extension<Document> {
    axum::Extension(Document(to_json(doc).into()))
}

/// This document. No authentication, no tenant, no rate limit.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(
    axum::Extension(Document(doc)): axum::Extension<Document>,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
}
