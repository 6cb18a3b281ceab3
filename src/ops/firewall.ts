// The firewall op: tandem's table (inet tandem) as the roles want it, loaded so that no one is
// locked out (src/firewall/commands.ts), and the table changed by hand put back (drift).
import { fileFact, type FileState } from '../facts/file.ts';
import { liveTableFact, sshClientFact } from '../facts/firewall.ts';
import type { Change, Op } from '../engine/types.ts';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import { nftRuleset, TABLE } from '../formats/nft.ts';
import { roleRules, sshRule, type Rule, type SshClient } from '../firewall/rules.ts';
import { confirmLoad, FIREWALL_FILE, LOADED_LISTING, loadWithRollback, NEXT_FILE, removeTable, rollbackAtOnce } from '../firewall/commands.ts';
import { unifiedDiff } from './file.ts';

export interface FirewallFacts {
  /** The live table's listing, if there is one. */
  live: string | undefined;
  /** The confirmed ruleset (what the boot unit loads). */
  installed: FileState;
  /** The table's listing right after the last confirmed load. */
  loaded: FileState;
  client: SshClient | undefined;
}

const where = (client: SshClient | undefined, host: string) => (client ? `this machine connects from ${client.address} (as ${host} sees it)` : 'where this machine connects from is unknown');

/** What a failed new connection means, naming the SSH rule and whom it admits. */
function lockoutText(ssh: Rule, client: SshClient | undefined, host: HostSpec, seconds: number): string {
  const from = ssh.from === 'any' ? 'anywhere' : ssh.from.map((s) => s.text).join(', ');
  return (
    `the new firewall let no new SSH connection in: the rule "${ssh.why}" admits tcp port ${ssh.port} from ${from} only, and ${where(client, host.name)}. ` +
    `The previous rules come back by themselves within ${seconds} s; fix firewall.admin and run apply again.`
  );
}

export function planFirewall(inv: Inventory, host: HostSpec, facts: FirewallFacts): Change | null {
  const ssh = sshRule(inv, host, facts.client);
  if (!ssh) {
    throw new Error(`cannot tell which address this machine connects from (no SSH_CONNECTION on ${host.name}): set firewall.admin to the addresses that may reach SSH`);
  }
  const want = nftRuleset([ssh, ...roleRules(inv, host)]);
  const current = facts.installed.exists ? facts.installed.content : undefined;
  const drifted = facts.live === undefined || facts.live !== facts.loaded.content;
  if (current === want && !drifted) return null;
  const seconds = inv.firewall.rollbackSeconds;
  const change = (summary: string, diff: string): Change => ({
    summary,
    diff,
    commands: [
      { kind: 'put', path: NEXT_FILE, content: want, mode: '0600', owner: 'root', group: 'root' },
      loadWithRollback(seconds),
      { ...confirmLoad(seconds), newConnection: { refused: lockoutText(ssh, facts.client, host, seconds), otherwise: rollbackAtOnce() } },
    ],
    invalidates: [liveTableFact.id, fileFact(FIREWALL_FILE).id, fileFact(LOADED_LISTING).id],
  });
  if (current !== want) return change(current === undefined ? `load the firewall (table ${TABLE})` : `update the firewall (table ${TABLE})`, unifiedDiff(FIREWALL_FILE, current, want));
  // The rules are as wanted, but the live table is not what was loaded: changed by hand (or flushed).
  return change(
    `repair the firewall: table ${TABLE} was ${facts.live === undefined ? 'removed' : 'changed'} since tandem loaded it`,
    unifiedDiff(`nft list table ${TABLE}`, facts.live ?? '', facts.loaded.content ?? ''),
  );
}

export function firewall(inv: Inventory, host: HostSpec): Op {
  const installed = fileFact(FIREWALL_FILE);
  const loaded = fileFact(LOADED_LISTING);
  return {
    id: `firewall table ${TABLE}`,
    facts: [liveTableFact, installed, loaded, sshClientFact],
    plan: (f) => planFirewall(inv, host, { live: f.get(liveTableFact), installed: f.get(installed), loaded: f.get(loaded), client: f.get(sshClientFact) }),
  };
}

/** firewall.enabled false: tandem's table and boot file go (other tables stay). */
export function noFirewall(): Op {
  const installed = fileFact(FIREWALL_FILE);
  return {
    id: `no firewall table ${TABLE}`,
    facts: [liveTableFact, installed],
    plan: (f) =>
      f.get(liveTableFact) === undefined && !f.get(installed).exists
        ? null
        : { summary: `remove the firewall (table ${TABLE}, ${FIREWALL_FILE}): firewall.enabled is false`, commands: [removeTable()], invalidates: [liveTableFact.id, installed.id] },
  };
}
