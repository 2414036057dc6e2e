// What signs a hook's deliveries: Standard Webhooks secrets (`whsec_`, HMAC `v1`) and Ed25519 keys
// (`whsk_`/`whpk_`, `v1a`), GitLab 19's signing token, key generation and rotation with a grace
// period. Keys are parsed and made by node:crypto; nothing here is hand-written cryptography.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import type { HookKind } from '../generated/prisma/enums';
import type { FieldIssue } from './errors';

export type SignatureScheme = 'HMAC_SHA256' | 'ED25519';

export const HMAC_PREFIX = 'whsec_';
export const ED25519_SECRET_PREFIX = 'whsk_';
export const ED25519_PUBLIC_PREFIX = 'whpk_';
export const GRACE_HOURS = { default: 24, max: 168 } as const;

// An Ed25519 seed as PKCS#8 DER is this fixed prefix followed by the 32 seed bytes (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Base64 that decodes to exactly what it says (padding optional), or null. */
function strictBase64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '') ? bytes : null;
}

export interface Ed25519Key {
  privateKey: KeyObject;
  /** `whpk_` + base64 of the 32-byte public key. */
  publicKey: string;
}

// Parsed keys, by secret: a delivery burst signs with the same few keys thousands of times.
const parsedKeys = new Map<string, Ed25519Key | null>();

/** A `whsk_` secret as a key: base64 of the 32-byte seed, or of the seed and its public key. */
export function parseEd25519Secret(secret: string): Ed25519Key | null {
  if (!secret.startsWith(ED25519_SECRET_PREFIX)) return null;
  const known = parsedKeys.get(secret);
  if (known !== undefined) return known;
  const key = decodeEd25519Secret(secret.slice(ED25519_SECRET_PREFIX.length));
  if (parsedKeys.size >= 1000) parsedKeys.clear();
  parsedKeys.set(secret, key);
  return key;
}

