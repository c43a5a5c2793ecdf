import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { MessageDoc } from './schemas/message.schema';
import { OwnerChangeDoc } from './schemas/owner-change.schema';
import { SessionDoc } from './schemas/session.schema';

/** `from` inclusive, `to` exclusive. */
export interface TimeRange {
  from: Date;
  to: Date;
}

/** The fields of a message the usage figures read; nothing else (content above all) leaves the database. */
export type MessageFigures = Pick<MessageDoc, 'sender' | 'status' | 'clientKey' | 'createdAt' | 'model' | 'usage'> &
  Pick<Partial<MessageDoc>, 'latency'>;

const MESSAGE_FIGURES = { _id: 0, sender: 1, status: 1, clientKey: 1, createdAt: 1, model: 1, usage: 1, latency: 1 };

const within = ({ from, to }: TimeRange) => trusted({ $gte: from, $lt: to });

/**
 * Read-only, time-bounded reads of sessions, messages and changes of owner for the usage figures: unlike
 * the other repositories these span every session, so each is bounded by a time range on an index instead
 * ({startedAt}, {endedAt}, {createdAt}, {cause, at}), or by a user and the range ({userId, lastActivityAt}
 * for the sessions, {sessionId, createdAt} for their messages). Results stream through
 * cursors, projected to the fields counted.
 */
@Injectable()
export class SessionStatsRepository {
  constructor(
    @InjectModel(SessionDoc.name) private readonly sessions: Model<SessionDoc>,
    @InjectModel(MessageDoc.name) private readonly messages: Model<MessageDoc>,
    @InjectModel(OwnerChangeDoc.name) private readonly ownerChanges: Model<OwnerChangeDoc>,
  ) {}

  startedIn(range: TimeRange): AsyncIterable<Pick<SessionDoc, 'startedAt' | 'assisted'>> {
    return this.sessions
      .find({ startedAt: within(range) }, { _id: 0, startedAt: 1, assisted: 1 })
      .lean<Pick<SessionDoc, 'startedAt' | 'assisted'>>()
      .cursor();
  }

  endedIn(range: TimeRange): AsyncIterable<Pick<SessionDoc, 'endedAt'>> {
    return this.sessions
      .find({ endedAt: within(range) }, { _id: 0, endedAt: 1 })
      .lean<Pick<SessionDoc, 'endedAt'>>()
      .cursor();
  }

  messagesIn(range: TimeRange): AsyncIterable<MessageFigures> {
    return this.messages
      .find({ createdAt: within(range) }, MESSAGE_FIGURES)
      .lean<MessageFigures>()
      .cursor();
  }

  /** The messages of the given sessions in the range (served by {sessionId, createdAt}). */
  messagesOfSessionsIn(sessionIds: string[], range: TimeRange): AsyncIterable<MessageFigures> {
    return this.messages
      .find({ sessionId: trusted({ $in: sessionIds }), createdAt: within(range) }, MESSAGE_FIGURES)
      .lean<MessageFigures>()
      .cursor();
  }

  takeoversIn(range: TimeRange): AsyncIterable<Pick<OwnerChangeDoc, 'at' | 'helpRequestedAt'>> {
    return this.ownerChanges
      .find({ cause: 'takeover', at: within(range) }, { _id: 0, at: 1, helpRequestedAt: 1 })
      .lean<Pick<OwnerChangeDoc, 'at' | 'helpRequestedAt'>>()
      .cursor();
  }

  /**
   * The user's sessions that overlap the range: started before its end and active at or after its start
   * (every message of a session is at or before its lastActivityAt). Served by {userId, lastActivityAt}.
   */
  sessionsOfUserIn(userId: string, { from, to }: TimeRange): AsyncIterable<Pick<SessionDoc, '_id' | 'startedAt'>> {
    return this.sessions
      .find(
        { userId, lastActivityAt: trusted({ $gte: from }), startedAt: trusted({ $lt: to }) },
        { _id: 1, startedAt: 1 },
      )
      .lean<Pick<SessionDoc, '_id' | 'startedAt'>>()
      .cursor();
  }
}
