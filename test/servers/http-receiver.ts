import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';

/** How the receiver answers the next request: a status (and body, headers), or no answer at all. */
export type Reply = { status: number; body?: string; headers?: Record<string, string> } | { hang: true };

export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived, for signature checks. */
  rawBody: string;
}

/**
 * A loopback HTTP server that records every request and answers from a script, one reply per request in order
 * (`script({ status: 500 }, { status: 200 })`); once the script is used up, every request gets 200 and `{}`.
 * Stands in for an SMS API or a webhook receiver.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly replies: Reply[] = [];
  private server?: Server;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  script(...replies: Reply[]): void {
    this.replies.push(...replies);
  }

  reset(): void {
    this.requests.length = 0;
    this.replies.length = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawBody: Buffer.concat(chunks).toString('utf8'),
    });
    const reply = this.replies.shift() ?? { status: 200, body: '{}' };
    if ('hang' in reply) return;
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body ?? '');
  }
}
