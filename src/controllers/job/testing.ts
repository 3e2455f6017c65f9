/**
 * A fake kubelet for Job and CronJob tests, until the node agent exists: it watches Pods and writes what a kubelet
 * would through the status subresource — Running and Ready, then Succeeded or Failed with each container's
 * `terminated` state (exit code, finishedAt) — and finishes deleted Pods the way a kubelet does after killing
 * their containers (phase Failed, then a delete with grace period 0). What a Pod does is decided per Pod.
 */
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../../client/dynamic.js';
import { Informer } from '../../client/informer.js';
import type { Logger } from '../../client/log.js';
import { isNotFound } from '../../client/rest.js';

/** What a Pod does: exit with this code (0 → Succeeded), keep running (`hold`), and extra conditions to report. */
export interface PodBehaviour {
  exitCode?: number;
  hold?: boolean;
  conditions?: PodCondition[];
}

/** Options of {@link startFakeKubelet}. */
export interface FakeKubeletOptions {
  namespace?: string;
  /** Decides each Pod's fate; default: {@link exitCodeFromCommand}. */
  behaviour?: (pod: Pod) => PodBehaviour;
  /** Real milliseconds a Pod stays Running before it terminates (default 20). */
  runMs?: number;
}

/** A running fake kubelet. */
export interface FakeKubelet {
  stop(): Promise<void>;
}

/** Default behaviour: the first `exit N` in the first container's command and args, else exit 0. */
export function exitCodeFromCommand(pod: Pod): PodBehaviour {
  const c = pod.spec?.containers?.[0];
  const text = [...(c?.command ?? []), ...(c?.args ?? [])].join(' ');
  if (/\bsleep\s+infinity\b/.test(text)) return { hold: true };
  const m = /\bexit\s+(\d+)/.exec(text);
  return { exitCode: m ? Number(m[1]) : 0 };
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Starts the fake kubelet; see the module comment. */
export function startFakeKubelet(client: DynamicClient, opts: FakeKubeletOptions = {}): FakeKubelet {
  const pods = client.resource<Pod>('v1', 'Pod');
  const inf = new Informer<Pod>(pods, { namespace: opts.namespace, logger: quiet });
  const behaviour = opts.behaviour ?? exitCodeFromCommand;
  const busy = new Set<string>();
  /** Running Pods whose run time is over. */
  const due = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const patchStatus = (p: Pod, status: Record<string, unknown>) =>
    pods.patch(p.metadata!.namespace, p.metadata!.name!, 'merge', { status }, { subresource: 'status' });

  const step = async (key: string): Promise<void> => {
    const [ns, name] = key.split('/');
    const p = inf.lister.get(ns, name);
    if (!p || stopped) return;
    const names = (p.spec?.containers ?? []).map((c) => c.name);
    const phase = p.status?.phase;
    if (p.metadata?.deletionTimestamp) {
      if (phase !== 'Succeeded' && phase !== 'Failed') {
        await patchStatus(p, {
          phase: 'Failed',
          conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now() }],
          containerStatuses: names.map((n) => ({ name: n, ready: false, restartCount: 0, image: '', imageID: '',
            state: { terminated: { exitCode: 137, reason: 'Error', finishedAt: now() } } })),
        });
      }
      await pods.delete(ns, name, { gracePeriodSeconds: 0 });
      return;
    }
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const b = behaviour(p);
    if (phase === 'Running' && !due.has(key)) return;
    if (phase !== 'Running') {
      await patchStatus(p, {
        phase: 'Running', startTime: now(), podIP: '10.42.0.10',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now() }],
        containerStatuses: names.map((n) => ({ name: n, ready: true, started: true, restartCount: 0, image: '', imageID: '', state: { running: { startedAt: now() } } })),
      });
      if (b.hold) return;
      const t = setTimeout(() => {
        timers.delete(t);
        due.add(key);
        schedule(key);
      }, opts.runMs ?? 20);
      timers.add(t);
      return;
    }
    if (b.hold) return;
    const code = b.exitCode ?? 0;
    await patchStatus(p, {
      phase: code === 0 ? 'Succeeded' : 'Failed',
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now() }, ...(b.conditions ?? [])],
      containerStatuses: names.map((n, i) => ({ name: n, ready: false, restartCount: 0, image: '', imageID: '',
        state: { terminated: { exitCode: i === 0 ? code : 0, reason: code === 0 || i > 0 ? 'Completed' : 'Error', finishedAt: now() } } })),
    });
  };

  const dirty = new Set<string>();
  const schedule = (key: string) => {
    if (stopped) return;
    if (busy.has(key)) {
      dirty.add(key);
      return;
    }
    busy.add(key);
    step(key)
      .catch((err) => {
        if (!isNotFound(err)) dirty.add(key);
      })
      .finally(() => {
        busy.delete(key);
        if (dirty.delete(key)) setTimeout(() => schedule(key), 5);
      });
  };
  const onObj = (p: Pod) => {
    const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
    schedule(key);
  };
  inf.addEventHandler({ onAdd: onObj, onUpdate: (_o, n) => onObj(n) });
  inf.start();
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await inf.stop();
    },
  };
}
