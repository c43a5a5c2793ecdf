import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpConfig } from '../../config/app-config';
import { codeForStatus } from '../errors/error-codes';
import { securityHeaderValues } from './security-headers';

// Answers to requests that never reach a route, hook or filter, so helmet and the exception filter
// never see them: they get the app's error shape and security headers here, like every other answer.

/** A request Node could not parse (headers too large, not HTTP, too slow), answered on the raw socket. */
export function clientErrorHandler(http: HttpConfig) {
  const headers = Object.entries(securityHeaderValues(http))
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason = STATUS_CODES[status] ?? 'Bad Request';
    const body = JSON.stringify({ statusCode: status, code: codeForStatus(status), message: reason });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}

/** A URL Fastify's router refuses (bad percent-encoding, a parameter too long). */
export function frameworkErrorHandler(http: HttpConfig) {
  const headers = securityHeaderValues(http);
  return (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
    const status = error.statusCode ?? 400;
    void reply
      .headers(headers)
      .code(status)
      .send({ statusCode: status, code: codeForStatus(status), message: error.message });
  };
}
