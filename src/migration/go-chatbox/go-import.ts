import { createHash } from 'node:crypto';
import mongoose, { mongo } from 'mongoose';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/app-config';
import { persistedDevSecrets } from '../../config/dev-secrets';
import { ConfigError, loadConfig, randomSecret } from '../../config/load-config';
import { isTransientDbError, withDbRetry } from '../../database/db-retry';
import { DECRYPT_FAILURES } from '../../metrics/chatbox.metrics';
import { ContentCipher } from '../../session/content-cipher';
import { MessageDoc, MessageSchema } from '../../session/schemas/message.schema';
import { SessionDoc, SessionSchema } from '../../session/schemas/session.schema';
import { ShareDoc, ShareSchema } from '../../session/schemas/share.schema';
import { SessionNameIndex } from '../../session/session-name-index';
import { hashShareToken } from '../../session/share.service';
import { parseGoKey } from './go-content';
import { ConversionContext, ConvertedSession, convertGoSession, GoImportProblem } from './go-session-converter';

export interface GoImportOutput {
  out(line: string): void;
  err(line: string): void;
}

export interface GoImportOptions {
  from: string;
  dryRun: boolean;
  batch: number;
  since?: Date;
  shareExpiryDays: number;
  /** Write sessions the ledger says were imported already (and since erased or changed in Chatbox) again. */
  reimport: boolean;
}

const USAGE =
  'usage: npm run migrate:go-chatbox -- --from <mongodb URI of the Go database> [--dry-run] [--batch 500] ' +
  '[--since <date>] [--share-expiry-days 30] [--reimport]';
/** The Go service hard-codes both (reference: storage.go, chatbox.go). */
const GO_DATABASE = 'chat';
const GO_COLLECTION = 'sessions';

/** A document of the Go service's collection as read: its ids are strings, anything else is checked. */
interface GoSessionDoc {
  _id: string;
  [field: string]: unknown;
}
export const CHECKPOINT_COLLECTION = 'go_import_checkpoints';
export const LEDGER_COLLECTION = 'go_import_ledger';
const MONGODB_URI_PREFIX = /^mongodb(\+srv)?:\/\//;
const DAY_MS = 86_400_000;
/** How long a session's writes are retried while the database answers "not now" (an election, a lost connection). */
const WRITE_RETRY_MS = 30_000;
/** Go sessions fetched per round trip of the cursor. */
export const READ_BATCH = 50;

function integer(value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

/** The options, or what is wrong with them. */
export function parseGoImportArgs(argv: string[]): GoImportOptions | string {
  const options: Partial<GoImportOptions> = { dryRun: false, batch: 500, shareExpiryDays: 30, reimport: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--dry-run' || flag === '--reimport') {
      options[flag === '--dry-run' ? 'dryRun' : 'reimport'] = true;
      continue;
    }
    i++;
    if (flag === '--from') {
      if (!value || !MONGODB_URI_PREFIX.test(value)) return '--from must be a mongodb:// or mongodb+srv:// URI';
      options.from = value;
    } else if (flag === '--batch') {
      options.batch = integer(value, 1, 5000);
      if (options.batch === undefined) return '--batch must be a whole number from 1 to 5000';
    } else if (flag === '--share-expiry-days') {
      options.shareExpiryDays = integer(value, 1, 3650);
      if (options.shareExpiryDays === undefined) return '--share-expiry-days must be a whole number from 1 to 3650';
    } else if (flag === '--since') {
      const since = value ? new Date(value) : undefined;
      if (!since || Number.isNaN(since.getTime())) return '--since must be a date (ISO 8601, e.g. 2026-01-31)';
      options.since = since;
    } else {
      return `unknown option ${flag}`;
    }
  }
  return options.from ? (options as GoImportOptions) : '--from is required';
}

/** The database a URI names, if it names one. */
function databaseIn(uri: string): string | undefined {
  const name = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/.exec(uri)?.[1];
  return name ? decodeURIComponent(name) : undefined;
}

