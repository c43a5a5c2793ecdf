import { mount, MountOptions } from '../lib/mount';

/**
 * The host pages' loader: `<script src="https://chat.example.com/chatbox/embed.js"
 * data-chatbox-origin="https://chat.example.com">` defines `window.Chatbox.mount({ container, getToken })`.
 * Chatbox's address is where this script came from; `data-chatbox-origin`, when given, must match it.
 */
const script = document.currentScript as HTMLScriptElement | null;
const scriptUrl = script?.src ? new URL(script.src) : undefined;
const expected = script?.dataset.chatboxOrigin;
if (scriptUrl && expected && new URL(expected).origin !== scriptUrl.origin) {
  throw new Error(`Chatbox: embed.js came from ${scriptUrl.origin}, not data-chatbox-origin ${expected}`);
}
const baseUrl = scriptUrl ? new URL('.', scriptUrl).href : undefined;

(window as unknown as { Chatbox: unknown }).Chatbox = {
  mount: (options: Omit<MountOptions, 'baseUrl'> & { baseUrl?: string }) => {
    const base = options.baseUrl ?? baseUrl;
    if (!base) throw new Error('Chatbox: give baseUrl, or load embed.js with a <script src>');
    return mount({ ...options, baseUrl: base });
  },
};
