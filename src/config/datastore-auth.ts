/** Host names that never leave the machine: a datastore there needs neither credentials nor TLS. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;
/** Authentication mechanisms that carry no password in the URI but still authenticate. */
const PASSWORDLESS_AUTH = new Set(['mongodb-x509', 'mongodb-aws', 'mongodb-oidc', 'gssapi']);
/** Options that keep TLS on but stop checking who answers: as good as none. */
const TLS_UNCHECKED = ['tlsinsecure', 'tlsallowinvalidcertificates', 'tlsallowinvalidhostnames'];

interface MongoUri {
  srv: boolean;
  credentials: boolean;
  hosts: string[];
  /** Option names in lower case, as the driver reads them. */
  options: Map<string, string>;
}

/** A MongoDB URI (`mongodb://u:p@h1:27017,h2/db?…`, several hosts, which the URL class cannot parse). */
function parseMongoUri(uri: string): MongoUri | undefined {
  const match = /^mongodb(\+srv)?:\/\/(?:([^@/]*)@)?([^/?]+)(?:\/[^?]*)?(?:\?(.*))?$/.exec(uri);
  if (!match) return undefined;
  const [, srv, userInfo, hostList, query] = match;
  const options = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(query ?? '')) options.set(name.toLowerCase(), value.toLowerCase());
  return {
    srv: srv !== undefined,
    credentials: userInfo !== undefined && userInfo.split(':')[0] !== '',
    hosts: hostList.split(',').map((host) => host.replace(/:\d+$/, '')),
    options,
  };
}

function mongoProblems(uri: string): string[] {
  const mongo = parseMongoUri(uri);
  if (!mongo) return ['MONGODB_URI could not be read to check its credentials and TLS'];
  if (mongo.hosts.every((host) => LOOPBACK.test(host))) return [];
  const problems: string[] = [];
  const mechanism = mongo.options.get('authmechanism');
  if (!mongo.credentials && !(mechanism && PASSWORDLESS_AUTH.has(mechanism))) {
    problems.push('MONGODB_URI has no credentials (user:password@host)');
  }
  const tlsOption = mongo.options.get('tls') ?? mongo.options.get('ssl');
  const tls = tlsOption === undefined ? mongo.srv : tlsOption === 'true';
  const unchecked = TLS_UNCHECKED.some((name) => mongo.options.get(name) === 'true');
  if (!tls || unchecked) {
    problems.push('MONGODB_URI does not use TLS with certificate checks (add tls=true, or use mongodb+srv://)');
  }
  return problems;
}

function redisProblems(url: string): string[] {
  let redis: URL;
  try {
    redis = new URL(url);
  } catch {
    return ['REDIS_URL could not be read to check its password'];
  }
  // ioredis also takes the password from the query.
  const password = redis.password !== '' || (redis.searchParams.get('password') ?? '') !== '';
  return password || LOOPBACK.test(redis.hostname) ? [] : ['REDIS_URL has no password (redis://:password@host)'];
}

/**
 * What is unsafe about how the service reaches its datastores, one sentence per problem naming the variable:
 * a MongoDB off this machine reached without credentials (a user, or a password-less mechanism such as
 * MONGODB-X509) or without TLS that checks certificates, and a Redis off this machine without a password.
 * Option names are read as the driver reads them, in any case.
 */
export function datastoreAuthProblems(env: { MONGODB_URI?: string; REDIS_URL?: string }): string[] {
  return [
    ...(env.MONGODB_URI ? mongoProblems(env.MONGODB_URI) : []),
    ...(env.REDIS_URL ? redisProblems(env.REDIS_URL) : []),
  ];
}
