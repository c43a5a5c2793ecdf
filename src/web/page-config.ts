import type { Language } from './i18n/languages';

/** A page's entry point, as the build names it. */
export type PageEntry = 'chat' | 'sessions' | 'shared' | 'admin' | 'dev-host';

/** A page's bundle and stylesheet, as file names under `<prefix>/assets/`. */
export interface PageAssets {
  script: string;
  style?: string;
}

/** What a page's script reads from the `#chatbox-config` element: plain data, never code. */
export interface PageConfig {
  page: PageEntry;
  prefix: string;
  lang: Language;
  /** Origins whose frames may hand the page its token; the page posts only to its parent among them. */
  parentOrigins: string[];
  /** Hosts whose https links in a model's replies are shown as links (LINK_ALLOWED_HOSTS). */
  modelLinkHosts: string[];
  /** Development only: the app's own origin may frame the page, as the development host page does. */
  selfParent: boolean;
  /** The development host page only: the tokens it hands its frame, as a host application would. */
  devTokens?: { user: string; admin: string };
}
