import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { OptionalField } from '../../common/validation/optional-field.decorator';

export class CreateShareDto {
  /** Omitted: the link lasts until revoked. */
  @ApiPropertyOptional({ minimum: 60, maximum: 31536000, description: 'Omitted: the link lasts until revoked.' })
  @OptionalField()
  @IsInt()
  @Min(60)
  @Max(31536000)
  expiresInSeconds?: number;
}
