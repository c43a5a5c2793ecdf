import { RpcClient } from '../lib/rpc';
import { benchScript } from './paths';
import { ManagedProcess } from './managed-process';

export interface Forked<Api> {
  process: ManagedProcess;
  rpc: RpcClient<Api>;
}

/** Starts one of the benchmark's own Node.js processes and waits until it serves its RPC. */
export async function fork<Api>(
  name: string,
  script: string,
  options: { logDir: string; env: NodeJS.ProcessEnv },
): Promise<Forked<Api>> {
  const child = ManagedProcess.node(name, benchScript(script), [], { ...options, ipc: true });
  const rpc = new RpcClient<Api>(child.child, name);
  try {
    await rpc.ready;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${child.tail()}`, { cause: error });
  }
  return { process: child, rpc };
}
