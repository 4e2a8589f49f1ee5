//! PBKDF2-HMAC-SHA256 through the runtime's WebCrypto (`crypto.subtle`),
//! which runs natively: far cheaper in CPU time than hashing in wasm.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

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

impl Kdf for WebCryptoKdf {
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], String> {
        let global = js_sys::global();
        let crypto = Reflect::get(&global, &JsValue::from_str("crypto")).map_err(js_err)?;
        let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle")).map_err(js_err)?;
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
