/**
 * Whole-GPU allocation for containers that ask for `nvidia.com/gpu`, as the kubelet's device manager
 * (`pkg/kubelet/cm/devicemanager/manager.go`) does with NVIDIA's device plugin behind it: at pod admission every
 * container that requests GPUs (its limit; extended resources cannot be over-committed, requests equal limits) gets
 * that many whole devices that no other active pod holds — init containers first, their devices reused by the later
 * containers of the same pod as upstream's `devicesToReuse`. The allocation is what the plugin's Allocate answers
 * in env: `NVIDIA_VISIBLE_DEVICES` (UUIDs, read by the NVIDIA container toolkit) and, because the process runtime
 * does not renumber devices the way a container toolkit does, `CUDA_VISIBLE_DEVICES` with the host indices plus
 * `CUDA_DEVICE_ORDER=PCI_BUS_ID` so CUDA numbers devices as `nvidia-smi` does. A pod asking for more than is free
 * fails admission with upstream's UnexpectedAdmissionError message. Devices come back when the pod ends (terminal or
 * removed from the node). Allocations are checkpointed to `<dataDir>/device-plugins/kubelet_internal_checkpoint`
 * (upstream's file and entry shape, with a checksum) so a restarted agent keeps the devices of pods it adopts.
 *
 * The process runtime cannot hide the other `/dev/nvidia*` nodes from a container (no device cgroup rules), so the
 * isolation is the env the CUDA runtime honours, not a hard boundary.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from '../../client/log.js';
import { GPU_RESOURCE, type GpuDevice } from '../node-status.js';

/** Pod status reason of a pod rejected at admission (upstream `UnexpectedAdmissionError`). */
export const ADMISSION_ERROR_REASON = 'UnexpectedAdmissionError';

/** Where the checkpoint lives under the agent's data dir (upstream `/var/lib/kubelet/device-plugins/…`). */
export const CHECKPOINT_FILE = join('device-plugins', 'kubelet_internal_checkpoint');

/** A pod the device manager cannot admit; `message` is upstream's text. */
export class DeviceAdmissionError extends Error {
  readonly reason = ADMISSION_ERROR_REASON;
}

/** One checkpoint entry (upstream `PodDevicesEntry`). */
interface PodDevicesEntry {
  PodUID: string;
  ContainerName: string;
  ResourceName: string;
  DeviceIDs: string[];
}

interface CheckpointFile {
  Data: { PodDeviceEntries: PodDevicesEntry[]; RegisteredDevices: Record<string, string[]> };
  Checksum: number;
}

/** Options of the {@link GpuManager}. */
export interface GpuManagerOptions {
  devices: GpuDevice[];
  /** The agent's data dir; the checkpoint goes under it. */
  dataDir: string;
  log?: Logger;
}

/** An env var the runtime sets for a container (CRI KeyValue). */
export interface DeviceEnv {
  key: string;
  value: string;
}

/** Number of GPUs a container asks for (its limit, or its request when only that is set). */
export function gpuRequest(c: Container): number {
  const v = (c.resources?.limits as Record<string, unknown> | undefined)?.[GPU_RESOURCE] ??
    (c.resources?.requests as Record<string, unknown> | undefined)?.[GPU_RESOURCE];
  const n = v === undefined ? 0 : Number(v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** Whether any container of the pod asks for GPUs. */
export function podRequestsGpus(pod: Pod): boolean {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) => gpuRequest(c) > 0);
}

const checksum = (data: unknown) => createHash('sha256').update(JSON.stringify(data)).digest().readUInt32BE(0);

/** See the module comment. */
export class GpuManager {
  /** podUid → container name → device UUIDs. */
  private readonly alloc = new Map<string, Map<string, string[]>>();
  private readonly byUuid: Map<string, GpuDevice>;
  private readonly path: string;

  constructor(private readonly o: GpuManagerOptions) {
    this.byUuid = new Map(o.devices.map((d) => [d.uuid, d]));
    this.path = join(o.dataDir, CHECKPOINT_FILE);
    this.load();
  }

  /** The devices the node has. */
  get devices(): GpuDevice[] {
    return this.o.devices;
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    try {
      const cp = JSON.parse(text) as CheckpointFile;
      if (checksum(cp.Data) !== cp.Checksum) throw new Error('checksum mismatch');
      for (const e of cp.Data.PodDeviceEntries ?? []) {
        if (e.ResourceName !== GPU_RESOURCE) continue;
        // Devices that vanished (a GPU gone after a reboot) are dropped from the allocation.
        const ids = e.DeviceIDs.filter((id) => this.byUuid.has(id));
        if (!ids.length) continue;
        if (!this.alloc.has(e.PodUID)) this.alloc.set(e.PodUID, new Map());
        this.alloc.get(e.PodUID)!.set(e.ContainerName, ids);
      }
    } catch (e) {
      // Upstream discards a corrupt checkpoint and starts empty; say so.
      this.o.log?.warn({ path: this.path, err: String(e) }, 'device checkpoint unreadable; starting with no allocations');
    }
  }

