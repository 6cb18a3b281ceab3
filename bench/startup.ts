// Benchmark: how long the CLI takes to start, as a user runs it (a new Node process each time).
// Prints the median wall time and the median CPU time (user + system) of N runs.
//   npx tsx bench/startup.ts [runs] [-- tandem arguments]     default: 15 runs of `--help`
//   TANDEM_BENCH_CMD='node --import tsx src/cli/main.ts' npx tsx bench/startup.ts   (another command line)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const dash = process.argv.indexOf('--');
const runs = Number(process.argv[2] && process.argv[2] !== '--' ? process.argv[2] : 15);
const args = dash >= 0 ? process.argv.slice(dash + 1) : ['--help'];
const command = process.env.TANDEM_BENCH_CMD?.split(' ') ?? [process.execPath, path.join(ROOT, 'bin/tandem.js')];

/** CPU time of this process's waited-for children, in ms (Linux: /proc/self/stat cutime + cstime, in clock ticks of 10 ms). */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  // After the ")": state is field 3 of stat(5), so cutime (16) and cstime (17) are at 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const wall: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < runs; i++) {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(command[0]!, [...command.slice(1), ...args], { cwd: ROOT, encoding: 'utf8' });
  wall.push(performance.now() - t0);
  cpu.push(childrenCpuMs() - cpu0);
  if (r.status !== 0) throw new Error(`\`${[...command, ...args].join(' ')}\` exited ${r.status}: ${r.stderr}`);
}
console.log(`${[...command.map((c) => (c === process.execPath ? 'node' : path.relative(ROOT, c) || c)), ...args].join(' ')}: ${runs} runs`);
console.log(`  wall median ${median(wall).toFixed(0)} ms (min ${Math.min(...wall).toFixed(0)}, max ${Math.max(...wall).toFixed(0)})`);
console.log(`  cpu  median ${median(cpu).toFixed(0)} ms (user + system)`);
