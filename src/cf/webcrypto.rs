//! The runtime's WebCrypto (`crypto.subtle`), which runs natively: far
//! cheaper in CPU time than the same work in wasm. PBKDF2-HMAC-SHA256 for
//! passwords, and RS256/ES256 signature checks for JWTs.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::auth::jwt::{Alg, Jwk, JwsVerifier};
use crate::auth::password::Kdf;

/// The WebCrypto key derivation.
pub struct WebCryptoKdf;

fn js_err(e: JsValue) -> String {
    format!("WebCrypto: {e:?}")
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f: js_sys::Function = Reflect::get(target, &JsValue::from_str(method))
        .map_err(js_err)?
        .dyn_into()
        .map_err(|_| format!("WebCrypto: {method} is not a function"))?;
    let list = Array::new();
    for a in args {
        list.push(a);
    }
    Reflect::apply(&f, target, &list).map_err(js_err)
}

fn subtle() -> Result<JsValue, String> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).map_err(js_err)?;
    Reflect::get(&crypto, &JsValue::from_str("subtle")).map_err(js_err)
}

fn object(fields: &[(&str, &str)]) -> Result<Object, String> {
    let o = Object::new();
    for (k, v) in fields {
        Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v)).map_err(js_err)?;
    }
    Ok(o)
}

async fn promise(p: JsValue) -> Result<JsValue, String> {
    JsFuture::from(js_sys::Promise::from(p))
        .await
        .map_err(js_err)
}

/// JWS signature checks with WebCrypto: the issuer's public key imported
/// as a JWK (only its public fields), then `verify`.
pub struct WebCryptoJws;

impl JwsVerifier for WebCryptoJws {
    async fn verify(&self, alg: Alg, key: &Jwk, input: &[u8], sig: &[u8]) -> Result<bool, String> {
        let need = |v: &Option<String>, name: &str| {
            v.clone().ok_or_else(|| format!("the key has no `{name}`"))
        };
        let (jwk, import, verify) = match alg {
            Alg::Rs256 => (
                object(&[
                    ("kty", "RSA"),
                    ("n", &need(&key.n, "n")?),
                    ("e", &need(&key.e, "e")?),
                ])?,
                object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")])?,
                object(&[("name", "RSASSA-PKCS1-v1_5")])?,
            ),
            Alg::Es256 => (
                object(&[
                    ("kty", "EC"),
                    ("crv", "P-256"),
                    ("x", &need(&key.x, "x")?),
                    ("y", &need(&key.y, "y")?),
                ])?,
                object(&[("name", "ECDSA"), ("namedCurve", "P-256")])?,
                object(&[("name", "ECDSA"), ("hash", "SHA-256")])?,
            ),
        };
        let subtle = subtle()?;
        let usages = Array::of1(&JsValue::from_str("verify"));
        let imported = promise(call(
            &subtle,
            "importKey",
            &[
                JsValue::from_str("jwk"),
                jwk.into(),
                import.into(),
                JsValue::FALSE,
                usages.into(),
            ],
        )?)
        .await?;
        let ok = promise(call(
            &subtle,
            "verify",
            &[
                verify.into(),
                imported,
                Uint8Array::from(sig).into(),
                Uint8Array::from(input).into(),
            ],
        )?)
        .await?;
        Ok(ok.as_bool() == Some(true))
    }
}

impl Kdf for WebCryptoKdf {
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], String> {
        let subtle = subtle()?;
        let usages = Array::of1(&JsValue::from_str("deriveBits"));
        let key_promise = call(
            &subtle,
            "importKey",
            &[
                JsValue::from_str("raw"),
                Uint8Array::from(password).into(),
                JsValue::from_str("PBKDF2"),
                JsValue::FALSE,
                usages.into(),
            ],
        )?;
        let key = JsFuture::from(js_sys::Promise::from(key_promise))
            .await
            .map_err(js_err)?;
        let params = Object::new();
        Reflect::set(&params, &"name".into(), &"PBKDF2".into()).map_err(js_err)?;
        Reflect::set(&params, &"hash".into(), &"SHA-256".into()).map_err(js_err)?;
        Reflect::set(&params, &"salt".into(), &Uint8Array::from(salt).into()).map_err(js_err)?;
        Reflect::set(
            &params,
            &"iterations".into(),
            &JsValue::from_f64(f64::from(iterations)),
        )
        .map_err(js_err)?;
        let bits = call(
            &subtle,
            "deriveBits",
            &[params.into(), key, JsValue::from_f64(256.0)],
        )?;
        let buf = JsFuture::from(js_sys::Promise::from(bits))
            .await
            .map_err(js_err)?;
        let bytes = Uint8Array::new(&buf).to_vec();
        bytes
            .try_into()
            .map_err(|_| "WebCrypto: deriveBits gave the wrong length".to_string())
    }
}
