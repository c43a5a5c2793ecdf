import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import mongoose from 'mongoose';
import { AppConfig } from '../config/app-config';
import { DatabaseCommandMetrics } from './database-command.metrics';
// Before any connection is made: a driver write to a closed socket fails instead of hanging.
import './driver-socket-close';

// Query filters never carry operators from user input, even if a caller forgets to validate.
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', 'throw');

@Module({
  imports: [
    MongooseModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        uri: config.mongo.uri,
        serverSelectionTimeoutMS: 5000,
        // Feeds chatbox_db_commands_total.
        monitorCommands: true,
        retryAttempts: 5,
        retryDelay: 2000,
      }),
    }),
  ],
  providers: [DatabaseCommandMetrics],
})
export class DatabaseModule {}
