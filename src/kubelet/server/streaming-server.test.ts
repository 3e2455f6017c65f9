import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { ProcessRuntime } from '../runtime/process/process-runtime.js';
import { startStreamingServer, type StreamingServer } from './streaming-server.js';
import { execSpdy, execWebSocket, forwardStreams, portForwardSpdy, portForwardWebSocket } from './test-client.js';

const dir = mkdtempSync('/tmp/skiff-stream-');
const rt = new ProcessRuntime({ stateDir: join(dir, 'state'), isolation: 'none' });
let server: StreamingServer;
const ids: Record<string, string> = {};
let sandbox = '';
const echoPort = 20000 + Math.floor(Math.random() * 20000);

const ECHO = `require('net').createServer((s) => s.pipe(s)).listen(${echoPort}, '127.0.0.1', () => console.log('listening'))`;

async function until(fn: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(server.url + path, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

before(async () => {
  sandbox = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'ns', uid: 'u1' }, logDirectory: join(dir, 'logs') });
  const make = async (name: string, command: string[]) => {
    ids[name] = await rt.createContainer(sandbox, { metadata: { name }, command, logPath: `${name}/0.log` });
    await rt.startContainer(ids[name]!);
  };
  await make('main', ['/bin/sh', '-c', 'echo one; echo two; echo three; sleep 0.6; echo four >&2; exec sleep 30']);
  await make('echo', [process.execPath, '-e', ECHO]);
  await make('done', ['/bin/sh', '-c', 'echo bye']);
  server = await startStreamingServer({
    runtime: rt,
    port: 0,
    backend: {
      containerId: (ns, pod, c) => (ns === 'ns' && pod === 'p' ? ids[c] : undefined),
      sandboxId: (ns, pod) => (ns === 'ns' && pod === 'p' ? sandbox : undefined),
      logPath: async (ns, pod, c, previous) => (ns === 'ns' && pod === 'p' && ids[c] && !previous ? (await rt.containerStatus(ids[c]!)).logPath : undefined),
    },
  });
  await until(async () => (await get('/containerLogs/ns/p/echo')).body.includes('listening'));
  await until(async () => (await rt.containerStatus(ids['done']!)).state === 'CONTAINER_EXITED');
});

after(async () => {
  await server?.close();
  await rt.purge();
  rmSync(dir, { recursive: true, force: true });
});

describe('containerLogs', () => {
  test('whole log, tail, timestamps, limitBytes', async () => {
    await until(async () => (await get('/containerLogs/ns/p/main')).body.includes('three'));
    const all = await get('/containerLogs/ns/p/main');
    assert.equal(all.status, 200);
    assert.match(all.body, /^one\ntwo\nthree\n/);
    assert.equal((await get('/containerLogs/ns/p/main?tailLines=1')).body.split('\n')[0], (await get('/containerLogs/ns/p/main')).body.trim().split('\n').at(-1));
    assert.equal((await get('/containerLogs/ns/p/main?tailLines=0')).body, '');
    const ts = await get('/containerLogs/ns/p/main?timestamps=true');
    assert.match(ts.body.split('\n')[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z one$/);
    assert.equal((await get('/containerLogs/ns/p/main?limitBytes=5')).body, 'one\nt');
    assert.equal((await get('/containerLogs/ns/p/main?sinceTime=2999-01-01T00:00:00Z')).body, '');
  });

  test('follow streams new lines and ends when the container exited', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      http.get(`${server.url}/containerLogs/ns/p/main?follow=true`, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
          if (body.includes('four')) { res.destroy(); resolve(body); }
        });
        res.on('error', () => undefined);
      }).on('error', reject);
    });
    assert.match(got, /three\n(.|\n)*four\n/);
    const done = await get('/containerLogs/ns/p/done?follow=true');
    assert.equal(done.body, 'bye\n');
  });

  test('errors', async () => {
    assert.equal((await get('/containerLogs/ns/p/nope')).status, 404);
    const prev = await get('/containerLogs/ns/p/main?previous=true');
    assert.equal(prev.status, 400);
    assert.match(prev.body, /previous terminated container "main" in pod "p" not found/);
    assert.equal((await get('/containerLogs/ns/p/main?tailLines=-1')).status, 400);
  });
});

