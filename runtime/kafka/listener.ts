// The Kafka listener of one node: a TCP (or TLS) server on the node's `listeners` address
// whose connections hand each request frame to the node's Kafka APIs, with the connection's
// security session (who the client is, how far its SASL exchange went).
import { type Server, type Socket, createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { KafkaProtocolError, UnsupportedVersionError } from './protocol/index.js';
import { KafkaConnection, idleTimeoutMsDefault, requestBytesMaxDefault } from './connection.js';
import { KafkaApi, type KafkaApiOptions } from './kafka-api.js';
import { newClientSession } from './security.js';

/** A TLS client must finish its handshake within this; a plaintext client on a TLS listener never does. */
export const tlsHandshakeTimeoutMs = 10_000;

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
  const security = options.security;
  const accept = (socket: Socket): void => {
    nextId += 1;
    const session = newClientSession(security?.protocol ?? 'PLAINTEXT', socket.remoteAddress ?? '');
    const connection = new KafkaConnection(nextId, socket, async (frame, self) => {
      try {
        const answer = await api.handle(frame, session);
        // Kafka answers a failed authentication and then closes the connection.
        if (session.failed !== null) self.closeAfterReplies(session.failed);
        return answer;
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
  };
  const tls = security?.tls ?? null;
  const server: Server = tls === null ? createServer(accept) : createTlsServer({
    cert: tls.cert, key: tls.key, ...(tls.ca === null ? {} : { ca: tls.ca }), handshakeTimeout: tlsHandshakeTimeoutMs,
  }, accept);
  // A client that fails the TLS handshake (a plaintext Kafka client, a wrong CA) gets nothing from Kafka.
  server.on('tlsClientError', (error, socket) => {
    logger.info({ remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` }, `TLS handshake failed: ${error.message}`);
    socket.destroy();
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
  const protocol = security?.protocol ?? 'PLAINTEXT';
  logger.info({ listener: `${options.host}:${port}`, protocol }, `Kafka listener on ${protocol}://${options.host}:${port}`);
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
