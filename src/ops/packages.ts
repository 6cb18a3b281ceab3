// A host's whole package set in one apt transaction, with services kept from starting while it
// runs. Debian starts a service as its package is installed (nginx on :80 with its default site,
// HAProxy, MariaDB); tandem starts each one itself, through the recipe's `service` op, once its
// config is written. The hold is a policy-rc.d that answers 101 ("action forbidden") to
// invoke-rc.d and deb-systemd-invoke, in place only while the transaction runs.
import { fileFact, type FileState } from '../facts/file.ts';
import { describeCommand } from '../engine/commands.ts';
import type { Change, Command, Op } from '../engine/types.ts';
import { Redactor } from '../secrets/secret.ts';
import { shellJoin, sh } from '../ssh/shell.ts';
import { apt, type AptArgs } from './apt.ts';

export const POLICY_RC = '/usr/sbin/policy-rc.d';
/** The line that tells tandem's own policy-rc.d from one another tool put there. */
export const POLICY_RC_MARK = '# tandem: services held while packages install';
const POLICY_RC_CONTENT = `#!/bin/sh\n${POLICY_RC_MARK}; removed when the install ends.\nexit 101\n`;

/** Ours, left by an install that was killed (SIGKILL, a lost server) before it could remove it. */
const isStaleHold = (file: FileState) => file.exists && (file.content ?? '').split('\n').some((l) => l.startsWith(POLICY_RC_MARK));

/**
 * Runs `inner` with the hold in place and removes it however `inner` ends (error, deadline's
 * TERM). A policy-rc.d of another tool is left as it is, in place and in force.
 */
export function withServicesHeld(inner: Command[], policyRc = POLICY_RC): Command {
  const lines = inner.map((c) => {
    // One script has one exit code and one stdin: an inner command that needs either of its own cannot be folded in.
    if (c.kind !== 'put' && c.okExitCodes !== undefined && !(Array.isArray(c.okExitCodes) && c.okExitCodes.join() === '0')) {
      throw new Error(`an install command must succeed with exit 0 alone: ${describeCommand(c, new Redactor())}`);
    }
    if (c.kind === 'exec' && c.stdin === undefined) return shellJoin(c.argv);
    // In a subshell without `set -e`, as the script would run on its own.
    if (c.kind === 'script' && c.stdin === undefined) return `(\nset +e\n${c.script}\n)`;
    throw new Error(`an install command must run without stdin: ${describeCommand(c, new Redactor())}`);
  });
  const tmp = `${policyRc}.tandem-tmp`;
  return {
    kind: 'script',
    describe: `with services held (${policyRc}): ${inner.map((c) => describeCommand(c, new Redactor())).join('; ')}`,
    deadline: 'long',
    script: [
      'set -e',
      sh`if [ ! -e ${policyRc} ] || grep -qF ${POLICY_RC_MARK} ${policyRc}; then`,
      sh`  trap ${`rm -f ${shellJoin([policyRc, tmp])}`} EXIT`,
      "  trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
      sh`  printf '%s' ${POLICY_RC_CONTENT} > ${tmp}`,
      sh`  chmod 0755 ${tmp}`,
      sh`  mv -f ${tmp} ${policyRc}`,
      'fi',
      ...lines,
    ].join('\n'),
  };
}

export interface PackagesArgs extends AptArgs {
  /** Keep services from starting during the install (the recipes start them once configured). */
  holdServices: boolean;
}

/**
 * Pure: the install apt planned, run with services held; or, when nothing is missing, the removal
 * of a hold a killed install left; or nothing.
 */
export function holdDuring(install: Change | null, policyRc: FileState, holdServices = true): Change | null {
  const stale = isStaleHold(policyRc);
  if (!install) {
    if (!stale) return null;
    return {
      summary: `remove ${POLICY_RC} left by an install that was interrupted (it keeps every service from starting)`,
      commands: [{ kind: 'exec', argv: ['rm', '-f', POLICY_RC] }],
      invalidates: [fileFact(POLICY_RC).id],
    };
  }
  if (!holdServices) return install;
  return {
    ...install,
    summary: `${install.summary}, services held until configured${stale ? ` (replacing the ${POLICY_RC} an interrupted install left)` : ''}`,
    commands: [withServicesHeld(install.commands)],
  };
}

/**
 * The host's package set, installed in one transaction: the apt op's own facts and plan (so
 * whatever it reads and runs, lock waits and repairs included, stays its own), wrapped.
 */
export function packages(args: PackagesArgs): Op {
  const install = apt(args);
  const policyRc = fileFact(POLICY_RC);
  return {
    id: `packages ${[...args.packages].sort().join(' ')}`,
    facts: [...install.facts, policyRc],
    plan: (f) => holdDuring(install.plan(f), f.get(policyRc), args.holdServices),
  };
}
