// openid-client v6 against the token server: RFC 8414 discovery,
// client_credentials (RFC 6749 §4.4), introspection (RFC 7662) and revocation
// (RFC 7009).
//
// Config: {issuer, clientId, clientSecret, scope, audience?, authMethod?: "basic"|"post"}
import * as client from 'openid-client';
import { run, step, check } from './lib.mjs';

run('openid-client', async (cfg) => {
  const auth = cfg.authMethod === 'post' ? client.ClientSecretPost(cfg.clientSecret) : client.ClientSecretBasic(cfg.clientSecret);
  const config = await step('discovery', () =>
    client.discovery(new URL(cfg.issuer), cfg.clientId, undefined, auth, {
      algorithm: 'oauth2', // RFC 8414: /.well-known/oauth-authorization-server
    }),
  );
  const md = config.serverMetadata();
  check('discovery', md.issuer === cfg.issuer, `metadata issuer ${md.issuer} != ${cfg.issuer}`);
  for (const k of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'jwks_uri']) {
    check('discovery', typeof md[k] === 'string' && md[k].startsWith(cfg.issuer), `metadata ${k} is ${md[k]}`);
  }

  const params = { scope: cfg.scope };
  if (cfg.audience) params.audience = cfg.audience;
  const tokens = await step('client_credentials grant', () => client.clientCredentialsGrant(config, params));
  check('client_credentials grant', tokens.token_type?.toLowerCase() === 'bearer', `token_type ${tokens.token_type}`);
  check('client_credentials grant', typeof tokens.expires_in === 'number' && tokens.expires_in > 0, `expires_in ${tokens.expires_in}`);

  const active = await step('introspection', () => client.tokenIntrospection(config, tokens.access_token));
  check('introspection', active.active === true, 'fresh token is not active', active);
  check('introspection', active.client_id === cfg.clientId, `introspected client_id ${active.client_id}`, active);

  await step('revocation', () => client.tokenRevocation(config, tokens.access_token));
  const after = await step('introspection after revocation', () => client.tokenIntrospection(config, tokens.access_token));
  check('introspection after revocation', after.active === false, 'revoked token is still active', after);

  let wrong;
  try {
    const bad = await client.discovery(new URL(cfg.issuer), cfg.clientId, undefined,
      cfg.authMethod === 'post' ? client.ClientSecretPost('not-the-secret') : client.ClientSecretBasic('not-the-secret'),
      { algorithm: 'oauth2' });
    await client.clientCredentialsGrant(bad, params);
    wrong = { accepted: true };
  } catch (err) {
    // With client_secret_basic the 401 carries a Basic challenge, which
    // openid-client reports as WWWAuthenticateChallengeError; the OAuth error
    // is then in the response body (RFC 6749 §5.2).
    let error = err.error;
    if (error === undefined && err.response) {
      error = (await err.response.json().catch(() => ({}))).error;
    }
    wrong = { error, status: err.status, name: err.name };
  }
  check('wrong secret', wrong.error === 'invalid_client' && wrong.status === 401,
    `a wrong client_secret got ${JSON.stringify(wrong)}, want invalid_client/401`);

  return {
    metadata: md,
    grantedScope: tokens.scope,
    expiresIn: tokens.expires_in,
    introspection: active,
    activeAfterRevocation: after.active,
    revokedToken: tokens.access_token,
  };
});
