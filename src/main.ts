import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Logger } from 'nestjs-pino';
import { describeNotificationConfig } from './notification/notification-config';
import { createApp } from './app';
import { DevTokenIssuer } from './auth/dev-token.issuer';
import { RoomBroadcaster } from './common/realtime/room-broadcaster';
import { AppConfig } from './config/app-config';
import { persistedDevSecrets } from './config/dev-secrets';
import { ConfigError, loadConfig, randomSecret } from './config/load-config';
import { DatabaseCommandMetrics } from './database/database-command.metrics';
import { EmbeddedDatabase, startEmbeddedDatabase } from './database/embedded-database';
import { DrainState } from './health/drain-state';
import { installGracefulShutdown } from './lifecycle/graceful-shutdown';
import { installLastResort } from './lifecycle/last-resort';
import { SecondInstanceError, SingleInstanceGuard } from './lifecycle/single-instance.guard';
import { TurnEngine } from './turn/turn-engine.service';

function printDevBanner(
  config: AppConfig,
  port: number,
  tokens: { user: string; admin: string },
  embedded?: EmbeddedDatabase,
): void {
  const base = `http://${config.http.host}:${port}${config.http.pathPrefix}`;
  process.stdout.write(
    [
      '',
      'Chatbox is running in development mode.',
      `  chat page:  ${base}/dev/host  (a host page that signs you in as the development user)`,
      `  admin:      ${base}/dev/host?as=admin  (the admin console, as the development admin)`,
      `  liveness:   ${base}/healthz`,
      `  readiness:  ${base}/readyz`,
      `  metrics:    http://${config.http.host}:${config.metrics.port ?? port}/metrics` +
        (config.metrics.token ? `  (Authorization: Bearer ${config.metrics.token})` : ''),
      embedded
        ? `  database:   embedded MongoDB-compatible server at ${embedded.uri} (FerretDB on ${embedded.storage})` +
          (embedded.backend === 'sqlite' ? ': it slows down as data accumulates' : '')
        : '',
      `  user token:  ${tokens.user}`,
      `  admin token: ${tokens.admin}`,
      '',
    ].join('\n') + '\n',
  );
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env, (dataDir, env) =>
      env === 'development' ? persistedDevSecrets(dataDir) : randomSecret,
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }

  let embedded: EmbeddedDatabase | undefined;
  if (!config.mongo.uri) {
    process.stdout.write('MONGODB_URI is not set: starting the embedded MongoDB-compatible server (FerretDB)…\n');
    embedded = await startEmbeddedDatabase({
      toolsDir: path.resolve('.tools'),
      dataDir: config.dataDir,
      ...config.mongo.embedded,
      warn: (message) => process.stderr.write(`\nWARNING: ${message}\n\n`),
    });
    config = config.withMongoUri(embedded.uri);
  }

  try {
    const app = await createApp(config);
    const logger = app.get(Logger);
    const broadcaster = app.get(RoomBroadcaster);
    const shutdown = installGracefulShutdown({
      app,
      drain: app.get(DrainState),
      config,
      logger,
      // Clients reconnect to another replica before this one closes their sockets.
      onDrain: () => broadcaster.toLocal('server:draining', {}),
      afterClose: () => embedded?.stop() ?? Promise.resolve(),
      describePending: () => [...app.get(TurnEngine).openWork(), ...app.get(DatabaseCommandMetrics).inFlight()],
    });
    app.get(SingleInstanceGuard).onLost(() => shutdown('another replica took the single-instance lease'));
    // From here on one failed callback must not cut every user of this replica (see last-resort.ts).
    installLastResort({ logger, giveUp: shutdown });
    await app.listen({ port: config.http.port, host: config.http.host });
    const { port } = app.getHttpServer().address() as AddressInfo;
    logger.log(`listening on http://${config.http.host}:${port} under ${config.http.pathPrefix}`);
    for (const line of describeNotificationConfig(config.notify.channels)) logger.log(`notifications: ${line}`);
    if (config.env === 'development') printDevBanner(config, port, app.get(DevTokenIssuer).issue(), embedded);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  // A refusal explains itself; anything else shows where it came from.
  const detail =
    error instanceof SecondInstanceError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`Chatbox failed to start: ${detail}\n`);
  process.exit(1);
});
