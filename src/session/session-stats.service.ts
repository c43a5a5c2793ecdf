import { Injectable } from '@nestjs/common';
import { HELP_REQUESTED_KEY_PREFIX, MessageStatus, Sender } from './schemas/message.schema';
import { MessageFigures, SessionStatsRepository, TimeRange } from './session-stats.repository';

export type { TimeRange } from './session-stats.repository';

/** One message, as the usage figures count it. */
export interface UsageMessage {
  createdAt: Date;
  sender: Sender;
  status: MessageStatus;
  /** AI replies: the configured model that answered. */
  modelId?: string;
  usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  /** AI replies that said something: from the start of the model call (retries and fallback included) to the first delta. */
  firstDeltaMs?: number;
  /** The transcript marker of a help request: each request has exactly one. */
  helpRequest: boolean;
}

/** Session ids per query when reading one user's messages. */
const SESSION_BATCH = 500;

const toUsageMessage = (m: MessageFigures): UsageMessage => ({
  createdAt: m.createdAt,
  sender: m.sender,
  status: m.status,
  ...(m.model === undefined ? {} : { modelId: m.model }),
  ...(m.usage ? { usage: m.usage } : {}),
  ...(typeof m.latency?.firstDeltaMs === 'number' ? { firstDeltaMs: m.latency.firstDeltaMs } : {}),
  helpRequest: m.sender === 'system' && m.clientKey.startsWith(HELP_REQUESTED_KEY_PREFIX),
});

/**
 * What happened in a time range, read from the durable record for the usage figures: sessions started and
 * ended, messages (with each reply's model, usage and latency), takeovers. Every read is bounded by the
 * range on an index and streams, so a long range costs time, not memory.
 */
@Injectable()
export class SessionStatsService {
  constructor(private readonly stats: SessionStatsRepository) {}

  async *sessionsStarted(range: TimeRange): AsyncGenerator<{ startedAt: Date; assisted: boolean }> {
    for await (const s of this.stats.startedIn(range)) yield { startedAt: s.startedAt, assisted: s.assisted === true };
  }

  async *sessionsEnded(range: TimeRange): AsyncGenerator<Date> {
    for await (const s of this.stats.endedIn(range)) if (s.endedAt) yield s.endedAt;
  }

  async *messages(range: TimeRange): AsyncGenerator<UsageMessage> {
    for await (const m of this.stats.messagesIn(range)) yield toUsageMessage(m);
  }

  /** Changes of owner to an administrator; `helpRequestedAt` when the takeover answered a help request. */
  async *takeovers(range: TimeRange): AsyncGenerator<{ at: Date; helpRequestedAt?: Date }> {
    for await (const t of this.stats.takeoversIn(range)) {
      yield t.helpRequestedAt ? { at: t.at, helpRequestedAt: t.helpRequestedAt } : { at: t.at };
    }
  }

  /**
   * One user's sessions started in the range, and their messages in it: only the sessions that overlap
   * the range are read, and of those only the messages stored in it.
   */
  async ofUser(userId: string, range: TimeRange): Promise<{ started: number; messages: AsyncIterable<UsageMessage> }> {
    const sessions: { _id: string; startedAt: Date }[] = [];
    for await (const s of this.stats.sessionsOfUserIn(userId, range)) sessions.push(s);
    const started = sessions.filter((s) => s.startedAt.getTime() >= range.from.getTime()).length;
    const stats = this.stats;
    async function* messages(): AsyncGenerator<UsageMessage> {
      for (let i = 0; i < sessions.length; i += SESSION_BATCH) {
        const ids = sessions.slice(i, i + SESSION_BATCH).map((s) => s._id);
        for await (const m of stats.messagesOfSessionsIn(ids, range)) yield toUsageMessage(m);
      }
    }
    return { started, messages: messages() };
  }
}
