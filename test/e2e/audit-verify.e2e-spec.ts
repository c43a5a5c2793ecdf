import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { Connection } from 'mongoose';
import { AuditModule } from '../../src/audit/audit.module';
import { AuditService } from '../../src/audit/audit.service';
import { PROJECT_ROOT } from '../setup/test-env';
import { testMongoUri } from '../utils/test-app';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run audit:verify` as an operator runs it: the built CLI (`npm run build`) in a process of its own. */
function verifyCli(env: Record<string, string>, command: 'node' | 'npm' = 'node'): Promise<Run> {
  const [file, args] =
    command === 'node'
      ? [process.execPath, [path.join(PROJECT_ROOT, 'dist', 'audit', 'verify-audit.js')]]
      : ['npm', ['run', '--silent', 'audit:verify']];
  const child = spawn(file, args, {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ ...run, code }));
  });
}

describe('npm run audit:verify', () => {
  // A database of this file's own.
  const uri = testMongoUri(`audit_e2e_${randomBytes(4).toString('hex')}`);
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [MongooseModule.forRoot(uri), AuditModule] }).compile();
    await moduleRef.init();
    const audit = moduleRef.get(AuditService);
    for (const action of ['takeover', 'watch', 'transcript_view', 'release'] as const) {
      await audit.record({
        action,
        actor: { kind: 'admin', id: 'ann', name: 'Ann' },
        sessionId: 'session-1',
        requestId: `request-${action}`,
        ...(action === 'release' ? { details: { cause: 'admin' } } : {}),
      });
    }
  });
  afterAll(() => moduleRef?.close());

  it('exits 0 and prints one JSON line when the chain holds, and exits 1 listing the problem once a record is edited', async () => {
    const good = await verifyCli({ MONGODB_URI: uri }, 'npm');
    expect([good.code, good.stderr]).toEqual([0, '']);
    expect(good.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, checked: 4, problems: [], head: { seq: 4 } });

    await moduleRef
      .get<Connection>(getConnectionToken())
      .db!.collection('audit')
      .updateOne({ _id: 2 as never }, { $set: { 'actor.name': 'Bob' } });
    const bad = await verifyCli({ MONGODB_URI: uri });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      checked: 4,
      problems: [{ seq: 2, kind: 'hash_mismatch' }],
    });
  });

  it('exits 2 naming MONGODB_URI when it is unset', async () => {
    const run = await verifyCli({});
    expect([run.code, run.stdout]).toEqual([2, '']);
    expect(run.stderr).toContain('MONGODB_URI is not set');
  });
});
