/**
 * The kubelet's streaming server (logs, exec, attach, port-forward) and the wire protocols it speaks; see
 * streaming-server.ts.
 */
export { startStreamingServer, type StreamingBackend, type StreamingServer, type StreamingServerOptions } from './streaming-server.js';
export { REMOTE_COMMAND_PROTOCOLS, PORT_FORWARD_PROTOCOL, PORT_FORWARD_WS_PROTOCOL } from './channel.js';
