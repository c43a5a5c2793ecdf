// Secrets published in tutorials, framework defaults and JWT-cracking word lists, lower-cased.
// Entries shorter than 32 bytes are already refused for length; these are the long ones.
export const WEAK_SECRETS: ReadonlySet<string> = new Set([
  'your-256-bit-secret-your-256-bit-secret',
  'a-string-secret-at-least-256-bits-long',
  'secretsecretsecretsecretsecretsecret',
  'supersecretsupersecretsupersecretsupersecret',
  'this-is-a-very-long-secret-key-for-jwt-tokens',
  'my_super_secret_key_that_is_at_least_32_chars',
  'thisisaverylongsecretkeythatshouldbeatleast32characterslong',
  'dev-jwt-secret-key-for-testing-only-not-for-production',
  'test-secret-key-for-development-only-32chars',
  '0123456789abcdef0123456789abcdef',
  '00000000000000000000000000000000',
  '12345678901234567890123456789012',
  'abcdefghijklmnopqrstuvwxyz123456',
  'qwertyuiopasdfghjklzxcvbnm123456',
]);
