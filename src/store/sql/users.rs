//! Users and API tokens over the executor.

use super::rows::{TokenRow, TokenUserRow, UserRow};
use super::*;
use crate::auth::scopes::patterns_text;
use crate::store::exec::json_list;
use crate::store::{NewToken, TokenRecord, TokenStore, User, UserStore};

impl<E: Executor> UserStore for SqlStore<E> {
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let r = self
            .first::<UserRow>(Stmt::new(USER_BY_ID).bind(id))
            .await?;
        Ok(r.map(User::from))
    }
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let r = self
            .first::<UserRow>(Stmt::new(USER_BY_LOGIN).bind(login))
            .await?;
        Ok(r.map(User::from))
    }
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = self.all::<UserRow>(Stmt::new(LIST_USERS)).await?;
        Ok(rows.into_iter().map(User::from).collect())
    }
    async fn set_disabled(&self, user_id: i64, disabled: bool) -> StoreResult<()> {
        let mut stmts = vec![
            Stmt::new(SET_DISABLED).bind(user_id).bind(disabled),
            Stmt::new(CLEAR_SUSPENDED).bind(user_id),
        ];
        if disabled {
            stmts.push(Stmt::new(DELETE_USER_SESSIONS).bind(user_id));
        }
        self.batch(stmts).await?;
        Ok(())
    }
    async fn set_admin(&self, user_id: i64, admin: bool) -> StoreResult<()> {
        self.run(Stmt::new(SET_ADMIN).bind(user_id).bind(admin))
            .await?;
        Ok(())
    }
    async fn users_by_logins(&self, logins: &[String]) -> StoreResult<Vec<User>> {
        if logins.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .all::<UserRow>(Stmt::new(USERS_BY_LOGINS).bind(json_list(logins)?))
            .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }
    async fn create_user(
        &self,
        login: &str,
        is_admin: bool,
        now: i64,
    ) -> StoreResult<Option<User>> {
        let r = self
            .first::<UserRow>(Stmt::new(CREATE_USER).bind(login).bind(is_admin).bind(now))
            .await?;
        Ok(r.map(User::from))
    }
}

impl<E: Executor> TokenStore for SqlStore<E> {
    async fn token_by_id(&self, id: i64) -> StoreResult<Option<TokenRecord>> {
        let r = self
            .first::<TokenRow>(Stmt::new(TOKEN_BY_ID).bind(id))
            .await?;
        Ok(r.map(TokenRecord::from))
    }
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<(TokenRecord, User)>> {
        let r = self
            .first::<TokenUserRow>(Stmt::new(TOKEN_BY_HASH).bind(hash))
            .await?;
        Ok(r.map(|r| {
            let t = TokenRecord::from(r.token);
            let u = r.user.user(t.user_id);
            (t, u)
        }))
    }
    async fn create_token(&self, t: &NewToken) -> StoreResult<TokenRecord> {
        let s = Stmt::new(CREATE_TOKEN)
            .bind(t.user_id)
            .bind(&t.name)
            .bind(&t.hash)
            .bind(&t.hint)
            .bind(t.scopes.to_list_string())
            .bind(patterns_text(&t.patterns))
            .bind(t.created_at)
            .bind(t.expires_at);
        self.first::<TokenRow>(s)
            .await?
            .map(TokenRecord::from)
            .ok_or_else(|| StoreError::new("token insert returned no row"))
    }
    async fn list_tokens(&self, user_id: i64) -> StoreResult<Vec<TokenRecord>> {
        let rows = self
            .all::<TokenRow>(Stmt::new(LIST_TOKENS).bind(user_id))
            .await?;
        Ok(rows.into_iter().map(TokenRecord::from).collect())
    }
    async fn revoke_token(&self, id: i64, now: i64) -> StoreResult<bool> {
        Ok(self.run(Stmt::new(REVOKE_TOKEN).bind(id).bind(now)).await? > 0)
    }
    async fn touch_token(&self, id: i64, now: i64) -> StoreResult<()> {
        self.run(Stmt::new(TOUCH_TOKEN).bind(id).bind(now)).await?;
        Ok(())
    }
}
