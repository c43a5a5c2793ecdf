import { SignJWT, UnsecuredJWT } from 'jose';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('chat handshake', () => {
  let t: TestApp;
  const claims = { aud: 'chatbox-test', iss: 'host-app' };

  beforeAll(async () => {
    t = await startTestApp({ JWT_AUDIENCE: 'chatbox-test', JWT_ISSUER: 'host-app' });
  });
  afterAll(() => t.close());

  const refusal = async (auth: Record<string, unknown> | undefined, query?: Record<string, string>) => {
    const client = new ChatClient(t.baseUrl, auth, { query });
    try {
      return (await client.refused()).data?.code;
    } finally {
      client.close();
    }
  };

  it('accepts a valid token and sends the model list', async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, claims));
    try {
      expect(await client.waitForEvent('models')).toEqual({
        models: [{ id: 'demo', name: 'Demo (no provider configured)' }],
        defaultModelId: 'demo',
      });
    } finally {
      client.close();
    }
  });

  it("accepts the Go host apps' user_id claim in place of sub", async () => {
    const token = await new SignJWT({ user_id: 'go-user-1', roles: ['user'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('chatbox-test')
      .setIssuer('host-app')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(t.env.JWT_SECRET));
    const client = await ChatClient.connect(t.baseUrl, token);
    client.close();
  });

  it('refuses a missing token', async () => {
    expect(await refusal(undefined)).toBe('unauthorized');
  });

  it('refuses a bad signature', async () => {
    expect(await refusal({ token: await signToken('another-secret-another-secret-another', claims) })).toBe(
      'unauthorized',
    );
  });

  it('refuses alg none', async () => {
    const token = new UnsecuredJWT({ sub: 'mallory' })
      .setAudience('chatbox-test')
      .setIssuer('host-app')
      .setExpirationTime('1h')
      .encode();
    expect(await refusal({ token })).toBe('unauthorized');
  });

  it('refuses an expired token with token_expired', async () => {
    const expired = Math.floor(Date.now() / 1000) - 3600;
    expect(await refusal({ token: await signToken(t.env.JWT_SECRET, claims, expired) })).toBe('token_expired');
  });

  it('refuses a wrong audience and a wrong issuer', async () => {
    expect(await refusal({ token: await signToken(t.env.JWT_SECRET, { ...claims, aud: 'other-app' }) })).toBe(
      'unauthorized',
    );
    expect(await refusal({ token: await signToken(t.env.JWT_SECRET, { ...claims, iss: 'evil' }) })).toBe(
      'unauthorized',
    );
  });

  it('refuses a token given only in the query string', async () => {
    expect(await refusal(undefined, { token: await signToken(t.env.JWT_SECRET, claims) })).toBe('unauthorized');
  });

  it("swaps the token on a live socket with auth:refresh, and refuses another user's token", async () => {
    const client = await ChatClient.connect(
      t.baseUrl,
      await signToken(t.env.JWT_SECRET, { ...claims, sub: 'refresher' }),
    );
    try {
      const refreshed = await client.ok<{ expiresAt: string }>('auth:refresh', {
        token: await signToken(t.env.JWT_SECRET, { ...claims, sub: 'refresher' }, '2h'),
      });
      expect(new Date(refreshed.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3600 * 1000);
      const other = await client.call('auth:refresh', {
        token: await signToken(t.env.JWT_SECRET, { ...claims, sub: 'someone-else' }),
      });
      expect(other).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    } finally {
      client.close();
    }
  });
});

describe('token expiry on a live socket', () => {
  it('warns with auth:expiring, then disconnects with token_expired', async () => {
    const t = await startTestApp({ JWT_CLOCK_SKEW_S: '0', AUTH_EXPIRY_WARNING_S: '5' });
    try {
      const exp = Math.floor(Date.now() / 1000) + 2;
      const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, {}, exp));
      const warning = await client.waitForEvent('auth:expiring');
      expect(warning).toEqual({ expiresAt: new Date(exp * 1000).toISOString() });
      expect(await client.waitForEvent('error')).toMatchObject({ code: 'token_expired' });
      const reason = await new Promise<string>((resolve) =>
        client.socket.connected ? client.socket.once('disconnect', resolve) : resolve('io server disconnect'),
      );
      expect(reason).toBe('io server disconnect');
    } finally {
      await t.close();
    }
  });
});

describe('cross-site WebSocket handshakes', () => {
  it('refuses a browser origin outside CORS_ORIGINS and accepts listed origins and non-browser clients', async () => {
    const t = await startTestApp({ CORS_ORIGINS: 'https://app.example' });
    const token = await signToken(t.env.JWT_SECRET);
    const attempt = async (origin?: string) => {
      const client = new ChatClient(t.baseUrl, { token }, { headers: origin ? { origin } : undefined });
      try {
        await client.connected();
        return 'accepted';
      } catch {
        return 'refused';
      } finally {
        client.close();
      }
    };
    try {
      expect(await attempt('https://evil.example')).toBe('refused');
      expect(await attempt('https://app.example.evil.io')).toBe('refused');
      expect(await attempt('https://app.example')).toBe('accepted');
      expect(await attempt()).toBe('accepted');
    } finally {
      await t.close();
    }
  });
});
