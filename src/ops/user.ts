// A system user for a service: no login shell, no password.
import { userFact, type UserState } from '../facts/user.ts';
import type { Change, Op } from '../engine/types.ts';

export interface UserArgs {
  name: string;
  home: string;
}

export function planUser(args: UserArgs, have: UserState): Change | null {
  if (have.exists) return null;
  return {
    summary: `create system user ${args.name}`,
    commands: [
      { kind: 'exec', argv: ['useradd', '--system', '--user-group', '--home-dir', args.home, '--no-create-home', '--shell', '/usr/sbin/nologin', args.name] },
    ],
    invalidates: [userFact(args.name).id],
  };
}

export function user(args: UserArgs): Op {
  const fact = userFact(args.name);
  return { id: `user ${args.name}`, facts: [fact], plan: (f) => planUser(args, f.get(fact)) };
}
