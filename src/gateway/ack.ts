import { ProtocolError } from '../common/realtime/client-events';

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };
