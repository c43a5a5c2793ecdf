import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { Socket } from 'socket.io';
import { loadConfig } from '../config/load-config';
import { MemorySocketRegistryStore } from '../coordination/memory/memory-socket-registry.store';
import { SocketRegistryStore } from '../coordination/socket-registry.store';
import { ConnectionLimiter } from './connection-limiter.service';

const request = (peer: string, forwardedFor?: string) =>
  ({
    socket: { remoteAddress: peer },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  }) as unknown as IncomingMessage;

const failing = <T extends object>(): T =>
  new Proxy({} as T, {
    get: () => () => Promise.reject(new Error('store down')),
  });

const counting = (): ThrottlerStorage & { keys: string[] } => {
  const keys: string[] = [];
  return {
    keys,
    increment: (key: string) => {
      keys.push(key);
      return Promise.resolve({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
    },
  };
};

describe(ConnectionLimiter.name, () => {
  // The failures below are logged as warnings by design; the test output need not show them.
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });
  const config = loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8' });

  it('counts attempts by the forwarded address only when the peer is a trusted proxy', async () => {
    const throttler = counting();
    const sut = new ConnectionLimiter(config, throttler, new MemorySocketRegistryStore());
    await sut.countAttempt('handshake', request('10.1.2.3', '203.0.113.5'));
    await sut.countAttempt('connect', request('198.51.100.7', '203.0.113.5'));
    expect(throttler.keys).toEqual(['handshake:203.0.113.5', 'connect:198.51.100.7']);
  });

  it('admits a socket uncounted when the registry is down', async () => {
    const sut = new ConnectionLimiter(config, counting(), failing<SocketRegistryStore>());
    const socket = Object.assign(new EventEmitter(), {
      id: 's1',
      disconnected: false,
      data: { principal: { userId: 'u1' } },
    }) as unknown as Socket;
    await expect(sut.admit(socket)).resolves.toBeUndefined();
  });
});
