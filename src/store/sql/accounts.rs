//! Web sign-in (passwords, sessions, one-time links, attempt counters)
//! over the executor.

use super::rows::{FailureRow, HashRow, LinkRow, SessionRow};
use super::*;
use crate::store::{AccountStore, Failures, SessionRecord, User};

impl<E: Executor> AccountStore for SqlStore<E> {
    async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
        let r = self
            .first::<HashRow>(Stmt::new(PASSWORD_HASH).bind(user_id))
            .await?;
        Ok(r.and_then(|r| r.password_hash))
    }
    async fn set_password(&self, user_id: i64, hash: &str) -> StoreResult<()> {
        self.run(Stmt::new(SET_PASSWORD).bind(user_id).bind(hash))
            .await?;
        Ok(())
    }
    async fn create_session(
        &self,
        id_hash: &str,
        s: &SessionRecord,
        password_hash: &str,
    ) -> StoreResult<bool> {
        let n = self
            .run(
                Stmt::new(CREATE_SESSION)
                    .bind(id_hash)
                    .bind(s.user_id)
                    .bind(&s.csrf)
                    .bind(s.created_at)
                    .bind(s.expires_at)
                    .bind(password_hash),
            )
            .await?;
        Ok(n == 1)
    }
    async fn session(&self, id_hash: &str) -> StoreResult<Option<(SessionRecord, User)>> {
        let r = self
            .first::<SessionRow>(Stmt::new(SESSION).bind(id_hash))
            .await?;
        Ok(r.map(Into::into))
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.run(Stmt::new(DELETE_SESSION).bind(id_hash)).await?;
        Ok(())
    }
    async fn delete_user_sessions(&self, user_id: i64) -> StoreResult<()> {
        self.run(Stmt::new(DELETE_USER_SESSIONS).bind(user_id))
            .await?;
        Ok(())
    }
    async fn create_link(
        &self,
        hash: &str,
        user_id: i64,
        purpose: &str,
        created_by: Option<i64>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        let s = Stmt::new(INSERT_LINK)
            .bind(hash)
            .bind(user_id)
            .bind(purpose)
            .bind(created_by)
            .bind(now)
            .bind(expires_at);
        self.run(s).await?;
        Ok(())
    }
    async fn consume_link(&self, hash: &str, now: i64) -> StoreResult<Option<(i64, String)>> {
        let r = self
            .first::<LinkRow>(Stmt::new(CONSUME_LINK).bind(hash).bind(now))
            .await?;
        Ok(r.map(|r| (r.user_id, r.purpose)))
    }
    async fn count_attempt(
        &self,
        key: &str,
        now: i64,
        rule: &AttemptRule,
    ) -> StoreResult<Failures> {
        let s = Stmt {
            sql: COUNT_ATTEMPT,
            args: count_attempt_args(key, now, rule),
        };
        self.first::<FailureRow>(s)
            .await?
            .map(Failures::from)
            .ok_or_else(|| StoreError::new("count_attempt: no row returned"))
    }
    async fn refund_attempt(&self, key: &str) -> StoreResult<()> {
        self.run(Stmt::new(REFUND_ATTEMPT).bind(key)).await?;
        Ok(())
    }
    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        self.run(Stmt::new(CLEAR_FAILURES).bind(key)).await?;
        Ok(())
    }
    async fn prune_attempts(&self, now: i64, window: i64, limit: u32) -> StoreResult<u32> {
        let rows = self
            .exec
            .execute(&Stmt::new(PRUNE_ATTEMPTS).bind(now).bind(window).bind(limit))
            .await?
            .rows;
        Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
    }
}
