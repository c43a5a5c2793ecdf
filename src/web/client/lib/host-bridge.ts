import { isTokenMessage, TOKEN_REQUEST, TokenRequestMessage, TokenRequestReason } from './embed-messages';

/**
 * The origins the page may ask its parent frame for a token: the parent's own when the browser names it
 * (`location.ancestorOrigins`) and it is allowed, else every allowed origin (a message posted to an origin
 * that is not the parent's is simply not delivered, and a request holds no secret). None when the page is
 * not framed or its parent is named and not allowed.
 */
export function parentTargets(allowed: readonly string[], win: Window = window): string[] {
  if (win.parent === win) return [];
  const named = win.location.ancestorOrigins?.[0];
  if (named !== undefined) return allowed.includes(named) ? [named] : [];
  return [...allowed];
}

/**
 * Gets the page its token from the host page framing it. Only messages from the parent window, from an
 * allowed origin, are heard; the first origin that answers is the only one heard and asked from then on.
 */
export class HostBridge {
  private readonly waiting: ((token: string) => void)[] = [];
  private latest?: string;
  private targets: string[];

  constructor(
    targets: string[],
    private readonly win: Window = window,
  ) {
    this.targets = targets;
    win.addEventListener('message', (event: MessageEvent) => {
      // `targets` holds allowed origins only: the parent's, or all of them until one has answered.
      if (event.source !== win.parent || !this.targets.includes(event.origin) || !isTokenMessage(event.data)) return;
      this.targets = [event.origin];
      this.latest = event.data.token;
      for (const resolve of this.waiting.splice(0)) resolve(event.data.token);
    });
  }

  /** The last token the host gave, if any. */
  current(): string | undefined {
    return this.latest;
  }

  /** Asks the host for a token and resolves with the next one it sends. */
  request(reason: TokenRequestReason): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      const message: TokenRequestMessage = { type: TOKEN_REQUEST, reason };
      for (const origin of this.targets) this.win.parent.postMessage(message, origin);
    });
  }
}
