// The accepting side of a mesh link receives with the same wide HTTP/2 window as the dialing
// side (grpc-js widens only the client's): a batch larger than 64 KiB sent by the dialer
// must not wait for a WINDOW_UPDATE halfway.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMeshClient, createMeshServer, meshServiceDefinition, openLinkCall, widenAcceptedWindow } from '../../cluster/mesh/grpc-service';

interface SessionState {
  effectiveLocalWindowSize?: number;
}

test('widenAcceptedWindow gives the accepting session a 4 MiB receive window', async () => {
  const server = createMeshServer(1000);
  const windows = new Promise<{ before: number; after: number }>((resolve) => {
    server.addService(meshServiceDefinition, {
      link: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        // The same path widenAcceptedWindow takes, to read the session's state.
        let at: unknown = call;
        let state: (() => SessionState) | undefined;
        for (let d = 0; d < 6 && at !== null && typeof at === 'object'; d++) {
          const o = at as { stream?: { session?: { state: SessionState } }; call?: unknown; nextCall?: unknown };
          const session = o.stream?.session;
          if (session) {
            state = () => session.state;
            break;
          }
          at = o.call ?? o.nextCall;
        }
        const before = state?.().effectiveLocalWindowSize ?? -1;
        widenAcceptedWindow(call);
        setTimeout(() => {
          resolve({ before, after: state?.().effectiveLocalWindowSize ?? -1 });
          call.end();
        }, 50);
      },
    });
  });
  const port = await new Promise<number>((ok, fail) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : ok(p))));
  const client = createMeshClient('127.0.0.1', port, grpc.credentials.createInsecure(), undefined);
  const call = openLinkCall(client);
  call.on('error', () => undefined);
  call.write(Buffer.from('hello'));
  try {
    const w = await windows;
    assert.equal(w.before, 65535, 'the session is reachable and starts at the HTTP/2 default');
    assert.equal(w.after, 4 * 1024 * 1024);
  } finally {
    call.cancel();
    client.close();
    server.forceShutdown();
  }
});