const hostsOf = (client: mongo.MongoClient) =>
  client.options.hosts
    .map((h) => h.toString())
    .sort()
    .join(',');

interface Counts {
  sessions: { read: number; imported: number; created: number; skipped: number; previouslyImported: number };
  messages: { read: number; imported: number; created: number; skipped: number };
  shares: { imported: number; created: number };
}

interface Target {
  sessions: mongo.Collection<SessionDoc>;
  messages: mongo.Collection<MessageDoc>;
  shares: mongo.Collection<ShareDoc>;
  checkpoints: mongo.Collection<Checkpoint>;
  ledger: mongo.Collection<LedgerEntry>;
}

/**
 * One Go session a run imported, written once all its documents are: what a later run compares with, so
 * that it neither brings back a session erased in Chatbox (data rights, retention) nor its share links.
 * Every field is always present (FerretDB takes no partial indexes, and none are needed: read by _id).
 */
interface LedgerEntry {
  /** The Go session id. */
  _id: string;
  sessionId: string;
  /** How many elements `msgs` had, and its `lastActivity`, when imported. */
  goMessages: number;
  goLastActivity: Date | null;
  /** The hash of the share token the Go document had then (null: none), whose link was imported with it. */
  shareTokenHash: string | null;
  importedAt: Date;
  updatedAt: Date;
}

interface Checkpoint {
  _id: string;
  source: string;
  since: Date | null;
  /** The last Go session id (they are read in `_id` order) whose documents are all written. */
  lastGoId: string | null;
  /** What the runs of this import left out up to lastGoId, so a resumed run reports (and exits) for all of it. */
  skipped: { sessions: number; messages: number };
  done: boolean;
  startedAt: Date;
  updatedAt: Date;
}

/** How many of `docs` were inserted: a document already there (a previous run wrote it) is not an error. */
async function insertNew<T extends { _id: string }>(collection: mongo.Collection<T>, docs: T[]): Promise<number> {
  if (docs.length === 0) return 0;
  try {
    return (await collection.insertMany(docs as mongo.OptionalUnlessRequiredId<T>[], { ordered: false })).insertedCount;
  } catch (error) {
    if (!(error instanceof mongo.MongoBulkWriteError)) throw error;
    const errors = ([] as mongo.WriteError[]).concat(error.writeErrors);
    if (errors.some((e) => e.code !== 11000)) throw error;
    return error.result.insertedCount;
  }
}

/**
 * Messages first, then the session, then its share link: a run stopped in between leaves at most messages
 * no session shows yet, which the next run completes. Every write is an insert of a deterministic id or
 * an upsert of values derived from the Go document, so writing the same document again changes nothing.
 */
async function writeSession(target: Target, converted: ConvertedSession, withShare: boolean) {
  const { session, messages } = converted;
  const share = withShare ? converted.share : undefined;
  // By session, an equality FerretDB hands to its backend's index ($in on _id would scan every message).
  const present = new Set(
    (await target.messages.find({ sessionId: session._id }, { projection: { _id: 1 } }).toArray()).map((m) => m._id),
  );
  const messagesCreated = await insertNew(
    target.messages,
    messages.filter((m) => !present.has(m._id)),
  );
  // Chatbox's own fields are set once; the Go service's are set from the document on every run (to the same
  // values). messageCount is what the session holds, messages earlier runs imported included (one under
  // another Go key, say, that this run cannot read); lastSeq and lastMessageAt only grow.
  const { _id, name, nameIndex, owner, epoch, hold, rev, aiHelpAsked, helpOpen, fieldsVersion, ...fromGo } = session;
  const { lastSeq, lastMessageAt, ...rest } = fromGo;
  const upsert = await target.sessions.updateOne(
    { _id },
    {
      $set: { ...rest, messageCount: await target.messages.countDocuments({ sessionId: _id }) },
      $max: { lastSeq, ...(lastMessageAt ? { lastMessageAt } : {}) },
      $setOnInsert: {
        ...(name ? { name } : {}),
        nameIndex,
        owner,
        epoch,
        hold,
        rev,
        aiHelpAsked,
        helpOpen,
        fieldsVersion,
      },
    },
    { upsert: true },
  );
  const created = upsert.upsertedCount === 1;
  // Named in the Go service after an earlier run imported it unnamed: the name is encrypted afresh each run, so set it once.
  if (name && !created)
    await target.sessions.updateOne({ _id, name: { $exists: false } }, { $set: { name, nameIndex } });
  const sharesCreated = share ? await writeShare(target.shares, share) : 0;
  return { created, messagesCreated, sharesCreated };
}

