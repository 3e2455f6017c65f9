/**
 * The controller-manager: runs the controllers on shared informers, only while it holds the
 * `kube-system/skiff-controller-manager` Lease (kube-controller-manager's leader election), so two managers can run
 * against one apiserver and exactly one acts. Runs inside `skiff server` and alone as `skiff controller-manager`.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { realClock, type Clock } from '../client/clock.js';
import type { DynamicClient } from '../client/dynamic.js';
import { EventRecorder } from '../client/events.js';
import { LeaderElector } from '../client/leader-election.js';
import { defaultLogger, type Logger } from '../client/log.js';
import { InformerFactory } from './informer-factory.js';
import { DEFAULT_CONFIG, type ControllerContext, type ControllerDefinition, type ControllerManagerConfig, type Runnable } from './types.js';

export interface LeaderElectionConfig {
  namespace?: string;
  name?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ControllerManagerOptions {
  client: DynamicClient;
  controllers: ControllerDefinition[];
  /** false: act without a lease (single-process tests). Default: elect on kube-system/skiff-controller-manager. */
  leaderElection?: LeaderElectionConfig | false;
  config?: Partial<ControllerManagerConfig>;
  clock?: Clock;
  logger?: (name: string) => Logger;
  /** Called after the controllers stopped because the Lease was lost (the standalone manager exits, as upstream). */
  onLostLeadership?: () => void;
}

export class ControllerManager {
  private readonly log: Logger;
  private readonly loggerFor: (name: string) => Logger;
  private elector?: LeaderElector;
  private running: { factory: InformerFactory; runnables: Array<{ name: string; r: Runnable }>; recorders: EventRecorder[] } | undefined;
  private transition: Promise<void> = Promise.resolve();
  private leading = false;
  readonly identity: string;

  constructor(private readonly opts: ControllerManagerOptions) {
    this.loggerFor = opts.logger ?? ((n) => defaultLogger(n));
    this.log = this.loggerFor('controller-manager');
    const le = opts.leaderElection;
    this.identity = (le && le.identity) || `${hostname()}_${randomUUID()}`;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Starts leader election (or the controllers directly when election is disabled). Returns at once. */
  start(): void {
    const le = this.opts.leaderElection;
    if (le === false) {
      this.leading = true;
      this.queue(() => this.startControllers());
      return;
    }
    this.elector = new LeaderElector(this.opts.client, {
      namespace: le?.namespace ?? 'kube-system',
      name: le?.name ?? 'skiff-controller-manager',
      identity: this.identity,
      leaseDurationMs: le?.leaseDurationMs,
      renewDeadlineMs: le?.renewDeadlineMs,
      retryPeriodMs: le?.retryPeriodMs,
      releaseOnCancel: true,
      clock: this.opts.clock,
      logger: this.loggerFor('leader-election'),
      callbacks: {
        onStartedLeading: () => {
          this.leading = true;
          this.log.info({ identity: this.identity }, 'became leader; starting controllers');
          this.queue(() => this.startControllers());
        },
        onStoppedLeading: () => {
          this.leading = false;
          this.log.warn({ identity: this.identity }, 'lost leadership; stopping controllers');
          this.queue(async () => {
            await this.stopControllers();
            this.opts.onLostLeadership?.();
          });
        },
      },
    });
    this.elector.run().catch((err) => this.log.error({ err: String(err) }, 'leader election failed'));
  }

  private queue(fn: () => Promise<void>): void {
    this.transition = this.transition.then(fn).catch((err) => this.log.error({ err: String(err) }, 'controller-manager transition failed'));
  }

  private async startControllers(): Promise<void> {
    if (this.running || !this.leading) return;
    const factory = new InformerFactory(this.opts.client, { logger: this.loggerFor('informer') });
    const recorders: EventRecorder[] = [];
    const ctx: ControllerContext = {
      client: this.opts.client,
      informers: factory,
      recorder: (component) => {
        const r = new EventRecorder(this.opts.client, { component, clock: this.opts.clock, logger: this.loggerFor(`events/${component}`) });
        recorders.push(r);
        return r;
      },
      clock: this.opts.clock ?? realClock,
      logger: this.loggerFor,
      config: { ...DEFAULT_CONFIG, ...(this.opts.config ?? {}) },
    };
    const runnables: Array<{ name: string; r: Runnable }> = [];
    for (const def of this.opts.controllers) {
      try {
        runnables.push({ name: def.name, r: def.setup(ctx) });
      } catch (err) {
        this.log.error({ controller: def.name, err: String(err) }, 'controller setup failed; it will not run');
      }
    }
    this.running = { factory, runnables, recorders };
    factory.start();
    const synced = await factory.waitForSync();
    if (!synced || !this.leading || this.running?.factory !== factory) return;
    for (const { name, r } of runnables) {
      try {
        await r.start();
      } catch (err) {
        this.log.error({ controller: name, err: String(err) }, 'controller failed to start');
      }
    }
    this.log.info({ controllers: runnables.map((x) => x.name) }, 'controllers started');
  }

  private async stopControllers(): Promise<void> {
    const run = this.running;
    if (!run) return;
    this.running = undefined;
    for (const { name, r } of run.runnables) {
      try {
        await r.stop();
      } catch (err) {
        this.log.error({ controller: name, err: String(err) }, 'controller failed to stop');
      }
    }
    await run.factory.stop();
    await Promise.all(run.recorders.map((rec) => rec.close()));
  }

  /** Stops the controllers and releases the lease (so a standby takes over at once). */
  async stop(): Promise<void> {
    this.leading = false;
    this.queue(() => this.stopControllers());
    await this.transition;
    await this.elector?.stop();
  }
}
