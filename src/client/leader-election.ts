/**
 * Leader election on `coordination.k8s.io/v1` Leases, as client-go's `tools/leaderelection` does it, so several
 * replicas of a Skiff component (controller-manager, scheduler) can run while only one acts.
 *
 * - A candidate reads the Lease; if nobody holds it, the holder released it, or the holder's record has not changed
 *   for `leaseDuration` *as observed on the local clock* (client-go never compares its clock with the remote
 *   `renewTime`, only notices when the record changes), it writes itself as holder — with the Lease's
 *   resourceVersion, so of two racing candidates exactly one write succeeds (optimistic concurrency).
 * - The leader renews every `retryPeriod`; if it cannot renew for `renewDeadline` it gives up leadership.
 * - `acquireTime` is set when the holder changes, `renewTime` on every write, `leaseTransitions` counts changes.
 * - On stop, the leader may release the Lease (`releaseOnCancel`) so a successor need not wait for expiry.
 * Defaults are client-go's: leaseDuration 15 s, renewDeadline 10 s, retryPeriod 2 s (jittered ×1.2 while waiting).
 */

import { realClock, sleep, type Clock } from './clock.js';
import { DynamicClient, type ResourceClient } from './dynamic.js';
import { defaultLogger, type Logger } from './log.js';
import { isNotFound } from './rest.js';
import { microTime } from '../api/time.js';

/** The `spec` of a coordination.k8s.io/v1 Lease (client-go `LeaderElectionRecord` maps onto it). */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** A coordination.k8s.io/v1 Lease, as far as leader election uses it. */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** Leadership callbacks (client-go `LeaderCallbacks`). */
export interface LeaderCallbacks {
  /** Became leader; `signal` aborts when leadership is lost or the elector stops. */
  onStartedLeading(signal: AbortSignal): void;
  /** Stopped being leader (lost the Lease or stopped). Only called after `onStartedLeading`. */
  onStoppedLeading(): void;
  /** The observed holder changed (including to this candidate). */
  onNewLeader?(identity: string): void;
}

/** Options of a {@link LeaderElector}. */
export interface LeaderElectionOptions {
  /** Where to keep the Lease. */
  namespace: string;
  name: string;
  /** This candidate's unique identity (client-go uses `hostname_uuid`). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the Lease when stopped while leading, so another candidate takes over at once. */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
  clock?: Clock;
  /** Random source in [0, 1) for the retry jitter. */
  random?: () => number;
  logger?: Logger;
}


const sameRecord = (a?: LeaseSpec, b?: LeaseSpec) =>
  (a?.holderIdentity ?? '') === (b?.holderIdentity ?? '') &&
  a?.renewTime === b?.renewTime &&
  a?.acquireTime === b?.acquireTime &&
  a?.leaseDurationSeconds === b?.leaseDurationSeconds &&
  (a?.leaseTransitions ?? 0) === (b?.leaseTransitions ?? 0);

/** See the module comment. */
export class LeaderElector {
  private readonly leases: ResourceClient<Lease>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly stop$ = new AbortController();
  private observed?: LeaseSpec;
  private observedAt = 0;
  private observedRv?: string;
  private reportedLeader?: string;
  private leading = false;
  private running?: Promise<void>;

