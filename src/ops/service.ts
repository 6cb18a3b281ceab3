// Services through systemctl: enabled and running; reload/restart handlers that validate first.
import { serviceFact, type ServiceState } from '../facts/service.ts';
import type { Change, Command, Handler, Op } from '../engine/types.ts';
import { sh } from '../ssh/shell.ts';

export interface ServiceArgs {
  name: string;
  enabled?: boolean;
  running?: boolean;
  /** Leave a unit that is not installed alone (for "stopped if present"). */
  onlyIfInstalled?: boolean;
  /**
   * The service's own config check, run before starting a stopped service: on a fresh host its
   * package left it stopped (src/ops/packages.ts), and this start is its first, so the config
   * is checked before it ever serves, as the handler checks it before a reload.
   */
  validate?: string[];
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
    // A start would use the definition systemd loaded before the unit file changed.
    if (wantRunning && have.needsDaemonReload) commands.push({ kind: 'exec', argv: ['systemctl', 'daemon-reload'] });
    if (wantRunning && args.validate) commands.push({ kind: 'exec', argv: args.validate });
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
 * Reload or restart `name` unless its running process began after every one of `files` last
 * changed (and after systemd loaded its unit file): it read them when it started, so doing it
 * again would only repeat that start. That is the first apply on a fresh host: the service op
 * starts the service once its config is written, and the handler the same files notified
 * finds nothing left to do. Timestamps in microseconds; anything unknown means act.
 */
export function unlessStartedAfter(name: string, verb: 'reload-or-restart' | 'restart', files: string[]): Command {
  return {
    kind: 'script',
    describe: `systemctl ${verb} ${name} (unless it started after ${files.join(', ')} changed)`,
    script: [
      sh`if systemctl is-active --quiet ${name} && [ "$(systemctl show -P NeedDaemonReload ${name})" = no ]; then`,
      sh`  began=$(systemctl show -P InactiveExitTimestamp --timestamp=us+utc ${name})`,
      '  began=$([ -n "$began" ] && date -d "$began" +%s%6N)',
      sh`  newest=$(stat -c %.6Y -- ${files} | tr -d . | sort -n | tail -n 1) || newest=`,
      '  if [ -n "$began" ] && [ -n "$newest" ] && [ "$began" -gt "$newest" ]; then',
      sh`    echo ${`${name} started after its config last changed: nothing to ${verb}`}`,
      '    exit 0',
      '  fi',
      'fi',
      sh`exec systemctl ${verb} ${name}`,
    ].join('\n'),
  };
}

/**
 * A handler that runs `validate` (the service's own config check) before reloading or
 * restarting, then, with `listensOn`, waits until the service listens on those ports again.
 * With `configFiles`, a service that started after they last changed is left alone
 * (unlessStartedAfter).
 */
export function serviceHandler(
  name: string,
  action: 'reload' | 'restart',
  validate?: string[],
  id = `${action} ${name}`,
  opts: { listensOn?: number[]; configFiles?: string[] } = {},
): Handler {
  // reload-or-restart: a service that is stopped is started, one that runs is reloaded in place.
  const verb = action === 'reload' ? 'reload-or-restart' : 'restart';
  return {
    id,
    validate: validate ? { kind: 'exec', argv: validate } : undefined,
    action: opts.configFiles?.length ? unlessStartedAfter(name, verb, opts.configFiles) : { kind: 'exec', argv: ['systemctl', verb, name] },
    ...(opts.listensOn?.length ? { ready: listening(opts.listensOn) } : {}),
    // The unit's state (and every fact that depends on it, such as the database's) must be re-read.
    invalidates: [serviceFact(name).id],
  };
}

/**
 * systemctl daemon-reload, unless systemd already has `unit`'s file as it is on disk (it loaded
 * it fresh when the service op first started it).
 */
export function daemonReloadFor(unit: string): Handler {
  return {
    id: daemonReload.id,
    action: {
      kind: 'script',
      describe: `systemctl daemon-reload (unless ${unit} is loaded as it is on disk)`,
      script: sh`[ "$(systemctl show -P NeedDaemonReload ${unit})" = no ] || systemctl daemon-reload`,
    },
  };
}

/** systemctl daemon-reload after a unit file changes. */
export const daemonReload: Handler = { id: 'systemd daemon-reload', action: { kind: 'exec', argv: ['systemctl', 'daemon-reload'] } };
