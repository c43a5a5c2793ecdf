/** Host names that never leave the machine: a datastore there needs neither credentials nor TLS. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

/** The hosts of a MongoDB URI (`mongodb://u:p@h1:27017,h2/db?…`), which the URL class cannot parse. */
function parseMongoUri(uri: string): { srv: boolean; credentials: boolean; hosts: string[]; options: URLSearchParams } {
  const match = /^mongodb(\+srv)?:\/\/(?:([^@/]*)@)?([^/?]*)(?:\/[^?]*)?(?:\?(.*))?$/.exec(uri);
  if (!match) return { srv: false, credentials: false, hosts: [], options: new URLSearchParams() };
  const [, srv, userInfo, hostList, query] = match;
  return {
    srv: srv !== undefined,
    credentials: userInfo !== undefined && userInfo.split(':')[0] !== '',
    hosts: hostList.split(',').map((host) => host.replace(/:\d+$/, '')),
    options: new URLSearchParams(query ?? ''),
  };
}

const on = (value: string | null) => value !== null && value.toLowerCase() === 'true';

/**
 * What is unsafe about how the service reaches its datastores, one sentence per problem naming the variable:
 * a MongoDB outside the machine reached without credentials (a user, or `authMechanism=MONGODB-X509`) or
 * without TLS, a Redis outside the machine without a password.
 */
export function datastoreAuthProblems(env: { MONGODB_URI?: string; REDIS_URL?: string }): string[] {
  const problems: string[] = [];
  if (env.MONGODB_URI) {
    const mongo = parseMongoUri(env.MONGODB_URI);
    if (!mongo.hosts.every((host) => LOOPBACK.test(host))) {
      const x509 = mongo.options.get('authMechanism')?.toUpperCase() === 'MONGODB-X509';
      if (!mongo.credentials && !x509) problems.push('MONGODB_URI has no credentials (user:password@host)');
      const tls = mongo.srv ? mongo.options.get('tls') !== 'false' && mongo.options.get('ssl') !== 'false' : false;
      if (!tls && !on(mongo.options.get('tls')) && !on(mongo.options.get('ssl'))) {
        problems.push('MONGODB_URI does not use TLS (add tls=true, or use mongodb+srv://)');
      }
    }
  }
  if (env.REDIS_URL) {
    const redis = new URL(env.REDIS_URL);
    if (redis.password === '' && !LOOPBACK.test(redis.hostname)) {
      problems.push('REDIS_URL has no password (redis://:password@host)');
    }
  }
  return problems;
}
