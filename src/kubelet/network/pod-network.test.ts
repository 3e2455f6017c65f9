import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CniInvoker, CniError, bridgeConfList } from './cni.js';
import { CniPodNetwork, DEFAULT_CNI_BIN_DIR } from './pod-network.js';
import { chainNames, cleanupNodeNetwork, desiredRoutes, iptablesRules } from './node-network.js';
import { ProcessRuntime } from '../runtime/process/process-runtime.js';

describe('CNI config and invoker', () => {
  test('bridge conflist: bridge + host-local over the podCIDR + portmap', () => {
    const l = bridgeConfList({ name: 'skiff-x', bridge: 'x0', subnet: '10.42.3.0/24', ipamDataDir: '/d/ipam', mtu: 1400 });
    assert.equal(l.cniVersion, '1.0.0');
    assert.deepEqual(l.plugins.map((p) => p.type), ['bridge', 'portmap']);
    const b = l.plugins[0]!;
    assert.equal(b.bridge, 'x0');
    assert.equal(b.isGateway, true);
    assert.equal(b.ipMasq, false);
    assert.equal(b.mtu, 1400);
    assert.deepEqual(b.ipam, { type: 'host-local', ranges: [[{ subnet: '10.42.3.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/d/ipam' });
    assert.equal(bridgeConfList({ name: 'n', bridge: 'b', subnet: '10.0.0.0/24', ipamDataDir: '/i', portmap: false }).plugins.length, 1);
  });

  test('pluginConf passes name, version, prevResult and only declared capabilities', () => {
    const list = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }] };
    const c = CniInvoker.pluginConf(list, list.plugins[0]!, { containerId: 'c', netns: '/n', ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 1 }], bandwidth: {} } }, { ips: [] });
    assert.deepEqual(c, { type: 'portmap', snat: true, cniVersion: '1.0.0', name: 'n', prevResult: { ips: [] }, runtimeConfig: { portMappings: [{ hostPort: 1 }] } });
  });

  test('exec protocol: env, stdin, chained prevResult, reverse DEL, error objects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cni-'));
    try {
      const log = join(dir, 'calls');
      // A fake plugin: records its env and stdin, answers a result naming itself (or an error for type "bad").
      writeFileSync(join(dir, 'fake'), `#!/bin/sh
in=$(cat)
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_NETNS $CNI_IFNAME $CNI_ARGS $CNI_PATH $in" >> ${log}
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.9/24"}]}'
exit 0
`);
      writeFileSync(join(dir, 'bad'), '#!/bin/sh\ncat >/dev/null\necho \'{"cniVersion":"1.0.0","code":11,"msg":"boom","details":"d"}\'\nexit 1\n');
      chmodSync(join(dir, 'fake'), 0o755);
      chmodSync(join(dir, 'bad'), 0o755);
      const cni = new CniInvoker([dir]);
      const list = { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'fake', n: 1 }, { type: 'fake', n: 2 }] };
      const rt = { containerId: 'cid', netns: '/proc/1/ns/net', ifName: 'eth0', args: { K8S_POD_NAME: 'p' } };
      const res = await cni.addNetworkList(list, rt);
      assert.equal(res.ips?.[0]?.address, '10.9.9.9/24');
      await cni.delNetworkList(list, rt, res);
      const calls = readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(calls.length, 4);
      assert.match(calls[0]!, new RegExp(`^ADD cid /proc/1/ns/net eth0 IgnoreUnknown=1;K8S_POD_NAME=p ${dir} `));
      assert.ok(!calls[0]!.includes('prevResult'));
      assert.match(calls[1]!, /"n":2.*"prevResult":\{"cniVersion":"1.0.0","ips"/);
      assert.match(calls[2]!, /^DEL .*"n":2/);
      assert.match(calls[3]!, /^DEL .*"n":1/);
      await assert.rejects(cni.addNetworkList({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'fake' }, { type: 'bad' }] }, rt), (e: unknown) => {
        assert.ok(e instanceof CniError);
        assert.equal(e.code, 11);
        assert.match(e.message, /boom: d/);
        return true;
      });
      // The failed ADD was rolled back: the fake plugin's ADD, then its DEL (bad's DEL is not logged).
      assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n').slice(4).map((l) => l.split(' ')[0]), ['ADD', 'DEL']);
      await assert.rejects(cni.exec('ADD', { type: 'missing' }, rt), /not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('node network helpers', () => {
  test('desiredRoutes: other nodes with a podCIDR inside the cluster CIDR, via their InternalIP', () => {
    const node = (name: string, cidr?: string, ip?: string) => ({
      metadata: { name },
      spec: cidr ? { podCIDR: cidr } : {},
      status: ip ? { addresses: [{ type: 'InternalIP', address: ip }] } : {},
    });
    const routes = desiredRoutes(
      [node('self', '10.42.0.0/24', '192.0.2.2'), node('b', '10.42.2.0/24', '192.0.2.3'), node('a', '10.42.1.0/24', '192.0.2.4'),
        node('nocidr', undefined, '192.0.2.5'), node('noip', '10.42.5.0/24'), node('samehost', '10.42.6.0/24', '192.0.2.2'),
        node('outside', '10.99.0.0/24', '192.0.2.7')],
      { nodeName: 'self', nodeIP: '192.0.2.2', clusterCIDR: '10.42.0.0/16' },
    );
    assert.deepEqual(routes, [{ dst: '10.42.1.0/24', via: '192.0.2.4', node: 'a' }, { dst: '10.42.2.0/24', via: '192.0.2.3', node: 'b' }]);
  });
  test('rules are named after the bridge and masquerade only traffic leaving the cluster CIDR', () => {
    assert.deepEqual(chainNames('skiff0'), { masq: 'SKNET-MASQ-SKIFF0', fwd: 'SKNET-FWD-SKIFF0' });
    assert.ok(chainNames('a-very-long-nam').masq.length <= 28);
    const r = iptablesRules('skiff0', '10.42.0.0/16');
    assert.deepEqual(r.natJump.slice(0, 3), ['POSTROUTING', '-s', '10.42.0.0/16']);
    assert.deepEqual(r.nat[0], ['-d', '10.42.0.0/16', '-j', 'RETURN']);
    assert.equal(r.nat.at(-1)![1], 'MASQUERADE');
  });
});

// ---------------------------------------------------------------- root: real plugins, real namespaces

const isRoot = process.getuid?.() === 0;
const tag = randomBytes(2).toString('hex');
const bridge = `sktpn${tag}`;
const cgroupRoot = `skiff-nettest-${process.pid}-${tag}`;
const probeDir = mkdtempSync(join(tmpdir(), 'skiff-netprobe-'));
const probe = new ProcessRuntime({ stateDir: probeDir, cgroupRoot });
await probe.close();
rmSync(probeDir, { recursive: true, force: true });
const have = (bin: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const rootSkip = !isRoot
  ? 'NEEDS ROOT (pod network namespaces, veth, bridge)'
  : !existsSync(join(DEFAULT_CNI_BIN_DIR, 'bridge')) || !existsSync(join(DEFAULT_CNI_BIN_DIR, 'host-local'))
    ? `NEEDS the CNI plugins in ${DEFAULT_CNI_BIN_DIR} (apt-get install containernetworking-plugins)`
    : !have('ip') || !have('nsenter') || !have('iptables')
      ? 'NEEDS ip, nsenter and iptables'
      : !probe.capabilities.namespaces
        ? `NEEDS pod namespaces: ${probe.capabilities.notes.join('; ')}`
        : undefined;
if (rootSkip) console.warn(`SKIP (pod network, real CNI): ${rootSkip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** What this test may have left on the host: only names it owns (other suites may change the host concurrently). */
const leftovers = (vethNames: string[]) => {
  const links = execFileSync('ip', ['-o', 'link', 'show']).toString();
  const routes = execFileSync('ip', ['route', 'show']).toString();
  const rules = execFileSync('iptables-save').toString();
  return [
    ...links.split('\n').filter((l) => l.includes(bridge) || vethNames.some((v) => l.includes(`${v}@`) || l.includes(`${v}:`))),
    ...routes.split('\n').filter((l) => l.includes(bridge)),
    ...rules.split('\n').filter((l) => l.toUpperCase().includes(bridge.toUpperCase())),
  ];
};

describe('pod network through ProcessRuntime (real CNI plugins)', { skip: rootSkip }, () => {
  const a = Math.floor(Math.random() * 200) + 20;
  const podCIDR = `10.201.${a}.0/24`;
  let dir = '';
  const veths: string[] = [];
  let rt: ProcessRuntime;
  let net: CniPodNetwork;
  const netDir = () => join(dir, 'network');
  const ipamFiles = () => {
    const d = join(netDir(), 'ipam', `skiff-${bridge}`);
    return existsSync(d) ? readdirSync(d).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  };
  const newRuntime = () => {
    net = new CniPodNetwork({ dataDir: netDir(), bridgeName: bridge, podCIDR });
    rt = new ProcessRuntime({ stateDir: join(dir, 'runtime'), cgroupRoot, network: net });
    return rt;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-podnet-'));
    newRuntime();
  });
  after(async () => {
    try {
      await rt?.purge();
      await rt?.close();
    } finally {
      await cleanupNodeNetwork({ bridgeName: bridge, dataDir: netDir(), clusterCIDR: '10.201.0.0/16' });
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(leftovers(veths), [], 'links, routes or rules left behind');
  });

  const node = process.execPath;
  async function waitLog(path: string, re: RegExp, what: string): Promise<string> {
    for (let i = 0; i < 500; i++) {
      const s = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (re.test(s)) return s;
      await sleep(20);
    }
    throw new Error(`timed out waiting for ${what}: ${existsSync(path) ? readFileSync(path, 'utf8') : '(no log)'}`);
  }

  test('distinct IPs, pod-to-pod TCP, shared localhost, release, adoption', async () => {
    const sb = async (name: string) => rt.runPodSandbox({ metadata: { name, namespace: 'd', uid: `u-${name}-${tag}` }, logDirectory: join(dir, 'logs', name) });
    const sa = await sb('a');
    const sbB = await sb('b');
    const ipA = (await rt.podSandboxStatus(sa)).network.ip;
    const ipB = (await rt.podSandboxStatus(sbB)).network.ip;
    assert.match(ipA, new RegExp(`^10\\.201\\.${a}\\.\\d+$`));
    assert.match(ipB, new RegExp(`^10\\.201\\.${a}\\.\\d+$`));
    assert.notEqual(ipA, ipB);
    assert.notEqual(ipA, `10.201.${a}.1`, 'the gateway is the bridge');
    assert.deepEqual(ipamFiles().sort(), [ipA, ipB].sort());
    for (const l of execFileSync('ip', ['-o', 'link', 'show', 'master', bridge]).toString().split('\n')) {
      const m = /^\d+: ([^@:]+)/.exec(l);
      if (m) veths.push(m[1]!);
    }
    assert.equal(veths.length, 2, 'one veth per pod on the bridge');

    // A server in pod a, listening on all addresses.
    const srv = await rt.createContainer(sa, {
      metadata: { name: 'srv' },
      command: [node, '-e', `require('net').createServer((s) => s.end('hello-from-a')).listen(8080, '0.0.0.0', () => console.log('listening'))`],
      logPath: 'srv/0.log',
    });
    await rt.startContainer(srv);
    await waitLog((await rt.containerStatus(srv)).logPath, /listening/, 'server start');

    // Second container of pod a: localhost reaches the first container.
    const cli = await rt.createContainer(sa, {
      metadata: { name: 'cli' },
      command: [node, '-e', `require('net').connect(8080, '127.0.0.1').on('data', (d) => console.log('got', String(d)))`],
      logPath: 'cli/0.log',
    });
    await rt.startContainer(cli);
    await waitLog((await rt.containerStatus(cli)).logPath, /got hello-from-a/, 'localhost within the pod');

    // Pod b reaches pod a by IP through the bridge.
    const pidB = (await rt.podSandboxStatus(sbB)).pid!;
    const out = execFileSync('nsenter', [`--net=/proc/${pidB}/ns/net`, node, '-e',
      `require('net').connect(8080, '${ipA}').on('data', (d) => process.stdout.write(d)).on('error', (e) => { console.error(e.message); process.exit(1); })`], { timeout: 20_000 }).toString();
    assert.equal(out, 'hello-from-a');
    // And the node reaches pods (the bridge is the pods' gateway on this host).
    const fromHost = execFileSync(node, ['-e', `require('net').connect(8080, '${ipA}').on('data', (d) => process.stdout.write(d))`], { timeout: 20_000 }).toString();
    assert.equal(fromHost, 'hello-from-a');

    // Adoption: a new runtime and network on the same state keep the IPs and can tear them down.
    await rt.close();
    newRuntime();
    assert.equal((await rt.podSandboxStatus(sa)).network.ip, ipA);
    assert.equal((await rt.podSandboxStatus(sbB)).network.ip, ipB);

    // Removing a sandbox releases its address (with a dead namespace too: kill b's infra first).
    process.kill(pidB, 'SIGKILL');
    for (let i = 0; i < 100 && existsSync(`/proc/${pidB}`); i++) await sleep(20);
    assert.equal((await rt.podSandboxStatus(sbB)).state, 'SANDBOX_NOTREADY');
    await rt.removePodSandbox(sbB);
    assert.deepEqual(ipamFiles(), [ipA]);
    await rt.stopPodSandbox(sa);
    assert.equal((await rt.podSandboxStatus(sa)).network.ip, '');
    assert.deepEqual(ipamFiles(), []);
    await rt.stopPodSandbox(sa); // idempotent
    await rt.removePodSandbox(sa);
    // A new pod reuses the freed range.
    const sc = await sb('c');
    assert.match((await rt.podSandboxStatus(sc)).network.ip, new RegExp(`^10\\.201\\.${a}\\.\\d+$`));
    await rt.removePodSandbox(sc);
    assert.deepEqual(ipamFiles(), []);
    assert.equal(readdirSync(join(netDir(), 'results')).length, 0);
  });
});
