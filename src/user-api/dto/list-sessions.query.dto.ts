import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class SessionsQueryDto {
  @IsOptional() @Type(() => Number) @Min(1) @Max(100) @IsInt() limit = 20;
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}
