// Hookgate as a child process (`tsx src/main.ts`), for crash and multi-process tests.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export interface HookgateProcess {
  child: ChildProcess;
  /**
   * Signals the whole process group: `tsx` runs the app in a child node process, and a SIGKILL to
   * the wrapper alone would leave the app running.
   */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process logged that it listens. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  output: () => string;
}

export function spawnHookgate(env: Record<string, string>): HookgateProcess {
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/main.ts'], {
    cwd: root,
    // Only what the test says: no DATABASE_URL or other setting leaks in from the test's own env.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Hookgate listening on')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`hookgate exited (${code}) before listening:\n${output.slice(-2000)}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return { child, kill, ready, exited, output: () => output };
}

/**
 * `promise`, or an error after `ms` naming what was awaited with the tail of the process's output:
 * a child that hangs fails its test with the reason instead of a bare test timeout.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string, process: HookgateProcess): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms; output:\n${process.output().slice(-3000)}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
