//! `GET /openapi.json` — the OpenAPI 3.1 document of this server, generated from the
//! route and type definitions (`utoipa` + `utoipa-axum`: every route is registered
//! through an `OpenApiRouter`, so the router and the document cannot drift). No auth, no
//! tenant, no rate limit, like `/health`. A committed copy, `server-mock/openapi.json`,
//! is checked against the generated one by the test suite.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayItems, ObjectBuilder, OneOfBuilder, Schema,
    SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder,
    SecurityRequirement,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Path of the document.
pub const PATH: &str = "/openapi.json";

/// Adds the document-level parts to the merged paths: info, the security schemes
/// (`bearer`: admin, scoped and partner keys; `cookie`: the `op_session` session;
/// \[EXT\] `platform`: the platform key of `/platform/*`), the
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
        "platform",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "[EXT] The platform key (`--platform-key`): only /platform/*, multi mode",
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
    request_bodies_follow_the_null_rule(&mut doc);
    empty_query_values_are_absent(&mut doc);
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

/// Every operation of a path item, mutable.
fn operations_mut(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The component name of a `#/components/schemas/<name>` reference.
fn ref_name(r: &Ref) -> Option<&str> {
    r.ref_location.strip_prefix("#/components/schemas/")
}

/// Collects the component names `schema` refers to (not following them).
fn collect_refs(schema: &RefOr<Schema>, out: &mut Vec<String>) {
    match schema {
        RefOr::Ref(r) => {
            if let Some(n) = ref_name(r) {
                out.push(n.to_owned());
            }
        }
        RefOr::T(Schema::Object(o)) => {
            for p in o.properties.values() {
                collect_refs(p, out);
            }
            if let Some(AdditionalProperties::RefOr(a)) = o.additional_properties.as_deref() {
                collect_refs(a, out);
            }
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(i) = &a.items {
                collect_refs(i, out);
            }
        }
        RefOr::T(Schema::OneOf(o)) => o.items.iter().for_each(|i| collect_refs(i, out)),
        RefOr::T(Schema::AllOf(o)) => o.items.iter().for_each(|i| collect_refs(i, out)),
        RefOr::T(Schema::AnyOf(o)) => o.items.iter().for_each(|i| collect_refs(i, out)),
        RefOr::T(_) => {}
    }
}

/// Lets `null` stand for an optional property (API.md's one rule: `null` == absent unless a
/// field says otherwise, and those fields accept `null` too): every property of an object
/// schema that is not `required` also accepts `null`, recursively through nested objects,
/// array items and compositions.
fn optional_properties_accept_null(schema: &mut RefOr<Schema>) {
    match schema {
        RefOr::T(Schema::Object(o)) => {
            let required = o.required.clone();
            for (name, p) in o.properties.iter_mut() {
                optional_properties_accept_null(p);
                if !required.contains(name) {
                    accept_null(p);
                }
            }
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(i) = &mut a.items {
                optional_properties_accept_null(i);
            }
        }
        RefOr::T(Schema::OneOf(o)) => o.items.iter_mut().for_each(optional_properties_accept_null),
        RefOr::T(Schema::AllOf(o)) => o.items.iter_mut().for_each(optional_properties_accept_null),
        RefOr::T(Schema::AnyOf(o)) => o.items.iter_mut().for_each(optional_properties_accept_null),
        _ => {}
    }
}

/// Makes one schema also accept `null`.
fn accept_null(schema: &mut RefOr<Schema>) {
    fn add(t: &mut SchemaType) {
        match t {
            SchemaType::Type(Type::Null) | SchemaType::AnyValue => {}
            SchemaType::Type(one) => *t = SchemaType::Array(vec![one.clone(), Type::Null]),
            SchemaType::Array(ts) => {
                if !ts.contains(&Type::Null) {
                    ts.push(Type::Null);
                }
            }
        }
    }
    let null = || {
        RefOr::T(Schema::Object(
            ObjectBuilder::new().schema_type(Type::Null).build(),
        ))
    };
    let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
    match schema {
        RefOr::T(Schema::Object(o)) => {
            add(&mut o.schema_type);
            if let Some(values) = o.enum_values.as_mut() {
                if !values.contains(&serde_json::Value::Null) {
                    values.push(serde_json::Value::Null);
                }
            }
        }
        RefOr::T(Schema::Array(a)) => add(&mut a.schema_type),
        RefOr::T(Schema::OneOf(o)) => {
            if !o.items.iter().any(is_null) {
                o.items.push(null());
            }
        }
        other => {
            let inner = std::mem::replace(other, null());
            *other = RefOr::T(Schema::OneOf(
                OneOfBuilder::new().item(inner).item(null()).build(),
            ));
        }
    }
}

/// The document side of the request-body rules (`crate::extract::Json`): an empty body is
/// read as `{}`, so a body whose schema requires no property is optional
/// (`requestBody.required: false`); and `null` on an optional property means absent, so
/// every schema reachable from a request body lets its optional properties be `null`.
/// (Components shared with responses get the same, looser, description.)
fn request_bodies_follow_the_null_rule(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    let mut reachable: Vec<String> = Vec::new();
    for item in doc.paths.paths.values_mut() {
        for op in operations_mut(item) {
            let Some(RefOr::T(body)) = op.request_body.as_mut() else {
                continue;
            };
            let mut needs_fields = false;
            for content in body.content.values_mut() {
                let RefOr::T(content) = content else { continue };
                let Some(schema) = content.schema.as_mut() else {
                    continue;
                };
                let top: Option<&RefOr<Schema>> = match &*schema {
                    RefOr::Ref(r) => ref_name(r).and_then(|n| components.schemas.get(n)),
                    t @ RefOr::T(_) => Some(t),
                };
                if let Some(RefOr::T(Schema::Object(o))) = top {
                    needs_fields |= !o.required.is_empty();
                }
                collect_refs(schema, &mut reachable);
                optional_properties_accept_null(schema);
            }
            if !needs_fields {
                body.required = Some(Required::False);
            }
        }
    }
    let mut done: Vec<String> = Vec::new();
    while let Some(name) = reachable.pop() {
        if done.contains(&name) {
            continue;
        }
        if let Some(schema) = components.schemas.get_mut(&name) {
            collect_refs(schema, &mut reachable);
            optional_properties_accept_null(schema);
        }
        done.push(name);
    }
}

/// The document side of the query rule (`crate::extract::Query` / `QueryParams`): an
/// empty value (`?bucket=`) is the parameter absent, so every optional query parameter's
/// schema also admits `""` (`anyOf: [<schema>, {"enum": [""]}]`).
fn empty_query_values_are_absent(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in operations_mut(item) {
            for p in op.parameters.iter_mut().flatten() {
                let RefOr::T(p) = p else { continue };
                if p.parameter_in != ParameterIn::Query || p.required == Required::True {
                    continue;
                }
                let Some(schema) = p.schema.take() else {
                    continue;
                };
                let empty = RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([""]))
                        .build(),
                ));
                p.schema = Some(RefOr::T(Schema::AnyOf(
                    AnyOfBuilder::new().item(schema).item(empty).build(),
                )));
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct AllOptional {
        /// optional
        label: Option<String>,
        /// optional, an enum
        kind: Option<Kind>,
    }

    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    enum Kind {
        A,
        B,
    }

    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct NeedsName {
        /// required
        name: String,
        /// optional
        count: Option<u32>,
    }

    #[derive(serde::Deserialize, utoipa::IntoParams)]
    #[into_params(parameter_in = Query)]
    #[allow(dead_code)]
    struct Q {
        /// optional
        #[param(pattern = "^(a|b)$")]
        reason: Option<String>,
    }

    #[utoipa::path(post, path = "/optional", request_body = AllOptional, params(Q),
        responses((status = 200, description = "ok")))]
    async fn optional_body() {}

    #[utoipa::path(post, path = "/needs", request_body = NeedsName,
        responses((status = 200, description = "ok")))]
    async fn needs_body() {}

    fn doc() -> Value {
        let router: OpenApiRouter<()> = OpenApiRouter::new()
            .routes(routes!(optional_body))
            .routes(routes!(needs_body));
        serde_json::to_value(finish(router.into_openapi())).unwrap_or_default()
    }

    #[test]
    fn empty_body_and_null_rules_are_in_the_document() {
        let d = doc();
        let optional = &d["paths"]["/optional"]["post"];
        let needs = &d["paths"]["/needs"]["post"];
        // an empty body is `{}`: optional when nothing is required
        assert_eq!(optional["requestBody"]["required"], false, "{optional}");
        assert_eq!(needs["requestBody"]["required"], true, "{needs}");
        // optional properties accept null, required ones do not
        let s = &d["components"]["schemas"];
        let count = s["NeedsName"]["properties"]["count"].to_string();
        assert!(count.contains("null"), "{count}");
        let name = s["NeedsName"]["properties"]["name"].to_string();
        assert!(!name.contains("null"), "{name}");
        let kind = s["AllOptional"]["properties"]["kind"].to_string();
        assert!(kind.contains("null"), "{kind}");
        // an empty query value is absent
        let reason = optional["parameters"][0]["schema"].to_string();
        assert!(
            reason.contains("anyOf") && reason.contains(r#""enum":[""]"#),
            "{reason}"
        );
    }
}
