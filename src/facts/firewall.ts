// Facts of the firewall: tandem's table as the kernel has it, and where this run's SSH
// connection comes from as the server sees it (the default source of the SSH rule).
import type { Fact } from '../engine/types.ts';
import { isAddress } from '../firewall/address.ts';
import type { SshClient } from '../firewall/rules.ts';
import { listTableCommand } from '../firewall/commands.ts';

/** `nft list table inet tandem`; undefined when there is no such table (or no nft yet). */
export const liveTableFact: Fact<string | undefined> = {
  id: 'firewall:live-table',
  script: `${listTableCommand()} 2>/dev/null`,
  parse: (stdout, exitCode) => (exitCode === 0 ? stdout : undefined),
};

/** `$SSH_CONNECTION` ("client port server port"): `client address, server port`, or undefined when it is not one. */
export function parseSshConnection(stdout: string): SshClient | undefined {
  const [address, , , port] = stdout.trim().split(/\s+/);
  if (!address || !isAddress(address) || !/^\d{1,5}$/.test(port ?? '')) return undefined;
  return { address, port: Number(port) };
}

/**
 * Under sudo the variable is gone from the environment (env_reset): it is then read from the
 * nearest ancestor that has it (the login shell of the SSH session).
 */
export const sshClientFact: Fact<SshClient | undefined> = {
  id: 'ssh:client',
  script: [
    'c=${SSH_CONNECTION:-}',
    'p=$$',
    'while [ -z "$c" ] && [ "${p:-1}" -gt 1 ]; do',
    "  p=$(awk '/^PPid:/ { print $2 }' /proc/$p/status 2>/dev/null)",
    "  c=$(tr '\\0' '\\n' < /proc/${p:-1}/environ 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p')",
    'done',
    'printf "%s\\n" "$c"',
  ].join('\n'),
  parse: (stdout) => parseSshConnection(stdout),
};
