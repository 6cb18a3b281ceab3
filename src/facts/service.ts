// Facts about systemd units.
import { shellJoin } from '../ssh/shell.ts';
import type { Fact, SharedProbe } from '../engine/types.ts';

export interface ServiceState {
  exists: boolean;
  enabled: boolean;
  active: boolean;
  /** The unit file changed since systemd loaded it: a start would use the old definition. */
  needsDaemonReload: boolean;
}

export function parseService(stdout: string): ServiceState {
  const v = Object.fromEntries(
    stdout
      .split('\n')
      .map((l) => l.split('='))
      .filter((kv) => kv.length === 2)
      .map(([k, val]) => [k!.trim(), val!.trim()]),
  );
  return {
    exists: v.LoadState === 'loaded',
    enabled: v.UnitFileState === 'enabled' || v.UnitFileState === 'enabled-runtime' || v.UnitFileState === 'static',
    active: v.ActiveState === 'active' || v.ActiveState === 'reloading' || v.ActiveState === 'activating',
    needsDaemonReload: v.NeedDaemonReload === 'yes',
  };
}

const PROPERTIES = '-p LoadState -p UnitFileState -p ActiveState -p NeedDaemonReload';

/**
 * One `systemctl show` for every unit of a batch (each start costs about 10 ms): it prints one
 * block per unit, in order, blocks separated by an empty line. When it fails as a whole (a unit
 * name systemd refuses), no unit is known.
 */
export const systemctlProbe: SharedProbe = {
  key: 'systemctl show',
  script: (parts) => `systemctl show ${PROPERTIES} -- ${shellJoin(parts.flat())}`,
  split: (stdout, exitCode, parts) => {
    const blocks = stdout.trim() ? stdout.trim().split(/\n\n/) : [];
    if (blocks.length !== parts.length) return parts.map(() => ({ stdout: '', exitCode: exitCode || 1 }));
    return blocks.map((b) => ({ stdout: `${b}\n`, exitCode: 0 }));
  },
};

export function serviceFact(name: string): Fact<ServiceState> {
  const part = [name];
  return {
    id: `service:${name}`,
    script: systemctlProbe.script([part]),
    shared: { probe: systemctlProbe, part },
    parse: (stdout) => parseService(stdout),
  };
}
