import { datastoreAuthProblems } from './datastore-auth';

describe(datastoreAuthProblems.name, () => {
  const NO_CREDENTIALS = 'MONGODB_URI has no credentials (user:password@host)';
  const NO_TLS = 'MONGODB_URI does not use TLS with certificate checks (add tls=true, or use mongodb+srv://)';
  const NO_PASSWORD = 'REDIS_URL has no password (redis://:password@host)';

  it.each([
    ['mongodb://db.internal:27017/chatbox', [NO_CREDENTIALS, NO_TLS]],
    ['mongodb://chatbox:s3cret@db.internal:27017/chatbox', [NO_TLS]],
    ['mongodb://chatbox:s3cret@db.internal:27017/chatbox?tls=true', []],
    ['mongodb://chatbox:s3cret@db-0.internal,db-1.internal:27017/chatbox?replicaSet=rs0&ssl=true', []],
    ['mongodb://db.internal/chatbox?tls=true', [NO_CREDENTIALS]],
    ['mongodb://db.internal/chatbox?tls=true&authMechanism=MONGODB-X509', []],
    ['mongodb+srv://chatbox:s3cret@cluster.example.net/chatbox', []],
    ['mongodb+srv://chatbox:s3cret@cluster.example.net/chatbox?tls=false', [NO_TLS]],
    ['mongodb://:nopassuser@db.internal/chatbox?tls=true', [NO_CREDENTIALS]],
    // One host off the machine is enough to need both.
    ['mongodb://127.0.0.1:27017,db.internal:27017/chatbox', [NO_CREDENTIALS, NO_TLS]],
    ['mongodb://127.0.0.1:27017/chatbox', []],
    ['mongodb://localhost/chatbox', []],
    ['mongodb://[::1]:27017/chatbox', []],
    // Option names in any case, as the driver reads them.
    ['mongodb+srv://u:p@cluster.example.net/db?TLS=false', [NO_TLS]],
    ['mongodb://u:p@db.internal/db?TLS=true', []],
    ['mongodb://db.internal/db?tls=true&authmechanism=MONGODB-X509', []],
    ['mongodb://db.internal/db?tls=true&authMechanism=MONGODB-AWS', []],
    // TLS that checks nothing is no TLS.
    ['mongodb://u:p@db.internal/db?tls=true&tlsInsecure=true', [NO_TLS]],
    ['mongodb://u:p@db.internal/db?tls=true&tlsAllowInvalidCertificates=true', [NO_TLS]],
    ['mongodb://u:p@db.internal/db?tls=true&tlsAllowInvalidHostnames=true', [NO_TLS]],
    ['mongodb:///chatbox', ['MONGODB_URI could not be read to check its credentials and TLS']],
    // An empty host is not this machine.
    ['mongodb://:7/chatbox', [NO_CREDENTIALS, NO_TLS]],
  ])('MONGODB_URI %s', (uri, problems) => {
    expect(datastoreAuthProblems({ MONGODB_URI: uri })).toEqual(problems);
  });

  it.each([
    ['redis://redis.internal:6379', [NO_PASSWORD]],
    ['rediss://redis.internal:6379', [NO_PASSWORD]],
    ['redis://user@redis.internal:6379', [NO_PASSWORD]],
    ['redis://:s3cret@redis.internal:6379', []],
    ['rediss://default:s3cret@redis.internal:6379/0', []],
    ['redis://0.0.0.0:6379', [NO_PASSWORD]],
    ['redis://127.0.0.1:6379', []],
    ['redis://localhost:6379', []],
    ['redis://[::1]:6379', []],
    ['redis://redis.internal:6379?password=s3cret', []],
    ['redis://[oops', ['REDIS_URL could not be read to check its password']],
  ])('REDIS_URL %s', (url, problems) => {
    expect(datastoreAuthProblems({ REDIS_URL: url })).toEqual(problems);
  });

  it('has nothing to say without the variables (the embedded database, one replica)', () => {
    expect(datastoreAuthProblems({})).toEqual([]);
  });
});
