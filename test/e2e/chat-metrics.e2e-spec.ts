import { randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('chat metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0', METRICS_REFRESH_MS: '100' });
  });
  afterAll(() => t.close());

  const scrape = async () =>
    (await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } })).text();
  const value = (text: string, series: string) =>
    Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

  it('counts sockets, sessions, messages by sender, turns by outcome and their timings, as they happen', async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await client.ok('message:send', { sessionId, clientMessageId: 'm1', content: 'count me' });
    await client.waitForEvent('ai:end');

    // Read from the database on an interval: it shows within one.
    const during = await waitFor(
      async () => {
        const text = await scrape();
        return value(text, 'chatbox_active_sessions') === 1 && text;
      },
      { what: 'the active session in the gauge' },
    );
    expect(value(during, 'chatbox_websocket_connections{namespace="chat"}')).toBe(1);
    expect(value(during, 'chatbox_messages_total{sender="user"}')).toBe(1);
    expect(value(during, 'chatbox_messages_total{sender="ai"}')).toBe(1);
    expect(value(during, 'chatbox_ai_turns_total{outcome="complete"}')).toBe(1);
    expect(value(during, 'chatbox_ai_turn_duration_seconds_count{provider="demo",model="demo"}')).toBe(1);
    expect(value(during, 'chatbox_ai_first_delta_seconds_count{provider="demo",model="demo"}')).toBe(1);
    expect(value(during, 'chatbox_llm_requests_total{provider="demo",model="demo",outcome="success"}')).toBe(1);
    expect(value(during, 'chatbox_llm_tokens_total{provider="demo",model="demo",kind="completion"}')).toBeGreaterThan(
      0,
    );
    // Both messages were written, each after taking its seq.
    expect(value(during, 'chatbox_db_commands_total{command="insert"}')).toBeGreaterThanOrEqual(2);
    expect(value(during, 'chatbox_db_commands_total{command="findAndModify"}')).toBeGreaterThanOrEqual(2);

    await client.ok('session:end', { sessionId });
    client.close();
    await waitFor(async () => value(await scrape(), 'chatbox_active_sessions') === 0, {
      what: 'the ended session to leave the gauge',
    });
    await waitFor(async () => value(await scrape(), 'chatbox_websocket_connections{namespace="chat"}') === 0, {
      what: 'the closed socket to leave the gauge',
    });
  });
});
