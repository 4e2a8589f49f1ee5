//! The one error type of the app, mapped exhaustively to an HTTP status and
//! Cargo's error body `{"errors":[{"detail":"..."}]}`.

use crate::store::StoreError;

/// Every way a request can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// No credentials (401). On index paths the response carries the
    /// `Cargo` challenge.
    Unauthorized(String),
    /// Credentials were sent but are not valid, on a path where cargo
    /// expects 401 to say "token rejected" (index and downloads).
    TokenRejected(String),
    /// Valid credentials without the right to do this (403), or invalid
    /// credentials on the API.
    Forbidden(String),
    /// No such crate, version, user or route (404).
    NotFound(String),
    /// Method not allowed on this path (405).
    MethodNotAllowed,
    /// The client sent something wrong (400).
    BadRequest(String),
    /// The request conflicts with the current state (409).
    Conflict(String),
    /// Too large (413).
    TooLarge(String),
    /// Too many attempts; retry after the given seconds (429).
    TooManyRequests(String, i64),
    /// A storage backend failed; the cause is logged, not shown (500).
    Internal(String),
}

impl AppError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized(_) | AppError::TokenRejected(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::MethodNotAllowed => 405,
            AppError::BadRequest(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::TooLarge(_) => 413,
            AppError::TooManyRequests(..) => 429,
            AppError::Internal(_) => 500,
        }
    }

    /// The message shown to the client. Internal causes are never shown.
    pub fn detail(&self) -> String {
        match self {
            AppError::Unauthorized(m)
            | AppError::TokenRejected(m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::BadRequest(m)
            | AppError::Conflict(m)
            | AppError::TooLarge(m)
            | AppError::TooManyRequests(m, _) => m.clone(),
            AppError::MethodNotAllowed => "method not allowed on this path".into(),
            AppError::Internal(_) => {
                "internal error in the registry; nothing was changed by this request if it failed, please retry".into()
            }
        }
    }

    /// Cargo's error body.
    pub fn body(&self) -> String {
        serde_json::json!({"errors": [{"detail": self.detail()}]}).to_string()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.0)
    }
}

impl From<crate::protocol::publish::PublishError> for AppError {
    fn from(e: crate::protocol::publish::PublishError) -> Self {
        if e.is_too_large() {
            AppError::TooLarge(e.to_string())
        } else {
            AppError::BadRequest(e.to_string())
        }
    }
}

/// Writes an operator-facing line to the runtime's log (the Worker's
/// console, or stderr natively); never shown to a client.
pub fn log(msg: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::cf::log_error(msg);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak() {
        let e = AppError::Internal("D1_ERROR: secret table xyz".into());
        assert_eq!(e.status(), 500);
        assert!(!e.body().contains("xyz"));
    }

    #[test]
    fn body_is_cargo_shaped() {
        let v: serde_json::Value =
            serde_json::from_str(&AppError::NotFound("no \"x\"".into()).body()).unwrap();
        assert_eq!(v["errors"][0]["detail"], "no \"x\"");
    }
}
