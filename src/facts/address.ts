// Which IPv4 addresses an interface holds (`ip -o -4 addr show dev IF`): who has the shared
// address of an active-passive pair.

export function addressesCommand(iface: string): string[] {
  return ['ip', '-o', '-4', 'addr', 'show', 'dev', iface];
}

/** Pure: whether that output lists this address (with any prefix). */
export function holdsAddress(ipOutput: string, address: string): boolean {
  return ipOutput.split('\n').some((line) => line.split(/\s+/).some((word) => word.includes('/') && word.split('/')[0] === address));
}
