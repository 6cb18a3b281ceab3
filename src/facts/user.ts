// Facts about system users.
import { shellQuote } from '../ssh/shell.ts';
import type { Fact } from '../engine/types.ts';

export interface UserState {
  exists: boolean;
  home?: string;
  shell?: string;
}

export function parseUser(stdout: string, exitCode: number): UserState {
  if (exitCode !== 0 || !stdout.trim()) return { exists: false };
  const f = stdout.trim().split(':');
  return { exists: true, home: f[5], shell: f[6] };
}

export function userFact(name: string): Fact<UserState> {
  return { id: `user:${name}`, script: `getent passwd ${shellQuote(name)}`, parse: parseUser };
}
