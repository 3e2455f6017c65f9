/**
 * Service networking end to end with the real kubectl on `skiff server` with its in-process agent and the bridge
 * pod network (issue "Service networking", Tests): pod-to-pod by IP, localhost between a pod's containers, a
 * 3-replica Deployment through its ClusterIP and DNS name (every replica answers), scale-down removes endpoints, a
 * NodePort on the node address, an Ingress with two hosts, two paths and TLS, an Indexed Job whose pods resolve each
 * other by `hostname.subdomain`, and `kubectl port-forward svc/…`. The server gets its own cluster CIDR, service CIDR,
 * bridge and iptables chain prefix; at the end everything it created on the host (bridge, routes, chains, netns) is
 * removed and checked gone. Needs root, kubectl and the CNI plugins; skips loudly otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KUBECTL, startServer, until, type TestServer } from './harness.js';
import { hostCert, networkCleanup, networkSkip, saveSysctls, yamlDocs as docs } from './net-helpers.js';

const SKIP = networkSkip('network end-to-end tests');

const CLUSTER_CIDR = '10.216.0.0/16';
const SERVICE_CIDR = '10.217.0.0/16';
const CLUSTER_DNS = '10.217.0.10';
const BRIDGE = 'sknete2e0';
const CHAIN_PREFIX = 'SKNETE';
const HTTP_PORT = 18480;
const HTTPS_PORT = 18443;

let s: TestServer;
let nodeIP = '';
let restoreSysctls: (() => void) | undefined;

/** A node one-liner HTTP server answering its pod name (and the path) on PORT. */
const SERVER_JS = "require('http').createServer((q,s)=>s.end(require('os').hostname()+' '+q.url)).listen(+process.env.PORT)";
/** Fetches URL N times from inside a pod (fresh connection each) and prints the bodies one per line. */
const fetchJs = (url: string, n: number) =>
  `const h=require('http');let left=${n};const go=()=>h.get(${JSON.stringify(url)},{agent:false},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{console.log(b);if(--left>0)go()})}).on('error',e=>{console.log('ERR '+e.code);if(--left>0)go()});go()`;

async function execIn(pod: string, js: string, container?: string): Promise<string> {
  const r = await s.kubectl(['exec', pod, ...(container ? ['-c', container] : []), '--', 'node', '-e', js], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`exec in ${pod} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A Deployment of SERVER_JS pods listening on `port` (named `portName`), Ready once the port accepts. */
const serverDeployment = (name: string, replicas: number, port: number, portName: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: ${name}
        image: node
        command: [node, -e, "${SERVER_JS}"]
        env: [{ name: PORT, value: "${port}" }]
        ports: [{ containerPort: ${port}, name: ${portName} }]
        readinessProbe: { tcpSocket: { port: ${port} }, periodSeconds: 1 }`;

/** One plain-HTTP GET from this host (fresh connection); undefined on a connection error. */
function httpGet(o: { host: string; port: number; path: string; headers?: Record<string, string>; timeout: number }): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    http.get({ ...o, agent: false }, (r) => {
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b }));
    }).on('error', () => resolve(undefined));
  });
}

function iptablesSave(): string {
  return spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout ?? '';
}

before(async () => {
  if (SKIP) return;
  restoreSysctls = saveSysctls();
  s = await startServer({
    withAgent: true,
    extraArgs: [
      '--pod-network=bridge', `--cluster-cidr=${CLUSTER_CIDR}`, `--service-cidr=${SERVICE_CIDR}`, `--cluster-dns=${CLUSTER_DNS}`,
      `--bridge-name=${BRIDGE}`, `--proxy-chain-prefix=${CHAIN_PREFIX}`,
      `--ingress-http-port=${HTTP_PORT}`, `--ingress-https-port=${HTTPS_PORT}`,
    ],
  });
  await until('node Ready', async () => (await s.kubectl(['get', 'nodes'])).stdout.includes(' Ready'));
  nodeIP = (await s.k(['get', 'nodes', '-o', "jsonpath={.items[0].status.addresses[?(@.type=='InternalIP')].address}"])).trim();
  await until('default service account', async () => (await s.kubectl(['get', 'sa', 'default'])).code === 0);
  const manifest = `${serverDeployment('web', 3, 8080, 'http')}
---${serverDeployment('api', 1, 9090, 'api')}
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: api }
spec:
  selector: { app: api }
  ports: [{ name: http, port: 80, targetPort: api }]
---
apiVersion: v1
kind: Service
metadata: { name: web-np }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - { name: c, image: node, command: [sleep, "3600"] }
---
apiVersion: v1
kind: Pod
metadata: { name: duo }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: node
    command: [node, -e, "${SERVER_JS}"]
    env: [{ name: PORT, value: "7070" }]
  - { name: side, image: node, command: [sleep, "3600"] }
`;
  await s.k(['apply', '-f', '-'], { input: manifest });
  await s.k(['wait', '--for=condition=Ready', 'pod/client', 'pod/duo', '--timeout=90s']);
  await s.k(['rollout', 'status', 'deploy/web', '--timeout=90s']);
  await s.k(['rollout', 'status', 'deploy/api', '--timeout=90s']);
});

