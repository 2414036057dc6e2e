import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../src/config';

describe('config', () => {
  it('has defaults for everything', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(4000);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.DATA_DIR).toBe('./data');
    expect(config.HOOKGATE_ALLOW_LOCAL_REQUESTS).toBe(false);
    expect(config.HOOKGATE_DELIVERY_TIMEOUT).toBe(10_000);
    expect(config.HOOKGATE_RETRY_SCHEDULE).toEqual([5_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000]);
  });

  it('parses durations and lists of them', () => {
    expect(parseDuration('200ms')).toBe(200);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(loadConfig({ HOOKGATE_RETRY_SCHEDULE: '200ms,500ms,1s' }).HOOKGATE_RETRY_SCHEDULE).toEqual([200, 500, 1000]);
  });

  it.each([
    ['PORT', 'abc', /^Invalid PORT: expected a port number/],
    ['PORT', '70000', /^Invalid PORT: /],
    ['DATABASE_URL', 'mysql://x', /^Invalid DATABASE_URL: expected memory:\/\/ or a postgres/],
    ['HOOKGATE_ALLOW_LOCAL_REQUESTS', 'maybe', /^Invalid HOOKGATE_ALLOW_LOCAL_REQUESTS: expected true or false/],
    ['HOOKGATE_RETRY_SCHEDULE', '5s,later', /^Invalid HOOKGATE_RETRY_SCHEDULE: /],
    ['HOOKGATE_RETENTION_INTERVAL', '100ms', /^Invalid HOOKGATE_RETENTION_INTERVAL: expected a duration of at least 1s/],
    ['HOOKGATE_RETENTION_BATCH_SIZE', '0', /^Invalid HOOKGATE_RETENTION_BATCH_SIZE: expected a whole number from 1 to 100000/],
    ['LOG_LEVEL', 'loud', /^Invalid LOG_LEVEL: expected one of/],
  ])('rejects %s=%s with one line naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('never echoes a secret back', () => {
    expect(() => loadConfig({ HOOKGATE_ADMIN_TOKEN: 'short' })).toThrow(/^Invalid HOOKGATE_ADMIN_TOKEN: [^"]*$/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).PORT).toBe(4000);
  });
});
