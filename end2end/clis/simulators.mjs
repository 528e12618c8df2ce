// Starts `slipway sim` (SLIPWAY_BIN, default ../target/debug/slipway) on free ports for a test
// file, and reads the simulators' URLs and request log from its output.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export async function startSimulators() {
  const bin = process.env.SLIPWAY_BIN ?? '../target/debug/slipway';
  // The Supabase CLI checks the token's format: sbp_ and 40 hex digits.
  const token = 'sbp_' + randomBytes(20).toString('hex');
  const child = spawn(bin, ['sim', '--token', token, '--vercel-port', '0', '--supabase-port', '0',
    '--cloudflare-port', '0', '--supabase-ready-secs', '0', '--latency-ms', '0'],
  { env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' } });
  const sim = { token, urls: {}, log: '', stop: () => child.kill() };
  child.stdout.on('data', (d) => { sim.log += d; });
  child.stderr.on('data', (d) => { sim.log += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 20000;
  const names = [['Vercel API', 'vercel'], ['Supabase API', 'supabase'], ['Cloudflare API', 'cloudflare']];
  while (names.some(([, key]) => !sim.urls[key])) {
    if (Date.now() > deadline) throw new Error(`the simulators did not start:\n${sim.log}`);
    if (child.exitCode !== null) throw new Error(`slipway sim exited (${child.exitCode}):\n${sim.log}`);
    for (const [name, key] of names) {
      const m = sim.log.match(new RegExp(`${name}:\\s+(http://\\S+)`));
      if (m) sim.urls[key] = m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  sim.exited = exited;
  return sim;
}

// The simulator's request-log lines (`simulated request method=… path=… status=…`).
export function requestLines(sim) {
  return sim.log.split('\n').filter((l) => l.includes('simulated request'));
}