function decodeEd25519Secret(encoded: string): Ed25519Key | null {
  const bytes = strictBase64(encoded);
  if (!bytes || (bytes.length !== 32 && bytes.length !== 64)) return null;
  try {
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, bytes.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    const publicBytes = rawPublicKey(privateKey);
    // A 64-byte secret names its public key: one that does not belong to the seed is not a key pair.
    if (bytes.length === 64 && !publicBytes.equals(bytes.subarray(32))) return null;
    return { privateKey, publicKey: ED25519_PUBLIC_PREFIX + publicBytes.toString('base64') };
  } catch {
    return null;
  }
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** A new Ed25519 key pair as a `whsk_` secret (seed and public key, 64 bytes). */
export function generateEd25519Secret(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const bytes = Buffer.concat([Buffer.from(jwk.d ?? '', 'base64url'), Buffer.from(jwk.x ?? '', 'base64url')]);
  return ED25519_SECRET_PREFIX + bytes.toString('base64');
}

/** A new Standard Webhooks HMAC secret: `whsec_` + base64 of 32 random bytes. */
export function generateHmacSecret(): string {
  return HMAC_PREFIX + randomBytes(32).toString('base64');
}

/** GitLab 19's `signing_token` rule: `whsec_` + base64 of exactly 32 bytes. */
export function isGitlabSigningToken(value: string): boolean {
  return value.startsWith(HMAC_PREFIX) && strictBase64(value.slice(HMAC_PREFIX.length))?.length === 32;
}

export function schemeOf(secret: string): SignatureScheme {
  return secret.startsWith(ED25519_SECRET_PREFIX) ? 'ED25519' : 'HMAC_SHA256';
}

/** The signing fields of a hook, as stored. */
export interface SigningState {
  kind: HookKind;
  secret: string | null;
  signingToken: string | null;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

/**
 * The secret that signs a hook's deliveries. A system hook's token travels as `X-Gitlab-Token`
 * and signs only while it has no signing token (GitLab 19).
 */
export function currentSigningSecret(hook: Pick<SigningState, 'kind' | 'secret' | 'signingToken'>): string | null {
  const secret = hook.kind === 'SYSTEM' ? hook.signingToken || hook.secret : hook.secret;
  return secret || null;
}

/** Every secret an attempt at `now` is signed with, newest first: the old one during a rotation's grace. */
export function signingSecrets(hook: SigningState, now: Date): string[] {
  const current = currentSigningSecret(hook);
  if (!current) return [];
  const inGrace = hook.previousSecret && hook.previousSecretExpiresAt && hook.previousSecretExpiresAt.getTime() > now.getTime();
  return inGrace ? [current, hook.previousSecret!] : [current];
}

/** `whpk_…` of the key that signs the hook's deliveries, or null when they are HMAC-signed. */
export function signingPublicKey(hook: Pick<SigningState, 'kind' | 'secret' | 'signingToken'>): string | null {
  const secret = currentSigningSecret(hook);
  return secret ? (parseEd25519Secret(secret)?.publicKey ?? null) : null;
}

export interface SigningInput {
  secret?: string | null;
  signingToken?: string | null;
  signatureScheme?: SignatureScheme;
}

type SigningChanges = Partial<Omit<SigningState, 'kind'>>;

const NOT_A_KEY = `is not a valid Ed25519 key (${ED25519_SECRET_PREFIX} + base64 of a 32-byte seed, or of a 64-byte seed and public key)`;

/**
 * Checks the signing part of a create or update and says what to store. Setting a secret this
 * way replaces it at once (as GitLab does): only `rotate` keeps the old one signing for a while.
 */
export function applySigningInput(
  kind: HookKind,
  current: Pick<SigningState, 'secret' | 'signingToken'>,
  input: SigningInput,
): { changes: SigningChanges; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const changes: SigningChanges = {};
  if (input.secret !== undefined) {
    const secret = input.secret;
    if (secret?.startsWith(ED25519_SECRET_PREFIX)) {
      // A system hook's token is sent to every receiver as X-Gitlab-Token: never a private key.
      if (kind === 'SYSTEM') issues.push({ field: 'secret', message: 'must not be a signing key' });
      else if (!parseEd25519Secret(secret)) issues.push({ field: 'secret', message: NOT_A_KEY });
    }
    changes.secret = secret;
  }
  if (input.signingToken !== undefined) {
    const token = input.signingToken || null;
    if (kind !== 'SYSTEM') {
      if (token) issues.push({ field: 'signingToken', message: 'applies to system hooks only' });
    } else if (token && !isGitlabSigningToken(token) && !parseEd25519Secret(token)) {
      issues.push({ field: 'signingToken', message: 'is invalid' });
    }
    changes.signingToken = token;
  }
  if (input.signatureScheme) {
    // The secret a scheme is about: a system hook signs with its signing token, never its token.
    const field = kind === 'SYSTEM' ? 'signingToken' : 'secret';
    const given = changes[field];
    const stored = current[field];
    if (input.signatureScheme === 'ED25519') {
      if (given === undefined) changes[field] = generateEd25519Secret();
      else if (!given || schemeOf(given) !== 'ED25519')
        issues.push({ field: 'signatureScheme', message: `ED25519 needs a ${ED25519_SECRET_PREFIX} key in ${field} (or none, to generate one)` });
    } else {
      const effective = given === undefined ? stored : given;
      if (effective && schemeOf(effective) !== 'HMAC_SHA256') {
        issues.push({ field: 'signatureScheme', message: `HMAC_SHA256 needs an HMAC secret in ${field} (rotateHookSecret generates one and shows it once)` });
      }
    }
  }
  if (changes.secret !== undefined || changes.signingToken !== undefined) {
    changes.previousSecret = null;
    changes.previousSecretExpiresAt = null;
  }
  return { changes, issues };
}

export interface RotationInput {
  secret?: string | null;
  graceHours?: number | null;
}

/**
 * A rotation: the new secret (generated in the current scheme when none is given) replaces the
 * signing secret, and the old one keeps signing too for `graceHours`. A second rotation within the
 * grace period drops the oldest secret.
 */
export function rotate(current: SigningState, input: RotationInput, now: Date): { changes: SigningChanges; secret: string; issues: FieldIssue[] } {
  const grace = input.graceHours ?? GRACE_HOURS.default;
  const issues: FieldIssue[] = [];
  if (!Number.isFinite(grace) || grace < 0 || grace > GRACE_HOURS.max)
    issues.push({ field: 'graceHours', message: `must be between 0 and ${GRACE_HOURS.max}` });
  const field = current.kind === 'SYSTEM' && current.signingToken ? 'signingToken' : 'secret';
  const old = currentSigningSecret(current);
  const secret = input.secret ?? (old && schemeOf(old) === 'ED25519' ? generateEd25519Secret() : generateHmacSecret());
  if (!secret) issues.push({ field: 'secret', message: "can't be blank" });
  const applied = applySigningInput(current.kind, current, { [field]: secret });
  issues.push(...applied.issues);
  const keepOld = old !== null && old !== secret && grace > 0;
  return {
    secret,
    issues,
    changes: {
      ...applied.changes,
      previousSecret: keepOld ? old : null,
      previousSecretExpiresAt: keepOld ? new Date(now.getTime() + grace * 3_600_000) : null,
    },
  };
}
