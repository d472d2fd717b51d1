// The @a2a-js/sdk client through the gateway: it resolves the agent card at
// <gateway><prefix>/.well-known/agent-card.json (whose URLs the gateway has
// rewritten to itself), then sends a message with a bearer token added by a
// custom fetch. Without a token the same call must be refused with 401.
//
// Config: {baseUrl: <gateway><prefix>, gatewayUrl, token, message}
import { randomUUID } from 'node:crypto';
import { Role } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { run, step, check } from './lib.mjs';

function bearerFetch(token) {
  return (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return fetch(url, { ...init, headers });
  };
}

function factoryFor(token) {
  const fetchImpl = bearerFetch(token);
  return new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  }));
}

function userMessage(text) {
  return {
    messageId: randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
    metadata: undefined, extensions: [], referenceTaskIds: [],
  };
}

function replyText(result) {
  const msg = result?.messageId !== undefined ? result : result?.status?.message;
  return (msg?.parts ?? []).filter((p) => p.content?.$case === 'text').map((p) => p.content.value).join(' ');
}

run('a2a-sdk', async (cfg) => {
  // The card path is resolved relative to the base URL (WHATWG URL rules):
  // a route prefix needs its trailing slash to stay in the URL.
  const cardBase = cfg.baseUrl.endsWith('/') ? cfg.baseUrl : `${cfg.baseUrl}/`;
  const card = await step('resolve agent card', () => new DefaultAgentCardResolver({ fetchImpl: bearerFetch(cfg.token) }).resolve(cardBase));
  const urls = card.supportedInterfaces.map((i) => i.url);
  check('resolve agent card', urls.length > 0 && urls.every((u) => u.startsWith(cfg.baseUrl)),
    `agent card interfaces ${JSON.stringify(urls)} do not point at the gateway ${cfg.baseUrl}`);

  const client = await step('create client', () => factoryFor(cfg.token).createFromUrl(cardBase));
  const result = await step('message/send', () => client.sendMessage({ tenant: '', message: userMessage(cfg.message), configuration: undefined, metadata: undefined }));
  const text = replyText(result);
  let reply;
  try {
    reply = JSON.parse(text);
  } catch {
    throw Object.assign(new Error(`agent reply is not JSON: ${text}`), { step: 'message/send' });
  }
  check('message/send', reply.echo === cfg.message, `agent echoed ${JSON.stringify(reply.echo)}`);

  // Without a token: the card's interface URL is the gateway, which must refuse.
  const anonymous = await step('message/send without a token', async () => {
    const res = await fetch(urls[0], {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'anonymous' }] } } }),
    });
    return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate') ?? '' };
  });
  check('message/send without a token', anonymous.status === 401, `anonymous call got ${anonymous.status}, want 401`);
  let sdkAnonymous;
  try {
    const anonClient = await factoryFor('').createFromAgentCard(card);
    await anonClient.sendMessage({ tenant: '', message: userMessage('anonymous'), configuration: undefined, metadata: undefined });
    sdkAnonymous = 'accepted';
  } catch (err) {
    sdkAnonymous = err.message;
  }
  check('SDK message/send without a token', sdkAnonymous !== 'accepted', 'the SDK client got an answer without a token');

  return { cardName: card.name, interfaces: urls, reply, anonymous, sdkAnonymous };
});
