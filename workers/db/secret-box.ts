/**
 * @module TSIG secrets at rest: AES-256-GCM under the Worker secret `TSIG_ENCRYPTION_KEY` (32 bytes,
 * base64), so a D1 dump does not reveal them. The stored form is a 12-byte random IV followed by the
 * ciphertext and its 16-byte tag. The key name is bound as additional authenticated data, so a ciphertext
 * copied onto another key's row fails to open instead of handing out the wrong secret.
 */

export type SecretBoxErrorCode = "missing-key" | "bad-key" | "bad-ciphertext";

/** A configuration fault or a ciphertext that does not open. Never carries the secret. */
export class SecretBoxError extends Error {
  override readonly name = "SecretBoxError";
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const encoder = new TextEncoder();

export class SecretBox {
  private constructor(private readonly key: CryptoKey) {}

  /** @throws SecretBoxError when the key is unset or is not 32 bytes of base64. */
  static async fromBase64(keyBase64: string | undefined): Promise<SecretBox> {
    if (!keyBase64) throw new SecretBoxError("missing-key", "TSIG_ENCRYPTION_KEY is not set");
    let raw: Uint8Array;
    try {
      raw = Uint8Array.from(atob(keyBase64.trim()), (c) => c.charCodeAt(0));
    } catch {
      throw new SecretBoxError("bad-key", "TSIG_ENCRYPTION_KEY is not base64");
    }
    if (raw.length !== 32) {
      throw new SecretBoxError("bad-key", `TSIG_ENCRYPTION_KEY must be 32 bytes, got ${raw.length}`);
    }
    const key = await crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    return new SecretBox(key);
  }

  async seal(secret: Uint8Array, keyName: string): Promise<Uint8Array> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_LENGTH));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(keyName), tagLength: TAG_LENGTH * 8 },
      this.key,
      secret,
    );
    const out = new Uint8Array(IV_LENGTH + sealed.byteLength);
    out.set(iv, 0);
    out.set(new Uint8Array(sealed), IV_LENGTH);
    return out;
  }

  /** @throws SecretBoxError("bad-ciphertext") for a tampered, truncated or misplaced ciphertext. */
  async open(sealed: Uint8Array, keyName: string): Promise<Uint8Array> {
    if (sealed.length < IV_LENGTH + TAG_LENGTH) {
      throw new SecretBoxError("bad-ciphertext", "stored secret is too short");
    }
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: sealed.subarray(0, IV_LENGTH), additionalData: encoder.encode(keyName), tagLength: TAG_LENGTH * 8 },
        this.key,
        sealed.subarray(IV_LENGTH),
      );
      return new Uint8Array(plain);
    } catch {
      throw new SecretBoxError("bad-ciphertext", `stored secret of key ${keyName} does not decrypt (wrong TSIG_ENCRYPTION_KEY?)`);
    }
  }
}
