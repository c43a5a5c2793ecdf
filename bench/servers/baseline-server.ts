import { randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { Server, Socket } from 'socket.io';
import { serveRpc } from '../lib/rpc';

/**
 * The bare Socket.IO 4.8 server Chatbox is judged against: the same path, namespace and events, and
 * only the transport's work. It trusts any handshake that carries a token (no verification), answers
 * `message:send` with an ack at once (no storage), and in relay mode streams the paced upstream's
 * reply to the session's room, one frame per upstream chunk. With REDIS_URL, rooms span processes
 * through the Redis adapter, as Chatbox's do.
 */
type Ack = (reply: unknown) => void;
type Mode = 'relay' | 'echo';

const upstream = new URL('/v1/chat/completions', process.env.UPSTREAM_URL);
const room = (sessionId: string) => `session:${sessionId}`;
let mode: Mode = 'relay';
let seq = 0;

const httpServer = createServer();
const io = new Server(httpServer, { path: '/chatbox/socket.io', serveClient: false });
const chat = io.of('/chat');

/** Parses the upstream's SSE as it arrives and emits each token to the room as one frame. */
function relay(sessionId: string, replyTo: string, content: string): void {
  const messageId = randomUUID();
  const to = room(sessionId);
  chat.to(to).emit('ai:start', { sessionId, messageId, replyTo });
  let index = 0;
  let buffer = '';
  const req = request(
    upstream,
    { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' } },
    (res) => {
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        buffer += text;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
          const delta = (JSON.parse(event.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]
            ?.delta?.content;
          if (delta) chat.to(to).emit('ai:delta', { sessionId, messageId, index: index++, text: delta });
        }
      });
      res.on('end', () => chat.to(to).emit('ai:end', { sessionId, messageId, replyTo, finishReason: 'stop' }));
    },
  );
  req.on('error', () => chat.to(to).emit('ai:error', { sessionId, messageId, replyTo, error: { code: 'upstream' } }));
  req.end(JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content }] }));
}

chat.use((socket, next) => {
  const token = (socket.handshake.auth as { token?: unknown }).token;
  next(typeof token === 'string' ? undefined : new Error('unauthorized'));
});

chat.on('connection', (socket: Socket) => {
  socket.on('session:start', async (_payload: unknown, ack: Ack) => {
    const sessionId = randomUUID();
    await socket.join(room(sessionId));
    ack({ ok: true, data: { sessionId } });
  });
  socket.on('session:resume', async (payload: { sessionId: string }, ack: Ack) => {
    await socket.join(room(payload.sessionId));
    ack({ ok: true, data: { messages: [] } });
  });
  socket.on('message:send', (payload: { sessionId: string; content: string }, ack: Ack) => {
    const messageId = randomUUID();
    ack({ ok: true, data: { messageId, seq: ++seq } });
    if (mode === 'relay') relay(payload.sessionId, messageId, payload.content);
  });
});

export interface BaselineApi {
  url(): string;
  setMode(mode: Mode): void;
  connections(): number;
}

async function main(): Promise<void> {
  if (process.env.REDIS_URL) {
    const pub = new Redis(process.env.REDIS_URL);
    io.adapter(createAdapter(pub, pub.duplicate()));
  }
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  const api: BaselineApi = {
    url: () => `http://127.0.0.1:${port}`,
    setMode: (next) => void (mode = next),
    connections: () => chat.sockets.size,
  };
  serveRpc(api);
}

void main();
