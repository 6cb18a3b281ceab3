// A restore that fails is reported, never dropped: after a failed op, and after a failed
// validation. The connection is the local one, except that putting files back fails as on a
// disk gone read-only.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/engine/run.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import type { HostWork } from '../../src/engine/types.ts';
import type { ExecRequest, ExecResult } from '../../src/ssh/connection.ts';
import { file } from '../../src/ops/file.ts';
import { Redactor } from '../../src/secrets/secret.ts';
import { LocalConnection, localHost, localOwner } from '../fixtures/local-connection.ts';

const own = localOwner();

/** The local connection, but every attempt to put backups back fails. */
class ReadOnlyRestores extends LocalConnection {
  override exec(req: ExecRequest): Promise<ExecResult> {
    if (req.describe?.startsWith('put back')) {
      return Promise.resolve({ exitCode: 1, stdout: '', stderr: 'mv: cannot move: Read-only file system\n', durationMs: 1 });
    }
    return super.exec(req);
  }
}

async function apply(work: HostWork[]) {
  const host = localHost('h1');
  const conn = new ReadOnlyRestores(host, fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-restore-state-')));
  const events: EngineEvent[] = [];
  const report = await run({ mode: 'apply', hosts: [host], work: new Map([['h1', work]]), connect: async () => conn, redactor: new Redactor([]), emit: (e) => events.push(e) });
  return { report, events };
}

test('a failed op whose written files cannot be put back: the host fails with the op, and a warning says the restore failed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-restore-'));
  const conf = path.join(dir, 'demo.conf');
  fs.writeFileSync(conf, 'old\n');
  const { report, events } = await apply([
    {
      phase: 'web',
      ops: [
        file({ path: conf, content: 'new\n', mode: '0644', ...own, notify: ['reload demo'] }),
        { id: 'breaks', facts: [], plan: () => ({ summary: 'fail', commands: [{ kind: 'script', script: 'exit 4', describe: 'fail on purpose' }], invalidates: [] }) },
      ],
      handlers: [{ id: 'reload demo', action: { kind: 'exec', argv: ['true'] } }],
    },
  ]);
  const h = report.hosts.h1!;
  assert.is(h.error, 'h1: breaks: `fail on purpose` exited with 4');
  assert.equal(h.warnings, [`web: \`put back ${conf} from the backups\` exited with 1: mv: cannot move: Read-only file system`]);
  assert.ok(events.some((e) => e.type === 'host:warning' && e.host === 'h1' && e.message === h.warnings[0]));
});

test('a failed validation whose files cannot be put back says so in the handler error and in a warning', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-restore-'));
  const conf = path.join(dir, 'demo.conf');
  fs.writeFileSync(conf, 'old\n');
  const { report } = await apply([
    {
      phase: 'web',
      ops: [file({ path: conf, content: 'bogus\n', mode: '0644', ...own, notify: ['reload demo'] })],
      handlers: [{ id: 'reload demo', validate: { kind: 'exec', argv: ['grep', '-q', '^valid', conf] }, action: { kind: 'exec', argv: ['true'] } }],
    },
  ]);
  const h = report.hosts.h1!;
  assert.is(h.handlers[0]!.status, 'failed');
  assert.match(h.handlers[0]!.error!, /^validation failed, and putting the previous files back failed too \(see the warning\)/);
  assert.equal(h.warnings, [`web: could not put the previous files back (${conf}): \`put back ${conf} from the backups\` exited with 1: mv: cannot move: Read-only file system`]);
});

test.run();
