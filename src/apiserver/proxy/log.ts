/**
 * `GET pods/{name}/log`: validates the request against the pod (upstream `pod.LogLocation`), then streams the node's
 * `/containerLogs/...` through unchanged as `text/plain` — `follow` keeps the response open for as long as the
 * kubelet's. A kubelet refusal becomes a 400 Status carrying its text, as kube-apiserver reports it.
 */
import https from 'node:https';
import { errors } from '../../api/errors.js';
import type { RequestContext } from '../context.js';
import { forwardedQuery, getPod, kubeletFor, kubeletTlsOptions, selectContainer } from './kubelet.js';

/** Serves `pods/log`. */
export async function handlePodLog(ctx: RequestContext): Promise<void> {
  const { ri, query } = ctx;
  const pod = await getPod(ctx.core, ri.namespace!, ri.name!);
  const container = selectContainer(pod, query.get('container'));
  for (const k of ['tailLines', 'limitBytes', 'sinceSeconds']) {
    const v = query.get(k);
    if (v !== null && !/^-?\d+$/.test(v)) throw errors.badRequest(`${k}: Invalid value: ${JSON.stringify(v)}: must be an integer`);
  }
  const loc = await kubeletFor(ctx.core, pod);
  const path = `/containerLogs/${encodeURIComponent(ri.namespace!)}/${encodeURIComponent(ri.name!)}/${encodeURIComponent(container)}${forwardedQuery(query)}`;
  await new Promise<void>((resolve, reject) => {
    const upstream = https.request({ host: loc.host, port: loc.port, path, method: 'GET', ...kubeletTlsOptions(ctx.core), agent: false }, (kres) => {
      if (kres.statusCode !== 200) {
        let body = '';
        kres.on('data', (d) => { body += d; });
        kres.on('end', () => reject(errors.badRequest(body.trim() || `the kubelet answered ${kres.statusCode}`)));
        kres.on('error', reject);
        return;
      }
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
      ctx.res.flushHeaders();
      kres.pipe(ctx.res);
      kres.on('end', resolve);
      kres.on('error', () => { ctx.res.destroy(); resolve(); });
    });
    upstream.on('error', (e) => {
      if (ctx.res.headersSent) { ctx.res.destroy(); resolve(); return; }
      reject(errors.internal(`error dialing the kubelet of node "${loc.nodeName}" at ${loc.host}:${loc.port}: ${e.message}`));
    });
    // kubectl hung up (e.g. Ctrl-C on logs -f): stop reading the node's stream too.
    ctx.res.on('close', () => upstream.destroy());
    upstream.end();
  });
}
