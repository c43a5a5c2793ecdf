import type { PageConfig } from '../../page-config';

/** The configuration the server wrote into the page as inert JSON. */
export function readPageConfig(doc: Document = document): PageConfig {
  const element = doc.getElementById('chatbox-config');
  if (!element?.textContent) throw new Error('The page has no #chatbox-config');
  return JSON.parse(element.textContent) as PageConfig;
}
