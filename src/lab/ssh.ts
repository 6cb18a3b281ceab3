// `tandem lab ssh HOST [CMD...]`: the system ssh client, pinned to the lab's key and known_hosts.
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { sshArgv } from './commands.ts';
import { findHost, type LabConfig } from './config.ts';
import { LabError } from './errors.ts';
import { childEnv } from './exec.ts';
import { readState } from './state.ts';

/** The argv that reaches a lab host (its own or an extra host that `lab up --hosts N` made). */
export async function labSshArgv(config: LabConfig, name: string, command: readonly string[], tty = false): Promise<string[]> {
  const state = await readState(config);
  const recorded = state.hosts[name];
  const host = recorded ? { name, address: recorded.address } : findHost(config, name);
  if (!(await access(config.keyPath).then(() => true, () => false))) {
    throw new LabError(`the lab SSH key ${config.keyPath} does not exist`, { hint: 'run `tandem lab up` first' });
  }
  return sshArgv(
    { keyPath: config.keyPath, knownHostsPath: config.knownHostsPath, user: config.sshUser, address: host.address },
    command,
    { tty },
  );
}

/** Runs ssh attached to this terminal; resolves with its exit code (255 is ssh's own failure). */
export function runAttached(argv: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: childEnv() });
    child.on('error', (cause) => reject(new LabError(`cannot run ${argv[0]}: ${cause.message}`, { hint: 'install openssh-client', cause })));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
