import { createPublicKey, KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { createRemoteJWKSet, errors, JWTPayload, jwtVerify, JWTVerifyOptions } from 'jose';
import { AppError } from '../common/errors/app-error';
import { isWellFormedText } from '../common/validation/well-formed.decorator';
import { AppConfig, AuthConfig } from '../config/app-config';
import { ADMIN_ROLES, Principal } from './principal';

const MAX_ID_LENGTH = 128;

/**
 * The one place tokens are verified, for HTTP and sockets alike. The algorithm is pinned by
 * configuration (so `alg: none` and algorithm confusion fail), `exp` is required and bounded, and
 * `iss`/`aud` are enforced when configured.
 */
@Injectable()
export class JwtVerifier {
  private readonly verifyWithKey: (token: string, options: JWTVerifyOptions) => Promise<{ payload: JWTPayload }>;

  constructor(private readonly config: AppConfig) {
    const { algorithm, jwtSecret, publicKey, jwksUrl } = config.auth;
    if (jwksUrl && algorithm !== 'HS256') {
      // Cached; an unknown kid refetches at most once per cooldown, so a flood of random kids costs one request.
      const jwks = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30000, cacheMaxAge: 600000 });
      this.verifyWithKey = (token, options) => jwtVerify(token, jwks, options);
    } else {
      const key: Uint8Array | KeyObject =
        algorithm === 'HS256' ? new TextEncoder().encode(jwtSecret) : createPublicKey(publicKey ?? '');
      this.verifyWithKey = (token, options) => jwtVerify(token, key, options);
    }
  }

  async verify(token: unknown): Promise<Principal> {
    if (typeof token !== 'string' || token === '') throw new AppError('unauthorized', 'A bearer token is required');
    const { algorithm, issuer, audience, clockSkewS } = this.config.auth;
    let payload: JWTPayload;
    try {
      ({ payload } = await this.verifyWithKey(token, {
        algorithms: [algorithm],
        issuer,
        audience,
        clockTolerance: clockSkewS,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new AppError('token_expired', 'The token has expired');
      throw new AppError('unauthorized', 'The token is not valid');
    }
    checkTimes(payload, this.config.auth);
    return toPrincipal(payload);
  }
}

/**
 * jose has checked that `exp` is a number that has not passed and that `nbf` has come. These bound the
 * rest, so every time derived from a token (expiry timers, ISO dates) stays representable: an `exp` in
 * milliseconds by mistake, or 1e300, is refused instead of overflowing a timer downstream.
 */
function checkTimes(payload: JWTPayload, { maxLifetimeS, clockSkewS }: AuthConfig): void {
  const nowS = Date.now() / 1000;
  // Written as a negation so that Infinity (JSON's 1e999) and NaN fail too.
  if (!((payload.exp as number) <= nowS + maxLifetimeS + clockSkewS)) {
    throw new AppError('unauthorized', 'The token expires too far in the future');
  }
  if (payload.iat !== undefined && !(payload.iat <= nowS + clockSkewS)) {
    throw new AppError('unauthorized', 'The token was issued in the future');
  }
}

function toPrincipal(payload: JWTPayload): Principal {
  // The Go service's host apps send user_id instead of sub.
  const userId = payload.sub ?? payload.user_id;
  // A lone surrogate would be stored as U+FFFD, so two such ids could name the same owner.
  if (typeof userId !== 'string' || userId === '' || userId.length > MAX_ID_LENGTH || !isWellFormedText(userId)) {
    throw new AppError('unauthorized', 'The token names no user');
  }
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  // Cut to 100 code units, but never between the halves of a surrogate pair.
  const name =
    typeof payload.name === 'string' ? payload.name.slice(0, 100).replace(/[\uD800-\uDBFF]$/, '') : undefined;
  return { userId, name, roles, isAdmin: roles.some((r) => ADMIN_ROLES.includes(r)), exp: payload.exp as number };
}
