import { parentPort, workerData } from 'node:worker_threads';
import { ClosedModel } from './closed-model.js';
import { OpenModel } from './open-model.js';
import type { FromWorker, LoadWorkerData, ToWorker } from './protocol.js';
import { RequestSender } from './request-sender.js';
import { SampleBatcher } from './sample-batcher.js';
import { VirtualClients } from './virtual-clients.js';

/**
 * A load worker thread: wires this thread's virtual clients, its request
 * sender, the sample batcher and the closed or the open model (`open` in
 * {@link LoadWorkerData}), and routes the main thread's messages to them.
 * The closed model starts at once and says `started`; the open model warms
 * up (when asked, see `LoadWorkerData.warmUp`), says `ready` and waits for
 * `go`, so that every thread's schedule has the same origin.
 */

const data = workerData as LoadWorkerData;
const port = parentPort!;
const clients = new VirtualClients(data);
const limit = data.requests ?? Infinity;
const startedAt = performance.now();
const originOffset = performance.timeOrigin - data.epochStartMs;
const batcher = new SampleBatcher(port, originOffset, clients.connects);
const sender = new RequestSender(clients, batcher, data.thread, data.threads, data.open !== undefined);
const model = data.open
  ? new OpenModel(sender, batcher, { ...data.open, thread: data.thread, threads: data.threads, limit, durationMs: data.durationMs }, () => void finish())
  : new ClosedModel(sender, { concurrency: data.concurrency, limit, durationMs: data.durationMs }, () => void finish());

let finished = false;
async function finish(): Promise<void> {
  if (finished) return;
  finished = true;
  batcher.close();
  await clients.destroy();
  port.postMessage({ type: 'done', unsent: model.unsent } satisfies FromWorker);
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'concurrency') {
    if (model instanceof ClosedModel) model.setConcurrency(m.value);
  } else if (m.type === 'rate') {
    if (model instanceof OpenModel) model.setRate(m.value);
  } else if (m.type === 'pause') model.pause();
  else if (m.type === 'resume') model.resume();
  else if (m.type === 'go') model.begin(m.atMs - originOffset);
  else if (m.type === 'stop') model.stop();
  else if (m.type === 'gslb') clients.setServing(m.serving);
});

batcher.postEvery(data.batchIntervalMs);
if (model instanceof OpenModel) {
  const w = data.warmUp;
  const warmUpRequests = w ? await sender.warmUp(w.requests, w.concurrency, w.maxMs) : 0;
  port.postMessage({ type: 'ready', warmUpRequests } satisfies FromWorker);
} else {
  port.postMessage({ type: 'started', atMs: originOffset + startedAt } satisfies FromWorker);
  model.begin(startedAt);
}
