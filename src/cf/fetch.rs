//! Outbound HTTP through the Workers runtime's `fetch`.

use worker::{Fetch, Headers, Method, Request, RequestInit};

use crate::service::fetch::{self, HttpReply, MAX_REPLY};

/// `fetch` to other services (the identity provider).
pub struct WorkerFetch;

async fn send(url: &str, init: &RequestInit) -> Result<HttpReply, String> {
    let req = Request::new_with_init(url, init).map_err(|e| format!("request to {url}: {e}"))?;
    let mut resp = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("reading the reply of {url}: {e}"))?;
    if body.len() > MAX_REPLY {
        return Err(format!(
            "the reply of {url} is larger than {MAX_REPLY} bytes"
        ));
    }
    Ok(HttpReply {
        status: resp.status_code(),
        body,
    })
}

fn headers(pairs: &[(&str, &str)]) -> Result<Headers, String> {
    let h = Headers::new();
    for (k, v) in pairs {
        h.set(k, v).map_err(|e| format!("header {k}: {e}"))?;
    }
    Ok(h)
}

impl fetch::Fetch for WorkerFetch {
    async fn get(&self, url: &str, bearer: Option<&str>) -> Result<HttpReply, String> {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut pairs = vec![("accept", "application/json")];
        if let Some(a) = &auth {
            pairs.push(("authorization", a));
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers(&pairs)?);
        send(url, &init).await
    }
    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<HttpReply, String> {
        let auth = basic.map(|(id, secret)| fetch::basic_auth(id, secret));
        let mut pairs = vec![
            ("accept", "application/json"),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        if let Some(a) = &auth {
            pairs.push(("authorization", a));
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers(&pairs)?)
            .with_body(Some(fetch::form_body(form).into()));
        send(url, &init).await
    }
}
