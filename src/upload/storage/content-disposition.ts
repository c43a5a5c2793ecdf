/**
 * RFC 6266 Content-Disposition: a plain-ASCII `filename` for old clients and the exact name as
 * `filename*` (RFC 8187). Names are already sanitised; quotes and backslashes cannot reach the header.
 */
export function contentDisposition(name: string, inline: boolean): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
