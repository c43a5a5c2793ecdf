import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Connection, mongo } from 'mongoose';
import { Counter } from 'prom-client';
import { DB_COMMANDS } from '../metrics/chatbox.metrics';

/** Counts every command the driver sends (its command monitoring), so database work per message shows. */
@Injectable()
export class DatabaseCommandMetrics implements OnModuleInit {
  constructor(
    @InjectConnection() private readonly connection: Connection,
    @InjectMetric(DB_COMMANDS) private readonly commands: Counter<string>,
  ) {}

  onModuleInit(): void {
    this.connection
      .getClient()
      .on('commandStarted', (event: mongo.CommandStartedEvent) => this.commands.inc({ command: event.commandName }));
  }
}
