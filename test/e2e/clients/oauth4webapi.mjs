// oauth4webapi as a resource server: RFC 9068 JWT access-token validation
// (validateJwtAccessToken) and RFC 9728 protected-resource metadata discovery
// against a gateway route.
//
// Config: {issuer, accessToken, audience, resource}
//   resource: <gateway-url><pathPrefix>, the route's resource identifier.
// scopegate is trusted through NODE_EXTRA_CA_CERTS (the published ca.crt),
// with no insecure switch.
import * as oauth from 'oauth4webapi';
import { run, step, check } from './lib.mjs';

run('oauth4webapi', async (cfg) => {
  const issuer = new URL(cfg.issuer);
  const as = await step('authorization server discovery', async () => {
    const res = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2' });
    return oauth.processDiscoveryResponse(issuer, res);
  });

  const request = (token) => new Request(cfg.resource, { headers: { authorization: `Bearer ${token}` } });
  const claims = await step('validateJwtAccessToken', () =>
    oauth.validateJwtAccessToken(as, request(cfg.accessToken), cfg.audience));
  check('validateJwtAccessToken', claims.iss === cfg.issuer, `iss ${claims.iss}`);

  let wrongAudience;
  try {
    await oauth.validateJwtAccessToken(as, request(cfg.accessToken), 'not-an-audience-of-this-token');
    wrongAudience = 'accepted';
  } catch (err) {
    wrongAudience = err.code ?? err.message;
  }
  check('validateJwtAccessToken with a foreign audience', wrongAudience !== 'accepted', 'a token was accepted for an audience it does not hold');

  const resource = new URL(cfg.resource);
  const rs = await step('protected resource discovery', async () => {
    const res = await oauth.resourceDiscoveryRequest(resource);
    return oauth.processResourceDiscoveryResponse(resource, res);
  });
  check('protected resource discovery', Array.isArray(rs.authorization_servers) && rs.authorization_servers.includes(cfg.issuer),
    `authorization_servers ${JSON.stringify(rs.authorization_servers)} lacks ${cfg.issuer}`, rs);
  check('protected resource discovery', Array.isArray(rs.bearer_methods_supported) && rs.bearer_methods_supported.includes('header'),
    `bearer_methods_supported ${JSON.stringify(rs.bearer_methods_supported)}`, rs);

  return { claims, wrongAudience, resourceMetadata: rs };
});
