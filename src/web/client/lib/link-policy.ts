/** Hosts whose https links a model may write (LINK_ALLOWED_HOSTS); `*.example.com` for its subdomains. */
let modelLinkHosts: readonly string[] = [];

/** Sets the hosts a model's links may point to, once, from the page's configuration. */
export function setModelLinkHosts(hosts: readonly string[]): void {
  modelLinkHosts = hosts.map((host) => host.toLowerCase());
}

/**
 * Whether a link a model wrote stays a link: written as an absolute `https://` URL (a browser resolves
 * `https:docs.example.com/..` or `https:/x` against the page, to the page's own origin), without credentials,
 * on the default port, to an allowed host.
 */
export function modelMayLink(href: string, hosts: readonly string[] = modelLinkHosts): boolean {
  if (!/^https:\/\/[^/\\]/i.test(href)) return false;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port) return false;
  const host = url.hostname.toLowerCase();
  return hosts.some((allowed) => (allowed.startsWith('*.') ? host.endsWith(allowed.slice(1)) : host === allowed));
}
