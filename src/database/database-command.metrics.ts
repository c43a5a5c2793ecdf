import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Connection, ConnectionStates, mongo } from 'mongoose';
import { Counter } from 'prom-client';
import { DB_COMMANDS } from '../metrics/chatbox.metrics';

/**
 * Counts every command the driver sends (its command monitoring), so database work per message shows,
 * and keeps the commands still waiting for an answer, for a shutdown that overruns to name them.
 */
@Injectable()
export class DatabaseCommandMetrics implements OnModuleInit {
  private readonly pending = new Map<string, { command: string; collection?: string; startedAt: number }>();

  constructor(
    @InjectConnection() private readonly connection: Connection,
    @InjectMetric(DB_COMMANDS) private readonly commands: Counter<string>,
  ) {}

  onModuleInit(): void {
    const client = this.connection.getClient();
    client.on('commandStarted', (event: mongo.CommandStartedEvent) => {
      this.commands.inc({ command: event.commandName });
      const target: unknown = event.command[event.commandName];
      this.pending.set(keyOf(event), {
        command: event.commandName,
        collection: typeof target === 'string' ? target : undefined,
        startedAt: Date.now(),
      });
    });
    const done = (event: mongo.CommandSucceededEvent | mongo.CommandFailedEvent) => this.pending.delete(keyOf(event));
    client.on('commandSucceeded', done);
    client.on('commandFailed', done);
  }

  /**
   * The commands sent and not yet answered, oldest first: "find messages for 8200 ms"; first, while the
   * connection is being closed, that (closing ends the sessions on the server, over a new connection if
   * none is free, whose handshake a server that has stopped answering never completes).
   */
  inFlight(now = Date.now()): string[] {
    const closing = this.connection.readyState === ConnectionStates.disconnecting;
    const commands = [...this.pending.values()]
      .sort((a, b) => a.startedAt - b.startedAt)
      .map(({ command, collection, startedAt }) =>
        [command, collection, `for ${now - startedAt} ms`].filter(Boolean).join(' '),
      );
    return closing ? ['closing the database connection', ...commands] : commands;
  }
}

function keyOf(event: { connectionId?: string | number; requestId: number }): string {
  return `${event.connectionId ?? ''}/${event.requestId}`;
}
