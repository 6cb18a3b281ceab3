// One lab command at a time per state folder: a lock file holding the owner's PID.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LabConfig } from './config.ts';
import { LabError } from './errors.ts';
import type { Progress } from './events.ts';
import { paths } from './layout.ts';
import { processArgv, sleep } from './processes.ts';

export type Release = () => Promise<void>;

export async function acquireLock(config: LabConfig, progress: Progress, waitMs = 600_000): Promise<Release> {
  return acquireLockFile(paths.lockFile(config), 'tandem lab command', progress, waitMs);
}

/** An exclusive lock file holding our PID; a lock whose owner died is taken over. */
export async function acquireLockFile(file: string, what: string, progress: Progress, waitMs: number): Promise<Release> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
        if (owner === process.pid) await rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (!owner || owner === process.pid || !(await processArgv(owner))) {
      await rm(file, { force: true }); // left by a command that died
      continue;
    }
    if (Date.now() > deadline) {
      throw new LabError(`another ${what} (PID ${owner}) still holds ${file}`, {
        hint: 'wait for it to finish, or stop it',
      });
    }
    if (!told) {
      progress({ type: 'info', message: `waiting for another ${what} (PID ${owner}) to finish` });
      told = true;
    }
    await sleep(250);
  }
}

export async function withLock<T>(config: LabConfig, progress: Progress, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(config, progress);
  try {
    return await fn();
  } finally {
    await release();
  }
}
