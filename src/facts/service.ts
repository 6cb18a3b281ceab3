// Facts about systemd units.
import { shellQuote } from '../ssh/shell.ts';
import type { Fact } from '../engine/types.ts';

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

export function serviceFact(name: string): Fact<ServiceState> {
  return {
    id: `service:${name}`,
    script: `systemctl show -p LoadState -p UnitFileState -p ActiveState -p NeedDaemonReload ${shellQuote(name)}`,
    parse: (stdout) => parseService(stdout),
  };
}
