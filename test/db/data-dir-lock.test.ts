// PGlite's data directory belongs to one process; the pid file says which, and a dead owner's
// (exited, or killed and left a zombie by a parent that never reaps) is taken over.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, openDatabase } from '../../src/db/database';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function dataDirOwnedBy(pid: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hookgate-lock-'));
  dirs.push(dir);
  await writeFile(path.join(dir, 'hookgate.pid'), String(pid));
  return dir;
}

async function processState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('the PGlite data directory lock', { timeout: 60_000 }, () => {
  it('refuses a directory whose owner is running', async () => {
    const owner = spawn('sleep', ['30']);
    try {
      const dir = await dataDirOwnedBy(owner.pid!);
      await expect(openDatabase({ kind: 'pglite', dataDir: dir })).rejects.toBeInstanceOf(DataDirInUseError);
    } finally {
      owner.kill('SIGKILL');
    }
  });

  it('takes over from an owner that exited', async () => {
    const owner = spawn('true');
    await new Promise((resolve) => owner.once('exit', resolve));
    const db = await openDatabase({ kind: 'pglite', dataDir: await dataDirOwnedBy(owner.pid!) });
    await db.close();
  });

  it('takes over from an owner that was killed and never reaped (a zombie)', async () => {
    // `sleep 0` exits at once; its parent becomes `sleep 30`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30']);
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
      while ((await processState(zombie)) !== 'Z') await new Promise((resolve) => setTimeout(resolve, 20));
      const dir = await dataDirOwnedBy(zombie);
      const db = await openDatabase({ kind: 'pglite', dataDir: dir });
      expect(await readFile(path.join(dir, 'hookgate.pid'), 'utf8')).toBe(String(process.pid));
      await db.close();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
