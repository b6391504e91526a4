/**
 * Which data converter a dtf process uses: the AES-GCM codec when a key file is given (`--codec-key-file` or
 * $DTF_CODEC_KEY_FILE), else Temporal's default. Clients and workers both get theirs from here (src/config/connection.ts).
 */
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec, ENCRYPTED_ENCODING } from './aes-gcm-codec';
import { CodecKeys, loadKeyFile } from './key-file';

export const CODEC_KEY_FILE_ENV = 'DTF_CODEC_KEY_FILE';

export function codecKeyFileFrom(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return explicit ?? (env[CODEC_KEY_FILE_ENV] || undefined);
}

export function encryptingDataConverter(keys: CodecKeys): DataConverter {
  return {
    payloadCodecs: [new AesGcmCodec(keys)],
    failureConverterPath: require.resolve('./failure-converter'),
  };
}

/** The data converter for a key file, or undefined (Temporal's default) without one. Throws KeyFileError on a bad file. */
export function dataConverterFor(keyFile: string | undefined): DataConverter | undefined {
  return keyFile ? encryptingDataConverter(loadKeyFile(keyFile)) : undefined;
}

/** One line for logs: which key encrypts, from which file (never a key itself). */
export function describeCodec(dataConverter: DataConverter | undefined): string | undefined {
  const codec = dataConverter?.payloadCodecs?.find((c): c is AesGcmCodec => c instanceof AesGcmCodec);
  return codec ? `payloads encrypted with AES-256-GCM, key id "${codec.currentKeyId}" of ${codec.keyFile}` : undefined;
}

/**
 * A clear message for a process that meets encrypted payloads it cannot read: without a key file Temporal's
 * default converter says only "Unknown encoding: binary/encrypted". Undefined for any other error.
 */
export function explainCodecError(err: unknown): string | undefined {
  for (let e = err as { message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth += 1) {
    if (typeof e.message === 'string' && e.message.includes(`Unknown encoding: ${ENCRYPTED_ENCODING}`)) {
      return (
        `these payloads are encrypted (${ENCRYPTED_ENCODING}) and this process has no key: ` +
        `pass --codec-key-file FILE or set ${CODEC_KEY_FILE_ENV} to the fleet's key file`
      );
    }
  }
  return undefined;
}
