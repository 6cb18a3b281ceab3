// Each format writer against the program that reads the format, on a lab server: the special
// values are written with the writers, read by systemd, MariaDB's option reader, apt, Nginx,
// HAProxy and MariaDB's SQL parser, and what those programs give back is compared byte for byte.
// Used by secrets.test.ts once a server has the whole stack installed.
import { aptString, envValue, haproxyWord, keepalivedWord, nginxWord, optionValue, unitArg, unitValue } from '../../src/formats/index.ts';
import { sqlString } from '../../src/formats/sql.ts';

export interface ProbeCase {
  format: string;
  /** Index into the values the probe was built with. */
  index: number;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const put = (path: string, content: string) => `echo ${b64(content)} | base64 -d > ${path}`;

/** A remote script that prints one line `<format> <index> <base64 of what the program read>` per case. */
export function probeScript(values: readonly string[], accepts: (write: (v: string) => string, v: string) => boolean): { script: string; cases: ProbeCase[] } {
  const cases: ProbeCase[] = [];
  const lines: string[] = ['set -u', 'd=$(mktemp -d /tmp/tandem-probe.XXXXXX)', `trap 'rm -rf "$d"; systemctl stop tandem-probe.service 2>/dev/null; rm -f /run/systemd/system/tandem-probe.service; systemctl daemon-reload' EXIT`];
  const idx = (format: string, write: (v: string) => string) => values.flatMap((v, i) => (accepts(write, v) ? [i] : []));
  const emit = (format: string, index: number, command: string) => {
    cases.push({ format, index });
    lines.push(`printf '%s %s %s\\n' ${format} ${index} "$(${command} | base64 -w0)"`);
  };

  // systemd reads the environment file of a unit; node prints each variable's bytes.
  const envIdx = idx('env', envValue);
  const unitIdx = idx('unit', unitArg);
  lines.push(put('"$d/probe.env"', envIdx.map((i) => `K${i}=${envValue(values[i]!)}\n`).join('')));
  const dump = `const fs=require('fs');for(const [k,v] of Object.entries(process.env))if(/^K\\d+$/.test(k))fs.writeFileSync(process.argv[1]+'/env-'+k.slice(1),v);process.argv.slice(2).forEach((a,i)=>fs.writeFileSync(process.argv[1]+'/arg-'+i,a))`;
  const unit = [
    '[Unit]',
    `Description=${unitValue('tandem probe %n 100% ok')}`,
    '[Service]',
    'Type=oneshot',
    `EnvironmentFile=${unitValue('/tmp/PROBE_DIR/probe.env')}`,
    `ExecStart=/usr/bin/node -e ${unitArg(dump)} ${unitArg('/tmp/PROBE_DIR')} ${unitIdx.map((i) => unitArg(values[i]!)).join(' ')}`,
    '',
  ].join('\n');
  lines.push(`${put('/run/systemd/system/tandem-probe.service', unit)}`);
  lines.push(`sed -i "s#/tmp/PROBE_DIR#$d#g" /run/systemd/system/tandem-probe.service`);
  lines.push('systemctl daemon-reload && systemctl start tandem-probe.service');
  for (const i of envIdx) emit('env', i, `cat "$d/env-${i}"`);
  unitIdx.forEach((i, n) => emit('unit', i, `cat "$d/arg-${n}"`));
  emit('unit-description', -1, `systemctl show -P Description tandem-probe.service | tr -d '\\n'`);

  // MariaDB's option file reader.
  const optIdx = idx('option', optionValue);
  lines.push(put('"$d/probe.cnf"', `[probe]\n${optIdx.map((i) => `k${i} = ${optionValue(values[i]!)}\n`).join('')}`));
  for (const i of optIdx) emit('option', i, `my_print_defaults --defaults-file="$d/probe.cnf" probe | sed -n 's/^--k${i}=//p' | tr -d '\\n'`);

  // apt's configuration reader.
  const aptIdx = idx('apt', aptString);
  lines.push(put('"$d/probe.apt"', aptIdx.map((i) => `Tandem::Probe::K${i} ${aptString(values[i]!)};\n`).join('')));
  for (const i of aptIdx) emit('apt', i, `apt-config -c "$d/probe.apt" dump --no-empty --format '%v' Tandem::Probe::K${i}`);

  // Nginx: each value is the body of a location.
  const ngxIdx = idx('nginx', nginxWord);
  lines.push(
    put(
      '"$d/nginx.conf"',
      `pid PROBE_DIR/nginx.pid;\nerror_log PROBE_DIR/nginx.err;\nevents {}\nhttp {\n  access_log off;\n  server {\n    listen 127.0.0.1:18080;\n${ngxIdx.map((i) => `    location = /k${i} { default_type text/plain; return 200 ${nginxWord(values[i]!)}; }\n`).join('')}  }\n}\n`,
    ),
  );
  lines.push(`sed -i "s#PROBE_DIR#$d#g" "$d/nginx.conf"`, 'nginx -c "$d/nginx.conf" -e "$d/nginx.err"');
  lines.push(`for t in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.1; done`);
  for (const i of ngxIdx) emit('nginx', i, `curl -s http://127.0.0.1:18080/k${i}`);
  lines.push('kill "$(cat "$d/nginx.pid")"');

  // HAProxy: each value is the body of an http-request return.
  const hapIdx = idx('haproxy', haproxyWord);
  lines.push(
    put(
      '"$d/haproxy.cfg"',
      `global\n    pidfile PROBE_DIR/haproxy.pid\ndefaults\n    mode http\n    timeout client 5s\n    timeout connect 5s\n    timeout server 5s\nfrontend probe\n    bind 127.0.0.1:18081\n${hapIdx.map((i) => `    http-request return status 200 content-type text/plain string ${haproxyWord(values[i]!)} if { path /k${i} }\n`).join('')}`,
    ),
  );
  lines.push(`sed -i "s#PROBE_DIR#$d#g" "$d/haproxy.cfg"`, 'haproxy -D -f "$d/haproxy.cfg"');
  lines.push(`for t in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18081/ && break; sleep 0.1; done`);
  for (const i of hapIdx) emit('haproxy', i, `curl -s http://127.0.0.1:18081/k${i}`);
  lines.push('kill "$(cat "$d/haproxy.pid")"');

  // keepalived has no way to print what it read: its own check must accept every word.
  const kaIdx = idx('keepalived', keepalivedWord);
  lines.push(put('"$d/keepalived.conf"', `global_defs {\n${kaIdx.map((i) => `    router_id ${keepalivedWord(values[i]!)}\n`).join('')}}\n`));
  emit('keepalived-check', -1, `keepalived --config-test -f "$d/keepalived.conf" >/dev/null 2>&1 && printf ok`);

  // MariaDB's SQL parser: the bytes of each literal.
  lines.push(put('"$d/probe.sql"', `SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '');\nSET NAMES utf8mb4;\n${values.map((v, i) => `SELECT 'sql', ${i}, REPLACE(TO_BASE64(${sqlString(v)}), CHAR(10), '');\n`).join('')}`));
  lines.push(`mysql -N -B < "$d/probe.sql" | tr '\\t' ' '`);
  for (let i = 0; i < values.length; i++) cases.push({ format: 'sql', index: i });
  return { script: lines.join('\n'), cases };
}

/** Parses the probe's output into format -> index -> the text the program read. */
export function probeResults(stdout: string): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (-?\d+) ?(.*)$/.exec(line);
    if (!m) continue;
    if (!out.has(m[1]!)) out.set(m[1]!, new Map());
    out.get(m[1]!)!.set(Number(m[2]), Buffer.from(m[3]!, 'base64').toString('utf8'));
  }
  return out;
}
