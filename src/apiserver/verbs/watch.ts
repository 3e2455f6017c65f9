/**
 * WATCH: a chunked stream of newline-delimited `{"type","object"}` events, as kube-apiserver serves it.
 * - resourceVersion unset or "0": synthetic ADDED events for the current objects first (kubectl `get NAME -w`
 *   drops the first event expecting exactly this), then changes after the list revision;
 * - resourceVersion N: only changes after N; below the compacted revision: one ERROR 410 Expired event, then close;
 * - selectors turn "moved out of the selection" into DELETED and "moved in" into ADDED, as the watch cache does;
 * - BOOKMARK events when allowWatchBookmarks=true; timeoutSeconds ends the stream;
 * - headers are flushed at once (informer-based kubectl commands hang otherwise);
 * - each event is serialized once per stream encoding (JSON or a one-row Table).
 */
import { KObject, errors } from '../../api/errors.js';
import { apiVersionOf } from '../../api/resources.js';
import { toTable } from '../../api/tables/index.js';
import { CompactedError, Watcher, type WatchEvent } from '../../store/types.js';
import { RequestContext } from '../context.js';
import { negotiate } from '../negotiation.js';
import { mapStoreError, parseResourceVersion } from '../registry.js';
import { includeObjectParam, selectorFilter } from './read.js';

/** How often an idle watch with allowWatchBookmarks gets a BOOKMARK (upstream: about once a minute). */
export const BOOKMARK_INTERVAL_MS = 15_000;
let bookmarkIntervalMs = BOOKMARK_INTERVAL_MS;
/** Overrides the bookmark interval (tests); call with no argument to restore the default. */
export function setBookmarkIntervalForTests(ms: number = BOOKMARK_INTERVAL_MS): void {
  bookmarkIntervalMs = ms;
}
/** Default and maximum watch duration when timeoutSeconds is absent (upstream: random 30–60 min). */
const DEFAULT_TIMEOUT_S = 1800;

