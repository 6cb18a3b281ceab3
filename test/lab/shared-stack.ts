// One provisioned stack handed from a lab test file to the next, so that a file which only needs
// "the stack, converged" does not reset and provision it again. A file that ends with the stack
// converged (apply changes nothing, verify passes) hands it off; the next file takes it only if
// test/run.ts says the file just before it, on the same lab, was that one and passed
// (TANDEM_TEST_HANDOFF_FROM). Anything else (a file run alone, a failed file, a file between that
// may have disturbed the servers) means reset and a fresh apply, as before.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { handoffFile, labSettings, resetHosts } from './harness.ts';
import { LAB_INVENTORY, ROOT, tandemJson } from './tandem.ts';

interface Handoff {
  from: string;
  inventory: string;
}

const markerFile = async () => handoffFile(await labSettings());
/** This file, as test/run.ts names it (relative to the repository). */
const thisFile = () => path.relative(ROOT, path.resolve(process.argv[1] ?? ''));

/** Call last, once the stack is converged again: the next file may take it as it is. */
export async function handOffStack(): Promise<void> {
  const h: Handoff = { from: thisFile(), inventory: LAB_INVENTORY };
  writeFileSync(await markerFile(), JSON.stringify(h));
}

/**
 * The stack of the lab inventory on `hosts`, converged: the one handed off by the file just
 * before (an apply that must pass), or reset hosts and a fresh apply. Prints which.
 */
export async function provisionedStack(hosts: string[]): Promise<void> {
  const file = await markerFile();
  let handoff: Handoff | undefined;
  try {
    handoff = JSON.parse(readFileSync(file, 'utf8')) as Handoff;
  } catch {
    // No handoff (or an unreadable one): provision afresh.
  }
  // Taken or not, it is used up: this file is about to change the servers.
  rmSync(file, { force: true });
  const from = process.env.TANDEM_TEST_HANDOFF_FROM;
  if (from && handoff?.from === from && handoff.inventory === LAB_INVENTORY) {
    const r = tandemJson(['apply']);
    if (r.code === 0) {
      console.log(`    the stack as ${from} left it, converged (apply changed ${r.json.summary.changed})`);
      return;
    }
    console.log(`    the stack ${from} left did not converge (exit ${r.code}): resetting`);
  }
  await resetHosts(hosts);
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, r.stderr);
}
