// How many servers plan and apply work on at once: the inventory's `parallel`, read at load,
// with its default; bad values refused naming the field (the --parallel flag's refusals are rows
// of test/fixtures/hostile-rows.ts).
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { parseYaml, toInventory } from '../../src/inventory/load.ts';
import { DEFAULT_PARALLEL } from '../../src/inventory/types.ts';
import { InventoryError } from '../../src/errors.ts';

const inventoryWith = (extra: string) => `name: t
domain: t.example.com
ssh: { key: k }
hosts:
  a: { address: 10.0.0.1, roles: [lb, web, app, db-primary] }
${extra}`;

const load = (extra: string) => toInventory(parseYaml(inventoryWith(extra), 'i.yml'), '/x/i.yml', 'i.yml');

test('parallel: unset, the default (20: the 16-server lab in one wave); set, the value given', () => {
  assert.is(DEFAULT_PARALLEL, 20);
  assert.is(load('').parallel, DEFAULT_PARALLEL);
  assert.is(load('parallel: 4\n').parallel, 4);
  assert.is(load('parallel: 1\n').parallel, 1, 'one server at a time is allowed');
});

const refused: Array<[string, string]> = [
  ['0', 'must be a whole number of servers, at least 1'],
  ['-3', 'must be a whole number of servers, at least 1'],
  ['2.5', 'must be a whole number of servers, at least 1'],
  ['"10"', 'must be a whole number of servers, at least 1'],
  ['all', 'must be a whole number of servers, at least 1'],
];
for (const [value, message] of refused) {
  test(`parallel: ${value} is refused, naming the field`, () => {
    try {
      load(`parallel: ${value}\n`);
      assert.unreachable();
    } catch (err) {
      assert.ok(err instanceof InventoryError, String(err));
      assert.equal(err.problems, [`i.yml: parallel: ${message}`]);
    }
  });
}

test.run();