/**
 * The share link the Go document has: inserted, or given the token the Go service holds now if an earlier
 * run wrote another (a Go session has one token, so the old one stops opening it). A link revoked in Chatbox
 * stays revoked. 1 when written.
 */
async function writeShare(shares: mongo.Collection<ShareDoc>, share: ShareDoc): Promise<number> {
  if ((await insertNew(shares, [share])) === 1) return 1;
  const { _id, tokenHash, createdAt, expiresAt } = share;
  const renewed = await shares.updateOne(
    { _id, tokenHash: { $ne: tokenHash } },
    { $set: { tokenHash, createdAt, expiresAt } },
  );
  return renewed.modifiedCount;
}

/**
 * What to report when the database refused a write for good (a unique key another document holds, a
 * validation rule); undefined when it may take it later (an election, a lost connection: see
 * isTransientDbError) or the error is not the database's.
 */
export function refusalReason(error: unknown): string | undefined {
  if (!(error instanceof mongo.MongoError) || isTransientDbError(error)) return undefined;
  return `the database refused its write${error.code === undefined ? '' : ` (code ${error.code})`}: ${error.message}`;
}

/**
 * After a session's write was refused: its messages go too when Chatbox has no session for them (a new
 * one, or one erased since), where nothing would show or erase them. A session already there keeps them.
 */
async function removeOrphans(target: Target, sessionId: string): Promise<void> {
  if (await target.sessions.findOne({ _id: sessionId }, { projection: { _id: 1 } })) return;
  await target.messages.deleteMany({ sessionId });
}

