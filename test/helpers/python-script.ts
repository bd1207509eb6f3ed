// Runs the Python client scripts of a test folder (pika, kombu) against a broker.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BrokerProcess } from './broker-process';

/** The interpreter the scripts run with: Debian's python3 (with python3-pika) unless WARREN_TEST_PYTHON says otherwise. */
export const PYTHON = process.env.WARREN_TEST_PYTHON ?? '/usr/bin/python3';

/**
 * Runs `script` from `scriptsDir` (also its working directory) with WARREN_HOST and WARREN_PORT naming the broker;
 * resolves with the exit code and the interleaved stdout and stderr. SIGKILLs it after timeoutMs.
 */
export function runPythonScript(
  scriptsDir: string,
  script: string,
  broker: BrokerProcess,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(PYTHON, [join(scriptsDir, script)], {
      cwd: scriptsDir,
      env: { ...process.env, WARREN_HOST: broker.host, WARREN_PORT: String(broker.port), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, output });
    });
  });
}
