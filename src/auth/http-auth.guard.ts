import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { JwtVerifier } from './jwt-verifier.service';
import { Principal } from './principal';

export interface AuthenticatedRequest {
  headers: Record<string, string | undefined>;
  principal?: Principal;
}

/** Bearer tokens from the Authorization header only: never from the URL. */
@Injectable()
export class HttpAuthGuard implements CanActivate {
  constructor(private readonly verifier: JwtVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    request.principal = await this.verifier.verify(token);
    return true;
  }
}
