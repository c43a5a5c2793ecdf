import { JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import { ThrottlerModule } from '@nestjs/throttler';
import { ConfigModule } from '../config/config.module';
import { loadConfig } from '../config/load-config';
import { MetricsModule } from '../metrics/metrics.module';
import { AuthModule } from './auth.module';
import { DevTokenIssuer } from './dev-token.issuer';

describe(DevTokenIssuer.name, () => {
  it('issues a user token and an admin token signed with JWT_SECRET, valid for a day', async () => {
    const config = loadConfig({});
    // The admin guard counts requests in the throttler storage, and those it cannot count in a metric,
    // both of which the application provides globally.
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), ThrottlerModule.forRoot([]), MetricsModule.forRoot(), AuthModule],
    }).compile();
    const sut = moduleRef.get(DevTokenIssuer);

    const { user, admin } = sut.issue();

    const jwt = new JwtService({ secret: config.auth.jwtSecret });
    const userClaims = jwt.verify<{ sub: string; roles: string[]; iat: number; exp: number }>(user, {
      algorithms: ['HS256'],
    });
    expect(userClaims).toMatchObject({ sub: 'dev-user', name: 'Dev User', roles: [] });
    expect(userClaims.exp - userClaims.iat).toBe(24 * 3600);
    expect(jwt.verify(admin, { algorithms: ['HS256'] })).toMatchObject({ sub: 'dev-admin', roles: ['admin'] });
    expect(() => new JwtService({ secret: 'another-secret' }).verify<object>(user)).toThrow('invalid signature');
  });
});
