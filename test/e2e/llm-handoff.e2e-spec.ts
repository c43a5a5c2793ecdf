import { Counter, Gauge } from 'prom-client';
import { loadConfig } from '../../src/config/load-config';
import { HANDOFF_TOOL_DESCRIPTION } from '../../src/llm/handoff-tool';
import { LlmService, TurnEvent } from '../../src/llm/llm.service';
import { FAKE_USAGE, FakeLlmServer, ToolCall } from '../servers/fake-llm-server';

/** The tool as each vendor's API defines it, spelled out: this is the wire format, not our constant. */
const SCHEMA = {
  type: 'object',
  properties: { reason: { type: 'string', description: 'Why the user needs a human agent, in one sentence.' } },
  required: ['reason'],
  additionalProperties: false,
};
const OPENAI_TOOL = {
  type: 'function',
  function: { name: 'request_human', description: HANDOFF_TOOL_DESCRIPTION, parameters: SCHEMA },
};
const ANTHROPIC_TOOL = { name: 'request_human', description: HANDOFF_TOOL_DESCRIPTION, input_schema: SCHEMA };

const REASON = 'The user wants a refund above what I may grant, and asked for a person.';
const TEXT = 'Let me bring in a colleague for this. ';
const USAGE = {
  type: 'usage',
  promptTokens: FAKE_USAGE.prompt,
  completionTokens: FAKE_USAGE.completion,
  estimated: false,
};
const requestHuman = (args: string): ToolCall => ({ name: 'request_human', arguments: args });

