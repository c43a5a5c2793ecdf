import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { modelMayLink } from './link-policy';

/** Raw HTML in a message is shown as text, never parsed: the renderer escapes it. */
const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html: ({ text }) => escape(text),
    // An image would load from wherever the text points: it is shown as a link to it instead.
    image: ({ href, text }) => `<a href="${escape(href)}">${escape(text || href)}</a>`,
  },
});

const SAFE_URL = /^(?:https?:|mailto:)/i;

/** Whose words are being rendered: a model's links must point to an allowed host. */
let renderingModel = false;

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName !== 'A') return;
  const href = node.getAttribute('href') ?? '';
  if (!SAFE_URL.test(href) || (renderingModel && !modelMayLink(href))) {
    // Shown as text: an anchor without href goes nowhere.
    node.removeAttribute('href');
    return;
  }
  node.setAttribute('target', '_blank');
  node.setAttribute('rel', 'noopener noreferrer nofollow');
});

/**
 * A message's markdown as sanitised HTML: raw HTML escaped, then DOMPurify keeps only text formatting,
 * links (http, https and mailto; opened in a new tab) and code. No image, style, form or script survives.
 * In a model's words only https links to an allowed host stay links.
 */
export function renderMarkdown(text: string, { fromModel }: { fromModel: boolean }): string {
  const html = marked.parse(text) as string;
  renderingModel = fromModel;
  try {
    return sanitize(html);
  } finally {
    renderingModel = false;
  }
}

function sanitize(html: string): string {
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS: [
      'a',
      'b',
      'blockquote',
      'br',
      'code',
      'del',
      'em',
      'h1',
      'h2',
      'h3',
      'h4',
      'h5',
      'h6',
      'hr',
      'i',
      'li',
      'ol',
      'p',
      'pre',
      's',
      'strong',
      'table',
      'tbody',
      'td',
      'th',
      'thead',
      'tr',
      'ul',
    ],
    ALLOWED_ATTR: ['href', 'title'],
    ALLOW_DATA_ATTR: false,
  });
}
