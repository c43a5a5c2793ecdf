import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/** The query of a download URL the disk driver signed: every part is covered by the signature. */
export class SignedDownloadQueryDto {
  @ApiProperty({ description: 'Expiry, epoch seconds' }) @Matches(/^\d{1,12}$/) expires!: string;
  @ApiProperty({ description: 'The media type served' }) @IsString() @MaxLength(200) type!: string;
  @ApiProperty({ description: 'The Content-Disposition served' }) @IsString() @MaxLength(1000) disposition!: string;
  @ApiProperty({ description: 'HMAC-SHA256 of the key and the above, base64url' })
  @Matches(/^[A-Za-z0-9_-]{43}$/)
  signature!: string;
}
