// YAML files (Prometheus, Alertmanager, the blackbox exporter): every string is written as a JSON
// string, which is a valid YAML double-quoted scalar (YAML 1.2 is a superset of JSON), so no
// character of it is read as syntax.
import { asText, refuseControls } from './text.ts';

const YAML = 'a YAML configuration file';

export function yamlString(value: unknown): string {
  const s = asText(value, YAML);
  refuseControls(s, YAML);
  return JSON.stringify(s);
}
