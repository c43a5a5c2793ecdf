import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';

export interface DevTokens {
  user: string;
  admin: string;
}

/** Ready-made tokens for trying Chatbox locally; main prints them in development only. */
@Injectable()
export class DevTokenIssuer {
  constructor(private readonly jwt: JwtService) {}

  issue(): DevTokens {
    const options = { algorithm: 'HS256' as const, expiresIn: '24h' as const };
    return {
      user: this.jwt.sign({ sub: 'dev-user', name: 'Dev User', roles: [] }, options),
      admin: this.jwt.sign({ sub: 'dev-admin', name: 'Dev Admin', roles: ['admin'] }, options),
    };
  }
}
