#!/usr/bin/env node
// Entry point: `node src/server.js` (settings from the environment, see README.md).
import { createApp, loadConfig } from './app.js';

const log = (...args) => console.log('[app]', ...args);

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  console.error('[app] bad configuration:', err.message);
  process.exit(2);
}

const app = createApp(config, { log });

process.on('unhandledRejection', (err) => log('unhandled rejection:', err && err.stack ? err.stack : err));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    app.shutdown(signal).then(
      () => process.exit(0),
      (err) => { log('shutdown failed:', err); process.exit(1); },
    );
  });
}

// SIGHUP (systemctl reload): re-read the database file and move the pools if the servers changed.
process.on('SIGHUP', () => {
  try {
    app.repoint(loadConfig(process.env));
  } catch (err) {
    log('reload failed, keeping the database servers as they were:', err.message);
  }
});

app.start().catch((err) => {
  console.error(`[app] cannot listen on ${config.host}:${config.port}: ${err.message}`);
  process.exit(1);
});
