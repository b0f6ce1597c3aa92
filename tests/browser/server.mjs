// The shopflow server of a browser test: `shopflow serve` on a port the kernel picks, with its own
// data directory, started before the tests and stopped after them. Not a test file itself: the
// *.test.mjs files import it (ctest runs each of them by name).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TIMEOUT = 20000;

// Resolves with the first truthy value of `fn`, asked every 50 ms; throws after `timeoutMs`.
export async function poll(what, fn, timeoutMs = TIMEOUT) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class ShopflowServer {
  // binary: the shopflow binary (`usage` is the failure message when it is not set); env: the
  // server's environment; dataDirPrefix: the name of its temporary data directory, before the
  // random suffix.
  constructor({ binary, env, dataDirPrefix, usage = 'set SHOPFLOW_BINARY to the shopflow binary' }) {
    Object.assign(this, { binary, env, dataDirPrefix, usage });
    this.process = null;
    this.dataDir = null;
  }

  // Starts the server and resolves with its base URL once its log says it listens. The port is
  // read from that line: --port 0 lets tests run side by side.
  async start() {
    assert.ok(this.binary, this.usage);
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), this.dataDirPrefix));
    const logPath = path.join(this.dataDir, 'server.log');
    const log = fs.openSync(logPath, 'w');  // a file, not a pipe: nothing to drain
    this.process = spawn(this.binary, ['serve', '--port', '0', '--data-dir', this.dataDir],
      { stdio: ['ignore', log, log], env: this.env });
    fs.closeSync(log);
    let exited = null;
    this.process.on('exit', (code, signal) => { exited = `exited with ${code ?? signal}`; });
    const port = await poll('"listening on" in the server log', () => {
      if (exited) throw new Error(`shopflow ${exited}:\n${fs.readFileSync(logPath, 'utf8')}`);
      const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(fs.readFileSync(logPath, 'utf8'));
      return m && Number(m[1]);
    }, 30000);
    return `http://127.0.0.1:${port}`;
  }

  // SIGTERM (a graceful shutdown), SIGKILL if it is still running 10 s later; then the data
  // directory goes. Safe to call when start() failed or never ran.
  async stop() {
    const server = this.process;
    if (server && server.exitCode === null) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
      await gone; clearTimeout(timer);
    }
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