export async function handleWatch(ctx: RequestContext): Promise<void> {
  const { info, ri, res, query } = ctx;
  const neg = negotiate(ctx.req.headers.accept, { allowTable: true, allowProtobuf: false });
  const core = ctx.core;
  let filter = selectorFilter(ctx);
  if (ri.name !== undefined) {
    // Deprecated `GET .../pods/NAME?watch=true` form: watch one object.
    const name = ri.name;
    const f = filter;
    filter = (o) => o.metadata.name === name && (!f || f(o));
  }
  const rvParam = query.get('resourceVersion') ?? '';
  const timeoutParam = query.get('timeoutSeconds');
  let timeoutS = DEFAULT_TIMEOUT_S;
  if (timeoutParam !== null && timeoutParam !== '') {
    if (!/^\d+$/.test(timeoutParam)) throw errors.badRequest(`invalid timeoutSeconds: "${timeoutParam}"`);
    timeoutS = Math.min(Number(timeoutParam), DEFAULT_TIMEOUT_S);
  }
  const bookmarks = query.get('allowWatchBookmarks') === 'true';
  const sendInitial = query.get('sendInitialEvents');
  const prefix = core.registry.prefix(info, ri.namespace);
  const includeObject = includeObjectParam(ctx);

  let initial: KObject[] = [];
  let afterRev: number;
  if (rvParam === '' || rvParam === '0' || sendInitial === 'true') {
    if (sendInitial === 'false' && rvParam !== '' && rvParam !== '0') {
      afterRev = parseResourceVersion(rvParam);
    } else {
      const listed = await core.registry.list(info, { namespace: ri.namespace, filter });
      initial = listed.items;
      afterRev = listed.resourceVersion;
    }
  } else {
    afterRev = parseResourceVersion(rvParam);
  }

  // HTTP/2 frames the body itself (connection-specific headers such as Transfer-Encoding are illegal there).
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' };
  if (ctx.req.httpVersionMajor < 2) headers['Transfer-Encoding'] = 'chunked';
  res.writeHead(200, headers);
  res.flushHeaders();

  const gaugeLabels = { group: info.group, version: info.version, kind: info.kind };
  core.metrics.watchers.inc(gaugeLabels);
  let closed = false;
  let watcher: Watcher | undefined;
  let lastRev = afterRev;
  // With a selector: the keys whose latest version (its revision here) this stream delivered as selected. Every
  // event after afterRev reaches this stream in order (the hub guarantees no gaps), so an event's previous version
  // written after afterRev was selected exactly when it is found here — only older ones are decoded and filtered.
  const inView = new Map<string, number>();
  let firstTable = true;
  const timers: NodeJS.Timeout[] = [];

  // Whether this stream corked its socket for the current event-loop turn (see onEvents).
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    if (!closed) res.uncork();
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    // res.end() below flushes and fully uncorks the socket; a pending uncork must not touch it afterwards.
    corked = false;
    watcher?.cancel();
    for (const t of timers) clearTimeout(t), clearInterval(t);
    core.metrics.watchers.dec(gaugeLabels);
    if (!res.writableEnded) res.end();
  };
  res.on('close', finish);

  const encodeObject = (o: KObject): unknown => {
    if (neg.shape === 'table') {
      // Column definitions go only in the first event of the stream, as upstream.
      const t = toTable(info, [o], { includeObject: includeObject, noHeaders: !firstTable }) as unknown as Record<string, unknown>;
      t.apiVersion = `meta.k8s.io/${neg.metaVersion}`;
      t.metadata = { resourceVersion: o.metadata.resourceVersion };
      firstTable = false;
      return t;
    }
    if (neg.shape === 'partial') return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${neg.metaVersion}`, metadata: o.metadata };
    return o;
  };
  const send = (type: string, o: unknown) => {
    if (closed) return;
    res.write(JSON.stringify({ type, object: o }) + '\n');
  };
  const sendError = (err: unknown) => {
    const e = err instanceof CompactedError ? errors.gone(`too old resource version: ${err.requested} (${err.compacted})`) : mapStoreError(err, info, '');
    send('ERROR', e.toStatus());
    finish();
  };

  for (const o of initial) send('ADDED', encodeObject(o));
  if (sendInitial === 'true' && bookmarks) {
    send('BOOKMARK', { kind: info.kind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: String(afterRev), annotations: { 'k8s.io/initial-events-end': 'true' } } });
  }

  try {
    watcher = core.backend.watch(prefix, afterRev, {
      onEvents: (events) => {
        // One socket write per event-loop turn, not one per delivered batch: the hub delivers each request's
        // writes in its own microtask, so under load many batches arrive in one turn. The socket stays corked
        // until the check phase, after every request handled in this turn has published (a write costs a TLS
        // record, a syscall and a wakeup of the reader; the events themselves are not delayed past this turn).
        if (!corked && !closed) {
          corked = true;
          res.cork();
          setImmediate(uncork);
        }
        deliver(events);
      },
      onError: (err) => sendError(err),
    });
  } catch (err) {
    sendError(err);
    return;
  }
  function deliver(events: readonly WatchEvent[]): void {
    for (const ev of events) {
      if (closed) return;
      // A namespaced-resource watch across all namespaces sees every key under the prefix; the prefix of a
      // cluster-wide list already ends in '/', so nothing else slips in.
      lastRev = ev.kv.modRevision;
      if (!filter && neg.shape === 'object') {
        // The common informer watch: no selector, full objects; the previous value is never decoded.
        sendStored(ev.type === 'DELETE' ? 'DELETED' : ev.kv.createRevision === ev.kv.modRevision ? 'ADDED' : 'MODIFIED', ev);
        continue;
      }
      if (!filter) {
        const d = core.registry.decodeEvent(info, ev, false);
        send(d.type, encodeObject(d.obj));
        continue;
      }
      const key = ev.kv.key;
      const obj = core.registry.decode(info, ev.kv);
      const now = filter(obj);
      if (ev.type === 'DELETE') {
        inView.delete(key);
        if (now) sendStored('DELETED', ev, obj);
        continue;
      }
      let before = false;
      const prev = ev.prevKv;
      if (prev) {
        // The previous version needs no decode when this stream saw it: it matched if and only if it is in view.
        if (inView.get(key) === prev.modRevision) before = true;
        else if (prev.modRevision <= afterRev) before = filter(core.registry.decode(info, prev));
      }
      if (now) inView.set(key, ev.kv.modRevision);
      else inView.delete(key);
      if (now && before) sendStored('MODIFIED', ev, obj);
      else if (now && !before) sendStored('ADDED', ev, obj);
      else if (!now && before) sendStored('DELETED', ev, obj);
    }
  }
  /**
   * Full objects go out as their stored text (resourceVersion spliced in) where possible: no JSON parse and
   * stringify per event. `obj`: the event's object when the caller already decoded it.
   */
  function sendStored(type: string, ev: WatchEvent, obj?: KObject): void {
    const raw = neg.shape === 'object' ? core.registry.rawObject(info, ev.kv) : undefined;
    if (raw === undefined) send(type, encodeObject(obj ?? core.registry.decode(info, ev.kv)));
    else if (!closed) res.write(`{"type":"${type}","object":${raw}}\n`);
  }

  if (bookmarks) {
    timers.push(setInterval(async () => {
      try {
        const rev = Math.max(lastRev, afterRev);
        send('BOOKMARK', { kind: info.kind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: String(rev) } });
      } catch (err) {
        core.log('watch bookmark failed', { err: String(err) });
      }
    }, bookmarkIntervalMs));
  }
  timers.push(setTimeout(finish, timeoutS * 1000));
}
