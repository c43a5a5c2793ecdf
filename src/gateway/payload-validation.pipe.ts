import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { AppError } from '../common/errors/app-error';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function hasForbiddenKey(value: unknown, depth = 0): boolean {
  if (depth > 8 || value === null || typeof value !== 'object') return depth > 8;
  return Object.keys(value).some(
    (key) => FORBIDDEN_KEYS.has(key) || hasForbiddenKey((value as Record<string, unknown>)[key], depth + 1),
  );
}

/**
 * Socket payloads: an object of exactly the declared fields and types, or `invalid_payload`.
 * Prototype keys are refused before class-transformer could assign them.
 */
@Injectable()
export class PayloadValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const type = metadata.metatype;
    if (metadata.type !== 'body' || !type || type === Object) return value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new AppError('invalid_payload', 'The payload must be an object');
    }
    if (hasForbiddenKey(value)) throw new AppError('invalid_payload', 'The payload has a forbidden key');
    // Checked on the raw object: class-transformer silently drops keys such as `valueOf`.
    const declared = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(type, '', true, false)
        .map((m) => m.propertyName),
    );
    const unknown = Object.keys(value).filter((key) => !declared.has(key));
    if (unknown.length > 0) throw new AppError('invalid_payload', `Unknown field(s): ${unknown.join(', ')}`);
    const instance = plainToInstance<object, object>(type as new () => object, value);
    const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
    if (errors.length > 0) {
      const messages = errors.flatMap((e) =>
        Object.values(e.constraints ?? { [e.property]: `${e.property} is invalid` }),
      );
      throw new AppError('invalid_payload', messages.join('; '));
    }
    return instance;
  }
}
