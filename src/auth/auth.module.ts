import { Module } from '@nestjs/common';
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
  providers: [DevTokenIssuer, JwtVerifier, HttpAuthGuard],
  exports: [DevTokenIssuer, JwtVerifier, HttpAuthGuard],
})
export class AuthModule {}
