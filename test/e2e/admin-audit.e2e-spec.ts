import { randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

interface AuditRow {
  _id: number;
  at: string;
  action: string;
  actor: { id: string };
  sessionId: string;
}
interface Page {
  records: AuditRow[];
  nextBefore: number | null;
}

describe('GET /admin/audit', () => {
  let t: TestApp;
  const ann = `a-${randomUUID()}`;
  const bob = `a-${randomUUID()}`;
  const auth: { [admin: string]: Record<string, string> } = {};
  const sessions: string[] = [];

  const call = (query: string, headers = auth[ann]) => fetch(`${t.baseUrl}/chatbox/admin/audit${query}`, { headers });
  const page = async (query: string) => {
    const res = await call(query);
    expect(res.status).toBe(200);
    return (await res.json()) as Page;
  };

  beforeAll(async () => {
    t = await startTestApp();
    for (const [id, name] of [
      [ann, 'Ann'],
      [bob, 'Bob'],
    ]) {
      auth[id] = {
        authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: id, name, roles: ['admin'] })}`,
      };
    }
    const user = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      for (let i = 0; i < 2; i++) {
        sessions.push((await user.ok<{ sessionId: string }>('session:start', {})).sessionId);
        await user.ok('session:end', { sessionId: sessions[i] });
      }
    } finally {
      user.close();
    }
    // Five records: Ann views session 0 twice and ends session 1; Bob views both.
    const admin = (id: string, method: string, path: string) =>
      fetch(`${t.baseUrl}/chatbox/admin/sessions/${path}`, { method, headers: auth[id] }).then((r) => {
        expect(r.status).toBe(200);
      });
    await admin(ann, 'GET', sessions[0]);
    await admin(ann, 'GET', `${sessions[0]}?limit=1`);
    await admin(bob, 'GET', sessions[0]);
    await admin(bob, 'GET', sessions[1]);
    await admin(ann, 'GET', sessions[1]);
  });
  afterAll(() => t.close());

  it('pages through the whole log newest first, without a gap or a repeat', async () => {
    const all = await page('?limit=200');
    const seen: number[] = [];
    let before: number | null = null;
    do {
      const next: Page = await page(`?limit=2${before ? `&before=${before}` : ''}`);
      seen.push(...next.records.map((r) => r._id));
      before = next.nextBefore;
    } while (before !== null);

    expect(all.records).toHaveLength(5);
    expect(all.nextBefore).toBeNull();
    expect(seen).toEqual(all.records.map((r) => r._id));
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });

  it('filters by session, by actor and by time', async () => {
    const all = (await page('?limit=200')).records;
    const bySession = await page(`?sessionId=${sessions[0]}`);
    const byBob = await page(`?actor=${bob}`);
    const middle = all[2].at;
    const since = await page(`?from=${encodeURIComponent(middle)}`);
    const until = await page(`?to=${encodeURIComponent(middle)}`);

    expect(bySession.records.map((r) => r._id)).toEqual(
      all.filter((r) => r.sessionId === sessions[0]).map((r) => r._id),
    );
    expect(bySession.records).toHaveLength(3);
    expect(byBob.records.map((r) => r.actor.id)).toEqual([bob, bob]);
    expect(since.records.map((r) => r._id)).toEqual(all.filter((r) => r.at >= middle).map((r) => r._id));
    expect(until.records.map((r) => r._id)).toEqual(all.filter((r) => r.at < middle).map((r) => r._id));
    expect(since.records.length + until.records.length).toBe(5);
  });

  it.each([
    ['?from=yesterday', 'from'],
    ['?from=2024-W01', 'from'],
    ['?from=2026-11-30T10:00:00%2B25:00', 'from'],
    ['?to=2026-11-30T10:00', 'to'],
    ['?to=2026-02-30T10:00:00Z', 'to'],
    ['?sort_by=password', 'sort_by'],
    ['?limit=1000', 'limit'],
    ['?sessionId=not-a-uuid', 'sessionId'],
    ['?from=2026-11-30T10:00:00Z&to=2026-11-30T09:00:00Z', 'from'],
  ])('answers %s with 400 invalid_payload naming %s', async (query, name) => {
    const res = await call(query);
    const body = (await res.json()) as { code: string; message: string };

    expect([res.status, body.code]).toEqual([400, 'invalid_payload']);
    expect(body.message).toContain(name);
  });

  it('refuses a user token with 403', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const res = await call('', { authorization: `Bearer ${token}` });

    expect(res.status).toBe(403);
  });
});
