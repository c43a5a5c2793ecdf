import { isTokenRequest, TOKEN, TokenMessage, TokenRequestReason } from './embed-messages';

export interface MountOptions {
  /** Where the frame goes. */
  container: HTMLElement;
  /** The host application's token for its user; called at start and whenever the page asks for a fresh one. */
  getToken: (reason: TokenRequestReason) => string | Promise<string>;
  /** Chatbox's base address, such as `https://chat.example.com/chatbox/`. */
  baseUrl: string;
  /** Which page: the chat (default) or the admin console. */
  page?: 'chat' | 'admin';
  /** The page's language (`en`, `fr`); the browser's by default. */
  lang?: string;
  /** The frame's accessible title. */
  title?: string;
}

export interface Mounted {
  frame: HTMLIFrameElement;
  unmount(): void;
}

/**
 * Frames a Chatbox page and answers its token requests. Only messages from that frame, from Chatbox's
 * origin, are heard, and the token is posted to that origin only: never in the frame's address.
 */
export function mount(options: MountOptions): Mounted {
  const base = new URL(options.baseUrl, document.baseURI);
  const origin = base.origin;
  const url = new URL(options.page === 'admin' ? 'admin' : '', base.href.endsWith('/') ? base.href : `${base.href}/`);
  if (options.lang) url.searchParams.set('lang', options.lang);
  const frame = document.createElement('iframe');
  frame.src = url.href;
  frame.title = options.title ?? 'Chat';
  frame.className = 'chatbox-frame';
  // The frame fills its container (through the CSSOM, which a host's style-src policy allows).
  Object.assign(frame.style, { width: '100%', height: '100%', border: '0', display: 'block' });
  // The microphone for voice notes: a cross-origin frame gets it only when the host delegates it.
  frame.allow = 'clipboard-write; microphone';
  const onMessage = (event: MessageEvent) => {
    if (event.source !== frame.contentWindow || event.origin !== origin || !isTokenRequest(event.data)) return;
    void Promise.resolve(options.getToken(event.data.reason)).then((token) => {
      const answer: TokenMessage = { type: TOKEN, token };
      frame.contentWindow?.postMessage(answer, origin);
    });
  };
  window.addEventListener('message', onMessage);
  options.container.appendChild(frame);
  return {
    frame,
    unmount() {
      window.removeEventListener('message', onMessage);
      frame.remove();
    },
  };
}
