import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EnvVars } from './env.schema';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';

describe('configuration documentation', () => {
  const variables = getMetadataStorage()
    .getTargetValidationMetadatas(EnvVars, '', true, false)
    .map((m) => m.propertyName);
  const root = path.resolve(__dirname, '..', '..');

  it('lists every variable of the schema in .env.example and in the README', () => {
    expect(variables.length).toBeGreaterThan(30);
    const example = readFileSync(path.join(root, '.env.example'), 'utf8');
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(variables.filter((v) => !new RegExp(`^${v}=`, 'm').test(example))).toEqual([]);
    expect(variables.filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
  });

  it('gives .env.example the same defaults as the schema', () => {
    const defaults = plainToInstance(EnvVars, {}, { exposeDefaultValues: true }) as unknown as Record<string, unknown>;
    const example = readFileSync(path.join(root, '.env.example'), 'utf8');
    for (const [name, value] of Object.entries(defaults).filter(([, v]) => v !== undefined)) {
      expect({ name, line: new RegExp(`^${name}=(.*)$`, 'm').exec(example)?.[1] }).toEqual({
        name,
        line: String(value),
      });
    }
  });
});
