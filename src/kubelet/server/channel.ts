/**
 * The Kubernetes remote-command stream protocols (k8s.io/apimachinery `util/remotecommand` and `wsstream`): the
 * protocol names a kubectl may offer, the one-byte channel prefix of WebSocket messages, and the status kubectl
 * decodes from the error channel to print `command terminated with exit code N` and exit with N.
 */

/** Channel numbers of `channel.k8s.io` … `v5.channel.k8s.io` WebSocket messages. */
export const Channel = { STDIN: 0, STDOUT: 1, STDERR: 2, ERROR: 3, RESIZE: 4, CLOSE: 255 } as const;

/** Exec/attach protocol names, most preferred first, as the kubelet's streaming server orders them. */
export const REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export type RemoteCommandProtocol = (typeof REMOTE_COMMAND_PROTOCOLS)[number];

/** Port-forward protocol over plain SPDY (`X-Stream-Protocol-Version`). */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** Port-forward over WebSocket: SPDY/3.1 frames tunnelled in binary messages (kubectl 1.31+ default). */
export const PORT_FORWARD_WS_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

/** The first protocol of `preferred` that the client offered. */
export function pickProtocol<T extends string>(offered: string[], preferred: readonly T[]): T | undefined {
  return preferred.find((p) => offered.includes(p));
}

/** Version number of a remote-command protocol (1 for `channel.k8s.io`). */
export function protocolVersion(p: RemoteCommandProtocol): number {
  return p === 'channel.k8s.io' ? 1 : Number(p[1]);
}

/** A WebSocket message on `channel`. */
export function channelMessage(channel: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const out = Buffer.allocUnsafe(payload.length + 1);
  out[0] = channel;
  payload.copy(out, 1);
  return out;
}

/** Splits a WebSocket message into its channel and payload (undefined for an empty message). */
export function parseChannelMessage(msg: Buffer): { channel: number; data: Buffer } | undefined {
  if (!msg.length) return undefined;
  return { channel: msg[0]!, data: msg.subarray(1) };
}

/** The outcome of an exec/attach: an exit code, or an error that prevented running it. */
export type RemoteCommandResult = { exitCode: number; command?: string[] } | { error: string };

/**
 * The error-channel payload for `version` (≥4: a metav1.Status, which kubectl turns into its exit code; below: plain
 * text, empty on success), as upstream's `writeStatus`/`v4WriteStatusFunc` produce it.
 */
export function statusPayload(result: RemoteCommandResult, version: number): Buffer {
  if (version < 4) {
    if ('error' in result) return Buffer.from(result.error);
    return result.exitCode === 0 ? Buffer.alloc(0) : Buffer.from(`command terminated with non-zero exit code: exit status ${result.exitCode}`);
  }
  if ('error' in result) {
    return Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: result.error, reason: 'InternalError', code: 500 }));
  }
  if (result.exitCode === 0) return Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }));
  return Buffer.from(JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command ${JSON.stringify(result.command ?? [])}, exit code ${result.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
  }));
}

/** Parses a resize message `{"Width":W,"Height":H}` (newline-terminated on the wire); undefined when malformed. */
export function parseResize(data: Buffer | string): { width: number; height: number } | undefined {
  try {
    const o = JSON.parse(data.toString()) as { Width?: unknown; Height?: unknown };
    if (typeof o.Width === 'number' && typeof o.Height === 'number') return { width: o.Width, height: o.Height };
  } catch {
    return undefined;
  }
  return undefined;
}
