import { isTokenMessage, TOKEN_REQUEST, TokenRequestMessage, TokenRequestReason } from './embed-messages';

/**
 * The parent frame's origin when it is one we may talk to: the browser's ancestor list (or the referrer)
 * names it, or, when neither does, the only allowed origin (a message posted to a wrong origin is simply
 * not delivered). Undefined when the page is not framed or its parent is not allowed.
 */
export function parentOrigin(allowed: readonly string[], win: Window = window): string | undefined {
  if (win.parent === win) return undefined;
  const named = win.location.ancestorOrigins?.[0] ?? originOf(win.document.referrer);
  if (named) return allowed.includes(named) ? named : undefined;
  return allowed.length === 1 ? allowed[0] : undefined;
}

function originOf(url: string): string | undefined {
  try {
    return url ? new URL(url).origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gets the page its token from the host page framing it. Only messages from the parent window, from the
 * allowed origin it was identified as, are heard; requests are posted to that origin only.
 */
export class HostBridge {
  private readonly waiting: ((token: string) => void)[] = [];
  private latest?: string;

  constructor(
    private readonly origin: string,
    private readonly win: Window = window,
  ) {
    win.addEventListener('message', (event: MessageEvent) => {
      if (event.source !== win.parent || event.origin !== this.origin || !isTokenMessage(event.data)) return;
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
      this.win.parent.postMessage(message, this.origin);
    });
  }
}
