import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** A page of a transcript read backwards: the newest messages before `beforeSeq` (from the newest when absent). */
export class MessagesPageQueryDto {
  @IsOptional() @Type(() => Number) @Min(1) @Max(Number.MAX_SAFE_INTEGER) @IsInt() beforeSeq?: number;
  @IsOptional() @Type(() => Number) @Min(1) @Max(200) @IsInt() limit = 200;
}
