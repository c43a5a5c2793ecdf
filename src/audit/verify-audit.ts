import mongoose from 'mongoose';
import { AUDIT_COLLECTION } from './schemas/audit-record.schema';
import { verifyAuditChain } from './verify-audit-chain';

export interface AuditVerifyOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `npm run audit:verify`: checks the audit log of the database at MONGODB_URI without booting the app.
 * Prints one JSON line; exits 0 when the chain holds, 1 when it does not, 2 when it could not be checked.
 */
export async function runAuditVerify(env: NodeJS.ProcessEnv, output: AuditVerifyOutput): Promise<number> {
  const uri = env.MONGODB_URI;
  if (!uri) {
    output.err('MONGODB_URI is not set: give the URI of the database whose audit log to verify');
    return 2;
  }
  let connection: mongoose.Connection;
  try {
    connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
  } catch (error) {
    output.err(`Cannot connect to the database at MONGODB_URI: ${(error as Error).message}`);
    return 2;
  }
  try {
    const report = await verifyAuditChain(connection.db!.collection(AUDIT_COLLECTION));
    output.out(JSON.stringify(report));
    return report.ok ? 0 : 1;
  } catch (error) {
    output.err(`Cannot read the audit log: ${(error as Error).message}`);
    return 2;
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  void runAuditVerify(process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => (process.exitCode = code));
}