/** In development the key the service generated and kept in the data folder; elsewhere it must be given. */
function loadChatboxConfig(env: NodeJS.ProcessEnv): AppConfig | string {
  let generatedKey = false;
  try {
    const config = loadConfig(env, (dataDir, nodeEnv) =>
      nodeEnv === 'development'
        ? persistedDevSecrets(dataDir)
        : (name) => {
            generatedKey ||= name === 'ENCRYPTION_KEY';
            return randomSecret(name);
          },
    );
    return generatedKey
      ? 'ENCRYPTION_KEY (or ENCRYPTION_KEYS) is not set: give the key Chatbox runs with, so it can read what is imported'
      : config;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

/**
 * `npm run migrate:go-chatbox -- --from <uri>`: imports the Go service's sessions (database `chat` unless the
 * URI names another, collection `sessions`) into the Chatbox database at MONGODB_URI, which may be the same
 * database (Chatbox's sessions are in `chat_sessions`), re-encrypting message contents and names with
 * Chatbox's active key (GO_ENCRYPTION_KEY decrypts the Go service's). Prints one
 * JSON line per session or message it leaves out, with the reason, then a summary. Exits 0 when everything
 * was imported, 1 when something was left out, 2 when it could not run or stopped (run again to resume).
 */
export async function runGoImport(
  argv: string[],
  env: NodeJS.ProcessEnv,
  output: GoImportOutput,
  // The client for the Go database, not yet connected: tests give one that records the commands it sends.
  sourceClient: (uri: string) => mongo.MongoClient = (uri) =>
    new mongo.MongoClient(uri, { serverSelectionTimeoutMS: 5000 }),
): Promise<number> {
  const options = parseGoImportArgs(argv);
  if (typeof options === 'string') {
    output.err(`${options}\n${USAGE}`);
    return 2;
  }
  const goKey = env.GO_ENCRYPTION_KEY ? parseGoKey(env.GO_ENCRYPTION_KEY) : undefined;
  if (env.GO_ENCRYPTION_KEY && !goKey) {
    output.err('GO_ENCRYPTION_KEY must be the Go service ENCRYPTION_KEY: a 32-byte string');
    return 2;
  }
  if (!env.MONGODB_URI) {
    output.err('MONGODB_URI is not set: give the URI of the Chatbox database to import into');
    return 2;
  }
  const config = loadChatboxConfig(env);
  if (typeof config === 'string') {
    output.err(config);
    return 2;
  }
  let source: mongo.MongoClient | undefined;
  let chatbox: mongoose.Connection | undefined;
  try {
    try {
      source = await sourceClient(options.from).connect();
      chatbox = await mongoose.createConnection(env.MONGODB_URI, { serverSelectionTimeoutMS: 5000 }).asPromise();
    } catch (error) {
      output.err(`Cannot connect: ${(error as Error).message}`);
      return 2;
    }
    return await importAll(options, { source, chatbox, config, goKey }, output);
  } finally {
    await Promise.all([source?.close(), chatbox?.close()]);
  }
}

async function importAll(
  options: GoImportOptions,
  links: { source: mongo.MongoClient; chatbox: mongoose.Connection; config: AppConfig; goKey?: Buffer },
  output: GoImportOutput,
): Promise<number> {
  const { source, chatbox, config, goKey } = links;
  const started = Date.now();
  const goDatabase = databaseIn(options.from) ?? GO_DATABASE;
  const goSessions = source.db(goDatabase).collection<GoSessionDoc>(GO_COLLECTION);
  const models = {
    sessions: chatbox.model(SessionDoc.name, SessionSchema),
    messages: chatbox.model(MessageDoc.name, MessageSchema),
    shares: chatbox.model(ShareDoc.name, ShareSchema),
  };
  const target: Target = {
    sessions: models.sessions.collection as unknown as mongo.Collection<SessionDoc>,
    messages: models.messages.collection as unknown as mongo.Collection<MessageDoc>,
    shares: models.shares.collection as unknown as mongo.Collection<ShareDoc>,
    checkpoints: chatbox.db!.collection<Checkpoint>(CHECKPOINT_COLLECTION),
    ledger: chatbox.db!.collection<LedgerEntry>(LEDGER_COLLECTION),
  };
  const context: ConversionContext = {
    cipher: new ContentCipher(
      config,
      new Counter({ name: DECRYPT_FAILURES, help: 'unused here', labelNames: ['key_id'], registers: [] }),
    ),
    nameIndex: new SessionNameIndex(config),
    goKey,
    now: new Date(),
    shareExpiryMs: options.shareExpiryDays * DAY_MS,
  };
  const counts: Counts = {
    sessions: { read: 0, imported: 0, created: 0, skipped: 0, previouslyImported: 0 },
    messages: { read: 0, imported: 0, created: 0, skipped: 0 },
    shares: { imported: 0, created: 0 },
  };
  const report = (problem: GoImportProblem) => output.out(JSON.stringify({ skipped: problem }));
  const sourceName = `${hostsOf(source)}/${goDatabase}`;
  const checkpointId = createHash('sha256')
    .update(`${sourceName}|${options.since?.toISOString() ?? ''}`)
    .digest('hex')
    .slice(0, 32);

  let after: string | null = null;
  let carried = { sessions: 0, messages: 0 };
  // Sessions whose _id is not a string are read (and left out) by every run, so no checkpoint carries them.
  let oddIds = 0;
  if (!options.dryRun) {
    await Promise.all(Object.values(models).map((model) => model.createIndexes()));
    const checkpoint = await target.checkpoints.findOne({ _id: checkpointId });
    if (checkpoint && !checkpoint.done) {
      after = checkpoint.lastGoId;
      carried = checkpoint.skipped;
    }
  }
  const resumedAfter = after;
  const activity = options.since && [{ lastActivity: { $gte: options.since } }, { ts: { $gte: options.since } }];
  const since = activity ? { $or: activity } : {};
  // Sharing a session leaves its lastActivity as it was, so a catch-up also reads the shared ones, for a link
  // added or changed since; importOne passes over those it never imported.
  const sinceOrShared = activity ? { $or: [...activity, { shareToken: { $type: 'string' } }] } : {};

  try {
    // Sessions are read in _id order (strings: the Go service's ids); any other _id cannot be imported.
    for (const odd of await goSessions
      .find({ ...since, _id: { $not: { $type: 'string' } } }, { projection: { _id: 1 } })
      .toArray()) {
      counts.sessions.read++;
      counts.sessions.skipped++;
      oddIds++;
      report({ goSessionId: String(odd._id), reason: '_id is not a string' });
    }
    const saveCheckpoint = async (lastGoId: string) => {
      after = lastGoId;
      if (options.dryRun) return;
      const now = new Date();
      await target.checkpoints.updateOne(
        { _id: checkpointId },
        {
          $set: {
            source: sourceName,
            since: options.since ?? null,
            lastGoId,
            skipped: {
              sessions: carried.sessions + counts.sessions.skipped - oddIds,
              messages: carried.messages + counts.messages.skipped,
            },
            done: false,
            updatedAt: now,
          },
          $setOnInsert: { startedAt: now },
        },
        { upsert: true },
      );
      output.out(JSON.stringify({ progress: { after, sessions: counts.sessions.read } }));
    };
    // One cursor, a few documents per round trip (a Go session embeds all its messages, so thousands of them
    // at once can be a lot of memory); the checkpoint moves every --batch sessions.
    const cursor = goSessions
      .find({ ...sinceOrShared, _id: after === null ? { $gte: '' } : { $gt: after } })
      .sort({ _id: 1 })
      .batchSize(READ_BATCH);
    try {
      let unsaved: string | null = null;
      let inBatch = 0;
      for await (const doc of cursor) {
        await importOne(doc, context, target, options, counts, report);
        unsaved = doc._id;
        if (++inBatch === options.batch) {
          await saveCheckpoint(unsaved);
          [unsaved, inBatch] = [null, 0];
        }
      }
      if (unsaved !== null) await saveCheckpoint(unsaved);
    } finally {
      await cursor.close();
    }
    if (!options.dryRun) {
      await target.checkpoints.updateOne({ _id: checkpointId }, { $set: { done: true, updatedAt: new Date() } });
    }
  } catch (error) {
    output.err(
      `The import stopped: ${(error as Error).message}. ` +
        (after === null ? 'Run it again.' : `Run it again to continue after Go session ${after}.`),
    );
    return 2;
  }
  const skippedInAll = {
    sessions: carried.sessions + counts.sessions.skipped,
    messages: carried.messages + counts.messages.skipped,
  };
  output.out(
    JSON.stringify({
      done: true,
      dryRun: options.dryRun,
      resumedAfter,
      ...counts,
      skippedInAll,
      durationMs: Date.now() - started,
    }),
  );
  return skippedInAll.sessions + skippedInAll.messages > 0 ? 1 : 0;
}

/**
 * Whether a session the ledger holds is left as it is: always when it is no longer in Chatbox (erased), else
 * when the Go document has no message, no activity and no share token the import has not seen. A session
 * still in use in the Go service (a catch-up with --since) gets its new messages and a share link added or
 * changed since, but not again a share link it had.
 */
async function previousImport(
  doc: GoSessionDoc,
  target: Target,
): Promise<{ leave: boolean; entry: LedgerEntry | null }> {
  const entry = await target.ledger.findOne({ _id: doc._id });
  if (!entry) return { leave: false, entry };
  const kept = await target.sessions.findOne({ _id: entry.sessionId }, { projection: { _id: 1 } });
  const goMessages = Array.isArray(doc.msgs) ? doc.msgs.length : 0;
  const lastActivity = doc.lastActivity instanceof Date ? doc.lastActivity.getTime() : null;
  const shareTokenHash = typeof doc.shareToken === 'string' && doc.shareToken ? hashShareToken(doc.shareToken) : null;
  const unchanged =
    goMessages <= entry.goMessages &&
    lastActivity === (entry.goLastActivity?.getTime() ?? null) &&
    shareTokenHash === entry.shareTokenHash;
  return { leave: !kept || unchanged, entry };
}

const activeSince = (doc: GoSessionDoc, since: Date) =>
  [doc.lastActivity, doc.ts].some((at) => at instanceof Date && at.getTime() >= since.getTime());

async function importOne(
  doc: GoSessionDoc,
  context: ConversionContext,
  target: Target,
  options: GoImportOptions,
  counts: Counts,
  report: (problem: GoImportProblem) => void,
): Promise<void> {
  const previous = options.reimport ? { leave: false, entry: null } : await previousImport(doc, target);
  // Read by a catch-up for its share link alone (no activity since --since): only one imported before counts.
  if (options.since && !activeSince(doc, options.since) && !previous.entry) return;
  const messages = Array.isArray(doc.msgs) ? doc.msgs.length : 0;
  counts.sessions.read++;
  counts.messages.read += messages;
  if (previous.leave) {
    counts.sessions.previouslyImported++;
    return;
  }
  // A session left out leaves out its messages.
  const skip = (problem: GoImportProblem) => {
    counts.sessions.skipped++;
    counts.messages.skipped += messages;
    report(problem);
  };
  const conversion = convertGoSession(doc, context);
  if (!conversion.ok) return skip(conversion.problem);
  const { converted } = conversion;
  if (!options.dryRun) {
    const shareTokenHash = converted.share?.tokenHash ?? null;
    const withShare = !previous.entry || previous.entry.shareTokenHash !== shareTokenHash;
    // Both writes are idempotent, so a transient failure is retried, and one that persists stops the run
    // before the checkpoint passes this session. A refusal no retry gets past (a unique key another
    // document holds, a validation rule) leaves this session out, and the run goes on.
    let written: Awaited<ReturnType<typeof writeSession>>;
    try {
      written = await withDbRetry(
        async () => {
          const result = await writeSession(target, converted, withShare);
          const now = new Date();
          await target.ledger.updateOne(
            { _id: doc._id },
            {
              $set: {
                sessionId: converted.session._id,
                goMessages: messages,
                goLastActivity: doc.lastActivity instanceof Date ? doc.lastActivity : null,
                shareTokenHash,
                updatedAt: now,
              },
              $setOnInsert: { importedAt: now },
            },
            { upsert: true },
          );
          return result;
        },
        { deadline: Date.now() + WRITE_RETRY_MS },
      );
    } catch (error) {
      const refused = refusalReason(error);
      if (!refused) {
        throw new Error(`writing Go session ${doc._id} failed (${(error as Error).message})`, { cause: error });
      }
      await withDbRetry(() => removeOrphans(target, converted.session._id), {
        deadline: Date.now() + WRITE_RETRY_MS,
      }).catch((cleanup: unknown) => {
        throw new Error(`removing what was written of Go session ${doc._id} failed (${(cleanup as Error).message})`, {
          cause: cleanup,
        });
      });
      return skip({ goSessionId: doc._id, reason: refused });
    }
    counts.sessions.created += written.created ? 1 : 0;
    counts.messages.created += written.messagesCreated;
    counts.shares.created += written.sharesCreated;
  }
  counts.sessions.imported++;
  counts.messages.imported += converted.messages.length;
  counts.messages.skipped += converted.problems.length;
  counts.shares.imported += converted.share ? 1 : 0;
  converted.problems.forEach(report);
}

if (require.main === module) {
  void runGoImport(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => (process.exitCode = code));
}
