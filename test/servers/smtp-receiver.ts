import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** How the receiver answers the next message's DATA: an SMTP reply code such as 451 (try later) or 550 (refused). */
export interface SmtpRejection {
  code: number;
  message?: string;
}

/** One MIME part (or the whole message when it is not multipart), its body decoded to text. */
export interface MimePart {
  /** Header names in lower case; values unfolded, encoded words decoded. Repeated headers keep every value. */
  headers: Map<string, string[]>;
  contentType: string;
  body: string;
  parts: MimePart[];
}

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  raw: string;
  /** Every header line of the message as sent (folded lines joined), in order: to count them. */
  headerLines: string[];
  message: MimePart;
  subject: string;
  text?: string;
  html?: string;
}

/**
 * A loopback SMTP server (no TLS, login optional and never refused) that keeps every message it accepts, parsed enough
 * to assert on headers and on the decoded text and HTML parts. `reject(…)` scripts refusals of the next messages.
 *
 * The parser is small and strict on purpose: nodemailer writes 7bit, quoted-printable or base64 parts and RFC 2047
 * encoded words depending on the content, so tests compare decoded text instead of guessing the raw encoding.
 */
export class SmtpReceiver {
  readonly messages: ReceivedMail[] = [];
  /** The user names and passwords clients logged in with. */
  readonly logins: { username?: string; password?: string }[] = [];
  private readonly rejections: SmtpRejection[] = [];
  private server?: SMTPServer;
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      // Test traffic stays on loopback: let clients log in without TLS, and take any password.
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, callback) => {
        this.logins.push({ username: auth.username, password: auth.password ?? undefined });
        callback(null, { user: auth.username });
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const rejection = this.rejections.shift();
          if (rejection) {
            const error = Object.assign(new Error(rejection.message ?? `Rejected with ${rejection.code}`), {
              responseCode: rejection.code,
            });
            return callback(error);
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          };
          this.messages.push(parseMail(raw, envelope));
          callback(null);
        });
      },
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(resolve));
  }

  reject(...rejections: SmtpRejection[]): void {
    this.rejections.push(...rejections);
  }

  reset(): void {
    this.messages.length = 0;
    this.logins.length = 0;
    this.rejections.length = 0;
  }
}

function splitHead(raw: string): { headerLines: string[]; body: string } {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 4);
  return { headerLines: head.split(/\r\n(?![ \t])/).map((line) => line.replace(/\r\n[ \t]/g, ' ')), body };
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`); the space between two of them is dropped. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?[^?]+\?[QqBb]\?)/g, '$1')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}

export function decodeQuotedPrintable(value: string): string {
  const bytes: number[] = [];
  const text = value.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function parsePart(raw: string): MimePart & { headerLines: string[] } {
  const { headerLines, body } = splitHead(raw);
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), decodeWords(line.slice(colon + 1).trim())]);
  }
  const contentType = headers.get('content-type')?.[0] ?? 'text/plain';
  const type = contentType.split(';')[0].trim().toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (type.startsWith('multipart/') && boundary) {
    const sections = body.split(`--${boundary}`);
    // The preamble comes before the first boundary, the epilogue after the closing `--boundary--`.
    const parts = sections
      .slice(1)
      .filter((s) => !s.startsWith('--'))
      .map((s) => parsePart(s.replace(/^\r\n/, '').replace(/\r\n$/, '')));
    return { headers, contentType: type, body: '', parts, headerLines };
  }
  const encoding = (headers.get('content-transfer-encoding')?.[0] ?? '7bit').toLowerCase();
  const decoded =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : body;
  return { headers, contentType: type, body: decoded, parts: [], headerLines };
}

function findPart(part: MimePart, type: string): MimePart | undefined {
  if (part.contentType === type) return part;
  for (const child of part.parts) {
    const found = findPart(child, type);
    if (found) return found;
  }
  return undefined;
}

export function parseMail(raw: string, envelope: ReceivedMail['envelope']): ReceivedMail {
  const { headerLines, ...message } = parsePart(raw);
  return {
    envelope,
    raw,
    headerLines,
    message,
    subject: message.headers.get('subject')?.[0] ?? '',
    text: findPart(message, 'text/plain')?.body,
    html: findPart(message, 'text/html')?.body,
  };
}
