import { mapLimit } from '../lib/stats';
import { serveRpc } from '../lib/rpc';
import { ChatConnection, ErrorTally, Target } from './chat-connection';
import { crossReplica, CrossReplicaOptions, firstTokens, FirstTokenOptions } from './turn-scenarios';
import { SendLoad, SendLoadOptions } from './send-load';
import { AddStreams, StreamLoad } from './stream-load';
import { MeasureWindow, WindowStats } from './window';

/**
 * The load client: one process, driven by the benchmark over IPC, holding the devices of a scenario.
 * Baseline and Chatbox get the very same code; only the target differs.
 */
const window = new MeasureWindow(Number(process.env.BENCH_EPOCH_MS));
const streams = new StreamLoad(window);
const sends = new SendLoad(window);
let idle: ChatConnection[] = [];

const api = {
  /** Opens `count` more idle authenticated connections (distinct users). */
  async connectIdle(target: Target, count: number, userPrefix: string) {
    const errors = new ErrorTally();
    const started = Date.now();
    const base = idle.length;
    const opened = await mapLimit(Array.from({ length: count }), 100, (_, i) =>
      ChatConnection.open(target, `${userPrefix}-${base + i}`).catch((error: unknown) => void errors.add(error)),
    );
    idle.push(...opened.filter((c): c is ChatConnection => c !== undefined));
    return { open: idle.length, failed: errors.total, errors: errors.counts, ms: Date.now() - started };
  },
  closeIdle() {
    for (const connection of idle) connection.close();
    idle = [];
  },
  addStreams: (options: AddStreams) => streams.add(options),
  closeStreams: () => streams.close(),
  firstTokens: (options: FirstTokenOptions) => firstTokens(options),
  crossReplica: (options: CrossReplicaOptions) => crossReplica(options),
  startSending: (options: SendLoadOptions) => sends.start(options),
  stopSending: () => sends.stop(),
  windowStart: () => window.start(),
  windowStop: (): WindowStats => window.stop(),
};

export type LoadClientApi = typeof api;

serveRpc(api);
