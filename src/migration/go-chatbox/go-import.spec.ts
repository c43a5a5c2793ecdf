import { mongo } from 'mongoose';
import { refusalReason } from './go-import';

const serverError = (code: number, errmsg: string, errorLabels: string[] = []) =>
  new mongo.MongoServerError({ code, errmsg, errorLabels });

describe(refusalReason.name, () => {
  it.each([
    [
      'a unique key another document holds',
      serverError(11000, 'E11000 duplicate key error collection: chatbox.chat_sessions'),
      'the database refused its write (code 11000): E11000 duplicate key error collection: chatbox.chat_sessions',
    ],
    [
      'a validation rule',
      serverError(121, 'Document failed validation'),
      'the database refused its write (code 121): Document failed validation',
    ],
    [
      "the driver's document size limit",
      new mongo.MongoInvalidArgumentError('Document is larger than the maximum size 16777216'),
      'the database refused its write: Document is larger than the maximum size 16777216',
    ],
  ])('reports %s: its code, when it has one, and its message', (_what, error, reason) => {
    expect(refusalReason(error)).toBe(reason);
  });

  it.each([
    ['a lost connection', new mongo.MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017')],
    ['an election', serverError(10107, 'not primary')],
    ['a write the server labels retryable', serverError(64, 'waiting for replication', ['RetryableWriteError'])],
    ['an error of the import itself', new TypeError("Cannot read properties of undefined (reading '_id')")],
  ])('returns nothing for %s, which stops the run instead', (_what, error) => {
    expect(refusalReason(error)).toBeUndefined();
  });
});