describe('exec over WebSocket v5', () => {
  test('echo hi → stdout and Success', async () => {
    const r = await execWebSocket(`${server.url}/exec/ns/p/main?command=echo&command=hi&stdout=true&stderr=true`);
    assert.equal(r.stdout, 'hi\n');
    assert.deepEqual(JSON.parse(r.status), { metadata: {}, status: 'Success' });
  });

  test('exit 3 → NonZeroExitCode with cause ExitCode 3; stderr separated', async () => {
    const r = await execWebSocket(`${server.url}/exec/ns/p/main?command=sh&command=-c&command=${encodeURIComponent('echo oops >&2; exit 3')}&stdout=true&stderr=true`);
    assert.equal(r.stderr, 'oops\n');
    const st = JSON.parse(r.status);
    assert.equal(st.status, 'Failure');
    assert.equal(st.reason, 'NonZeroExitCode');
    assert.deepEqual(st.details.causes, [{ reason: 'ExitCode', message: '3' }]);
  });

  test('stdin is delivered and closed with [255, 0]', async () => {
    const r = await execWebSocket(`${server.url}/exec/ns/p/main?command=cat&stdin=true&stdout=true`, 'from stdin\n');
    assert.equal(r.stdout, 'from stdin\n');
  });

  test('v4 works the same', async () => {
    const r = await execWebSocket(`${server.url}/exec/ns/p/main?command=echo&command=v4&stdout=true`, undefined, 'v4.channel.k8s.io');
    assert.equal(r.stdout, 'v4\n');
    assert.equal(JSON.parse(r.status).status, 'Success');
  });

  test('refusals are plain HTTP errors (kubectl then tries SPDY)', async () => {
    await assert.rejects(execWebSocket(`${server.url}/exec/ns/p/ghost?command=true&stdout=true`), /404/);
    await assert.rejects(execWebSocket(`${server.url}/exec/ns/p/main?stdout=true`), /400/);
  });
});

describe('exec over SPDY/3.1', () => {
  test('echo hi and exit code', async () => {
    const r = await execSpdy(`${server.url}/exec/ns/p/main?command=sh&command=-c&command=${encodeURIComponent('echo hi; echo err >&2')}&stdout=true&stderr=true`);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(JSON.parse(r.status).status, 'Success');
    const f = await execSpdy(`${server.url}/exec/ns/p/main?command=sh&command=-c&command=exit%203&stdout=true`);
    assert.deepEqual(JSON.parse(f.status).details.causes, [{ reason: 'ExitCode', message: '3' }]);
  });

  test('stdin', async () => {
    const r = await execSpdy(`${server.url}/exec/ns/p/main?command=cat&stdin=true&stdout=true`, 'spdy in\n');
    assert.equal(r.stdout, 'spdy in\n');
  });
});

describe('portForward', () => {
  async function roundTrip(session: Awaited<ReturnType<typeof portForwardSpdy>>, id: number, text: string): Promise<string> {
    const { data, error } = forwardStreams(session, echoPort, id);
    let errText = '';
    error.on('data', (d: Buffer) => { errText += d; });
    let got = '';
    data.on('data', (d: Buffer) => { got += d; });
    data.write(text);
    await until(() => got.length >= text.length || errText.length > 0);
    assert.equal(errText, '');
    data.end();
    return got;
  }

  test('WebSocket-tunnelled SPDY reaches a TCP echo server in the pod', async () => {
    const s = await portForwardWebSocket(`${server.url}/portForward/ns/p`);
    assert.equal(await roundTrip(s, 0, 'hello over ws'), 'hello over ws');
    assert.equal(await roundTrip(s, 1, 'x'.repeat(200_000)), 'x'.repeat(200_000));
    await s.goAway();
  });

  test('plain SPDY', async () => {
    const s = await portForwardSpdy(`${server.url}/portForward/ns/p`);
    assert.equal(await roundTrip(s, 0, 'hello over spdy'), 'hello over spdy');
    await s.goAway();
  });

  test('a closed port is reported on the error stream', async () => {
    const s = await portForwardSpdy(`${server.url}/portForward/ns/p`);
    const error = s.openStream({ streamtype: 'error', port: '1', requestid: '9' });
    error.end();
    s.openStream({ streamtype: 'data', port: '1', requestid: '9' });
    let errText = '';
    error.on('data', (d: Buffer) => { errText += d; });
    await until(() => errText.length > 0);
    assert.match(errText, /error forwarding port 1/);
    await s.goAway();
  });
});
