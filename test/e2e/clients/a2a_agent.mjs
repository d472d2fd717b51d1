// A small A2A agent built with @a2a-js/sdk (JSON-RPC binding over express).
// It is the upstream of an A2A GatewayRoute. It answers every message with a
// JSON text part: the text it received and the identity headers the gateway
// sent along, so the client can see what reached the backend.
//
// Env: PORT (required). Prints "listening <port>" on stdout when ready.
import express from 'express';
import { randomUUID } from 'node:crypto';
import { AGENT_CARD_PATH, Role } from '@a2a-js/sdk';
import { InMemoryTaskStore, DefaultRequestHandler, AgentEvent } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const port = Number(process.env.PORT);
if (!port) {
  console.error('a2a_agent: PORT is required');
  process.exit(2);
}
const base = `http://127.0.0.1:${port}`;

const card = {
  name: 'scopegate e2e agent',
  description: 'Echoes messages and the identity headers it received.',
  supportedInterfaces: [{ url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
  provider: { organization: 'scopegate e2e', url: `${base}/about` },
  version: '1.0.0',
  capabilities: { streaming: false, pushNotifications: false, extensions: [], extendedAgentCard: false },
  securitySchemes: {},
  securityRequirements: [],
  defaultInputModes: ['text'],
  defaultOutputModes: ['text'],
  skills: [{ id: 'echo', name: 'Echo', description: 'Echoes the message.', tags: ['echo'], examples: ['hello'], inputModes: ['text'], outputModes: ['text'], securityRequirements: [] }],
  documentationUrl: '',
  signatures: [],
};

// The identity headers of the request being served; requests are handled one
// at a time in the suite.
let lastHeaders = {};

const executor = {
  cancelTask: async () => {},
  async execute(ctx, bus) {
    const msg = ctx.userMessage;
    const text = msg.parts.filter((p) => p.content?.$case === 'text').map((p) => p.content.value).join(' ');
    const reply = JSON.stringify({ echo: text, headers: lastHeaders });
    bus.publish(AgentEvent.message({
      messageId: randomUUID(),
      contextId: ctx.contextId,
      taskId: '',
      role: Role.ROLE_AGENT,
      parts: [{ content: { $case: 'text', value: reply }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    }));
    bus.finished();
  },
};

const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
const app = express();
app.use((req, _res, next) => {
  lastHeaders = {
    authorization: req.headers.authorization ? 'present' : 'absent',
    'x-client-id': req.headers['x-client-id'] ?? '',
    'x-user-id': req.headers['x-user-id'] ?? '',
    'x-user-permissions': req.headers['x-user-permissions'] ?? '',
    'x-proxy-verified': req.headers['x-proxy-verified'] ?? '',
  };
  next();
});
app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: requestHandler }));
app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
const server = app.listen(port, '127.0.0.1', (err) => {
  if (err) {
    console.error(`a2a_agent: listen ${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
