import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { ShareRecord, ShareRepository } from './share.repository';
import { SessionService } from './session.service';
import { MessageView, SessionView } from './session-views';

export interface ShareView {
  id: string;
  createdAt: string;
  expiresAt: string | null;
  revoked: boolean;
}

/**
 * What anyone with the link sees: the conversation's text, without ids, files or internal fields. A
 * reply names the seq of the message it answers (`replyToSeq`), so a page can group them.
 */
export interface SharedSessionView {
  session: Pick<SessionView, 'name' | 'status' | 'startedAt' | 'endedAt'>;
  messages: Pick<MessageView, 'seq' | 'sender' | 'senderName' | 'content' | 'createdAt' | 'replyToSeq'>[];
  /** Older messages exist: ask again with `beforeSeq` set to the first seq of this page. */
  hasMore: boolean;
}

/** What a share link's token is kept as. */
export const hashShareToken = (token: string) => createHash('sha256').update(token).digest('hex');

@Injectable()
export class ShareService {
  constructor(
    private readonly shares: ShareRepository,
    private readonly sessions: SessionService,
  ) {}

  /** The token is returned once; only its hash is kept. */
  async create(
    principal: Principal,
    sessionId: string,
    expiresInSeconds?: number,
  ): Promise<ShareView & { token: string }> {
    await this.sessions.getOwned(principal, sessionId);
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const record: ShareRecord = {
      _id: randomUUID(),
      tokenHash: hashShareToken(token),
      sessionId,
      userId: principal.userId,
      createdAt: now,
      expiresAt: expiresInSeconds ? new Date(now.getTime() + expiresInSeconds * 1000) : undefined,
    };
    await this.shares.create(record);
    return { ...toView(record), token };
  }

  async list(principal: Principal, sessionId: string): Promise<ShareView[]> {
    await this.sessions.getOwned(principal, sessionId);
    return (await this.shares.listForSession(sessionId)).map(toView);
  }

  /** Idempotent; an unknown share of one's own session is 404. */
  async revoke(principal: Principal, sessionId: string, shareId: string): Promise<void> {
    await this.sessions.getOwned(principal, sessionId);
    if (!(await this.shares.revoke(sessionId, shareId, new Date()))) throw new AppError('not_found', 'Share not found');
  }

  /** Unknown, revoked and expired links all answer 404, so a token reveals nothing. */
  async view(token: string, page: { beforeSeq?: number; limit?: number } = {}): Promise<SharedSessionView> {
    const share = await this.shares.findByTokenHash(hashShareToken(token));
    if (!share || share.revokedAt || (share.expiresAt && new Date(share.expiresAt) <= new Date())) {
      throw new AppError('not_found', 'Shared session not found');
    }
    const session = await this.sessions.view(share.sessionId);
    const { messages, hasMore } = await this.sessions.transcript(share.sessionId, page);
    return {
      session: { name: session.name, status: session.status, startedAt: session.startedAt, endedAt: session.endedAt },
      hasMore,
      messages: messages.map((m) => ({
        seq: m.seq,
        sender: m.sender,
        senderName: m.sender === 'user' ? undefined : m.senderName,
        content: m.content,
        createdAt: m.createdAt,
        replyToSeq: m.replyToSeq,
      })),
    };
  }
}

function toView(record: ShareRecord): ShareView {
  return {
    id: record._id,
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: record.expiresAt ? new Date(record.expiresAt).toISOString() : null,
    revoked: record.revokedAt !== undefined,
  };
}
