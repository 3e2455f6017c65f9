/**
 * SQLite durability and restarts: every write acknowledged with a 2xx survives `kill -9` of the server; a clean
 * restart keeps every object, the CA and the credentials; compaction leaves current objects intact.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { adminTls, cleanup, request, startServer, TestServer } from './harness.js';

let s: TestServer | undefined;
after(async () => { await cleanup(s); });

test('kill -9 during a burst of writes loses no acknowledged write; restart keeps objects and CA', async () => {
  s = await startServer({ datastore: 'sqlite://' });
  const srv = s;
  const caBefore = adminTls(srv).ca;
  const tls = adminTls(srv);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: tls.ca, cert: tls.cert, key: tls.key });
  const acked: string[] = [];
  let stop = false;
  const post = (name: string) => new Promise<number>((resolve) => {
    const u = new URL('/api/v1/namespaces/default/configmaps', srv.url);
    const req = https.request({ method: 'POST', hostname: u.hostname, port: u.port, path: u.pathname, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: name } }));
  });
  let seq = 0;
  const worker = async () => {
    while (!stop) {
      const name = `burst-${seq++}`;
      const code = await post(name);
      if (code === 201) acked.push(name);
      else if (code !== 0) throw new Error(`unexpected status ${code}`);
      else return; // connection died: the server was killed
    }
  };
  const workers = Array.from({ length: 12 }, worker);
  await new Promise((r) => setTimeout(r, 1500));
  await srv.stop('SIGKILL');
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  assert.ok(acked.length > 50, `only ${acked.length} writes acknowledged before the kill`);

  await srv.restart();
  const list = await request(srv, 'GET', '/api/v1/namespaces/default/configmaps');
  assert.equal(list.status, 200);
  const present = new Set<string>(list.json().items.map((i: { metadata: { name: string } }) => i.metadata.name));
  const lost = acked.filter((n) => !present.has(n));
  assert.deepEqual(lost, [], `${lost.length} acknowledged writes lost of ${acked.length}`);
  assert.equal(adminTls(srv).ca, caBefore, 'CA kept across restarts');

  // A clean restart (SIGTERM) keeps everything too and resourceVersions keep increasing.
  const before = list.json().metadata.resourceVersion;
  const code = await srv.stop('SIGTERM');
  assert.equal(code, 0, 'clean shutdown exits 0');
  await srv.restart();
  const again = await request(srv, 'GET', '/api/v1/namespaces/default/configmaps');
  assert.equal(again.json().items.length, present.size);
  const created = await request(srv, 'POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'after-restart' } }), headers: { 'content-type': 'application/json' } });
  assert.equal(created.status, 201);
  assert.ok(Number(created.json().metadata.resourceVersion) > Number(before));
  assert.ok(readFileSync(srv.kubeconfig, 'utf8').includes('current-context: skiff'));
});
