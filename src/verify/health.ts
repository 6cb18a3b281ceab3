// The app's /healthz read on its own host with curl: the command, and its answer parsed.
/** curl failing (nothing listens) is an answer too: run it with any exit code accepted. */
export const appHealthCommand = (port: number, path = '/healthz'): string[] => [
  'curl', '-sS', '--max-time', '3', '-o', '/dev/stdout', '-w', '\n%{http_code}', `http://127.0.0.1:${port}${path}`,
];

export interface HealthAnswer {
  /** The HTTP status as curl printed it; '' or '000' when nothing answered. */
  code: string;
  body: string;
}

/** Splits curl's output: the body, then the status code on the last line. */
export function parseHealthAnswer(stdout: string): HealthAnswer {
  const lines = stdout.trimEnd().split('\n');
  const code = lines.pop() ?? '';
  return { code, body: lines.join('\n') };
}
