/**
 * The throttle proxy in its own process (see startThrottleProxyProcess): argv[2] is the options
 * as JSON. Exits when the parent goes away (its IPC channel closes) or after the proxy's lifetime.
 */
import { startThrottleProxy, type ThrottleProxyOptions } from './throttle-proxy.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ThrottleProxyOptions;
const send = (m: unknown) => process.send?.(m);
try {
  const proxy = await startThrottleProxy(options);
  const exit = () => void proxy.stop().finally(() => process.exit(0));
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
  setTimeout(exit, options.maxLifetimeMs ?? 30 * 60_000).unref();
  process.on('message', (m: { id: number; type: string }) => {
    if (m.type === 'stats') send({ id: m.id, result: proxy.stats() });
    else if (m.type === 'resetTimes') send({ id: m.id, result: proxy.resetTimes() });
    else send({ id: m.id, error: `unknown request ${m.type}` });
  });
  send({ type: 'ready', url: proxy.url });
} catch (e) {
  send({ type: 'error', error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
