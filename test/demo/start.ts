/**
 * Starting the demo as `npm start` starts it (`tsx examples/demo/main.ts`), on 127.0.0.1 with
 * PORT=0 unless told otherwise, for the demo's HTTP and browser tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const root = new URL('../../', import.meta.url).pathname;

/** A running demo. */
export interface Demo {
  url: string;
  banner: string;
  child: ChildProcess;
}

/** How a demo process ended. */
export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnDemo(env: Record<string, string>): ChildProcess {
  return spawn(`${root}node_modules/.bin/tsx`, ['examples/demo/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts the demo and waits for its banner. */
export function startDemo(env: Record<string, string>): Promise<Demo> {
  const child = spawnDemo(env);
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the demo did not start within 20 s:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /on http:\/\/localhost:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${match[1]}`, banner: output.trim(), child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${output}`));
    });
  });
}

/** Runs a demo that is expected to stop by itself (it could not start), and tells how it ended. */
export function runDemoToExit(env: Record<string, string>): Promise<Exit> {
  const child = spawnDemo(env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the demo was still running after 20 s:\n${stdout}${stderr}`));
    }, 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stops a demo (SIGTERM) and waits for it to exit. */
export function stopDemo(demo: Demo | undefined): Promise<void> {
  if (!demo || demo.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    demo.child.once('exit', () => resolve());
    demo.child.kill('SIGTERM');
  });
}