  constructor(
    client: DynamicClient | ResourceClient<Lease>,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leases = client instanceof DynamicClient ? client.resource<Lease>('coordination.k8s.io/v1', 'Lease') : client;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? defaultLogger('leader-election');
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseMs > this.renewDeadlineMs)) throw new Error('leaseDuration must be greater than renewDeadline');
    if (!(this.renewDeadlineMs > this.retryMs * 1.2)) throw new Error('renewDeadline must be greater than retryPeriod*1.2');
    if (!opts.identity) throw new Error('leader election requires an identity');
  }

  /** Whether this candidate currently holds the Lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The last observed holder ('' when none). */
  getLeader(): string {
    return this.observed?.holderIdentity ?? '';
  }

  /**
   * Campaigns until leading, then renews until leadership is lost or {@link stop} is called (client-go `Run`).
   * Resolves when that happens; it does not campaign again — restart the process or call `run` on a new elector.
   */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops campaigning or renewing, releases the Lease if configured, and waits for {@link run} to end. */
  async stop(): Promise<void> {
    this.stop$.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stop$.signal.aborted;
  }

  private async loop(): Promise<void> {
    // Acquire.
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await sleep(this.clock, this.retryMs + this.random() * 1.2 * this.retryMs, this.stop$.signal);
    }
    if (this.stopped) return;
    this.leading = true;
    const lead$ = new AbortController();
    this.log.info({ lease: this.leaseName, identity: this.opts.identity }, 'successfully acquired lease');
    this.safely(() => this.opts.callbacks.onStartedLeading(lead$.signal), 'onStartedLeading');

    // Renew.
    renewing: while (!this.stopped) {
      await sleep(this.clock, this.retryMs, this.stop$.signal);
      if (this.stopped) break;
      const deadline = this.clock.now() + this.renewDeadlineMs;
      for (;;) {
        if (await this.tryAcquireOrRenew()) break;
        if (this.stopped) break renewing;
        if (this.clock.now() >= deadline) {
          this.log.warn({ lease: this.leaseName, identity: this.opts.identity }, 'failed to renew lease within the renew deadline; leadership lost');
          break renewing;
        }
        await sleep(this.clock, this.retryMs, this.stop$.signal);
      }
    }
    if (this.stopped && this.opts.releaseOnCancel) await this.release();
    this.leading = false;
    lead$.abort();
    this.safely(() => this.opts.callbacks.onStoppedLeading(), 'onStoppedLeading');
  }

  private get leaseName(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  /** One attempt, as client-go's `tryAcquireOrRenew`; false on any failure (logged). */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const desired: LeaseSpec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.round(this.leaseMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let current: Lease;
    try {
      current = await this.leases.get(this.opts.namespace, this.opts.name);
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn({ err, lease: this.leaseName }, 'error retrieving lease');
        return false;
      }
      try {
        const created = await this.leases.create(this.opts.namespace, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: desired,
        });
        this.observe(created.spec ?? desired, created.metadata.resourceVersion, this.clock.now());
        return true;
      } catch (e) {
        this.log.warn({ err: e, lease: this.leaseName }, 'error initially creating lease');
        return false;
      }
    }

    const old = current.spec ?? {};
    if (!this.observed || !sameRecord(old, this.observed)) this.observe(old, current.metadata.resourceVersion, now);
    else this.observedRv = current.metadata.resourceVersion;
    const holder = old.holderIdentity ?? '';
    if (holder && holder !== this.opts.identity && this.observedAt + this.leaseMs > now) {
      return false; // held by someone else and not yet expired by our own observation
    }
    if (holder === this.opts.identity) {
      desired.acquireTime = old.acquireTime;
      desired.leaseTransitions = old.leaseTransitions ?? 0;
    } else {
      desired.leaseTransitions = (old.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await this.leases.update(this.opts.namespace, { ...current, spec: desired });
      this.observe(updated.spec ?? desired, updated.metadata.resourceVersion, this.clock.now());
      return true;
    } catch (err) {
      this.log.warn({ err, lease: this.leaseName }, 'failed to update lease');
      return false;
    }
  }

  private observe(spec: LeaseSpec, rv: string | undefined, at: number): void {
    this.observed = spec;
    this.observedRv = rv;
    this.observedAt = at;
    const holder = spec.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.log.info({ lease: this.leaseName, leader: holder }, 'new leader observed');
      const cb = this.opts.callbacks.onNewLeader;
      if (cb) this.safely(() => cb(holder), 'onNewLeader');
    }
  }

  /** Gives the Lease up (client-go `release`): empty holder, 1 s duration, so candidates acquire immediately. */
  private async release(): Promise<void> {
    if (!this.observed || this.observed.holderIdentity !== this.opts.identity) return;
    const now = this.clock.now();
    try {
      await this.leases.update(this.opts.namespace, {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name: this.opts.name, namespace: this.opts.namespace, resourceVersion: this.observedRv },
        spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: this.observed.leaseTransitions },
      });
      this.log.info({ lease: this.leaseName }, 'released lease');
    } catch (err) {
      this.log.warn({ err, lease: this.leaseName }, 'failed to release lease');
    }
  }

  private safely(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, callback: what }, 'leader election callback threw');
    }
  }
}
