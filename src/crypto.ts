/**
 * The envelope of a stored entry: `header (1) | body`. The header holds the format version in its high
 * nibble and the flags COMPRESSED and ENCRYPTED. The body is the MessagePack bytes, deflated when
 * COMPRESSED, then sealed with AES-256-GCM when ENCRYPTED as `IV (12) | ciphertext | tag (16)`, the header
 * byte and the caller's additional data (the Redis key) authenticated with it. Also parses encryption keys.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { CodecError, ConfigError } from './errors.js';
import { DEFAULTS } from './defaults.js';

const VERSION = 1;
const COMPRESSED = 0b0001;
const ENCRYPTED = 0b0010;
const FLAGS = COMPRESSED | ENCRYPTED;
// deflateRaw at level 1. Measured on MessagePack of LLM-style results (text, logprobs, floats; 2.5-250 KB):
// brotli at quality 1 compresses ~2x faster and ~5-10% smaller, but inflate decodes ~1.5x faster (250 KB:
// ~0.22 ms against ~0.36 ms). Decompression runs on every hit, compression once per miss.
const DEFLATE_OPTIONS = { level: 1 } as const;
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHER_OPTIONS = { authTagLength: TAG_BYTES } as const;
const SEAL_OVERHEAD = 1 + IV_BYTES + TAG_BYTES;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/\-_]{43}=?$/;

/** Wraps MessagePack bytes into stored entries and back; validated settings, no per-call state. */
export class Envelope {
  readonly #threshold: number;
  readonly #key: KeyObject | undefined;
  readonly #maxDecompressed: number;

  /** Validates the settings (ConfigError naming the bad one); `key` (32 bytes) is kept as a KeyObject, never logged. */
  constructor(
    compressThreshold: number,
    key: Buffer | undefined,
    maxDecompressedBytes: number = DEFAULTS.maxDecompressedBytes,
  ) {
    if (typeof compressThreshold !== 'number' || !(compressThreshold >= 0)) {
      throw new ConfigError('compressThreshold', 'must be a number of bytes ≥ 0, or Infinity to disable compression');
    }
    const max = bufferConstants.MAX_LENGTH;
    if (!Number.isSafeInteger(maxDecompressedBytes) || maxDecompressedBytes < 1 || maxDecompressedBytes > max) {
      throw new ConfigError('maxDecompressedBytes', `must be a whole number of bytes from 1 to ${max}`);
    }
    this.#threshold = compressThreshold;
    this.#key = key && createSecretKey(key);
    this.#maxDecompressed = maxDecompressedBytes;
  }

  /** MessagePack bytes → entry: compressed when at or above the threshold and smaller for it, then sealed. */
  wrap(body: Buffer, aad: string | undefined): Buffer {
    let header = VERSION << 4;
    if (body.length >= this.#threshold && body.length <= this.#maxDecompressed) {
      const deflated = deflateRawSync(body, DEFLATE_OPTIONS);
      if (deflated.length < body.length) {
        body = deflated;
        header |= COMPRESSED;
      }
    }
    if (this.#key) return seal(this.#key, header | ENCRYPTED, body, aad);
    const entry = Buffer.allocUnsafe(1 + body.length);
    entry[0] = header;
    body.copy(entry, 1);
    return entry;
  }

  /** Entry → MessagePack bytes (a view when neither compressed nor encrypted); CodecError when invalid. */
  unwrap(bytes: Uint8Array, aad: string | undefined): Buffer {
    if (!(bytes instanceof Uint8Array)) throw new CodecError('infercache: entry is not bytes');
    if (bytes.length < 2) throw new CodecError('infercache: entry is truncated');
    const header = bytes[0]!;
    if (header >> 4 !== VERSION) throw new CodecError(`infercache: unknown entry format version ${header >> 4}`);
    if ((header & 0x0f & ~FLAGS) !== 0) throw new CodecError('infercache: entry has unknown flags');
    // with a key, a plaintext entry is refused: whoever can write to Redis must not be able to inject values
    if (this.#key && !(header & ENCRYPTED)) throw new CodecError('infercache: entry is not encrypted');
    if (!this.#key && header & ENCRYPTED) throw new CodecError('infercache: entry is encrypted but no key is set');
    const entry = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const body = this.#key ? open(this.#key, entry, aad) : entry.subarray(1);
    if (!(header & COMPRESSED)) return body;
    try {
      return inflateRawSync(body, { maxOutputLength: this.#maxDecompressed });
    } catch (cause) {
      throw new CodecError('infercache: entry does not decompress, or inflates beyond maxDecompressedBytes', { cause });
    }
  }
}

/** The bytes authenticated besides the ciphertext: the header byte, then the additional data in UTF-8. */
function additionalData(header: number, aad: string | undefined): Buffer {
  const length = aad ? Buffer.byteLength(aad) : 0;
  const bytes = Buffer.allocUnsafe(1 + length);
  bytes[0] = header;
  if (length > 0) bytes.write(aad!, 1);
  return bytes;
}

/** Encrypts `plaintext` under a fresh random IV and returns the whole entry, header byte first. */
function seal(key: KeyObject, header: number, plaintext: Buffer, aad: string | undefined): Buffer {
  const entry = Buffer.allocUnsafe(SEAL_OVERHEAD + plaintext.length);
  entry[0] = header;
  const iv = randomFillSync(entry, 1, IV_BYTES).subarray(1, 1 + IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, CIPHER_OPTIONS);
  cipher.setAAD(additionalData(header, aad));
  let offset = 1 + IV_BYTES;
  offset += cipher.update(plaintext).copy(entry, offset);
  offset += cipher.final().copy(entry, offset);
  cipher.getAuthTag().copy(entry, offset);
  return entry;
}

/** Authenticates and decrypts a whole entry (header byte first); CodecError when it does not authenticate. */
function open(key: KeyObject, entry: Buffer, aad: string | undefined): Buffer {
  if (entry.length <= SEAL_OVERHEAD) throw new CodecError('infercache: encrypted entry is truncated');
  const decipher = createDecipheriv(ALGORITHM, key, entry.subarray(1, 1 + IV_BYTES), CIPHER_OPTIONS);
  decipher.setAuthTag(entry.subarray(entry.length - TAG_BYTES));
  decipher.setAAD(additionalData(entry[0]!, aad));
  const plaintext = decipher.update(entry.subarray(1 + IV_BYTES, entry.length - TAG_BYTES));
  try {
    decipher.final();
  } catch (cause) {
    throw new CodecError('infercache: entry fails authentication (wrong key, moved to another key, or altered)', {
      cause,
    });
  }
  return plaintext;
}

/**
 * Parses an encryption key given as a 32-byte Buffer, 64 hex chars, or base64/base64url of 32 bytes;
 * anything else throws ConfigError naming `setting` (the key's value is never echoed).
 */
export function parseEncryptionKey(raw: string | Uint8Array, setting: string): Buffer {
  if (raw instanceof Uint8Array) {
    if (raw.length === KEY_BYTES) return Buffer.from(raw);
    throw new ConfigError(setting, `must be ${KEY_BYTES} bytes for AES-256-GCM (got ${raw.length} bytes)`);
  }
  if (typeof raw !== 'string') {
    throw new ConfigError(setting, `must be a Buffer or a string (got ${raw === null ? 'null' : typeof raw})`);
  }
  const text = raw.trim();
  if (HEX_KEY.test(text)) return Buffer.from(text, 'hex');
  if (BASE64_KEY.test(text)) {
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new ConfigError(
    setting,
    `must be ${KEY_BYTES} bytes given as 64 hex characters or base64/base64url (got a string of ${text.length} characters)`,
  );
}
