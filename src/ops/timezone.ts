// The host's time zone: /etc/localtime links to the zone file, /etc/timezone names it.
import { fileFact } from '../facts/file.ts';
import type { Op } from '../engine/types.ts';
import { sh } from '../ssh/shell.ts';

export function timezone(zone: string): Op {
  const link = fileFact('/etc/localtime');
  const name = fileFact('/etc/timezone');
  const target = `/usr/share/zoneinfo/${zone}`;
  return {
    id: `timezone ${zone}`,
    facts: [link, name],
    plan(f) {
      const l = f.get(link);
      const n = f.get(name);
      if (l.target === target && n.content === `${zone}\n`) return null;
      return {
        summary: `set the time zone to ${zone}`,
        commands: [
          {
            kind: 'script',
            describe: `ln -sf ${target} /etc/localtime; echo ${zone} > /etc/timezone`,
            script: [
              'set -e',
              sh`[ -e ${target} ] || { echo ${`unknown time zone ${zone} (no ${target}; is tzdata installed?)`} >&2; exit 1; }`,
              sh`ln -sf ${target} /etc/localtime`,
              sh`printf '%s\\n' ${zone} > /etc/timezone`,
            ].join('\n'),
          },
        ],
        invalidates: [link.id, name.id],
      };
    },
  };
}
