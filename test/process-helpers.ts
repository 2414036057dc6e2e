// Runs Hookgate as `npm start` does (tsx src/main.ts) in a child process, for end-to-end tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

export interface HookgateProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Spawns Hookgate with only the given variables (plus PATH/HOME) and waits for /healthz. */
export async function startHookgate(env: Record<string, string>, timeoutMs = 90_000): Promise<HookgateProcess> {
  const port = env.PORT ?? String(await freePort());
  const child = spawnHookgate({ LOG_LEVEL: 'warn', ...env, PORT: port });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Hookgate exited with ${child.exitCode}:\n${output}`);
    const healthy = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) {
      return {
        child,
        url,
        output: () => output,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode !== null) return child.exitCode;
          child.kill(signal);
          const [code] = (await once(child, 'exit')) as [number | null];
          return code;
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`Hookgate did not answer /healthz within ${timeoutMs} ms:\n${output}`);
}

export function spawnHookgate(env: Record<string, string>): ChildProcess {
  return spawn(tsx, [path.join(root, 'src/main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs Hookgate expecting it to exit by itself; resolves with its exit code and output. */
export async function runHookgateToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawnHookgate(env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
