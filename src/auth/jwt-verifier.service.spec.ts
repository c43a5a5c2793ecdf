import { createServer, Server } from 'node:http';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { loadConfig } from '../config/load-config';
import { JwtVerifier } from './jwt-verifier.service';

const sign = (claims: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0], alg: string, kid?: string) =>
  new SignJWT(claims).setProtectedHeader({ alg, kid }).setExpirationTime('1h').sign(key);

describe(JwtVerifier.name, () => {
  it('verifies RS256 tokens against a PEM public key and refuses HS256 tokens signed with that key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const sut = new JwtVerifier(loadConfig({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: pem.replace(/\n/g, '\\n') }));

    await expect(
      sut.verify(await sign({ sub: 'u1', roles: ['chat_admin'], name: 'Ann' }, privateKey, 'RS256')),
    ).resolves.toMatchObject({
      userId: 'u1',
      name: 'Ann',
      roles: ['chat_admin'],
      isAdmin: true,
    });
    // Algorithm confusion: the public key used as an HMAC secret.
    const confused = await sign({ sub: 'mallory' }, new TextEncoder().encode(pem), 'HS256');
    await expect(sut.verify(confused)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  describe('with a JWKS URL', () => {
    let server: Server;
    let requests = 0;
    let keys: { privateKey: Parameters<SignJWT['sign']>[0]; jwk: Record<string, unknown> };

    beforeAll(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      keys = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' } };
      server = createServer((_req, res) => {
        requests += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [keys.jwk] }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('verifies ES256 tokens by kid, fetching the key set once for a burst of unknown kids', async () => {
      const { port } = server.address() as { port: number };
      const sut = new JwtVerifier(
        loadConfig({ JWT_ALGORITHM: 'ES256', JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` }),
      );
      await expect(sut.verify(await sign({ sub: 'u2' }, keys.privateKey, 'ES256', 'k1'))).resolves.toMatchObject({
        userId: 'u2',
        isAdmin: false,
      });
      const before = requests;
      const unknown = await Promise.all(
        Array.from({ length: 20 }, async (_, i) =>
          sut
            .verify(await sign({ sub: 'x' }, keys.privateKey, 'ES256', `random-${i}`))
            .catch((e: { code: string }) => e.code),
        ),
      );
      expect(new Set(unknown)).toEqual(new Set(['unauthorized']));
      expect(requests - before).toBeLessThanOrEqual(1);
    });
  });

  describe('claims', () => {
    const secret = 'x'.repeat(40);
    const sut = new JwtVerifier(loadConfig({ JWT_SECRET: secret }));
    const key = new TextEncoder().encode(secret);

    it('requires exp', async () => {
      const noExp = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).sign(key);
      await expect(sut.verify(noExp)).rejects.toMatchObject({ code: 'unauthorized' });
    });

    it('refuses a token not yet valid beyond the clock skew', async () => {
      const future = await new SignJWT({ sub: 'u' })
        .setProtectedHeader({ alg: 'HS256' })
        .setNotBefore(Math.floor(Date.now() / 1000) + 600)
        .setExpirationTime('1h')
        .sign(key);
      await expect(sut.verify(future)).rejects.toMatchObject({ code: 'unauthorized' });
    });

    it.each([[{}], [{ sub: '' }], [{ user_id: 42 }], [{ sub: 'x'.repeat(129) }], [{ sub: 'user-\uD800' }]])(
      'refuses a token naming no usable user: %p',
      async (claims) => {
        await expect(sut.verify(await sign(claims, key, 'HS256'))).rejects.toMatchObject({ code: 'unauthorized' });
      },
    );

    it.each([
      [[], false],
      [['chat_admin'], true],
      [['admin', 'support'], true],
    ])(
      "accepts a Go host app's token (user_id, roles %p, name; no sub) as the Go service did",
      async (roles, isAdmin) => {
        // The claims exactly as the Go service's tests/dev-token.js signs them: HS256 with the shared secret.
        const nowS = Math.floor(Date.now() / 1000);
        const claims = { user_id: 'go-user-7', name: 'Ann Example', roles, iat: nowS, exp: nowS + 3600 };
        const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .sign(key);
        expect(await sut.verify(token)).toEqual({
          userId: 'go-user-7',
          name: 'Ann Example',
          roles,
          isAdmin,
          exp: nowS + 3600,
        });
      },
    );

    it('ignores non-string roles and keeps only the user id, name and roles', async () => {
      const principal = await sut.verify(
        await sign({ user_id: 'go-1', roles: ['admin', 7, null], name: 5 }, key, 'HS256'),
      );
      expect(principal).toEqual({
        userId: 'go-1',
        name: undefined,
        roles: ['admin'],
        isAdmin: true,
        exp: expect.any(Number) as number,
      });
    });

    const nowS = () => Math.floor(Date.now() / 1000);
    const DAY = 86400;
    // Claims as raw JSON text, so values JSON can carry but JavaScript cannot write back (1e999) get through.
    const signRaw = (claimsJson: string) =>
      new CompactSign(new TextEncoder().encode(claimsJson)).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const signTimes = (claims: { exp: number; iat?: number }) => signRaw(JSON.stringify({ sub: 'u', ...claims }));

    it.each([
      ['1e300', 1e300],
      ['in milliseconds', Date.now() + 3600 * 1000],
      ['31 days ahead', nowS() + 31 * DAY],
    ])('refuses an exp too far ahead (%s) with unauthorized', async (_label, exp) => {
      await expect(sut.verify(await signTimes({ exp }))).rejects.toMatchObject({
        code: 'unauthorized',
      });
    });

    it('refuses an exp of 1e999, which JSON parses as Infinity', async () => {
      await expect(sut.verify(await signRaw('{"sub":"u","exp":1e999}'))).rejects.toMatchObject({
        code: 'unauthorized',
      });
    });

    it('accepts a 29-day token, within the default 30-day lifetime', async () => {
      const exp = nowS() + 29 * DAY;
      await expect(sut.verify(await signTimes({ exp }))).resolves.toMatchObject({ exp });
    });

    it('applies JWT_MAX_LIFETIME_S', async () => {
      const strict = new JwtVerifier(loadConfig({ JWT_SECRET: secret, JWT_MAX_LIFETIME_S: '3600' }));
      await expect(strict.verify(await signTimes({ exp: nowS() + 7200 }))).rejects.toMatchObject({
        code: 'unauthorized',
      });
      await expect(strict.verify(await signTimes({ exp: nowS() + 1800 }))).resolves.toBeDefined();
    });

    it('refuses a token issued in the future beyond the clock skew, and tolerates the skew', async () => {
      const exp = nowS() + 3600;
      await expect(sut.verify(await signTimes({ exp, iat: nowS() + 600 }))).rejects.toMatchObject({
        code: 'unauthorized',
      });
      await expect(sut.verify(await signRaw(`{"sub":"u","exp":${exp},"iat":1e999}`))).rejects.toMatchObject({
        code: 'unauthorized',
      });
      await expect(sut.verify(await signTimes({ exp, iat: nowS() + 10 }))).resolves.toBeDefined();
    });

    it('cuts a long name to 100 code units without splitting an emoji', async () => {
      const principal = await sut.verify(await sign({ sub: 'u', name: `${'a'.repeat(99)}😀 and more` }, key, 'HS256'));
      expect(principal.name).toBe('a'.repeat(99));
    });

    it.each([undefined, '', 42, 'not.a.jwt'])('refuses %p as a token', async (token) => {
      await expect(sut.verify(token)).rejects.toMatchObject({ code: 'unauthorized' });
    });
  });
});
