// oauth4webapi's DPoP support (RFC 9449) against the token endpoint and a
// gateway route: a DPoP-bound token, a call with a fresh proof, then the
// refusals — the same proof replayed, a proof by another key, the bound token
// sent as a bearer token. The refusals are reported, not judged: the Go test
// checks them.
//
// Config: {issuer, clientId, clientSecret, scope, url, requiredResource}
//   url: a gateway URL under a route the client may call (GET).
//   requiredResource (optional): the resource URL of a route with
//   requireDPoP; its metadata is read and <resource>/call is called.
// scopegate is trusted through NODE_EXTRA_CA_CERTS (the published ca.crt),
// with no insecure switch.
import * as oauth from 'oauth4webapi';
import { run, step, check, header } from './lib.mjs';

// refusal calls fn, which must be refused with a WWW-Authenticate challenge
// (oauth4webapi throws WWWAuthenticateChallengeError for it), and returns
// the status and the challenge's scheme and parameters.
async function refusal(name, fn) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    if (err?.code !== 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') {
      throw Object.assign(err, { step: name });
    }
    const [challenge] = err.cause;
    return { status: err.response.status, scheme: challenge.scheme, ...challenge.parameters };
  }
  throw Object.assign(new Error(`answered ${res.status} without a challenge`), { step: name });
}

run('dpop', async (cfg) => {
  const issuer = new URL(cfg.issuer);
  const as = await step('authorization server discovery', async () =>
    oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2' })));
  check('authorization server discovery', Array.isArray(as.dpop_signing_alg_values_supported) &&
    as.dpop_signing_alg_values_supported.includes('ES256'),
  `dpop_signing_alg_values_supported ${JSON.stringify(as.dpop_signing_alg_values_supported)} lacks ES256`);

  const client = { client_id: cfg.clientId };
  const auth = oauth.ClientSecretBasic(cfg.clientSecret);
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));

  const tokens = await step('client_credentials with a DPoP proof', async () => {
    const request = () => oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: cfg.scope }), { DPoP });
    try {
      return await oauth.processClientCredentialsResponse(as, client, await request());
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err;
      return oauth.processClientCredentialsResponse(as, client, await request());
    }
  });

  // The proof oauth4webapi sends is kept, to be replayed below.
  const url = new URL(cfg.url);
  let sent;
  const keep = (input, init) => {
    sent = new Headers(init.headers);
    return fetch(input, init);
  };
  const res = await step('gateway call with a DPoP proof', () =>
    oauth.protectedResourceRequest(tokens.access_token, 'GET', url, new Headers(), null, { DPoP, [oauth.customFetch]: keep }));
  check('gateway call with a DPoP proof', res.status === 200, `status ${res.status}`, { body: await res.text() });
  check('gateway call with a DPoP proof', (sent.get('authorization') ?? '').startsWith('DPoP ') && sent.has('dpop'),
    'oauth4webapi did not send the DPoP scheme and a proof');

  const replayed = await refusal('the same proof replayed', () =>
    oauth.protectedResourceRequest(tokens.access_token, 'GET', url, new Headers(), null, {
      [oauth.customFetch]: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: sent.get('authorization'), dpop: sent.get('dpop') } }),
    }));

  const otherKey = await refusal('a proof by another key', async () =>
    oauth.protectedResourceRequest(tokens.access_token, 'GET', url, new Headers(), null, {
      DPoP: oauth.DPoP(client, await oauth.generateKeyPair('ES256')),
    }));

  const asBearer = await refusal('the bound token as a bearer token', () =>
    oauth.protectedResourceRequest(tokens.access_token, 'GET', url, new Headers(), null));

  // A route that requires DPoP-bound tokens: its resource metadata says
  // so, and the bound token with a fresh proof passes.
  let required;
  if (cfg.requiredResource) {
    const resource = new URL(cfg.requiredResource);
    const rs = await step('resource discovery of the route that requires DPoP', async () =>
      oauth.processResourceDiscoveryResponse(resource, await oauth.resourceDiscoveryRequest(resource)));
    const r = await step('call to the route that requires DPoP', () =>
      oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(cfg.requiredResource + '/call'), new Headers(), null, { DPoP }));
    required = { status: r.status, dpopBoundAccessTokensRequired: rs.dpop_bound_access_tokens_required ?? null };
  }

  return {
    required,
    tokenType: tokens.token_type,
    accessToken: tokens.access_token,
    status: res.status,
    dpopNonce: header(res, 'dpop-nonce'),
    replayed,
    otherKey,
    asBearer,
  };
});
