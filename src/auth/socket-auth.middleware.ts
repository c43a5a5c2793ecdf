import type { Socket } from 'socket.io';
import { AppError } from '../common/errors/app-error';
import { JwtVerifier } from './jwt-verifier.service';
import { Principal } from './principal';

export interface SocketData {
  principal: Principal;
}

/** The socket.io `connect_error` a client receives: `err.message` and `err.data.code` say why. */
export class HandshakeError extends Error {
  readonly data: { code: string; message: string; retryAfterMs?: number };

  constructor(code: string, message: string, details: { retryAfterMs?: number } = {}) {
    super(code);
    this.data = { code, message, ...details };
  }
}

/** Authenticates a handshake from `auth.token` only; a token in the query string is ignored. */
export function socketAuthMiddleware(verifier: JwtVerifier, requireAdmin = false) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    verifier.verify(token).then(
      (principal) => {
        if (requireAdmin && !principal.isAdmin)
          return next(new HandshakeError('forbidden', 'An admin role is required'));
        (socket.data as SocketData).principal = principal;
        next();
      },
      (error: unknown) => {
        const code = error instanceof AppError ? error.code : 'unauthorized';
        next(new HandshakeError(code, error instanceof Error ? error.message : 'unauthorized'));
      },
    );
  };
}
