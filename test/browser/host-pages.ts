import { createServer, Server } from 'node:http';

/**
 * A host application on its own loopback origin: it serves the pages the tests give it by path, as a
 * site embedding Chatbox would. Several of them make several origins.
 */
export class HostSite {
  private server?: Server;
  private readonly pages = new Map<string, string>();
  origin = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const html = this.pages.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (html === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  serve(path: string, html: string): string {
    this.pages.set(path, html);
    return `${this.origin}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/**
 * A host page that loads Chatbox's embed.js and mounts the chat, answering each token request with
 * `window.issueToken(reason)` (a function the test exposes) and recording the reasons in `tokenRequests`.
 * `beforeAnswer` is script run (awaited) before each answer; `page` is `chat` or `admin`.
 */
export function hostPage(appOrigin: string, { beforeAnswer = '', lang = 'en', page = 'chat' } = {}): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Host application</title><link rel="icon" href="data:,"></head>
<body>
<div id="chat" style="height: 640px"></div>
<script src="${appOrigin}/chatbox/embed.js" data-chatbox-origin="${appOrigin}"></script>
<script>
  window.tokenRequests = [];
  Chatbox.mount({
    container: document.getElementById('chat'),
    lang: '${lang}',
    page: '${page}',
    getToken: async (reason) => {
      window.tokenRequests.push(reason);
      ${beforeAnswer}
      return window.issueToken(reason);
    },
  });
</script>
</body></html>`;
}
