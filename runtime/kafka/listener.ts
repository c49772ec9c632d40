// The Kafka listener of one node: a TCP server on the node's `listeners` address whose
// connections hand each request frame to the node's Kafka APIs.
import { type Server, createServer } from 'node:net';
import { KafkaProtocolError, UnsupportedVersionError } from './protocol/index.js';
import { KafkaConnection, idleTimeoutMsDefault, requestBytesMaxDefault } from './connection.js';
import { KafkaApi, type KafkaApiOptions } from './kafka-api.js';

export interface KafkaListenerOptions extends KafkaApiOptions {
  host: string;
  port: number;
  requestBytesMax?: number;
  idleTimeoutMs?: number;
}

export interface KafkaListener {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

export async function startKafkaListener(options: KafkaListenerOptions): Promise<KafkaListener> {
  const logger = options.logger;
  const api = new KafkaApi(options);
  const open = new Set<KafkaConnection>();
  let nextId = 0;
  const server: Server = createServer((socket) => {
    nextId += 1;
    const connection = new KafkaConnection(nextId, socket, async (frame) => {
      try {
        return await api.handle(frame, `/${socket.remoteAddress ?? ''}`);
      } catch (error) {
        // A request that cannot be parsed (or is not served) ends this connection only.
        const reason = error instanceof KafkaProtocolError || error instanceof UnsupportedVersionError
          ? `malformed request: ${error.message}` : `request failed: ${(error as Error).message}`;
        throw new Error(reason);
      }
    }, {
      requestBytesMax: options.requestBytesMax ?? requestBytesMaxDefault,
      idleTimeoutMs: options.idleTimeoutMs ?? idleTimeoutMsDefault,
      logger,
    }, (closed) => open.delete(closed));
    open.add(connection);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  logger.info({ listener: `${options.host}:${port}` }, `Kafka listener on ${options.host}:${port}`);
  return {
    port,
    connections: () => open.size,
    close: async () => {
      for (const connection of open) connection.close('listener stopping');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      api.close();
    },
  };
}
