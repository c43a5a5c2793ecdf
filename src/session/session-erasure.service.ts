import { Injectable } from '@nestjs/common';
import { MessageRepository } from './message.repository';
import { OwnerChangeRepository } from './owner-change.repository';
import { ReplyAnnouncementRepository } from './reply-announcement.repository';
import { SessionRepository } from './session.repository';
import { ShareRepository } from './share.repository';
import { TurnLeaseRepository } from './turn-lease.repository';

/** What erasing sessions deleted, collection by collection. */
export interface SessionErasure {
  sessions: number;
  messages: number;
  shares: number;
  ownerChanges: number;
  replyAnnouncements: number;
  turnLeases: number;
}

export const NOTHING_ERASED: SessionErasure = {
  sessions: 0,
  messages: 0,
  shares: 0,
  ownerChanges: 0,
  replyAnnouncements: 0,
  turnLeases: 0,
};

export const addErasures = (a: SessionErasure, b: SessionErasure): SessionErasure => ({
  sessions: a.sessions + b.sessions,
  messages: a.messages + b.messages,
  shares: a.shares + b.shares,
  ownerChanges: a.ownerChanges + b.ownerChanges,
  replyAnnouncements: a.replyAnnouncements + b.replyAnnouncements,
  turnLeases: a.turnLeases + b.turnLeases,
});

/**
 * Deletes sessions for good, with everything stored under their ids. There are no multi-document
 * transactions (FerretDB v1), so the order is what makes it safe to stop anywhere: the children first, the
 * session last. A run cut short leaves the session, found again by its user or its end time, and the next
 * run deletes what is left.
 */
@Injectable()
export class SessionErasureService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly messages: MessageRepository,
    private readonly shares: ShareRepository,
    private readonly ownerChanges: OwnerChangeRepository,
    private readonly announcements: ReplyAnnouncementRepository,
    private readonly leases: TurnLeaseRepository,
  ) {}

  /** A batch of the ids of the user's sessions, any status: erasing them and asking again reaches none. */
  idsOfUser(userId: string, limit: number): Promise<string[]> {
    return this.sessions.idsOfUser(userId, limit);
  }

  /** A batch of the ids of sessions ended before `cutoff`, the longest ended first. */
  idsEndedBefore(cutoff: Date, limit: number): Promise<string[]> {
    return this.sessions.idsEndedBefore(cutoff, limit);
  }

  /**
   * Erases one session; idempotent. The caller stops its turn first. The messages are deleted again once
   * the session is gone: a write that took its seq just before the session went (allocating one refuses
   * a missing session) and stored its message after the first pass is caught by the second.
   */
  async erase(sessionId: string): Promise<SessionErasure> {
    const turnLeases = await this.leases.delete(sessionId);
    const shares = await this.shares.deleteForSession(sessionId);
    const ownerChanges = await this.ownerChanges.deleteForSession(sessionId);
    const messages = await this.messages.deleteForSession(sessionId);
    // After the messages: a turn claims a reply's announcement only once it has found the message it answers
    // (a settler that stalls between the two writes can still leave its claim behind).
    const replyAnnouncements = await this.announcements.deleteForSession(sessionId);
    const sessions = await this.sessions.delete(sessionId);
    const late = await this.messages.deleteForSession(sessionId);
    return { sessions, messages: messages + late, shares, ownerChanges, replyAnnouncements, turnLeases };
  }
}
