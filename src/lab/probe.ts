// Is sshd answering? A TCP connect that reads the SSH banner, only ever to lab addresses.
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { isHostIn, type Cidr } from './addr.ts';
import { LabError } from './errors.ts';
import { sleep } from './processes.ts';

/** The banner line ("SSH-2.0-OpenSSH_9.2p1 ...") or undefined if nothing answers in time. */
export function sshBanner(subnet: Cidr, address: string, timeoutMs = 1000, port = 22): Promise<string | undefined> {
  if (!isHostIn(address, subnet)) {
    throw new LabError(`internal: refusing to probe ${address}, outside the lab subnet`);
  }
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let data = '';
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const line = data.split('\n')[0]!;
      if (data.includes('\n')) done(line.startsWith('SSH-') ? line.trim() : undefined);
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
  });
}

/** Waits until sshd answers; throws with the hint to read the console log otherwise. */
export async function waitForSsh(
  subnet: Cidr,
  address: string,
  timeoutMs: number,
  consoleLog: string,
  stillRunning: () => Promise<boolean> = async () => true,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const banner = await sshBanner(subnet, address, 1000);
    if (banner) return banner;
    if (!(await stillRunning())) {
      const log = await readFile(consoleLog, 'utf8').catch(() => '');
      throw new LabError(`the lab host at ${address} stopped while booting: ${log.trim().split('\n').slice(-3).join(' | ')}`, {
        hint: `read its boot log in ${consoleLog}`,
      });
    }
    if (Date.now() > deadline) {
      throw new LabError(`sshd on ${address} did not answer within ${Math.round(timeoutMs / 1000)} s`, {
        hint: `read the host's boot log in ${consoleLog}`,
      });
    }
    await sleep(100);
  }
}
