// jose: verify access tokens against the token server's JWKS with issuer,
// audience and typ (RFC 9068 "at+jwt") checks.
//
// Config: {jwksUri, issuer, audience, tokens: {name: token, ...}}
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { run, step, check } from './lib.mjs';

run('jose', async (cfg) => {
  const published = await step('fetch JWKS', async () => {
    const res = await fetch(cfg.jwksUri);
    check('fetch JWKS', res.ok, `GET ${cfg.jwksUri}: ${res.status}`);
    const body = await res.json();
    return body.keys.map((k) => k.kid);
  });
  const jwks = createRemoteJWKSet(new URL(cfg.jwksUri));
  const verified = {};
  for (const [name, token] of Object.entries(cfg.tokens)) {
    const { payload, protectedHeader } = await step(`jwtVerify ${name}`, () =>
      jwtVerify(token, jwks, { issuer: cfg.issuer, audience: cfg.audience, typ: 'at+jwt', algorithms: ['ES256'] }));
    verified[name] = { kid: protectedHeader.kid, alg: protectedHeader.alg, typ: protectedHeader.typ, jti: payload.jti, sub: payload.sub, scope: payload.scope, aud: payload.aud };
  }
  // The same checks must refuse a token for another audience and a tampered one.
  const [first] = Object.values(cfg.tokens);
  let foreign;
  try {
    await jwtVerify(first, jwks, { issuer: cfg.issuer, audience: 'not-an-audience-of-this-token', typ: 'at+jwt' });
    foreign = 'accepted';
  } catch (err) {
    foreign = err.code;
  }
  check('jwtVerify with a foreign audience', foreign === 'ERR_JWT_CLAIM_VALIDATION_FAILED', `foreign audience: ${foreign}`);
  const parts = first.split('.');
  const payload = JSON.parse(Buffer.from(parts[1], 'base64url'));
  payload.scope = 'admin';
  const tampered = [parts[0], Buffer.from(JSON.stringify(payload)).toString('base64url'), parts[2]].join('.');
  let forged;
  try {
    await jwtVerify(tampered, jwks, { issuer: cfg.issuer, audience: cfg.audience, typ: 'at+jwt' });
    forged = 'accepted';
  } catch (err) {
    forged = err.code;
  }
  check('jwtVerify of a tampered token', forged === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', `tampered token: ${forged}`);
  return { published, verified, headerOfFirst: decodeProtectedHeader(first) };
});
