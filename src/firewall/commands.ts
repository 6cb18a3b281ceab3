// The firewall's files and scripts on a host. A new ruleset is checked (`nft -c`), a rollback is
// armed (a transient systemd timer that loads the table as it was), the ruleset is loaded in one
// transaction, and only a NEW SSH connection through it disarms the rollback and makes the
// ruleset the one loaded at boot. Built here as data; the op (src/ops/firewall.ts) orders them.
import type { Command } from '../engine/types.ts';
import { raw, sh } from '../ssh/shell.ts';
import { TABLE } from '../formats/nft.ts';

/** The confirmed ruleset: what the boot unit loads. */
export const FIREWALL_FILE = '/etc/tandem/firewall.nft';
export const FIREWALL_STATE = '/var/lib/tandem/firewall';
/** The ruleset being tried: it becomes FIREWALL_FILE once a new connection got through it. */
export const NEXT_FILE = `${FIREWALL_STATE}/next.nft`;
/** The table as it was before the try, as a transaction that puts it back (or removes it). */
export const ROLLBACK_FILE = `${FIREWALL_STATE}/rollback.nft`;
/** `nft list table` right after the confirmed load: the live table differing from it is drift. */
export const LOADED_LISTING = `${FIREWALL_STATE}/loaded.list`;
/** Left by the rollback when it ran: a confirmation arriving after it must fail, not install the ruleset. */
export const ROLLED_BACK_MARK = `${FIREWALL_STATE}/rolled-back`;
export const ROLLBACK_UNIT = 'tandem-firewall-rollback';
export const BOOT_UNIT = 'tandem-firewall';

export const listTableCommand = (): string => `nft list table ${TABLE}`;

/** The rollback's own command: the table as it was, then the mark. */
const rollbackNow = sh`nft -f ${ROLLBACK_FILE} && touch ${ROLLED_BACK_MARK}`;

/** Check the new ruleset, save the table as it is, arm the rollback, load. */
export function loadWithRollback(rollbackSeconds: number): Extract<Command, { kind: 'script' }> {
  return {
    kind: 'script',
    describe: `check ${NEXT_FILE} (nft -c), arm a rollback in ${rollbackSeconds} s (${ROLLBACK_UNIT}.timer), load it`,
    script: [
      'set -e',
      sh`nft -c -f ${NEXT_FILE}`,
      sh`{ printf '%s\\n' ${`table ${TABLE} {}`} ${`delete table ${TABLE}`}; nft list table ${raw(TABLE)} 2>/dev/null || true; } > ${`${ROLLBACK_FILE}.tmp`}`,
      sh`mv -f ${`${ROLLBACK_FILE}.tmp`} ${ROLLBACK_FILE}`,
      // A timer an interrupted earlier run left armed is replaced by this one.
      sh`systemctl stop ${`${ROLLBACK_UNIT}.timer`} 2>/dev/null || true`,
      sh`systemctl reset-failed ${`${ROLLBACK_UNIT}.service`} ${`${ROLLBACK_UNIT}.timer`} 2>/dev/null || true`,
      sh`rm -f ${ROLLED_BACK_MARK}`,
      sh`systemd-run --quiet --unit=${ROLLBACK_UNIT} --on-active=${`${rollbackSeconds}s`} --timer-property=AccuracySec=1s /bin/sh -c ${rollbackNow}`,
      sh`nft -f ${NEXT_FILE}`,
    ].join('\n'),
  };
}

/** Over a new connection: disarm, unless the rollback already ran; then keep the ruleset for boot and note the live table. */
export function confirmLoad(rollbackSeconds: number): Extract<Command, { kind: 'script' }> {
  return {
    kind: 'script',
    describe: `disarm the rollback over a new SSH connection, keep ${NEXT_FILE} as ${FIREWALL_FILE}`,
    script: [
      'set -e',
      sh`systemctl stop ${`${ROLLBACK_UNIT}.timer`} 2>/dev/null || true`,
      // A rollback that has just started finishes before its mark is read.
      'i=0',
      sh`while systemctl is-active --quiet ${`${ROLLBACK_UNIT}.service`} && [ "$i" -lt 100 ]; do i=$((i + 1)); sleep 0.1; done`,
      sh`if [ -e ${ROLLED_BACK_MARK} ]; then echo ${`the rollback ran before this confirmation (it runs ${rollbackSeconds} s after the load): the previous rules are back; run apply again, or raise firewall.rollback_after`} >&2; exit 3; fi`,
      sh`mkdir -p ${'/etc/tandem'}`,
      sh`cp ${NEXT_FILE} ${`${FIREWALL_FILE}.tmp`} && sync ${`${FIREWALL_FILE}.tmp`} && mv -f ${`${FIREWALL_FILE}.tmp`} ${FIREWALL_FILE}`,
      sh`nft list table ${raw(TABLE)} > ${`${LOADED_LISTING}.tmp`} && mv -f ${`${LOADED_LISTING}.tmp`} ${LOADED_LISTING}`,
    ].join('\n'),
  };
}

/** Over the run's connection when no new one got in: the rollback now, not in N seconds. */
export function rollbackAtOnce(): Command {
  return {
    kind: 'script',
    describe: `put the previous rules back (${ROLLBACK_FILE})`,
    script: ['set -e', rollbackNow, sh`systemctl stop ${`${ROLLBACK_UNIT}.timer`} 2>/dev/null || true`].join('\n'),
  };
}

/** With firewall.enabled false: tandem's table goes, the boot file too; other tables stay. */
export function removeTable(): Command {
  return {
    kind: 'script',
    describe: `delete table ${TABLE} and ${FIREWALL_FILE}`,
    script: [sh`printf '%s\\n' ${`table ${TABLE} {}`} ${`delete table ${TABLE}`} | nft -f -`, sh`rm -f ${FIREWALL_FILE} ${LOADED_LISTING}`].join('\n'),
  };
}

/** The boot unit: loads only tandem's file, before the network is up (so before any service listens). */
export function bootUnit(): string {
  return [
    '# Managed by tandem: loads tandem\'s firewall (table inet tandem) at boot, before the network.',
    '[Unit]',
    'Description=tandem firewall (table inet tandem)',
    'DefaultDependencies=no',
    'Before=network-pre.target shutdown.target',
    'Wants=network-pre.target',
    'Conflicts=shutdown.target',
    `ConditionPathExists=${FIREWALL_FILE}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/usr/sbin/nft -f ${FIREWALL_FILE}`,
    '',
    '[Install]',
    'WantedBy=sysinit.target',
    '',
  ].join('\n');
}
