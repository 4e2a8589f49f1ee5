//! Single sign-on attempts and identities over the executor.

use serde::Deserialize;

use super::rows::{CountRow, JoinedUser};
use super::*;
use crate::store::{IdentityUser, SessionRecord, SsoAttempt, SsoStore};

#[derive(Deserialize)]
struct AttemptRow {
    nonce: String,
    verifier: String,
    return_to: Option<String>,
    expires_at: i64,
}

#[derive(Deserialize)]
struct IdentityRow {
    suspended: i64,
    u_id: i64,
    #[serde(flatten)]
    user: JoinedUser,
}

impl<E: Executor> SsoStore for SqlStore<E> {
    async fn insert_sso_attempt(&self, state_hash: &str, a: &SsoAttempt) -> StoreResult<()> {
        self.run(
            Stmt::new(INSERT_SSO_ATTEMPT)
                .bind(state_hash)
                .bind(&a.nonce)
                .bind(&a.verifier)
                .bind(&a.return_to)
                .bind(a.expires_at),
        )
        .await?;
        Ok(())
    }
    async fn take_sso_attempt(&self, state_hash: &str) -> StoreResult<Option<SsoAttempt>> {
        let row = self
            .first::<AttemptRow>(Stmt::new(TAKE_SSO_ATTEMPT).bind(state_hash))
            .await?;
        Ok(row.map(|r| SsoAttempt {
            nonce: r.nonce,
            verifier: r.verifier,
            return_to: r.return_to,
            expires_at: r.expires_at,
        }))
    }
    async fn prune_sso_attempts(&self, now: i64, limit: u32) -> StoreResult<u32> {
        let rows = self
            .all::<CountRow>(Stmt::new(PRUNE_SSO_ATTEMPTS).bind(now).bind(limit))
            .await?;
        Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
    }
    async fn identity_user(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<IdentityUser>> {
        let row = self
            .first::<IdentityRow>(Stmt::new(IDENTITY_USER).bind(issuer).bind(subject))
            .await?;
        Ok(row.map(|r| IdentityUser {
            suspended: r.suspended != 0,
            user: r.user.user(r.u_id),
        }))
    }
    async fn insert_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
        email: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        let n = self
            .run(
                Stmt::new(INSERT_IDENTITY)
                    .bind(issuer)
                    .bind(subject)
                    .bind(user_id)
                    .bind(email)
                    .bind(now),
            )
            .await?;
        Ok(n == 1)
    }
    async fn touch_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        now: i64,
        suspended: bool,
    ) -> StoreResult<()> {
        self.run(
            Stmt::new(TOUCH_IDENTITY)
                .bind(issuer)
                .bind(subject)
                .bind(email)
                .bind(now)
                .bind(suspended),
        )
        .await?;
        Ok(())
    }
    async fn create_sso_session(&self, id_hash: &str, s: &SessionRecord) -> StoreResult<bool> {
        let n = self
            .run(
                Stmt::new(CREATE_SSO_SESSION)
                    .bind(id_hash)
                    .bind(s.user_id)
                    .bind(&s.csrf)
                    .bind(s.created_at)
                    .bind(s.expires_at),
            )
            .await?;
        Ok(n == 1)
    }
}
