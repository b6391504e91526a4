/**
 * A Temporal PayloadCodec that encrypts every payload with AES-256-GCM (Node's crypto): a fresh 12-byte IV per
 * payload, the whole payload (metadata and data) inside, the key id outside in clear so that decoding picks the key
 * it was written with. Payloads that are not encrypted (histories from before the codec was on) pass through.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import crypto from 'node:crypto';
import type { CodecKeys } from './key-file';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class CodecKeyError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly keyId?: string,
  ) {
    super(message);
    this.name = 'CodecKeyError';
  }
}

function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? decoder.decode(value) : undefined;
}

export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, 'encoding') === ENCRYPTED_ENCODING;
}

/** The key id is authenticated with the ciphertext: a payload relabelled to another key fails, it does not decode. */
const additionalData = (keyId: string) => Buffer.from(`${CIPHER}:${keyId}`, 'utf8');

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  get currentKeyId(): string {
    return this.keys.currentId;
  }

  get keyFile(): string {
    return this.keys.file;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keys.currentId;
    const key = this.keys.keys.get(keyId)!;
    return payloads.map((payload) => {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(keyId));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: encoder.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: encoder.encode(keyId),
          [CIPHER_METADATA]: encoder.encode(CIPHER),
        },
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private decrypt(payload: Payload): Payload {
    const keyId = metadataText(payload, KEY_ID_METADATA);
    if (!keyId) throw new CodecKeyError(`an encrypted payload has no ${KEY_ID_METADATA} metadata: it was not written by dtf's codec`);
    const cipherName = metadataText(payload, CIPHER_METADATA) ?? CIPHER;
    if (cipherName !== CIPHER) throw new CodecKeyError(`payload encrypted with ${cipherName}; this codec reads ${CIPHER} only`, keyId);
    const key = this.keys.keys.get(keyId);
    if (!key) {
      throw new CodecKeyError(
        `payload encrypted with key id "${keyId}", which the key file ${this.keys.file} does not hold (it holds ${[...this.keys.keys.keys()].join(', ')}); ` +
          'keep retired keys in the file after a rotation',
        keyId,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new CodecKeyError(`encrypted payload under key id "${keyId}" is truncated (${data.length} bytes)`, keyId);
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodecKeyError(
        `payload under key id "${keyId}" does not authenticate: the key named "${keyId}" in ${this.keys.file} is not the one it was written with, or the payload was altered`,
        keyId,
      );
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}
