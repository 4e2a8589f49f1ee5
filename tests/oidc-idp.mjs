// A real OpenID provider for the tests: the npm package `oidc-provider`
// (a certified implementation) on loopback, with its own login and consent
// pages, a few users with a `groups` claim, and two signing keys (an RSA
// key signs until `rotate()`, then an EC P-256 key, with the RSA key still
// published, as a provider rotating its keys does).
//
// As a module: `const idp = await startIdp(); idp.register(registryOrigin)`.
// By hand: `node tests/oidc-idp.mjs <registry origin> [port]` prints the
// settings to start `scripts/dev` with (as a public client, so no secret).
//
// Its login page is the package's development one: it takes any password
// for a listed user. The users are test fixtures, not secrets.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import Provider from "oidc-provider";

export const CLIENT_ID = "registry";

/** The people the provider knows, by login (which is also their `sub`). */
function defaultUsers() {
  return {
    dana: { email: "dana@acme.test", email_verified: true, name: "Dana Admin", groups: ["registry-users", "registry-admins"] },
    erin: { email: "erin@acme.test", email_verified: true, name: "Erin Dev", groups: ["registry-users"] },
    mallory: { email: "mallory@acme.test", email_verified: true, name: "Mallory Outside", groups: ["contractors"] },
  };
}

function signingKey(type, kid) {
  const { privateKey } = type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...privateKey.export({ format: "jwk" }), kid, use: "sig", alg: type === "rsa" ? "RS256" : "ES256" };
}

/**
 * Starts the provider on 127.0.0.1 (`port` 0 picks a free one). Give
 * `register(origin)` the registry's origin before anyone signs in.
 */
export async function startIdp({ port = 0, publicClient = false } = {}) {
  const users = defaultUsers();
  const rsa = signingKey("rsa", "rsa-1");
  const ec = signingKey("ec", "ec-2");
  const secret = randomBytes(24).toString("hex");
  const cookieKey = randomBytes(32).toString("hex");
  let rotated = false;
  let origin = null;
  let provider = null;
  let issuer = null;
  let userinfoCalls = 0;

  const server = createServer((req, res) => {
    if (!provider) { res.writeHead(503); res.end("the provider has no client yet"); return; }
    if (req.url === "/me" && req.headers.authorization) userinfoCalls++;
    provider.callback()(req, res);
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;

  // The provider with the current keys and client; its sessions and grants
  // live in the package's memory store, shared by every instance, so a
  // rebuild (key rotation) keeps who is signed in there.
  function build() {
    provider = new Provider(issuer, {
      clients: [{
        client_id: CLIENT_ID,
        ...(publicClient ? {} : { client_secret: secret }),
        redirect_uris: [`${origin}/auth/oidc/callback`],
        post_logout_redirect_uris: [`${origin}/login`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: publicClient ? "none" : "client_secret_basic",
        id_token_signed_response_alg: rotated ? "ES256" : "RS256",
      }],
      jwks: { keys: rotated ? [ec, rsa] : [rsa] },
      cookies: { keys: [cookieKey] },
      pkce: { required: () => true },
      scopes: ["openid", "email", "profile", "groups"],
      claims: {
        openid: ["sub"],
        email: ["email", "email_verified"],
        profile: ["name", "preferred_username"],
        groups: ["groups"],
      },
      // Thin ID tokens, as the specification (and Okta) have it: the
      // scopes' claims (email, groups) only at the userinfo endpoint, which
      // the registry reads with the access token.
      conformIdTokenClaims: true,
      features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
      async findAccount(_ctx, id) {
        const u = Object.hasOwn(users, id) ? users[id] : null;
        if (!u) return undefined;
        return {
          accountId: id,
          async claims() {
            return { sub: id, preferred_username: id, ...u, groups: [...u.groups] };
          },
        };
      },
    });
    provider.proxy = false;
  }

  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret: publicClient ? null : secret,
    users,
    /** How many times the userinfo endpoint was asked, with a token. */
    userinfoCalls: () => userinfoCalls,
    /** Registers the registry at `origin` as the provider's client. */
    register(o) { origin = o.replace(/\/$/, ""); build(); },
    /** Signs with the EC key from now on (the RSA key stays published). */
    rotate() { rotated = true; build(); },
    /** The settings the registry needs (its `[vars]`). */
    vars(extra = {}) {
      const secretVar = publicClient ? {} : { OIDC_CLIENT_SECRET: secret };
      return { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID, ...secretVar, OIDC_SCOPES: "openid email profile groups", ...extra };
    },
    stop() { return new Promise((resolve) => server.close(() => resolve())); },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [origin, port] = process.argv.slice(2);
  if (!origin) {
    console.error("usage: node tests/oidc-idp.mjs <registry origin, e.g. http://127.0.0.1:8787> [port]");
    process.exit(2);
  }
  // A public client (PKCE only), so no secret has to reach scripts/dev.
  const idp = await startIdp({ port: Number(port || 0), publicClient: true });
  idp.register(origin);
  const env = Object.entries(idp.vars({ OIDC_NAME: "Test IdP" })).map(([k, v]) => `${k}='${v}'`).join(" ");
  console.log(`OpenID provider at ${idp.issuer} (users: ${Object.keys(idp.users).join(", ")}; any password)`);
  console.log(`start the registry with:\n  ${env} scripts/dev`);
}
