import { ValidateIf } from 'class-validator';

/** Optional means absent: unlike @IsOptional(), a null value is still validated (and refused). */
export const OptionalField = () => ValidateIf((_object, value) => value !== undefined);