after(async () => {
  if (SKIP || !s) return;
  try {
    await s.kubectl(['delete', 'all', '--all', '--wait=true', '--timeout=60s']);
    await s.kubectl(['delete', 'ingress', '--all']);
  } finally {
    await s.stop('SIGTERM');
    networkCleanup(s.dataDir, { bridge: BRIDGE, clusterCidr: CLUSTER_CIDR, chainPrefix: CHAIN_PREFIX });
    restoreSysctls?.();
    rmSync(s.dataDir, { recursive: true, force: true });
    rmSync(s.cacheDir, { recursive: true, force: true });
  }
  // The host is left as found: no bridge, no chains of ours.
  assert.equal(spawnSync('ip', ['link', 'show', BRIDGE]).status !== 0, true, `bridge ${BRIDGE} left behind`);
  assert.doesNotMatch(iptablesSave(), new RegExp(CHAIN_PREFIX), 'iptables chains left behind');
  assert.doesNotMatch(spawnSync('ip', ['route'], { encoding: 'utf8' }).stdout, /10\.216\./, 'routes left behind');
});

test('pods get IPs from the node podCIDR and talk to each other by pod IP', { skip: SKIP }, async () => {
  const podCIDR = (await s.k(['get', 'nodes', '-o', 'jsonpath={.items[0].spec.podCIDR}'])).trim();
  assert.match(podCIDR, /^10\.216\.\d+\.0\/24$/);
  const ips = (await s.k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.podIP}'])).trim().split(/\s+/);
  assert.equal(ips.length, 3);
  const prefix = podCIDR.split('.').slice(0, 3).join('.') + '.';
  for (const ip of ips) assert.ok(ip.startsWith(prefix), `${ip} not in ${podCIDR}`);
  assert.equal(new Set(ips).size, 3, 'pod IPs are unique');
  const out = await execIn('client', fetchJs(`http://${ips[0]}:8080/direct`, 1));
  assert.match(out, /^web-\S+ \/direct$/m);
});

test('containers of one pod talk over localhost', { skip: SKIP }, async () => {
  const out = await execIn('duo', fetchJs('http://127.0.0.1:7070/lo', 1), 'side');
  assert.match(out, /^duo \/lo$/m);
});

