import type { ChildProcess } from 'node:child_process';

type ParamsOf<F> = F extends (...args: infer P) => unknown ? P : never;
type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

interface Request {
  id: number;
  method: string;
  params: unknown[];
}

type Reply = { ready: true } | { id: number; result?: unknown; error?: string };

/**
 * Serves `api` to the parent over the IPC channel (this process was forked). A child whose parent is
 * gone exits, so no benchmark process outlives the run.
 */
export function serveRpc(api: object): void {
  const methods = api as Record<string, (...params: unknown[]) => unknown>;
  process.on('message', (message: Request) => {
    Promise.resolve()
      .then(() => methods[message.method](...message.params))
      .then(
        (result) => process.send?.({ id: message.id, result } satisfies Reply),
        (error: unknown) =>
          process.send?.({
            id: message.id,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          } satisfies Reply),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true } satisfies Reply);
}

/** Calls the methods a forked child serves with `serveRpc`. */
export class RpcClient<Api> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly ready: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    private readonly name: string,
  ) {
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (reply: Reply) => {
        if ('ready' in reply) return resolve();
        const waiter = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (reply.error !== undefined) waiter?.reject(new Error(`${name}: ${reply.error}`));
        else waiter?.resolve(reply.result);
      });
      child.once('exit', (code, signal) => {
        const error = new Error(`${name} exited (${signal ?? `code ${code}`})`);
        reject(error);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
    });
    // A child that dies before it is awaited must not be an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  call<M extends keyof Api & string>(method: M, ...params: ParamsOf<Api[M]>): Promise<ResultOf<Api[M]>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, method, params } satisfies Request, (error) => {
        if (error) {
          this.pending.delete(id);
          reject(new Error(`${this.name}: ${method} not sent: ${error.message}`));
        }
      });
    });
  }
}
