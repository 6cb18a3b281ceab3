// Services through systemctl: enabled and running; reload/restart handlers that validate first.
import { serviceFact, type ServiceState } from '../facts/service.ts';
import type { Change, Command, Handler, Op } from '../engine/types.ts';

export interface ServiceArgs {
  name: string;
  enabled?: boolean;
  running?: boolean;
  /** Leave a unit that is not installed alone (for "stopped if present"). */
  onlyIfInstalled?: boolean;
}

export function planService(args: ServiceArgs, have: ServiceState): Change | null {
  const commands: Command[] = [];
  const notes: string[] = [];
  const wantEnabled = args.enabled ?? true;
  const wantRunning = args.running ?? true;
  if (args.onlyIfInstalled && !have.exists) return null;
  if (have.enabled === wantEnabled && have.active === wantRunning) return null;
  if (have.enabled !== wantEnabled) {
    commands.push({ kind: 'exec', argv: ['systemctl', wantEnabled ? 'enable' : 'disable', '--quiet', args.name] });
    notes.push(wantEnabled ? 'enable' : 'disable');
  }
  if (have.active !== wantRunning) {
    commands.push({ kind: 'exec', argv: ['systemctl', wantRunning ? 'start' : 'stop', args.name] });
    notes.push(wantRunning ? 'start' : 'stop');
  }
  return { summary: `${notes.join(' and ')} ${args.name}`, commands, invalidates: [serviceFact(args.name).id] };
}

export function service(args: ServiceArgs): Op {
  const fact = serviceFact(args.name);
  return { id: `service ${args.name}`, facts: [fact], plan: (f) => planService(args, f.get(fact)) };
}

/** Waits (bounded) until something listens on every one of these TCP ports. */
export function listening(ports: number[], timeoutSeconds = 20): Command {
  const shown = ports.map((p) => `:${p}`).join(', ');
  const all = ports.map((p) => `ss -Hltn 'sport = :${p}' | grep -q .`).join(' && ');
  return {
    kind: 'script',
    script: `i=0\nuntil ${all}; do\n  i=$((i + 1))\n  [ "$i" -ge ${timeoutSeconds * 10} ] && { echo "nothing listens on ${shown} ${timeoutSeconds} s after the reload" >&2; exit 1; }\n  sleep 0.1\ndone`,
    describe: `wait until ${shown} listen`,
  };
}

/**
 * A handler that runs `validate` (the service's own config check) before reloading or
 * restarting, then, with `listensOn`, waits until the service listens on those ports again.
 */
export function serviceHandler(
  name: string,
  action: 'reload' | 'restart',
  validate?: string[],
  id = `${action} ${name}`,
  opts: { listensOn?: number[] } = {},
): Handler {
  return {
    id,
    validate: validate ? { kind: 'exec', argv: validate } : undefined,
    // reload-or-restart: a service that is stopped is started, one that runs is reloaded in place.
    action: { kind: 'exec', argv: ['systemctl', action === 'reload' ? 'reload-or-restart' : 'restart', name] },
    ...(opts.listensOn?.length ? { ready: listening(opts.listensOn) } : {}),
    // The unit's state (and every fact that depends on it, such as the database's) must be re-read.
    invalidates: [serviceFact(name).id],
  };
}

/** systemctl daemon-reload after a unit file changes. */
export const daemonReload: Handler = { id: 'systemd daemon-reload', action: { kind: 'exec', argv: ['systemctl', 'daemon-reload'] } };
