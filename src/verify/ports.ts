// A TCP port as the control machine sees it: open (connected), closed (refused: a host answered,
// so no firewall dropped it) or filtered (no answer in time: dropped).
import net from 'node:net';

export type PortState = 'open' | 'closed' | 'filtered';

export function probePort(address: string, port: number, timeoutMs = 2000): Promise<PortState> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (state: PortState) => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(timeoutMs, () => done('filtered'));
    socket.once('connect', () => done('open'));
    // Refused is an answer (a reset); anything else (unreachable, timed out) is no answer.
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'closed' : 'filtered'));
  });
}
