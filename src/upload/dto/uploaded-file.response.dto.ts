import { ApiProperty } from '@nestjs/swagger';

export class UploadedFileResponseDto {
  @ApiProperty({ format: 'uuid' }) fileId!: string;
  @ApiProperty({ description: 'The name given, sanitised, with the extension of the type found in the content' })
  name!: string;
  @ApiProperty({ description: 'The media type read from the content (magic bytes), never from the name' })
  type!: string;
  @ApiProperty({ description: 'Bytes' }) size!: number;
}
