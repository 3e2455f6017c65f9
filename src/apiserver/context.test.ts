import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ApiError } from '../api/errors.js';
import { readBody } from './context.js';

// readBody's limit, small here: the server answers 200 with the body's length, or the error's code.
const LIMIT = 1000;
let server: http.Server;
let port: number;
before(async () => {
  server = http.createServer((req, res) => {
    readBody(req, LIMIT).then(
      (b) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(String(b.length).length) }).end(String(b.length)),
      (e: unknown) => res.writeHead(e instanceof ApiError ? e.code : 500, { 'content-type': 'text/plain' }).end('too large'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** A raw HTTP/1.1 POST with `Connection: close`: sends the head and `first` bytes of a `declared`-byte body. */
function post(declared: number, first: number): { sock: net.Socket; answer: Promise<string>; rest(): void } {
  const sock = net.connect(port, '127.0.0.1');
  sock.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n`);
  if (first) sock.write(Buffer.alloc(first, 0x61));
  let text = '';
  sock.on('data', (d) => { text += d; });
  const answer = new Promise<string>((resolve, reject) => {
    sock.on('end', () => resolve(text));
    sock.on('error', reject);
  });
  return { sock, answer, rest: () => { sock.write(Buffer.alloc(declared - first, 0x61)); } };
}

const status = (text: string) => Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a body within the limit is read whole', async () => {
  const p = post(LIMIT, 400);
  p.rest();
  const text = await p.answer;
  assert.equal(status(text), 200);
  assert.match(text, /\r\n\r\n1000$/);
});

test('a body declared over the limit (up to twice it) gets its 413 only once it has been received', async () => {
  const p = post(LIMIT + 500, 300);
  let answered = false;
  void p.answer.then(() => { answered = true; }, () => { answered = true; });
  await sleep(200);
  assert.equal(answered, false, 'no answer (nor close) while the client is still sending');
  p.rest();
  assert.equal(status(await p.answer), 413);
});

test('a body declared over twice the limit is answered 413 at once', async () => {
  const p = post(3 * LIMIT, 0);
  const text = await Promise.race([p.answer, sleep(5000).then(() => 'no answer')]);
  p.sock.destroy();
  assert.equal(status(text), 413, text);
});
