/** HttpProbe over fetch: a GET with a hard timeout; the body is discarded. */
import type { HttpProbe } from '../core/verify/ports';

export const fetchProbe: HttpProbe = {
  async get(url, timeoutMs) {
    const response = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status };
  },
};
