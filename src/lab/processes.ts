// Finding and stopping the lab's own processes by PID (never by name across the machine).
import { access, readdir, readFile } from 'node:fs/promises';

export interface ProcessInfo {
  pid: number;
  argv: string[];
}

/** Pure: argv from a /proc/PID/cmdline text (NUL-separated). */
export function parseCmdline(text: string): string[] {
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

export async function processArgv(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  // Zombies and kernel threads have an empty cmdline: they count as gone.
  return text ? parseCmdline(text) : undefined;
}

export async function listProcesses(): Promise<ProcessInfo[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const found: ProcessInfo[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await processArgv(Number(entry));
    if (argv) found.push({ pid: Number(entry), argv });
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Stops a process we started, if `pid` still runs a command that `isOurs` recognises (a PID
 * can be reused). SIGTERM first when `graceMs` > 0, then SIGKILL; resolves once it is gone.
 */
export async function stopProcess(
  pid: number,
  isOurs: (argv: string[]) => boolean,
  graceMs = 0,
): Promise<boolean> {
  const argv = await processArgv(pid);
  if (!argv || !isOurs(argv)) return false;
  if (graceMs > 0) {
    signal(pid, 'SIGTERM');
    for (let waited = 0; waited < graceMs; waited += 50) {
      if (!(await processArgv(pid))) return true;
      await sleep(50);
    }
  }
  signal(pid, 'SIGKILL');
  for (let waited = 0; waited < 5000; waited += 20) {
    if (!(await processArgv(pid))) return true;
    await sleep(20);
  }
  return true;
}

export function killPid(pid: number): void {
  signal(pid, 'SIGKILL');
}

/**
 * Waits (bounded) until killed processes are reaped, not just dead: their parent is then
 * PID 1, which may take a moment, and until then `ps` still lists them as zombies.
 */
export async function waitReaped(pids: readonly number[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = [...pids];
  while (left.length && Date.now() < deadline) {
    left = (await Promise.all(left.map(async (pid) => ((await access(`/proc/${pid}`).then(() => true, () => false)) ? pid : 0)))).filter(Boolean);
    if (left.length) await sleep(50);
  }
}
