import { ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { AuthenticatedRequest, HttpAuthGuard } from './http-auth.guard';

/** A bearer token with an admin role; `forbidden` for any other valid token. */
@Injectable()
export class AdminAuthGuard extends HttpAuthGuard {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    if (!context.switchToHttp().getRequest<AuthenticatedRequest>().principal?.isAdmin) {
      throw new AppError('forbidden', 'An admin role is required');
    }
    return true;
  }
}
