//! Programs, grants, links, the click router, `POST /clicks`, identify and events:
//! shapes, validation and every error code, over raw HTTP.

mod attribution_support;

use attribution_support::{ts, ADMIN, DAY, T};
use reqwest::Method;
use serde_json::{json, Value};

fn err(r: &attribution_support::Resp) -> (u16, Value) {
    (r.status, r.body["error"].clone())
}

#[tokio::test]
async fn programs_create_list_patch_and_validation() {
    let t = T::new().await;
    let r = t
        .post(
            "/programs",
            json!({"name": "Main", "destinationUrl": "https://a.example.com/",
                   "commissionRule": {"type": "fixed", "value": 5, "currency": "eur", "recurring": true}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let row = &r.body;
    for k in [
        "id",
        "tenantId",
        "name",
        "commissionRule",
        "attributionWindowDays",
        "attributionModel",
        "destinationUrl",
        "deepLinkAllowedDomains",
        "holdbackDays",
        "startsAt",
        "endsAt",
        "createdAt",
    ] {
        assert!(row.get(k).is_some(), "missing {k}");
    }
    assert_eq!(row["tenantId"], "01J0000000DEFAULTTENANT0000");
    assert_eq!(row["attributionWindowDays"], json!(60));
    assert_eq!(row["attributionModel"], "last_click");
    assert_eq!(
        row["commissionRule"],
        json!([{"trigger": "every", "type": "fixed", "value": 5, "currency": "EUR", "recurring": true}])
    );
    let id = row["id"].as_str().unwrap().to_owned();

    let list = t.get("/programs").await;
    assert_eq!(list.body["programs"].as_array().unwrap().len(), 1);

    let p = t
        .req(
            Method::PATCH,
            &format!("/programs/{id}"),
            Some(ADMIN),
            Some(json!({"name": "Renamed", "attributionModel": "position", "holdbackDays": 7})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["name"], "Renamed");
    assert_eq!(p.body["attributionModel"], "position");
    assert_eq!(p.body["holdbackDays"], json!(7));
    let nf = t
        .req(
            Method::PATCH,
            "/programs/nope",
            Some(ADMIN),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(err(&nf), (404, json!("not_found")));

    for (body, field) in [
        (
            json!({"destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1}}),
            "name",
        ),
        (
            json!({"name": "x", "commissionRule": {"type": "fixed", "value": 1}}),
            "destinationUrl",
        ),
        (
            json!({"name": "x", "destinationUrl": "ftp://a/", "commissionRule": {"type": "fixed", "value": 1}}),
            "destinationUrl",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/"}),
            "commissionRule",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 0}}),
            "commissionRule",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": [{"trigger": "first", "type": "fixed", "value": 1}]}),
            "commissionRule",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "percent", "value": 1, "currency": "USD"}}),
            "commissionRule",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1, "recurringMonths": 2}}),
            "commissionRule",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": [], }),
            "commissionRule",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1}, "attributionWindowDays": 366}),
            "attributionWindowDays",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1}, "attributionModel": "time_decay"}),
            "attributionModel",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1}, "holdbackDays": -1}),
            "holdbackDays",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1}, "startsAt": "yesterday"}),
            "startsAt",
        ),
        (
            json!({"name": "x", "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1}, "startsAt": ts(DAY), "endsAt": ts(0)}),
            "endsAt",
        ),
    ] {
        let r = t.post("/programs", body.clone()).await;
        assert_eq!(err(&r), (400, json!("invalid_body")), "{body}");
        assert!(
            r.body["detail"]["fieldErrors"].get(field).is_some(),
            "{field}: {}",
            r.text
        );
    }
    let bad_json = t
        .http
        .post(t.url("/programs"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status().as_u16(), 400);
}

#[tokio::test]
async fn program_auth_matrix_and_me_programs() {
    let t = T::new().await;
    let prog = t.program(json!({})).await;
    let ended = t.program(json!({"endsAt": ts(0)})).await;
    let p = t.partner("a@example.com").await;
    let pk = t.partner_key(&p).await;
    let scoped = t.scoped_key(&["partners:read"]).await;
    assert_eq!(
        t.req(Method::GET, "/programs", None, None).await.status,
        401
    );
    assert_eq!(
        err(&t.get_as(&pk, "/programs").await),
        (403, json!("forbidden"))
    );
    assert_eq!(
        err(&t.get_as(&scoped, "/programs").await),
        (403, json!("forbidden"))
    );
    assert_eq!(
        err(&t.post_as(&pk, "/programs", json!({})).await),
        (403, json!("forbidden"))
    );
    // partner: granted, currently active programs only; admin: all
    let me = t.get_as(&pk, "/me/programs").await;
    assert_eq!(me.status, 200, "{}", me.text);
    let ids: Vec<&str> = me.body["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [prog.as_str()]);
    let row = &me.body["programs"][0];
    assert_eq!(
        row.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "id",
            "name",
            "destinationUrl",
            "deepLinkAllowedDomains",
            "startsAt",
            "endsAt"
        ]
    );
    let me_admin = t.get("/me/programs").await;
    assert_eq!(me_admin.body["programs"].as_array().unwrap().len(), 2);
    assert_eq!(
        err(&t.get_as(&scoped, "/me/programs").await),
        (403, json!("forbidden"))
    );
    let _ = ended;
}

#[tokio::test]
async fn grants_campaigns_and_partner_creation() {
    let t = T::new().await;
    let a = t.program(json!({"name": "A"})).await;
    let b = t.program(json!({"name": "B"})).await;
    // programIds omitted → all; [] → none; unknown → 400 with missing
    let all = t.partner("all@example.com").await;
    let none = t
        .post("/partners", json!({"email": "none@example.com", "name": "N", "programIds": [], "sendInvite": false}))
        .await;
    let none = none.body["id"].as_str().unwrap().to_owned();
    let bad = t
        .post(
            "/partners",
            json!({"email": "x@example.com", "name": "X", "programIds": [a, "nope"]}),
        )
        .await;
    assert_eq!(err(&bad), (400, json!("unknown_campaign_ids")));
    assert_eq!(bad.body["missing"], json!(["nope"]));

    let c = t.get(&format!("/partners/{all}/campaigns")).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let rows = c.body["campaigns"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r["granted"] == json!(true) && r["grantSource"] == "all"));
    assert!(rows[0]["grantedAt"].is_string());
    let c = t.get(&format!("/partners/{none}/campaigns")).await;
    assert!(c.body["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["granted"] == json!(false)));

    let add = t
        .post(
            &format!("/partners/{none}/campaigns"),
            json!({"programIds": [a, "nope"]}),
        )
        .await;
    assert_eq!(add.status, 201, "{}", add.text);
    assert_eq!(add.body, json!({"added": [a]}));
    let add = t
        .post(
            &format!("/partners/{none}/campaigns"),
            json!({"programIds": ["nope"]}),
        )
        .await;
    assert_eq!(err(&add), (404, json!("no_valid_campaigns")));
    let del = t
        .req(
            Method::DELETE,
            &format!("/partners/{none}/programs/{a}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(del.body, json!({"ok": true}));
    let del = t
        .req(
            Method::DELETE,
            &format!("/partners/{none}/programs/{a}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(err(&del), (404, json!("grant_not_found")));

    // grantToAllPartners on a new program
    let g = t
        .post(
            "/programs",
            json!({"name": "G", "destinationUrl": "https://g.example/", "commissionRule": {"type": "fixed", "value": 1}, "grantToAllPartners": true}),
        )
        .await;
    let gid = g.body["id"].as_str().unwrap().to_owned();
    let c = t.get(&format!("/partners/{none}/campaigns")).await;
    let gr = c.body["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(gid))
        .unwrap()
        .clone();
    assert_eq!(gr["granted"], json!(true));
    let _ = b;

    // commissionSnapshot at creation
    let s = t
        .post(
            "/partners",
            json!({"email": "snap@example.com", "name": "S", "sendInvite": false,
                   "commissionSnapshot": {"commissionType": "percent", "commissionValue": 15,
                                          "commissionRules": [{"type": "percent", "value": 15}]}}),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.text);
    let sid = s.body["id"].as_str().unwrap();
    let snap = t.get(&format!("/partners/{sid}/commission-snapshot")).await;
    assert_eq!(snap.body["snapshot"]["commissionValue"], "15");
    assert_eq!(
        snap.body["snapshot"]["commissionRules"][0]["trigger"],
        "every"
    );
    let nf = t.get("/partners/nope/commission-snapshot").await;
    assert_eq!(err(&nf), (404, json!("partner_not_found")));
    let bad = t
        .req(
            Method::PUT,
            &format!("/partners/{sid}/commission-snapshot"),
            Some(ADMIN),
            Some(json!({"commissionType": "fixed", "commissionValue": -1})),
        )
        .await;
    assert_eq!(err(&bad), (400, json!("invalid_body")));
}

#[tokio::test]
async fn links_errors_and_deep_link_rule() {
    let t = T::new().await;
    let prog = t
        .program(json!({"deepLinkAllowedDomains": "example.com, other.io"}))
        .await;
    let strict = t.program(json!({})).await;
    let future = t
        .program(json!({"startsAt": "2999-01-01T00:00:00.000Z"}))
        .await;
    let p = t.partner("a@example.com").await;
    let q = t
        .post(
            "/partners",
            json!({"email": "b@example.com", "name": "B", "programIds": [], "sendInvite": false}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pk = t.partner_key(&p).await;
    let qk = t.partner_key(&q).await;
    let path = format!("/partners/{p}/links");
    let ok = t
        .post_as(&pk, &path, json!({"linkKey": "deal-1", "programId": prog, "destinationUrl": "https://shop.example.com/x"}))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.body["linkKey"], "deal-1");
    assert_eq!(ok.body["partnerId"], json!(p));
    assert_eq!(ok.body["destinationUrl"], "https://shop.example.com/x");
    let taken = t
        .post(&path, json!({"linkKey": "deal-1", "programId": prog}))
        .await;
    assert_eq!(err(&taken), (409, json!("linkKey_taken")));
    let over = t
        .post(
            &path,
            json!({"linkKey": "deal-2", "programId": prog, "destinationUrl": "https://evil.com/"}),
        )
        .await;
    assert_eq!(err(&over), (400, json!("destination_override_not_allowed")));
    let rev = t
        .post(&path, json!({"linkKey": "deal-3", "programId": prog, "destinationUrl": "https://example.com.evil.io/"}))
        .await;
    assert_eq!(err(&rev), (400, json!("destination_override_not_allowed")));
    let none_allowed = t
        .post(&path, json!({"linkKey": "deal-4", "programId": strict, "destinationUrl": "https://example.com/"}))
        .await;
    assert_eq!(
        err(&none_allowed),
        (400, json!("destination_override_not_allowed"))
    );
    let inactive = t
        .post(&path, json!({"linkKey": "deal-5", "programId": future}))
        .await;
    assert_eq!(err(&inactive), (409, json!("campaign_not_active")));
    let nf = t
        .post(&path, json!({"linkKey": "deal-6", "programId": "nope"}))
        .await;
    assert_eq!(err(&nf), (404, json!("campaign_not_found")));
    let nfp = t
        .post(
            "/partners/nope/links",
            json!({"linkKey": "deal-7", "programId": prog}),
        )
        .await;
    assert_eq!(err(&nfp), (404, json!("partner_not_found")));
    let bad = t
        .post(&path, json!({"linkKey": "a b", "programId": prog}))
        .await;
    assert_eq!(err(&bad), (400, json!("invalid_body")));
    // partner without a grant; admin may create it anyway
    let ng = t
        .post_as(
            &qk,
            &format!("/partners/{q}/links"),
            json!({"linkKey": "q-1", "programId": prog}),
        )
        .await;
    assert_eq!(err(&ng), (403, json!("campaign_not_granted")));
    let adm = t
        .post(
            &format!("/partners/{q}/links"),
            json!({"linkKey": "q-1", "programId": prog}),
        )
        .await;
    assert_eq!(adm.status, 201);
    // other partner / scopes
    assert_eq!(
        err(&t
            .post_as(&qk, &path, json!({"linkKey": "x-1", "programId": prog}))
            .await),
        (403, json!("forbidden"))
    );
    let lw = t.scoped_key(&["links:write"]).await;
    assert_eq!(
        t.post_as(&lw, &path, json!({"linkKey": "x-2", "programId": prog}))
            .await
            .status,
        201
    );
    let nolw = t.scoped_key(&["clicks:write"]).await;
    let r = t
        .post_as(&nolw, &path, json!({"linkKey": "x-3", "programId": prog}))
        .await;
    assert_eq!(err(&r), (403, json!("forbidden_scope")));
    assert_eq!(r.body["required"], "links:write");
    // list, newest first; partner sees own, not others'
    let l = t.get_as(&pk, &path).await;
    let keys: Vec<&str> = l.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["linkKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["x-2", "deal-1"]);
    assert_eq!(t.get_as(&qk, &path).await.status, 403);
}

#[tokio::test]
async fn click_router_post_clicks_and_identify() {
    let t = T::new().await;
    let prog = t
        .program(json!({"destinationUrl": "https://shop.example.com/p?cref=old&x=1#top"}))
        .await;
    let p = t.partner("a@example.com").await;
    t.link(&p, &prog, "alpha").await;
    let r = t
        .http
        .get(t.url("/r/alpha"))
        .header("user-agent", "UA/1")
        .header("referer", "https://ref.example/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cref = loc
        .split("cref=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        loc,
        format!("https://shop.example.com/p?x=1&cref={cref}#top")
    );
    assert_eq!(
        cookie,
        format!("_cref={cref}; Path=/; Max-Age=7776000; SameSite=Lax")
    );
    let clicks = t.get("/export/Click.json").await;
    let c = &clicks.body[0];
    assert_eq!(c["id"], json!(cref));
    assert_eq!(c["userAgent"], "UA/1");
    assert_eq!(c["referer"], "https://ref.example/");
    assert_eq!(c["fraudFlag"], Value::Null);
    assert_eq!(
        t.http
            .get(t.url("/r/nope"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    // a non-ASCII destination is sent percent-encoded
    let uni = t
        .program(json!({"destinationUrl": "https://shop.example.com/café"}))
        .await;
    t.link(&p, &uni, "unicode").await;
    let r = t.http.get(t.url("/r/unicode")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("https://shop.example.com/caf%C3%A9?cref="));
    let nf = t.req(Method::GET, "/r/nope", None, None).await;
    assert_eq!(err(&nf), (404, json!("link_not_found")));

    // POST /clicks: create, replay, errors, scopes
    let body = json!({"id": "caller-click-0000000001", "linkKey": "alpha", "landingUrl": "https://shop.example.com/", "ts": ts(0), "fraudFlag": null});
    let r = t.post("/clicks", body.clone()).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (201, json!({"ok": true, "id": "caller-click-0000000001"}))
    );
    let r = t.post("/clicks", body.clone()).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            200,
            json!({"ok": true, "id": "caller-click-0000000001", "replayed": true})
        )
    );
    let r = t.post("/clicks", json!({"id": "caller-click-0000000002", "linkKey": "nope", "landingUrl": "x", "ts": ts(0)})).await;
    assert_eq!(err(&r), (404, json!("link_not_found")));
    let r = t
        .post(
            "/clicks",
            json!({"id": "short", "linkKey": "alpha", "landingUrl": "x", "ts": ts(0)}),
        )
        .await;
    assert_eq!(err(&r), (400, json!("invalid_body")));
    assert!(r.body["detail"]["fieldErrors"]["id"].is_array());
    let r = t.post("/clicks", json!({"id": "caller-click-0000000003", "linkKey": "alpha", "landingUrl": "x", "ts": ts(0), "fraudFlag": "bot"})).await;
    assert_eq!(err(&r), (400, json!("invalid_body")));
    let pk = t.partner_key(&p).await;
    assert_eq!(
        err(&t.post_as(&pk, "/clicks", body.clone()).await),
        (403, json!("forbidden"))
    );
    let ck = t.scoped_key(&["clicks:write"]).await;
    let r = t
        .post_as(&ck, "/clicks", json!({"id": "caller-click-0000000004", "linkKey": "alpha", "landingUrl": "x", "ts": ts(0), "fraudFlag": "velocity"}))
        .await;
    assert_eq!(r.status, 201);
    let fl = t.get("/admin/clicks/flagged?reason=velocity").await;
    assert_eq!(fl.body["clicks"][0]["id"], "caller-click-0000000004");
    assert_eq!(fl.body["clicks"][0]["fraudFlag"], "velocity");
    assert_eq!(
        err(&t.get("/admin/clicks/flagged?reason=bot").await),
        (400, json!("invalid_query"))
    );
    assert_eq!(
        err(&t.get("/admin/clicks/flagged?limit=501").await),
        (400, json!("invalid_query"))
    );
    assert_eq!(
        err(&t.get_as(&pk, "/admin/clicks/flagged").await),
        (403, json!("forbidden"))
    );

    // identify: no auth read (a garbage Authorization header does not matter), CORS, errors
    let r = t
        .http
        .post(t.url("/attribution/identify"))
        .header("authorization", "Bearer garbage")
        .json(&json!({"cref": cref, "userId": "u1", "ts": 1_700_000_000_000i64}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let r = t.identify("nope", "u1").await;
    assert_eq!(err(&r), (404, json!("click_not_found")));
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    let r = t
        .req(
            Method::POST,
            "/attribution/identify",
            None,
            Some(json!({"cref": "", "userId": "u"})),
        )
        .await;
    assert_eq!(err(&r), (400, json!("invalid_body")));
    let pre = t
        .http
        .request(Method::OPTIONS, t.url("/attribution/identify"))
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status().as_u16(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        pre.headers()["access-control-allow-methods"],
        "POST, OPTIONS"
    );
    assert_eq!(
        pre.headers()["access-control-allow-headers"],
        "content-type"
    );

    // a revoked partner's clicks are stored flagged "revoked" and never attribute
    let rv = t
        .post(&format!("/partners/{p}/revoke"), json!({"notify": false}))
        .await;
    assert_eq!(rv.status, 200, "{}", rv.text);
    let r = t.http.get(t.url("/r/alpha")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let fl = t.get("/admin/clicks/flagged").await;
    assert!(fl.body["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["fraudFlag"] == "revoked"));
    let ev = t
        .track("u1", "sale", json!(10), &chrono::Utc::now().to_rfc3339())
        .await;
    assert_eq!(ev["attribution"]["status"], "no_click");
}

#[tokio::test]
async fn events_validation_and_auth() {
    let t = T::new().await;
    let pk = {
        let p = t.partner("a@example.com").await;
        t.partner_key(&p).await
    };
    let ok = t
        .post(
            "/attribution/events",
            json!({"userId": "u", "type": "signup"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.body["eventId"].is_string());
    assert_eq!(ok.body["attribution"], json!({"status": "no_identity"}));
    for (body, field) in [
        (json!({"type": "sale"}), "userId"),
        (json!({"userId": "u"}), "type"),
        (json!({"userId": "u", "type": "sale", "value": -1}), "value"),
        (
            json!({"userId": "u", "type": "sale", "currency": "EURO"}),
            "currency",
        ),
        (json!({"userId": "u", "type": "sale", "ts": "nope"}), "ts"),
        (
            json!({"userId": "u", "type": "sale", "metadata": [1]}),
            "metadata",
        ),
    ] {
        let r = t.post("/attribution/events", body).await;
        assert_eq!(err(&r), (400, json!("invalid_body")));
        assert!(
            r.body["detail"]["fieldErrors"].get(field).is_some(),
            "{field}: {}",
            r.text
        );
    }
    assert_eq!(
        err(&t
            .post_as(
                &pk,
                "/attribution/events",
                json!({"userId": "u", "type": "s"})
            )
            .await),
        (403, json!("forbidden"))
    );
    let no = t.scoped_key(&["partners:read"]).await;
    let r = t
        .post_as(
            &no,
            "/attribution/events",
            json!({"userId": "u", "type": "s"}),
        )
        .await;
    assert_eq!(
        (err(&r), r.body["required"].clone()),
        ((403, json!("forbidden_scope")), json!("events:write"))
    );
    let yes = t.scoped_key(&["events:write"]).await;
    assert_eq!(
        t.post_as(
            &yes,
            "/attribution/events",
            json!({"userId": "u", "type": "s", "currency": "eur"})
        )
        .await
        .status,
        200
    );
    let ev = t.get("/export/Event.json").await;
    assert!(ev
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["currency"] == "EUR"));
    assert_eq!(
        t.req(Method::POST, "/attribution/events", None, Some(json!({})))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn multi_tenant_router_and_isolation() {
    let mut cfg = openpartner_mock::Config::for_tests(ADMIN);
    cfg.tenancy = openpartner_mock::Tenancy::Multi;
    cfg.tenants = vec!["acme".into(), "globex".into()];
    let t = T::with(cfg).await;
    let prog = t
        .post(
            "/t/acme/programs",
            json!({"name": "P", "destinationUrl": "https://acme.example/", "commissionRule": {"type": "fixed", "value": 1}}),
        )
        .await;
    assert_eq!(prog.status, 201, "{}", prog.text);
    let prog = prog.body["id"].as_str().unwrap().to_owned();
    let p = t
        .post(
            "/t/acme/partners",
            json!({"email": "a@example.com", "name": "A", "sendInvite": false}),
        )
        .await;
    let p = p.body["id"].as_str().unwrap().to_owned();
    let l = t
        .post(
            &format!("/t/acme/partners/{p}/links"),
            json!({"linkKey": "acme-1", "programId": prog}),
        )
        .await;
    assert_eq!(l.status, 201, "{}", l.text);
    let r = t.http.get(t.url("/r/acme/acme-1")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("https://acme.example/?cref="));
    assert_eq!(
        t.http
            .get(t.url("/r/globex/acme-1"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        t.get("/t/globex/programs").await.body["programs"],
        json!([])
    );
    let other = t
        .post(
            &format!("/t/globex/partners/{p}/links"),
            json!({"linkKey": "g-1", "programId": prog}),
        )
        .await;
    assert_eq!(err(&other), (404, json!("partner_not_found")));
    let missing = t.get("/programs").await;
    assert_eq!(err(&missing), (400, json!("tenant_slug_missing")));
    let identify = t
        .req(
            Method::POST,
            "/attribution/identify",
            None,
            Some(json!({"cref": "x", "userId": "u"})),
        )
        .await;
    assert_eq!(err(&identify), (400, json!("tenant_slug_missing")));
}

#[tokio::test]
async fn identify_is_limited_to_120_per_minute_per_ip() {
    let t = T::new().await;
    for i in 0..120 {
        let r = t.identify("nope", "u").await;
        assert_eq!(r.status, 404, "request {i}");
    }
    let r = t.identify("nope", "u").await;
    assert_eq!(
        (r.status, r.body["error"].clone()),
        (429, json!("rate_limited"))
    );
    // other routes are not affected by identify's budget
    assert_eq!(t.get("/programs").await.status, 200);
}

#[tokio::test]
async fn openapi_documents_programs_grants_snapshots_links_and_clicks() {
    let t = T::new().await;
    let r = t.req(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = &r.body;
    let paths = &doc["paths"];
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, methods) in [
        ("/programs", &["get", "post"][..]),
        ("/programs/{id}", &["patch"]),
        ("/me/programs", &["get"]),
        ("/partners/{id}/campaigns", &["get", "post"]),
        ("/partners/{id}/programs/{programId}", &["delete"]),
        (
            "/partners/{id}/commission-snapshot",
            &["get", "put", "delete"],
        ),
        ("/partners/{id}/links", &["get", "post"]),
        ("/r/{linkKey}", &["get"]),
        ("/clicks", &["post"]),
        ("/admin/clicks/flagged", &["get"]),
        ("/clicks/{id}/flag", &["post"]),
        ("/clicks/{id}/unflag", &["post"]),
    ] {
        for m in methods {
            assert!(paths[path][m].is_object(), "{m} {path} is documented");
            let op_id = paths[path][m]["operationId"].as_str().unwrap().to_owned();
            assert!(
                operation_ids.insert(op_id),
                "{m} {path}: unique operationId"
            );
        }
    }
    // The click router: open, 302 with Location and Set-Cookie, 404 link_not_found.
    let router = &paths["/r/{linkKey}"]["get"];
    assert_eq!(router["security"], json!([{}]));
    let found = &router["responses"]["302"];
    assert!(found["headers"]["Location"].is_object(), "{router}");
    assert!(found["headers"]["Set-Cookie"].is_object(), "{router}");
    assert!(router["responses"]["404"]["description"]
        .as_str()
        .unwrap()
        .contains("link_not_found"));
    // Route-specific error codes are named.
    let link_post = &paths["/partners/{id}/links"]["post"]["responses"];
    for (status, code) in [
        ("400", "destination_override_not_allowed"),
        ("403", "campaign_not_granted"),
        ("404", "campaign_not_found"),
        ("409", "linkKey_taken"),
    ] {
        assert!(
            link_post[status]["description"]
                .as_str()
                .unwrap()
                .contains(code),
            "{status} {code}: {link_post}"
        );
    }
    // The limits the server enforces are in the schemas.
    let schemas = &doc["components"]["schemas"];
    let body = &schemas["ProgramBody"]["properties"];
    assert_eq!(body["name"]["maxLength"], json!(200), "{body}");
    assert_eq!(body["name"]["minLength"], json!(1));
    assert_eq!(body["attributionWindowDays"]["maximum"], json!(365));
    assert_eq!(body["attributionWindowDays"]["minimum"], json!(1));
    assert!(body["destinationUrl"]["pattern"]
        .as_str()
        .unwrap()
        .contains("[Hh][Tt][Tt][Pp][Ss]?://"));
    // (optional request fields also admit `null`, added by the document's post-processing)
    let one_of: Vec<&serde_json::Value> = body["commissionRule"]["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .filter(|alt| alt["type"] != "null")
        .collect();
    assert_eq!(
        one_of.len(),
        2,
        "array or legacy object: {}",
        body["commissionRule"]
    );
    assert_eq!(one_of[0]["maxItems"], json!(10));
    // Nullable response fields are always sent: required, with null allowed.
    let program = &schemas["Program"];
    for f in [
        "deepLinkAllowedDomains",
        "holdbackDays",
        "startsAt",
        "endsAt",
    ] {
        assert!(
            program["required"].as_array().unwrap().contains(&json!(f)),
            "{f}: {program}"
        );
    }
    let link = &schemas["CreateLink"]["properties"];
    assert_eq!(link["linkKey"]["pattern"], json!("^[A-Za-z0-9_-]{3,64}$"));
    let flagged = paths["/admin/clicks/flagged"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = flagged.iter().find(|p| p["name"] == "limit").unwrap();
    // optional query parameters also admit "" (absent): the integer sits in an anyOf
    let integer = limit["schema"]["anyOf"]
        .as_array()
        .and_then(|alts| alts.iter().find(|a| a["type"] == "integer").cloned())
        .unwrap_or_else(|| limit["schema"].clone());
    assert_eq!(integer["maximum"], json!(500), "{limit}");
    // What the schema admits, the server accepts: an upper-case scheme, an empty reason.
    let r = t
        .post(
            "/programs",
            json!({"name": "Caps", "destinationUrl": "HTTPS://caps.example/",
                   "commissionRule": [{"type": "fixed", "value": 1}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(t.get("/admin/clicks/flagged?reason=").await.status, 200);
    let r = t
        .post("/programs", json!({"name": format!(" {}", "n".repeat(200)),
            "destinationUrl": "https://a.example/", "commissionRule": {"type": "fixed", "value": 1}}))
        .await;
    assert!(
        r.body["detail"]["fieldErrors"]["name"].is_array(),
        "201 characters: {}",
        r.text
    );
}

#[tokio::test]
async fn program_body_reports_every_field_and_null_clears_on_patch() {
    let t = T::new().await;
    // Every bad field of one body is reported together.
    let r = t
        .post(
            "/programs",
            json!({"destinationUrl": "ftp://x", "attributionWindowDays": 0, "holdbackDays": 400}),
        )
        .await;
    assert_eq!(err(&r), (400, json!("invalid_body")));
    let fields = &r.body["detail"]["fieldErrors"];
    for f in [
        "name",
        "commissionRule",
        "destinationUrl",
        "attributionWindowDays",
        "holdbackDays",
    ] {
        assert!(fields.get(f).is_some(), "{f}: {}", r.text);
    }
    let r = t
        .post(
            "/programs",
            json!({"name": "P", "destinationUrl": "https://a.example/",
                   "commissionRule": {"type": "percent", "value": "12.50"},
                   "holdbackDays": 7, "deepLinkAllowedDomains": "a.example",
                   "startsAt": ts(0), "endsAt": ts(10 * DAY)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["commissionRule"][0]["value"].to_string(), "12.5");
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Absent keeps; null clears the four nullable fields.
    let r = t
        .req(
            Method::PATCH,
            &format!("/programs/{id}"),
            Some(ADMIN),
            Some(json!({"name": "Q"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["holdbackDays"], json!(7));
    assert_eq!(r.body["deepLinkAllowedDomains"], json!("a.example"));
    let r = t
        .req(
            Method::PATCH,
            &format!("/programs/{id}"),
            Some(ADMIN),
            Some(json!({"holdbackDays": null, "deepLinkAllowedDomains": null,
                        "startsAt": null, "endsAt": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for f in [
        "holdbackDays",
        "deepLinkAllowedDomains",
        "startsAt",
        "endsAt",
    ] {
        assert_eq!(r.body[f], Value::Null, "{f}: {}", r.text);
    }
    assert_eq!(r.body["name"], json!("Q"));
    // Link and click bodies also report every field.
    let r = t
        .post(
            "/partners/nope/links",
            json!({"linkKey": "a b", "destinationUrl": "x"}),
        )
        .await;
    assert_eq!(err(&r), (400, json!("invalid_body")));
    for f in ["linkKey", "programId", "destinationUrl"] {
        assert!(
            r.body["detail"]["fieldErrors"].get(f).is_some(),
            "{f}: {}",
            r.text
        );
    }
    let r = t
        .post(
            "/clicks",
            json!({"id": "short", "ts": "nope", "fraudFlag": "bot"}),
        )
        .await;
    assert_eq!(err(&r), (400, json!("invalid_body")));
    for f in ["id", "linkKey", "landingUrl", "ts", "fraudFlag"] {
        assert!(
            r.body["detail"]["fieldErrors"].get(f).is_some(),
            "{f}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn non_object_bodies_are_rejected_without_type_names() {
    let t = T::new().await;
    let p = t.partner("shape@example.com").await;
    for (method, path) in [
        (Method::POST, "/programs".to_owned()),
        (Method::PATCH, "/programs/any".to_owned()),
        (Method::POST, format!("/partners/{p}/campaigns")),
        (Method::PUT, format!("/partners/{p}/commission-snapshot")),
        (Method::POST, format!("/partners/{p}/links")),
        (Method::POST, "/clicks".to_owned()),
    ] {
        for body in [json!("x"), json!(5), Value::Null] {
            let r = t
                .req(method.clone(), &path, Some(ADMIN), Some(body.clone()))
                .await;
            assert_eq!(
                err(&r),
                (400, json!("invalid_body")),
                "{method} {path} {body}"
            );
            for rust in ["struct", "Body", "CreateLink", "AddCampaigns"] {
                assert!(!r.text.contains(rust), "{method} {path} {body}: {}", r.text);
            }
        }
    }
}
