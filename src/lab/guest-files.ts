// The files that make a host itself, written into its fresh overlay before it boots (pure).
import { randomBytes } from 'node:crypto';
import type { FileEdit } from './base-recipe.ts';
import type { LabHost } from './config.ts';

export const PROXY_PORT = 3142;

export function proxyUrl(gatewayAddress: string): string {
  return `http://${gatewayAddress}:${PROXY_PORT}`;
}

export function hostsFile(self: LabHost, all: readonly LabHost[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\t\tlocalhost ip6-localhost ip6-loopback',
    'ff02::1\t\tip6-allnodes',
    'ff02::2\t\tip6-allrouters',
    '',
    '# tandem lab hosts',
    ...all.map((h) => `${h.address}\t${h.name}`),
    '',
  ];
  if (!all.some((h) => h.name === self.name)) lines.splice(-1, 0, `${self.address}\t${self.name}`);
  return lines.join('\n');
}

export interface GuestIdentity {
  host: LabHost;
  allHosts: readonly LabHost[];
  gatewayAddress: string;
  authorizedKey: string;
  /** 32 hex digits; random per boot from scratch. */
  machineId?: string;
}

export function guestEdits(g: GuestIdentity): FileEdit[] {
  const machineId = g.machineId ?? randomBytes(16).toString('hex');
  return [
    { kind: 'write', path: 'etc/hostname', content: `${g.host.name}\n` },
    { kind: 'write', path: 'etc/hosts', content: hostsFile(g.host, g.allHosts) },
    { kind: 'write', path: 'etc/machine-id', content: `${machineId}\n`, mode: 0o444 },
    {
      kind: 'write',
      path: 'etc/apt/apt.conf.d/01tandem-lab-proxy',
      content: `Acquire::http::Proxy "${proxyUrl(g.gatewayAddress)}";\n`,
    },
    { kind: 'write', path: 'root/.ssh/authorized_keys', content: `${g.authorizedKey.trim()}\n`, mode: 0o600, dirMode: 0o700 },
  ];
}