  private save(): void {
    const entries: PodDevicesEntry[] = [];
    for (const [uid, m] of this.alloc) for (const [name, ids] of m) entries.push({ PodUID: uid, ContainerName: name, ResourceName: GPU_RESOURCE, DeviceIDs: ids });
    const data = { PodDeviceEntries: entries, RegisteredDevices: { [GPU_RESOURCE]: this.o.devices.map((d) => d.uuid) } };
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ Data: data, Checksum: checksum(data) } satisfies CheckpointFile));
    renameSync(tmp, this.path);
  }

  private inUse(exceptPod?: string): Set<string> {
    const s = new Set<string>();
    for (const [uid, m] of this.alloc) if (uid !== exceptPod) for (const ids of m.values()) for (const id of ids) s.add(id);
    return s;
  }

  /**
   * Admits the pod (upstream `Allocate` during admission): allocates devices to each container asking for them,
   * keeping an existing allocation (an adopted pod). Throws {@link DeviceAdmissionError} when too few are free;
   * nothing is allocated then.
   */
  admit(pod: Pod): void {
    const uid = pod.metadata!.uid!;
    const existing = this.alloc.get(uid);
    const next = new Map<string, string[]>(existing ?? []);
    const others = this.inUse(uid);
    // Init containers run one at a time: each may take any device no other pod holds, preferring those an earlier
    // init container had. Regular containers run together: each needs devices no sibling holds, and reuses the
    // init containers' devices first (upstream devicesToReuse), so the pod's footprint is as small as possible.
    const initDevices = new Set<string>();
    const held = new Set<string>();
    let changed = false;
    const alloc = (c: Container, init: boolean) => {
      const want = gpuRequest(c);
      if (!want) return;
      let got = next.get(c.name);
      if (!got || got.length !== want) {
        const free = this.o.devices.map((d) => d.uuid).filter((id) => !others.has(id) && (init || !held.has(id)));
        const pick = [...free.filter((id) => initDevices.has(id)), ...free.filter((id) => !initDevices.has(id))];
        if (pick.length < want) {
          throw new DeviceAdmissionError(
            `Allocate failed due to requested number of devices unavailable for ${GPU_RESOURCE}. Requested: ${want}, Available: ${pick.length}, which is unexpected`,
          );
        }
        got = pick.slice(0, want).sort((a, b) => this.byUuid.get(a)!.index - this.byUuid.get(b)!.index);
        next.set(c.name, got);
        changed = true;
      }
      for (const id of got) (init ? initDevices : held).add(id);
    };
    for (const c of pod.spec?.initContainers ?? []) alloc(c, true);
    for (const c of pod.spec?.containers ?? []) alloc(c, false);
    if (!changed) return;
    this.alloc.set(uid, next);
    this.save();
    this.o.log?.info({ pod: `${pod.metadata!.namespace}/${pod.metadata!.name}`, devices: Object.fromEntries(next) }, 'allocated GPUs');
  }

  /** The devices of one container (empty when it has none). */
  devicesOf(podUid: string, container: string): GpuDevice[] {
    return (this.alloc.get(podUid)?.get(container) ?? []).map((id) => this.byUuid.get(id)!).filter(Boolean);
  }

  /** The env the device plugin's Allocate answer puts in the container (none without devices). */
  envFor(podUid: string, container: string): DeviceEnv[] {
    const devs = this.devicesOf(podUid, container);
    if (!devs.length) return [];
    return [
      { key: 'NVIDIA_VISIBLE_DEVICES', value: devs.map((d) => d.uuid).join(',') },
      { key: 'CUDA_VISIBLE_DEVICES', value: devs.map((d) => String(d.index)).join(',') },
      { key: 'CUDA_DEVICE_ORDER', value: 'PCI_BUS_ID' },
    ];
  }

  /** Gives a pod's devices back (it ended or left the node). */
  release(podUid: string): void {
    if (!this.alloc.delete(podUid)) return;
    this.save();
    this.o.log?.info({ uid: podUid }, 'released GPUs');
  }

  /** Keeps only the allocations of pods for which `active(uid)` holds (upstream UpdateAllocatedDevices). */
  retain(active: (uid: string) => boolean): void {
    let changed = false;
    for (const uid of [...this.alloc.keys()]) {
      if (!active(uid)) {
        this.alloc.delete(uid);
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** Number of devices held by active pods. */
  get allocatedCount(): number {
    return this.inUse().size;
  }
}
