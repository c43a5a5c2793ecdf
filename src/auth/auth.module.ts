import { Module } from '@nestjs/common';
import { AdminAuthGuard } from './admin-auth.guard';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from '../config/app-config';
import { DevTokenIssuer } from './dev-token.issuer';
import { HttpAuthGuard } from './http-auth.guard';
import { JwtVerifier } from './jwt-verifier.service';

@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ secret: config.auth.jwtSecret }),
    }),
  ],
  providers: [DevTokenIssuer, JwtVerifier, HttpAuthGuard, AdminAuthGuard],
  exports: [DevTokenIssuer, JwtVerifier, HttpAuthGuard, AdminAuthGuard],
})
export class AuthModule {}