describe(`${LlmService.name} handoff tool, against each vendor's streaming format`, () => {
  const fake = new FakeLlmServer();
  let sut: LlmService;

  beforeAll(async () => {
    await fake.start();
    const base = fake.baseUrl;
    const config = loadConfig({
      LLM_MODELS: JSON.stringify([
        { id: 'gpt', provider: 'openai', model: 'gpt-fake', baseUrl: `${base}/v1`, apiKey: 'k', handoff: true },
        { id: 'gpt-plain', provider: 'openai', model: 'gpt-fake', baseUrl: `${base}/v1`, apiKey: 'k' },
        { id: 'claude', provider: 'anthropic', model: 'claude-fake', baseUrl: base, apiKey: 'k', handoff: true },
        { id: 'claude-plain', provider: 'anthropic', model: 'claude-fake', baseUrl: base, apiKey: 'k' },
      ]),
      LLM_MAX_RETRIES: '0',
    });
    const counter = (name: string, labelNames: string[]) =>
      new Counter({ name, help: name, labelNames, registers: [] });
    sut = new LlmService(
      config,
      counter('requests', ['provider', 'model', 'outcome']),
      counter('tokens', ['provider', 'model', 'kind']),
      counter('fallbacks', ['from', 'to']),
      new Gauge({ name: 'open', help: 'open', labelNames: ['provider'], registers: [] }),
    );
  });
  afterAll(() => fake.stop());

  describe.each([
    {
      vendor: 'openai' as const,
      model: 'gpt',
      plain: 'gpt-plain',
      tool: OPENAI_TOOL,
      toolFinish: 'tool_calls',
      textFinish: 'stop',
    },
    {
      vendor: 'anthropic' as const,
      model: 'claude',
      plain: 'claude-plain',
      tool: ANTHROPIC_TOOL,
      toolFinish: 'tool_use',
      textFinish: 'end_turn',
    },
  ])('$vendor', ({ vendor, model, plain, tool, toolFinish, textFinish }) => {
    /** One turn's events, the model event reduced to the answering model's id. */
    const turn = async (modelId: string, offerHandoff?: boolean) => {
      const events: (TurnEvent | { type: 'model'; id: string })[] = [];
      for await (const event of sut.streamTurn({
        modelId,
        messages: [
          { role: 'system', content: 'Be helpful.' },
          { role: 'user', content: 'I want my money back, all of it.' },
        ],
        userId: 'u-1',
        sessionId: 's-1',
        offerHandoff,
        signal: new AbortController().signal,
      })) {
        events.push(event.type === 'model' ? { type: 'model', id: event.model.id } : event);
      }
      return events;
    };
    const upstream = () => fake.of(vendor).at(-1)?.body ?? {};
    type Event = Awaited<ReturnType<typeof turn>>[number];
    const text = (events: Event[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    const end = (events: Event[]) => events.find((e) => e.type === 'end');

    it('streams the text, then a handoff with the exact reason, when the model calls request_human', async () => {
      fake.script(vendor, {
        kind: 'tool-calls',
        text: TEXT,
        calls: [requestHuman(JSON.stringify({ reason: REASON }))],
      });
      const events = await turn(model, true);
      expect(text(events)).toBe(TEXT);
      expect(events.filter((e) => e.type !== 'delta')).toEqual([
        { type: 'model', id: model },
        USAGE,
        { type: 'handoff', reason: REASON },
        { type: 'end', finishReason: 'handoff' },
      ]);
      // Every delta came before the handoff.
      expect(events.findIndex((e) => e.type === 'handoff')).toBeGreaterThan(
        events.findLastIndex((e) => e.type === 'delta'),
      );
      expect(upstream().tools).toEqual([tool]);
    });

    it('hands off with no text before the call, naming the answering model before the handoff', async () => {
      fake.script(vendor, { kind: 'tool-calls', calls: [requestHuman(JSON.stringify({ reason: REASON }))] });
      expect(await turn(model, true)).toEqual([
        USAGE,
        { type: 'model', id: model },
        { type: 'handoff', reason: REASON },
        { type: 'end', finishReason: 'handoff' },
      ]);
    });

    it('offers request_human only when offerHandoff is set and the model is configured with handoff', async () => {
      await turn(model, true);
      expect(upstream().tools).toEqual([tool]);
      await turn(model);
      expect(upstream()).not.toHaveProperty('tools');
      await turn(model, false);
      expect(upstream()).not.toHaveProperty('tools');
      const events = await turn(plain, true);
      expect(upstream()).not.toHaveProperty('tools');
      expect(end(events)).toEqual({ type: 'end', finishReason: textFinish });
    });

    it.each([
      ['are not JSON', '{"reason": "cut sh'],
      ['have no reason', '{"why":"no idea"}'],
      ['have a reason that is not a string', '{"reason":42}'],
      ['are an array', '["a reason"]'],
      ['are empty', ''],
    ])('hands off with an empty reason when the arguments %s', async (_what, args) => {
      fake.script(vendor, { kind: 'tool-calls', text: TEXT, calls: [requestHuman(args)] });
      const events = await turn(model, true);
      expect(text(events)).toBe(TEXT);
      expect(events.slice(-2)).toEqual([
        { type: 'handoff', reason: '' },
        { type: 'end', finishReason: 'handoff' },
      ]);
    });

    it('hands off only on a request_human call it offered, ignoring calls to other tools', async () => {
      const lookup = { name: 'lookup_order', arguments: '{"orderId":"A-1"}' };
      fake.script(vendor, { kind: 'tool-calls', calls: [lookup, requestHuman(JSON.stringify({ reason: REASON }))] });
      const both = await turn(model, true);
      expect(both.filter((e) => e.type === 'handoff')).toEqual([{ type: 'handoff', reason: REASON }]);
      expect(end(both)).toEqual({ type: 'end', finishReason: 'handoff' });

      fake.script(vendor, { kind: 'tool-calls', text: TEXT, calls: [lookup] });
      const other = await turn(model, true);
      expect(other.filter((e) => e.type === 'handoff')).toEqual([]);
      expect(end(other)).toEqual({ type: 'end', finishReason: toolFinish });

      // A model not offered the tool cannot hand off, whatever it sends.
      fake.script(vendor, { kind: 'tool-calls', calls: [requestHuman(JSON.stringify({ reason: REASON }))] });
      const unoffered = await turn(model, false);
      expect(unoffered.filter((e) => e.type === 'handoff')).toEqual([]);
      expect(end(unoffered)).toEqual({ type: 'end', finishReason: toolFinish });
    });
  });
});