test('a client reaches a 3-replica Deployment through its ClusterIP and DNS name; every replica answers', { skip: SKIP }, async () => {
  const clusterIP = (await s.k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  assert.match(clusterIP, /^10\.217\.\d+\.\d+$/);
  const viaIP = (await execIn('client', fetchJs(`http://${clusterIP}/`, 40))).trim().split('\n');
  assert.equal(viaIP.filter((l) => l.startsWith('ERR')).length, 0, viaIP.join('\n'));
  assert.equal(new Set(viaIP.map((l) => l.split(' ')[0])).size, 3, `answers from every replica: ${viaIP.join(', ')}`);
  // DNS: the short name through the search path, and the full name.
  for (const name of ['web', 'web.default.svc.cluster.local']) {
    const out = (await execIn('client', fetchJs(`http://${name}/dns`, 10))).trim().split('\n');
    assert.equal(out.filter((l) => l.startsWith('ERR')).length, 0, `${name}: ${out.join('\n')}`);
  }
  const resolv = await s.k(['exec', 'client', '--', 'cat', '/etc/resolv.conf']);
  assert.match(resolv, new RegExp(`nameserver ${CLUSTER_DNS.replace(/\./g, '\\.')}`));
  assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  assert.match(resolv, /ndots:5/);
  const nx = await execIn('client', "require('dns').lookup('nope.default.svc.cluster.local',(e,a)=>console.log(e?e.code:a))");
  assert.match(nx, /ENOTFOUND/);
});

test('scaling down removes endpoints: no request reaches a gone pod', { skip: SKIP }, async () => {
  await s.k(['scale', 'deploy/web', '--replicas=1']);
  await until('one web pod', async () => (await s.k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim().split('\n').filter(Boolean).length === 1, 60_000);
  const left = (await s.k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const clusterIP = (await s.k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const out = (await execIn('client', fetchJs(`http://${clusterIP}/`, 20))).trim().split('\n');
  assert.deepEqual([...new Set(out.map((l) => l.split(' ')[0]))], [left], out.join('\n'));
});

test('a NodePort answers on the node address', { skip: SKIP }, async () => {
  const port = Number((await s.k(['get', 'svc', 'web-np', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim());
  assert.ok(port >= 30000 && port <= 32767, String(port));
  const body = await until('NodePort answer', async () => (await httpGet({ host: nodeIP, port, path: '/np', timeout: 2000 }))?.body, 20_000);
  assert.match(body, /^web-\S+ \/np$/);
});

test('a LoadBalancer Service gets the node address and answers on it', { skip: SKIP }, async () => {
  await s.k(['expose', 'deploy/web', '--name=web-lb', '--type=LoadBalancer', '--port=18081', '--target-port=8080']);
  const ip = await until('EXTERNAL-IP', async () => (await s.k(['get', 'svc', 'web-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim() || undefined, 20_000);
  assert.equal(ip, nodeIP);
  const body = await until('LoadBalancer answer', async () => (await httpGet({ host: ip, port: 18081, path: '/lb', timeout: 2000 }))?.body, 20_000);
  assert.match(body, /^web-\S+ \/lb$/);
  await s.k(['delete', 'svc', 'web-lb']);
});

test('an Ingress routes two hosts and two paths to two services, including TLS', { skip: SKIP }, async () => {
  const cert = await hostCert('a.example.test');
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  await s.k(['apply', '-f', '-'], {
    input: docs([
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a-tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(cert.certPem), 'tls.key': b64(cert.keyPem) } },
        {
          apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'routes' },
          spec: {
            tls: [{ hosts: ['a.example.test'], secretName: 'a-tls' }],
            rules: [
              { host: 'a.example.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
              { host: 'b.example.test', http: { paths: [
                { path: '/web', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
                { path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } },
              ] } },
            ],
          },
        },
    ]),
  });
  // The default IngressClass was filled in, and the controller wrote the node address into the status.
  assert.equal((await s.k(['get', 'ingress', 'routes', '-o', 'jsonpath={.spec.ingressClassName}'])).trim(), 'skiff');
  await until('ingress status', async () => (await s.k(['get', 'ingress', 'routes', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim() === nodeIP, 20_000);
  const get = (host: string, path: string) => httpGet({ host: '127.0.0.1', port: HTTP_PORT, path, headers: { host }, timeout: 3000 });
  const a = await until('a.example.test routed', async () => { const r = await get('a.example.test', '/x'); return r?.status === 200 ? r : undefined; }, 20_000);
  assert.match(a.body, /^web-\S+ \/x$/);
  assert.match((await get('b.example.test', '/web/1'))!.body, /^web-\S+ \/web\/1$/);
  assert.match((await get('b.example.test', '/api/2'))!.body, /^api-\S+ \/api\/2$/);
  assert.equal((await get('b.example.test', '/other'))!.status, 404);
  // TLS with SNI: the Secret's certificate is served for a.example.test.
  const tlsRes = await new Promise<{ cn: string; body: string }>((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: HTTPS_PORT, servername: 'a.example.test', path: '/tls', headers: { host: 'a.example.test' }, rejectUnauthorized: false, agent: false }, (r) => {
      const cn = String((r.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      let b = '';
      r.on('data', (d) => (b += d));
      r.on('end', () => resolve({ cn, body: b }));
    });
    req.on('error', reject);
  });
  assert.equal(tlsRes.cn, 'a.example.test');
  assert.match(tlsRes.body, /^web-\S+ \/tls$/);
});

test('the pods of an Indexed Job with a headless Service resolve each other by hostname.subdomain', { skip: SKIP }, async () => {
  // Each worker serves its index and then fetches the other worker's by DNS name, as distributed training does.
  const worker = "const h=require('http');const i=+process.env.JOB_COMPLETION_INDEX;h.createServer((q,s)=>s.end('w'+i)).listen(7000);" +
    "const other='ring-'+(1-i)+'.ring';let n=0;const go=()=>h.get('http://'+other+':7000/',{agent:false},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{console.log('got '+b+' from '+other);setTimeout(()=>process.exit(0),3000)})}).on('error',e=>{if(++n>120){console.log('fail '+e.code);process.exit(1)}setTimeout(go,500)});go()";
  await s.k(['apply', '-f', '-'], {
    input: docs([
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ring' }, spec: { clusterIP: 'None', selector: { 'job-name': 'ring' }, ports: [{ name: 'w', port: 7000 }] } },
        {
          apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'ring' },
          spec: {
            completions: 2, parallelism: 2, completionMode: 'Indexed',
            template: { spec: { subdomain: 'ring', restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'w', image: 'node', command: ['node', '-e', worker] }] } },
          },
        },
    ]),
  });
  await s.k(['wait', '--for=condition=complete', 'job/ring', '--timeout=90s']);
  const logs = await s.k(['logs', '-l', 'job-name=ring', '--prefix']);
  assert.match(logs, /got w1 from ring-1\.ring/);
  assert.match(logs, /got w0 from ring-0\.ring/);
});

test('kubectl port-forward svc/NAME reaches the service', { skip: SKIP }, async () => {
  const local = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const pf = spawn(KUBECTL!, ['--kubeconfig', s.kubeconfig, 'port-forward', 'svc/api', `${local}:80`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const body = await until('port-forward answer', async () => (await httpGet({ host: '127.0.0.1', port: local, path: '/pf', timeout: 2000 }))?.body, 20_000);
    assert.match(body, /^api-\S+ \/pf$/);
  } finally {
    pf.kill('SIGKILL');
  }
});

test('a pod reaches the API in-cluster with its service-account token and kube-root-ca.crt', { skip: SKIP }, async () => {
  // What client-go's rest.InClusterConfig does: KUBERNETES_SERVICE_HOST/PORT (the `kubernetes` Service), the bound
  // token and the CA that the ServiceAccount admission plugin's kube-api-access volume mounts.
  const inCluster = "const fs=require('fs'),https=require('https');const d='/var/run/secrets/kubernetes.io/serviceaccount/';" +
    "https.get({host:process.env.KUBERNETES_SERVICE_HOST,port:process.env.KUBERNETES_SERVICE_PORT,path:'/api/v1/namespaces/default/pods',agent:false," +
    "ca:fs.readFileSync(d+'ca.crt'),headers:{Authorization:'Bearer '+fs.readFileSync(d+'token','utf8').trim()}},r=>{let b='';r.on('data',c=>b+=c);" +
    "r.on('end',()=>{let n=[];try{n=JSON.parse(b).items.map(i=>i.metadata.name)}catch(e){}console.log(fs.readFileSync(d+'namespace','utf8')+' '+r.statusCode+' '+n.join(','))})})" +
    ".on('error',e=>console.log('ERR '+e.code+' '+e.message))";
  const out = await until('in-cluster API answer', async () => {
    const o = (await execIn('client', inCluster)).trim();
    return o.startsWith('ERR') ? undefined : o;
  }, 30_000);
  const [ns, status, names] = out.split(' ');
  assert.equal(ns, 'default', out);
  assert.equal(status, '200', out);
  assert.ok((names ?? '').split(',').includes('client'), out);
  // The injected volume is what upstream's admission adds.
  const vol = JSON.parse(await s.k(['get', 'pod', 'client', '-o', 'jsonpath={.spec.volumes[0]}']));
  assert.match(vol.name, /^kube-api-access-[a-z0-9]{5}$/);
  assert.equal((await s.k(['get', 'pod', 'client', '-o', 'jsonpath={.spec.serviceAccountName}'])).trim(), 'default');
});
