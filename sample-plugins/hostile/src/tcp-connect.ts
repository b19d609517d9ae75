/** Opens a TCP connection to 127.0.0.1 (params.port). */
import { failed, hostile, nodeModule, succeeded, type Outcome } from './lib/base.js';

export default hostile(async (params) => {
  const { connect } = nodeModule<{
    connect(
      port: number,
      host: string,
    ): { on(event: string, listener: (error?: Error) => void): void; destroy(): void };
  }>('node:net');
  return new Promise<Outcome>((resolve) => {
    const socket = connect(Number(params.port), '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(succeeded(`connected to 127.0.0.1:${String(params.port)}`));
    });
    socket.on('error', (error) => resolve(failed(`connect failed: ${error?.message}`)));
  });
});
