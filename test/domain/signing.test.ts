// The signing and custom-header rules on their own (no database): key parsing and generation,
// which secret signs, rotation, and the header rule set.
import { describe, expect, it } from 'vitest';
import { customHeaderKeyIssue, customHeaderValueIssue, planCustomHeaders } from '../../src/domain/custom-headers';
import {
  applySigningInput,
  generateEd25519Secret,
  generateHmacSecret,
  isGitlabSigningToken,
  parseEd25519Secret,
  rotate,
  signingPublicKey,
  signingSecrets,
} from '../../src/domain/signing';

const seed = Buffer.alloc(32, 42);

describe('signing rules', () => {
  it('parses whsk_ seeds and seed+public keys, and refuses anything else', () => {
    const fromSeed = parseEd25519Secret(`whsk_${seed.toString('base64')}`);
    expect(fromSeed?.publicKey).toMatch(/^whpk_/);
    const pub = Buffer.from(fromSeed!.publicKey.slice(5), 'base64');
    expect(parseEd25519Secret(`whsk_${Buffer.concat([seed, pub]).toString('base64')}`)?.publicKey).toBe(fromSeed!.publicKey);
    expect(parseEd25519Secret(`whsk_${Buffer.concat([seed, Buffer.alloc(32)]).toString('base64')}`)).toBeNull();
    for (const bad of [
      'whsk_',
      'whsk_%%%',
      `whsk_${Buffer.alloc(31).toString('base64')}`,
      `whsk_${Buffer.alloc(48).toString('base64')}`,
      `whsec_${seed.toString('base64')}`,
    ]) {
      expect(parseEd25519Secret(bad), bad).toBeNull();
    }
    const generated = generateEd25519Secret();
    expect(Buffer.from(generated.slice(5), 'base64')).toHaveLength(64);
    expect(parseEd25519Secret(generated)).not.toBeNull();
    expect(isGitlabSigningToken(generateHmacSecret())).toBe(true);
    expect(isGitlabSigningToken(`whsec_${Buffer.alloc(31).toString('base64')}`)).toBe(false);
  });

  it('a system hook signs with its signing token when it has one, else its token; the old secret only during the grace', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const base = { kind: 'SYSTEM' as const, secret: 'token', signingToken: null, previousSecret: null, previousSecretExpiresAt: null };
    expect(signingSecrets(base, now)).toEqual(['token']);
    expect(signingSecrets({ ...base, signingToken: 'whsec_x' }, now)).toEqual(['whsec_x']);
    const rotating = { ...base, previousSecret: 'old', previousSecretExpiresAt: new Date(now.getTime() + 1) };
    expect(signingSecrets(rotating, now)).toEqual(['token', 'old']);
    expect(signingSecrets(rotating, new Date(now.getTime() + 1))).toEqual(['token']);
    expect(signingPublicKey({ kind: 'SUBJECT', secret: `whsk_${seed.toString('base64')}`, signingToken: null })).toMatch(/^whpk_/);
    expect(signingPublicKey(base)).toBeNull();
  });

  it('rotation keeps the old secret for the grace period and generates in the current scheme', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const hook = {
      kind: 'SUBJECT' as const,
      secret: `whsk_${seed.toString('base64')}`,
      signingToken: null,
      previousSecret: null,
      previousSecretExpiresAt: null,
    };
    const result = rotate(hook, {}, now);
    expect(result.issues).toEqual([]);
    expect(result.secret).toMatch(/^whsk_/);
    expect(result.changes).toMatchObject({
      secret: result.secret,
      previousSecret: hook.secret,
      previousSecretExpiresAt: new Date(now.getTime() + 24 * 3_600_000),
    });
    expect(rotate(hook, { graceHours: 0 }, now).changes).toMatchObject({ previousSecret: null, previousSecretExpiresAt: null });
    expect(rotate({ ...hook, secret: 'plain' }, {}, now).secret).toMatch(/^whsec_/);
    expect(rotate(hook, { graceHours: 169 }, now).issues).toEqual([{ field: 'graceHours', message: 'must be between 0 and 168' }]);
    // A system hook with a signing token rotates the signing token, never the token.
    const system = { ...hook, kind: 'SYSTEM' as const, secret: 'token', signingToken: generateHmacSecret() };
    expect(rotate(system, {}, now).changes).toMatchObject({ signingToken: expect.stringMatching(/^whsec_/), previousSecret: system.signingToken });
    expect(rotate(system, {}, now).changes.secret).toBeUndefined();
  });

  it('setting a secret replaces it at once; schemes must match the secret', () => {
    const current = { secret: 'old', signingToken: null };
    expect(applySigningInput('SUBJECT', current, { secret: 'new' }).changes).toEqual({ secret: 'new', previousSecret: null, previousSecretExpiresAt: null });
    expect(applySigningInput('SUBJECT', current, { signatureScheme: 'ED25519' }).changes.secret).toMatch(/^whsk_/);
    expect(applySigningInput('SUBJECT', current, { signatureScheme: 'HMAC_SHA256' }).issues).toEqual([]);
    expect(applySigningInput('SUBJECT', { secret: generateEd25519Secret(), signingToken: null }, { signatureScheme: 'HMAC_SHA256' }).issues[0]?.field).toBe(
      'signatureScheme',
    );
    expect(applySigningInput('SYSTEM', current, { signatureScheme: 'ED25519' }).changes).toMatchObject({ signingToken: expect.stringMatching(/^whsk_/) });
    expect(applySigningInput('SYSTEM', current, { secret: generateEd25519Secret() }).issues).toEqual([
      { field: 'secret', message: 'must not be a signing key' },
    ]);
  });
});

describe('custom header rules', () => {
  it('keys are HTTP tokens that Hookgate does not set; values printable ASCII, 1 to 2,048', () => {
    expect(customHeaderKeyIssue('X-Team')).toBeNull();
    for (const key of ['', 'a b', 'a:b', 'x'.repeat(65), 'HOST', 'Webhook-Id', 'X-GITLAB-TOKEN', 'x-hookgate-event'])
      expect(customHeaderKeyIssue(key), key).not.toBeNull();
    expect(customHeaderValueIssue('x'.repeat(2048))).toBeNull();
    for (const value of ['', 'x'.repeat(2049), 'é', '\r\n']) expect(customHeaderValueIssue(value), value).not.toBeNull();
  });

  it('merges by key case-insensitively, keeping the stored spelling, and counts to 20', () => {
    const { writes, issues } = planCustomHeaders(
      ['X-A'],
      [
        { key: 'x-a', value: '1' },
        { key: 'X-B', value: '2' },
        { key: 'x-b', value: '3' },
      ],
    );
    expect(issues).toEqual([]);
    expect(writes).toEqual([
      { key: 'X-A', value: '1' },
      { key: 'X-B', value: '3' },
    ]);
    const full = Array.from({ length: 20 }, (_, index) => `X-${index}`);
    expect(planCustomHeaders(full, [{ key: 'x-0', value: 'v' }]).issues).toEqual([]);
    expect(planCustomHeaders(full, [{ key: 'X-New', value: 'v' }]).issues).toHaveLength(1);
  });
});
