// nftables' ruleset files (nft(8), the scanner in src/scanner.l): a quoted string holds anything
// but a double quote and a newline, and has no escape; a comment is at most 128 bytes. Sources
// reach here already checked (src/firewall/address.ts): addresses and networks, written as they are.
import type { Rule } from '../firewall/rules.ts';
import type { Source } from '../firewall/address.ts';
import { asText, refuseChars, refuseControls, refuseLongerThan } from './text.ts';

const NFT_FILE = 'an nftables ruleset';

/** A quoted string (a rule's comment). */
export function nftString(value: unknown): string {
  const s = asText(value, NFT_FILE);
  refuseControls(s, NFT_FILE);
  refuseChars(s, '"', NFT_FILE, 'nftables has no escape for it in a string');
  refuseChars(s, '\\', NFT_FILE, 'nftables strings have no escapes');
  refuseLongerThan(s, 128, NFT_FILE);
  return `"${s}"`;
}

export const TABLE = 'inet tandem';

/** ICMP the network needs: errors (path MTU), echo; for IPv6 also neighbour discovery. */
const ICMP = 'icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept';
const ICMPV6 =
  'icmpv6 type { echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept';

function set(sources: readonly Source[]): string {
  const texts = sources.map((s) => s.text);
  return texts.length === 1 ? texts[0]! : `{ ${texts.join(', ')} }`;
}

/** VRRP by number: nft reads protocol names from /etc/protocols, which a minimal Debian lacks (no netbase). */
export const VRRP_PROTOCOL = 112;

function match(rule: Rule): string {
  return rule.protocol === 'vrrp' ? `meta l4proto ${VRRP_PROTOCOL}` : `${rule.protocol} dport ${rule.port}`;
}

/** One line per address family the rule's sources hold (one line for `any`). */
export function ruleLines(rule: Rule): string[] {
  const tail = `${match(rule)} accept comment ${nftString(rule.why)}`;
  if (rule.from === 'any') return [tail];
  const v4 = rule.from.filter((s) => s.family === 4);
  const v6 = rule.from.filter((s) => s.family === 6);
  return [...(v4.length ? [`ip saddr ${set(v4)} ${tail}`] : []), ...(v6.length ? [`ip6 saddr ${set(v6)} ${tail}`] : [])];
}

/**
 * The whole file, one transaction for `nft -f`: the table is created (so the delete cannot fail
 * when it is absent), deleted, and made again with its rules; other tables are left as they are.
 * Input policy drop; what is not an input (forwarded, output) is not this table's business.
 */
export function nftRuleset(rules: readonly Rule[]): string {
  const lines = [
    'ct state established,related accept',
    'ct state invalid drop',
    'iif "lo" accept',
    ICMP,
    ICMPV6,
    // DHCPv6 answers come from link-local addresses to the client port, not as replies conntrack knows.
    'ip6 saddr fe80::/10 udp dport 546 accept',
    ...rules.flatMap(ruleLines),
  ];
  return [
    '# Managed by tandem: tandem apply replaces this table; other tables are left alone.',
    `table ${TABLE} {}`,
    `delete table ${TABLE}`,
    `table ${TABLE} {`,
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy drop;',
    ...lines.map((l) => `\t\t${l}`),
    '\t}',
    '}',
    '',
  ].join('\n');
}
